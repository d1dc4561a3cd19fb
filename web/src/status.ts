// The user's own live status document (/ws/users/me): one dot per character, green when
// online. Only the service writes it; this page just watches.

import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import { element } from "./dom";

export function characterDots(token: string): HTMLElement {
  const doc = new Y.Doc();
  const base = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/users`;
  new WebsocketProvider(base, "me", doc, { params: { token } });
  const characters = doc.getMap<Y.Map<unknown>>("characters");
  const dots = element("span", { class: "characters", "aria-label": "your characters" });
  const render = () => {
    dots.replaceChildren(...[...characters.entries()].map(([id, character]) => {
      const online = character.get("online") === true;
      return element("span", { class: `dot ${online ? "online" : "offline"}`, title: `${id}: ${online ? "online" : "offline"}`, "data-character": id }, "●");
    }));
  };
  characters.observeDeep(render);
  render();
  return dots;
}
