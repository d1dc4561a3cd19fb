// What the page does when the service ends a chain's socket for good (contract section 4):
// 4403 (access withdrawn: a role revoked, a pilot who left the corporation the chain was
// shared with), 4404 (no such chain, or not a member) or 4401 (the sign-in ended). The
// provider stops reconnecting on these; the page says why instead of looking offline.

import type { ChainSession } from "./session";

const REMOVED = "The copy this browser kept was removed.";
const WHY: Record<number, string> = {
  4403: `Your access to this chain was withdrawn. ${REMOVED}`,
  4404: `This chain does not exist, or you are not one of its members. ${REMOVED}`,
  4401: "Your sign-in has ended. Sign in again from the start page.",
};

/** Shows in `banner` why the chain's socket closed for good. */
export function watchAccess(session: ChainSession, banner: HTMLElement): void {
  session.provider.on("closed", ({ code }: { code: number }) => {
    const why = WHY[code];
    if (why === undefined) return;
    // A copy kept for offline use is no longer the user's to keep.
    if (code !== 4401) session.stored.clearData().catch(() => undefined);
    banner.textContent = why;
    banner.className = "banner lost";
    banner.setAttribute("role", "alert");
    banner.hidden = false;
  });
}
