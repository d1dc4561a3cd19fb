// The toolbar's connection word and the banner above the map, following the chain's socket:
// "live"; "offline" with the offline banner (edits kept, sent when the connection is back);
// or, when the service closed the socket for good, "signed out" (4401) with the way to sign in
// again or "no access" (4403, 4404), never the offline banner: nothing would be sent however long
// one waited.

import { accessLostBanner } from "./accessLost";
import { element } from "./dom";
import type { ChainSession } from "./session";

export interface Connectivity {
  /** The banners, for the top of the page. */
  element: HTMLElement;
  /** The word for the toolbar. */
  status: HTMLElement;
}

/** `onOnline` runs each time the socket is live again after a drop; `onRevoked` once, when
 * access to the chain was withdrawn (4403) or the chain is not the user's (4404). */
export function showConnectivity(session: ChainSession, onOnline: () => void, onRevoked: () => void): Connectivity {
  const { provider } = session;
  const status = element("span", { class: "status" }, "connecting");
  const offline = element("div", { class: "banner", hidden: "" }, "Offline: your edits are kept and sent when the connection is back.");
  const banners = element("div", { class: "banners" }, offline);
  let refused: "expired" | "revoked" | null = null;
  let failed = false; // a socket closed or could not open: until then the page is connecting
  let wasOnline = false;
  let dropped = false; // online once, then not: `onOnline` when it is back
  const show = () => {
    const online = provider.wsconnected && navigator.onLine;
    const away = !online && (failed || !navigator.onLine);
    const word = refused === "expired" ? "signed out" : refused === "revoked" ? "no access" : online ? "live" : away ? "offline" : "connecting";
    status.textContent = word;
    status.className = `status ${refused ? "signed-out" : online ? "live" : away ? "offline" : ""}`;
    offline.hidden = !away || refused !== null;
    if (!online && wasOnline) dropped = true;
    if (online && dropped) {
      dropped = false;
      onOnline();
    }
    wasOnline = online;
  };
  provider.on("connection-close", () => {
    failed = true;
    show();
  });
  provider.on("status", show);
  // y-websocket stops reconnecting by itself on these codes (4400-4499) and says so here.
  provider.on("closed", ({ code }: { code: number }) => {
    if (refused !== null) return;
    const banner = accessLostBanner(session, code);
    if (banner === null) return;
    refused = code === 4401 ? "expired" : "revoked";
    banners.append(banner);
    show();
    if (refused === "revoked") onRevoked();
  });
  // The browser knows first: drop a socket that can no longer carry anything, and come
  // back at once rather than at the provider's next backoff.
  addEventListener("offline", () => {
    provider.disconnect();
    show();
  });
  addEventListener("online", () => {
    if (refused === null) provider.connect();
    show();
  });
  if (!navigator.onLine) provider.disconnect();
  show();
  return { element: banners, status };
}
