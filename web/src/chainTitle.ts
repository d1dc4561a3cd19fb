// The chain's name in the toolbar. It follows `meta.name` of the document, which the service
// sets on a rename (the owner's share dialog), so every open page shows the new name.

import { roots } from "./chain";
import { element } from "./dom";
import type { ChainSession } from "./session";
import { saveStored } from "./stored";

export function chainTitle(session: ChainSession, known: { name: string; role: string }): HTMLElement {
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
  return title;
}
