// The user's own live status document (/ws/users/me): one dot per character, green when
// online. Only the service writes it; this page watches, and tells the service through
// awareness whether the tab is visible, so live tracking runs only while someone looks.

import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import { element } from "./dom";

const RECONNECT_MS = 1000;

/** `watch` gets the user's live document each time its socket (re)connects. */
export function characterDots(token: string, watch: (doc: Y.Doc) => void = () => {}): HTMLElement {
  const dots = element("span", { class: "characters", "aria-label": "your characters" });
  const base = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/users`;

  // The service rebuilds this document whenever it loads it, so a copy kept across a
  // reconnect would merge stale entries into the new one: every connection starts afresh.
  const connect = () => {
    const doc = new Y.Doc();
    const provider = new WebsocketProvider(base, "me", doc, { params: { token }, connect: true });
    const characters = doc.getMap<Y.Map<unknown>>("characters");
    const render = () => {
      dots.replaceChildren(...[...characters.entries()].map(([id, character]) => {
        const online = character.get("online") === true;
        return element("span", { class: `dot ${online ? "online" : "offline"}`, title: `${id}: ${online ? "online" : "offline"}`, "data-character": id }, "●");
      }));
    };
    const showVisibility = () => provider.awareness.setLocalStateField("visible", !document.hidden);
    provider.awareness.setLocalState({ visible: !document.hidden });
    document.addEventListener("visibilitychange", showVisibility);
    characters.observeDeep(render);
    watch(doc);
    // A 44xx close (the token expired) cannot be mended by retrying: the chain's banner says
    // how to sign in again, and the new token reloads the page.
    let refused = false;
    provider.on("connection-close", (event: CloseEvent | null) => {
      refused ||= event !== null && event.code >= 4400 && event.code < 4500;
    });
    provider.on("status", ({ status }: { status: string }) => {
      if (status !== "disconnected") return;
      document.removeEventListener("visibilitychange", showVisibility);
      provider.destroy();
      doc.destroy();
      if (!refused) setTimeout(connect, RECONNECT_MS);
    });
  };
  connect();
  return dots;
}
