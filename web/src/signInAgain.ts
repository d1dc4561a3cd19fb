// Signing in again after the service closed the chain's socket with 4401 (the token expired
// or is not valid). The page says so and how to get back in: EVE's login when the service has
// it (contract section 9), coming back to the same chain, else the login link of section 2.
// Edits made meanwhile stay in IndexedDB; once a new token arrives, in this tab or in another
// one (local storage tells every tab), the page loads again and sends them.

import { eveLogin } from "./account";
import { TOKEN_KEY } from "./api";
import { element } from "./dom";

const RETURN_KEY = "mapper.returnTo";

/** EVE's login ends on `/#token=...`: back to the page the user signed in from. Call before
 * the token is taken from the fragment. */
export function returnAfterSignIn(): void {
  const back = sessionStorage.getItem(RETURN_KEY);
  if (!back || location.pathname !== "/" || !new URLSearchParams(location.hash.slice(1)).has("token")) return;
  sessionStorage.removeItem(RETURN_KEY);
  if (/^\/chains\/[^/]+$/.test(back)) history.replaceState(null, "", back + location.hash);
}

/** What happened and the way back in; from now on a new token reloads the page. */
export function signInAgain(): HTMLElement {
  const known = localStorage.getItem(TOKEN_KEY);
  addEventListener("storage", (event) => {
    if (event.key === TOKEN_KEY && event.newValue && event.newValue !== known) location.reload();
  });
  addEventListener("hashchange", () => {
    if (new URLSearchParams(location.hash.slice(1)).has("token")) location.reload();
  });
  const code = (text: string) => element("code", {}, text);
  const way = element("span", { class: "sign-in" }, "To sign in again, open the login link that ", code("mapper serve"), " printed (or a new one from ", code("mapper token"), ", or your host app's) in any tab.");
  void eveLogin().then(({ enabled, loginUrl }) => {
    if (!enabled || !loginUrl) return;
    const link = element("a", { href: loginUrl }, "Sign in again with EVE");
    link.addEventListener("click", () => sessionStorage.setItem(RETURN_KEY, location.pathname));
    way.replaceChildren(link);
  });
  const message = "Your sign-in has expired. Your edits are kept on this device and sent when you sign in again.";
  return element("div", { class: "banner signed-out", role: "alert" }, message, " ", way);
}
