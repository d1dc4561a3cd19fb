// The panel beside the map: the selected system's panel, the selected connection's, or a hint;
// under it the owners' snapshots. It follows the document: a connection's panel is drawn again
// on each change (unless someone types in it), a system's signature table is refreshed.

import { roots } from "./chain";
import { connectionPanel } from "./connectionPanel";
import { element } from "./dom";
import { type ShownPanel, type SystemView, systemPanel } from "./systemPanel";

export interface SidePanel {
  element: HTMLElement;
  showSystem: (systemId: string | null) => void;
  showConnection: (key: string) => void;
  /** The document changed. */
  refresh: () => void;
}

type Shown = Pick<ShownPanel, "refreshSignatures" | "stop">;
const NOTHING_SHOWN: Shown = { refreshSignatures: () => {}, stop: () => {} };

/** True while the user types in a text field inside `area`: a redraw would eat the keys. */
function typingIn(area: HTMLElement): boolean {
  const focused = document.activeElement;
  const typing = (focused instanceof HTMLInputElement && focused.type === "text") || focused instanceof HTMLTextAreaElement;
  return typing && area.contains(focused);
}

export function sidePanel(view: SystemView & { token: string }, below: HTMLElement | null): SidePanel {
  const details = element("div", { class: "details" });
  const panel = element("aside", { class: "panel" }, details, ...(below ? [below] : []));
  let shown: Shown = NOTHING_SHOWN;
  let connectionKey: string | null = null;
  const replace = (next: Shown, parts: HTMLElement[]) => {
    shown.stop();
    shown = next;
    details.replaceChildren(...parts);
  };
  const showSystem = (systemId: string | null) => {
    connectionKey = null;
    const system = systemId === null ? undefined : roots(view.session.doc).systems.get(systemId);
    if (!system) {
      const hint = view.editable ? "Tap a system to see it; then Connect and tap another to connect the two." : "Select a system to see its details.";
      return replace(NOTHING_SHOWN, [element("p", { class: "hint" }, hint)]);
    }
    const shownSystem = systemPanel(view, Number(systemId), system);
    replace(shownSystem, shownSystem.parts);
  };
  const showConnection = (key: string) => {
    const connection = roots(view.session.doc).connections.get(key);
    if (!connection) return showSystem(null);
    connectionKey = key;
    const connectionView = { ...view, redraw: () => showConnection(key) };
    replace(NOTHING_SHOWN, connectionPanel(connectionView, key, connection));
  };
  const refresh = () => {
    if (connectionKey === null) shown.refreshSignatures();
    else if (!typingIn(details)) showConnection(connectionKey);
  };
  showSystem(null);
  return { element: panel, showSystem, showConnection, refresh };
}
