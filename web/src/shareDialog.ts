// An owner's share dialog for one chain: rename it, see who has access and change it, give
// access to a character, corporation or alliance found by name (contract sections 3, 9), and
// set the chain's notifications.

import { call } from "./api";
import { element } from "./dom";
import { memberLabel } from "./eveNames";
import { notificationsPart } from "./notifications";

interface Member {
  member: string;
  role: string;
  name: string | null;
}

interface Found {
  member: string;
  kind: "character" | "corporation" | "alliance";
  id: number;
  name: string;
}

const ROLES = ["viewer", "editor", "owner"];
const MIN_QUERY = 3;
const TYPING_PAUSE_MS = 300;

function roleSelect(label: string, role: string): HTMLSelectElement {
  const select = element("select", { "aria-label": label }, ...ROLES.map((name) => element("option", { value: name }, name)));
  select.value = role;
  return select;
}

/** The "Share" button of a chain the caller owns; `renamed` hears the chain's new name. */
export function shareButton(token: string, chain: { id: string; name: string }, renamed: (name: string) => void): HTMLButtonElement {
  const button = element("button", { type: "button", class: "share", "aria-label": `Share ${chain.name}` }, "Share");
  button.addEventListener("click", () => {
    const dialog = shareDialog(token, chain, (name) => {
      chain.name = name;
      button.setAttribute("aria-label", `Share ${name}`);
      renamed(name);
    });
    document.body.append(dialog);
    dialog.addEventListener("close", () => dialog.remove());
    dialog.showModal();
  });
  return button;
}

function shareDialog(token: string, chain: { id: string; name: string }, renamed: (name: string) => void): HTMLDialogElement {
  const base = `/api/chains/${encodeURIComponent(chain.id)}`;
  const heading = element("h2", { id: "share-heading" }, `Share “${chain.name}”`);
  const message = element("p", { class: "error", role: "alert", hidden: "" });
  const failed = (error: unknown) => {
    message.textContent = error instanceof Error ? error.message : String(error);
    message.hidden = false;
  };

  // Rename
  const nameInput = element("input", { "aria-label": "Chain name", maxlength: "100", required: "" });
  nameInput.value = chain.name;
  const rename = element("form", { class: "rename" }, nameInput, element("button", { type: "submit" }, "Rename"));
  rename.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const { name } = await call<{ name: string }>(token, "PATCH", base, { name: nameInput.value });
      heading.textContent = `Share “${name}”`;
      message.hidden = true;
      renamed(name);
    } catch (error) {
      failed(error);
    }
  });

  // Who has access
  const members = element("ul", { class: "members", "aria-label": "who has access" });
  const refresh = async () => {
    const { items } = await call<{ items: Member[] }>(token, "GET", `${base}/members`);
    members.replaceChildren(...items.map((member) => memberItem(member)));
  };
  const change = async (member: string, role: string | null) => {
    try {
      const path = `${base}/members/${encodeURIComponent(member)}`;
      await (role === null ? call(token, "DELETE", path) : call(token, "PUT", path, { role }));
      message.hidden = true;
      await refresh();
    } catch (error) {
      failed(error);
    }
  };
  const memberItem = (member: Member) => {
    const label = memberLabel(member.member, member.name);
    const role = roleSelect(`Role of ${label}`, member.role);
    role.addEventListener("change", () => change(member.member, role.value));
    const remove = element("button", { type: "button", "aria-label": `Remove ${label}` }, "Remove");
    remove.addEventListener("click", () => change(member.member, null));
    return element("li", { "data-member": member.member }, element("span", { class: "name" }, label), role, remove);
  };

  // Give access by name
  const query = element("input", { type: "search", "aria-label": "Find a character, corporation or alliance", placeholder: "Name: at least 3 letters", autocomplete: "off", maxlength: "100" });
  const results = element("ul", { class: "found", "aria-label": "search results" });
  const picked = element("p", { class: "picked", "aria-live": "polite" }, "Nobody picked yet.");
  const role = roleSelect("Role to give", "viewer");
  const give = element("button", { type: "button", disabled: "" }, "Give access");
  let choice: Found | null = null;
  const pick = (found: Found) => {
    choice = found;
    picked.textContent = `Picked: ${found.name} (${found.kind})`;
    give.removeAttribute("disabled");
  };
  let typing: number | undefined;
  query.addEventListener("input", () => {
    clearTimeout(typing);
    typing = window.setTimeout(async () => {
      const text = query.value.trim();
      if (text.length < MIN_QUERY) {
        results.replaceChildren();
        return;
      }
      try {
        const { items } = await call<{ items: Found[] }>(token, "GET", `/api/eve/search?q=${encodeURIComponent(text)}`);
        if (query.value.trim() !== text) return; // a later search's answer wins
        message.hidden = true;
        results.replaceChildren(...(items.length ? items.map((found) => {
          const button = element("button", { type: "button", class: "link", "data-member": found.member }, `${found.name} (${found.kind})`);
          button.addEventListener("click", () => pick(found));
          return element("li", {}, button);
        }) : [element("li", { class: "hint" }, "Nobody by that name: try the full name.")]));
      } catch (error) {
        failed(error);
      }
    }, TYPING_PAUSE_MS);
  });
  give.addEventListener("click", async () => {
    if (choice === null) return;
    await change(choice.member, role.value);
    choice = null;
    query.value = "";
    results.replaceChildren();
    picked.textContent = "Nobody picked yet.";
    give.setAttribute("disabled", "");
  });

  const close = element("button", { type: "button", class: "close" }, "Close");
  const dialog = element("dialog", { class: "share-dialog", "aria-labelledby": "share-heading" },
    heading, rename,
    element("h3", {}, "Who has access"), members,
    element("h3", {}, "Give access"), query, results, picked,
    element("div", { class: "give" }, role, give),
    element("h3", {}, "Notifications"), notificationsPart(token, base, failed),
    message, close);
  close.addEventListener("click", () => dialog.close());
  refresh().catch(failed);
  return dialog;
}
