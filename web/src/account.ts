// The built-in EVE login in the page (contract section 9): the sign-in button, and for a
// signed-in user their linked characters, linking another one, unlinking, signing out.

import { ApiError, call, forgetToken } from "./api";
import { element } from "./dom";
import { groupText, type Named, scopeLabel } from "./eveNames";

interface EveLogin {
  enabled: boolean;
  loginUrl: string | null;
}

interface Character {
  characterId: number;
  name: string;
  corporation: Named | null;
  alliance: Named | null;
  scopes: string[];
  needsLogin: boolean;
}

const SIGN_IN_LINK_TEXT = "Sign in: open the link that `mapper serve` printed, or the one your host app gave you.";

/** Whether the service has the EVE login (GET /auth/eve, no token needed). */
export async function eveLogin(): Promise<EveLogin> {
  try {
    const response = await fetch("/auth/eve");
    if (response.ok) return (await response.json()) as EveLogin;
  } catch {
    // offline or an older service: no EVE login to offer
  }
  return { enabled: false, loginUrl: null };
}

/** The page for a visitor with no token: the EVE button when the service has the login,
 * and the admin link's hint either way. */
export async function showSignIn(root: HTMLElement, reason?: string): Promise<void> {
  const { enabled, loginUrl } = await eveLogin();
  const parts: HTMLElement[] = [];
  if (reason) parts.push(element("p", { class: "notice", role: "status" }, reason));
  if (enabled && loginUrl) {
    const button = element("button", { class: "eve-login", type: "button" }, "Sign in with EVE Online");
    button.addEventListener("click", () => location.assign(loginUrl));
    parts.push(element("h1", {}, "mapper"), button, element("p", { class: "hint" }, "Or open the admin link that `mapper serve` printed."));
  } else {
    parts.push(element("p", {}, SIGN_IN_LINK_TEXT));
  }
  root.replaceChildren(...parts);
}

/** Sends the browser to EVE to link one more character to the signed-in user: the service
 * answers the URL to a request that carries the token in its header, never in a URL. */
async function linkCharacter(token: string): Promise<void> {
  const { url } = await call<{ url: string }>(token, "POST", "/auth/eve/login?link=1");
  location.assign(url);
}

function characterItem(token: string, character: Character, refresh: () => void, failed: (error: unknown) => void): HTMLElement {
  const scopes = element("ul", { class: "scopes", "aria-label": `scopes ${character.name} granted` },
    ...character.scopes.map((scope) => element("li", { title: scope }, scopeLabel(scope))));
  const unlink = element("button", { type: "button", "aria-label": `Unlink ${character.name}` }, "Unlink");
  unlink.addEventListener("click", async () => {
    if (!confirm(`Unlink ${character.name}? Chains shared with this character are no longer yours to see through it.`)) return;
    try {
      await call(token, "DELETE", `/api/me/characters/${character.characterId}`);
      refresh();
    } catch (error) {
      failed(error);
    }
  });
  const item = element("li", { class: "character", "data-character": String(character.characterId) },
    element("span", { class: "name" }, character.name),
    element("span", { class: "dim" }, ` ${groupText(character.corporation, character.alliance)}`), scopes);
  if (character.needsLogin) {
    const again = element("button", { type: "button", "aria-label": `Sign in again as ${character.name}` }, "Sign in again");
    again.addEventListener("click", () => linkCharacter(token).catch(failed));
    item.append(element("span", { class: "needs-login" }, "needs a new login"), again);
  }
  item.append(unlink);
  return item;
}

/** The signed-in user's EVE characters with Link, Unlink and Sign out; nothing when the
 * service has no EVE login. A token the service no longer takes turns `root` into the
 * sign-in page. */
export function accountPanel(root: HTMLElement, token: string): HTMLElement {
  const panel = element("section", { class: "account", "aria-labelledby": "account-heading", hidden: "" });
  const list = element("ul", { class: "my-characters", "aria-label": "your EVE characters" });
  const message = element("p", { class: "error", role: "alert", hidden: "" });
  const link = element("button", { type: "button" }, "Link another character");
  const signOut = element("button", { type: "button" }, "Sign out");
  panel.append(element("h2", { id: "account-heading" }, "Your EVE characters"), list, link, signOut, message);

  const failed = (error: unknown) => {
    message.textContent = error instanceof Error ? error.message : String(error);
    message.hidden = false;
  };
  const refresh = async () => {
    try {
      const { items } = await call<{ items: Character[] }>(token, "GET", "/api/me/characters");
      message.hidden = true;
      link.textContent = items.length ? "Link another character" : "Link an EVE character";
      list.replaceChildren(...(items.length
        ? items.map((character) => characterItem(token, character, refresh, failed))
        : [element("li", { class: "hint" }, "No EVE character is linked to you yet.")]));
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        forgetToken();
        await showSignIn(root, "Your sign-in has ended; sign in again.");
        return;
      }
      failed(error);
    }
  };
  link.addEventListener("click", () => linkCharacter(token).catch(failed));
  signOut.addEventListener("click", async () => {
    try {
      await call(token, "POST", "/auth/eve/logout");
    } catch (error) {
      // Already signed out elsewhere (401): forgetting the token here is all that is left.
      if (!(error instanceof ApiError && error.status === 401)) return failed(error);
    }
    forgetToken();
    location.assign("/");
  });
  eveLogin().then(({ enabled }) => {
    if (!enabled) return;
    panel.hidden = false;
    refresh();
  });
  return panel;
}
