// What is picked on the map (up to two systems, or a connection) and the actions on it: the
// side panel and awareness follow the pick; Connect joins the two picked systems, or with one
// picked waits for the next system tapped; Delete removes the picked systems.

import { connect, removeSystems } from "./chain";
import type { ChainMap } from "./map";
import type { ChainSession } from "./session";
import type { SidePanel } from "./sidePanel";
import type { PageActions } from "./systemMenu";

export function mapPicking(map: ChainMap, session: ChainSession, side: Pick<SidePanel, "showSystem" | "showConnection">): PageActions {
  let picked: string[] = [];
  const pick = (systemId: string | null, additive: boolean) => {
    if (map.connecting && systemId && systemId !== map.connecting) {
      session.endStep();
      connect(session.doc, Number(map.connecting), Number(systemId));
    }
    map.connecting = null;
    map.selectedConnection = null;
    picked = systemId === null ? [] : additive ? [...picked.filter((id) => id !== systemId), systemId].slice(-2) : [systemId];
    map.picked = picked;
    session.select(map.selected);
    side.showSystem(map.selected);
    map.draw();
  };
  map.onSelect = pick;
  map.onEscape = () => pick(null, false);
  map.onSelectConnection = (key) => {
    picked = [];
    map.picked = [];
    map.connecting = null;
    map.selectedConnection = key;
    session.select(null);
    side.showConnection(key);
    map.draw();
  };
  const connectPicked = () => {
    if (picked.length === 2) {
      session.endStep();
      connect(session.doc, Number(picked[0]), Number(picked[1]));
    } else if (picked.length === 1) {
      map.connecting = picked[0];
      map.draw();
    }
  };
  const removePicked = () => {
    if (!picked.length) return;
    session.endStep();
    removeSystems(session.doc, picked);
    pick(null, false);
  };
  return { pick, connectPicked, removePicked };
}
