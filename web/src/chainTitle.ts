// The chain's name in the toolbar: it follows `meta.name` of the document (a rename reaches
// every open page), and an owner can rename the chain (PATCH /api/chains/{id}).

import { call } from "./api";
import { roots } from "./chain";
import { element } from "./dom";
import type { ChainSession } from "./session";
import { saveStored } from "./stored";

const MAX_NAME = 100;

export function chainTitle(session: ChainSession, token: string, known: { name: string; role: string }): HTMLElement {
  const title = element("h1", {}, known.name);
  const meta = roots(session.doc).meta;
  const follow = () => {
    const name = meta.get("name");
    if (typeof name !== "string" || !name || name === title.textContent) return;
    title.textContent = name;
    saveStored(`mapper.chain.${session.chainId}`, { name, role: known.role });
  };
  meta.observe(follow);
  follow();
  if (known.role !== "owner") return title;
  const rename = element("button", { class: "rename", title: "Rename the chain" }, "Rename");
  rename.addEventListener("click", () => title.replaceWith(renameForm(session.chainId, token, title)));
  return element("span", { class: "chain-title" }, title, rename);
}

/** A name box in place of the title: Enter renames, Escape or leaving the box cancels. */
function renameForm(chainId: string, token: string, title: HTMLElement): HTMLElement {
  const input = element("input", { "aria-label": "chain name", maxlength: String(MAX_NAME), value: title.textContent ?? "" });
  const form = element("form", { class: "rename-form" }, input);
  const done = () => form.replaceWith(title);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = input.value.trim();
    if (!name || name === title.textContent) return done();
    input.disabled = true;
    try {
      await call(token, "PATCH", `/api/chains/${chainId}`, { name });
      title.textContent = name;
      done();
    } catch (error) {
      input.disabled = false;
      input.title = `Not renamed: ${error instanceof Error ? error.message : error}`;
      input.setCustomValidity(input.title);
      input.reportValidity();
    }
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") done();
  });
  input.addEventListener("input", () => input.setCustomValidity(""));
  queueMicrotask(() => input.focus());
  return form;
}
