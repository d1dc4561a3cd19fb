// What a system's menu on the map (long press, right click) offers an editor: the same
// actions as the toolbar, for that system, and making it the chain's home or locking it.

import { roots, setFields, setHome } from "./chain";
import type { MenuItem } from "./canvas/Overlays";
import type { ChainSession } from "./session";

export interface PageActions {
  pick: (systemId: string | null, additive: boolean) => void;
  connectPicked: () => void;
  removePicked: () => void;
}

export function systemMenu(session: ChainSession, id: string, page: PageActions): MenuItem[] {
  const system = roots(session.doc).systems.get(id);
  const locked = system?.get("locked") === true;
  const then = (action: () => void) => () => {
    page.pick(id, false);
    action();
  };
  return [
    { label: "Connect", run: then(page.connectPicked) },
    { label: "Make home", run: () => setHome(session.doc, Number(id)) },
    {
      label: locked ? "Unlock" : "Lock",
      run: () => {
        session.endStep();
        if (system) setFields(session.doc, system, { locked: !locked });
      },
    },
    { label: "Delete", run: then(page.removePicked) },
  ];
}
