// Who else has the chain open, by name: one entry per user however many tabs or browsers
// each has open (the service sets `user` from the token, so the id is who it says).

import { element } from "./dom";
import type { ChainSession } from "./session";

export function viewerList(session: ChainSession, userId: string): HTMLElement {
  const viewers = element("span", { class: "viewers", "aria-label": "also here" });
  const render = () => {
    const names = new Map<string, string>();
    for (const other of session.others()) if (other.user.id !== userId) names.set(other.user.id, other.user.name);
    viewers.textContent = [...names.values()].sort((a, b) => a.localeCompare(b)).join(", ");
  };
  session.provider.awareness.on("change", render);
  render();
  return viewers;
}
