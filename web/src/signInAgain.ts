// Signing in again after the service closed the chain's socket for good: 4401 (the token
// expired or is not valid) or 4403 (access lost). The page says so and how to get back in: EVE's
// login when the service has it (contract section 9), else the login link of section 2. Edits
// made meanwhile stay in IndexedDB; once a new token arrives, in this tab or in another one
// (local storage tells every tab), the page loads again and sends them.

import { TOKEN_KEY } from "./api";
import { element } from "./dom";

const RETURN_KEY = "mapper.returnTo";

export type Refusal = "expired" | "revoked";

/** Close codes after which reconnecting cannot help, and what they mean for the user. */
export function refusalOf(code: number): Refusal | null {
  if (code === 4401) return "expired";
  if (code === 4403 || code === 4404) return "revoked";
  return null;
}

/** EVE's login ends on `/#token=...`: back to the page the user signed in from. Call before
 * the token is taken from the fragment. */
export function returnAfterSignIn(): void {
  const back = sessionStorage.getItem(RETURN_KEY);
  if (!back || location.pathname !== "/" || !new URLSearchParams(location.hash.slice(1)).has("token")) return;
  sessionStorage.removeItem(RETURN_KEY);
  if (/^\/chains\/[^/]+$/.test(back)) history.replaceState(null, "", back + location.hash);
}

/** What happened and the way back in; from now on a new token reloads the page. */
export function signInAgain(refusal: Refusal): HTMLElement {
  const known = localStorage.getItem(TOKEN_KEY);
  addEventListener("storage", (event) => {
    if (event.key === TOKEN_KEY && event.newValue && event.newValue !== known) location.reload();
  });
  addEventListener("hashchange", () => {
    if (new URLSearchParams(location.hash.slice(1)).has("token")) location.reload();
  });
  if (refusal === "revoked") {
    const message = "You no longer have access to this chain: an owner removed you, or your corporation or alliance. Edits made since stay on this device.";
    return element("div", { class: "banner signed-out", role: "alert" }, message);
  }
  const way = element("span", { class: "sign-in" }, "To sign in again, open the login link that `mapper serve` printed (or a new one from `mapper token`, or your host app's) in any tab.");
  void offerEveLogin(way);
  const message = "Your sign-in has expired. Your edits are kept on this device and sent when you sign in again.";
  return element("div", { class: "banner signed-out", role: "alert" }, message, " ", way);
}

/** With EVE's login on the service, a link to it that comes back to this page. */
async function offerEveLogin(way: HTMLElement): Promise<void> {
  try {
    const response = await fetch("/auth/eve");
    const { enabled, loginUrl } = (await response.json()) as { enabled?: boolean; loginUrl?: string | null };
    if (!enabled || !loginUrl) return;
    const link = element("a", { href: loginUrl }, "Sign in again with EVE");
    link.addEventListener("click", () => sessionStorage.setItem(RETURN_KEY, location.pathname));
    way.replaceChildren(link);
  } catch {
    // offline or an older service: the login link's words stay
  }
}
