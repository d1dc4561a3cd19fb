// What the page says when the service ends a chain's socket for good (contract section 4):
// 4403 (access withdrawn: a role revoked, a pilot who left the corporation the chain was
// shared with), 4404 (no such chain, or not a member) or 4401 (the sign-in expired). The
// provider stops reconnecting on these; the page says why instead of looking offline.

import { element } from "./dom";
import type { ChainSession } from "./session";
import { signInAgain } from "./signInAgain";

const REMOVED = "The copy this browser kept was removed.";
const WHY: Record<number, string> = {
  4403: `Your access to this chain was withdrawn. ${REMOVED}`,
  4404: `This chain does not exist, or you are not one of its members. ${REMOVED}`,
};

/** The banner for a close code that ends the chain's socket for good, or null for any other
 * code. On 4401 the edits stay in IndexedDB for after the sign-in; on 4403 and 4404 the copy
 * kept for offline use is no longer the user's to keep. */
export function accessLostBanner(session: ChainSession, code: number): HTMLElement | null {
  if (code === 4401) return signInAgain();
  const why = WHY[code];
  if (why === undefined) return null;
  session.stored.clearData().catch(() => undefined);
  return element("div", { class: "banner lost", role: "alert" }, why);
}
