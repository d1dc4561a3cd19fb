// Who else has the chain open, by name: one entry per user however many tabs or browsers
// each has open (the service sets `user` from the token, so the id is who it says); the
// tooltip counts the tabs.

import { element } from "./dom";
import type { ChainSession } from "./session";

export function viewerList(session: ChainSession, userId: string): HTMLElement {
  const viewers = element("span", { class: "viewers", "aria-label": "also here" });
  const render = () => {
    const users = new Map<string, { name: string; tabs: number }>();
    for (const { user } of session.others()) {
      if (user.id === userId) continue;
      const seen = users.get(user.id);
      users.set(user.id, { name: user.name, tabs: (seen?.tabs ?? 0) + 1 });
    }
    const list = [...users.values()].sort((a, b) => a.name.localeCompare(b.name));
    viewers.textContent = list.map((user) => user.name).join(", ");
    viewers.title = list.map((user) => `${user.name}: ${user.tabs} tab${user.tabs === 1 ? "" : "s"}`).join("\n");
  };
  session.provider.awareness.on("change", render);
  render();
  return viewers;
}
