// The start page: the chains the user can see; create one, open one.

import { call, type Chain } from "./api";
import { accountPanel } from "./account";
import { element } from "./dom";
import { shareButton } from "./shareDialog";

export async function showChains(root: HTMLElement, token: string): Promise<void> {
  root.replaceChildren(element("h1", {}, "Chains"));
  const list = element("ul", { class: "chains" });
  const form = element("form", { class: "create" },
    element("input", { name: "name", placeholder: "New chain name", required: "", maxlength: "100" }),
    element("button", { type: "submit" }, "Create"));
  root.append(list, form, accountPanel(root, token));
  const render = (chains: Chain[]) => {
    list.replaceChildren(...chains.map((chain) => {
      const link = element("a", { href: `/chains/${chain.id}` }, chain.name);
      const share = chain.role === "owner" ? [shareButton(token, chain, (name) => (link.textContent = name))] : [];
      return element("li", {}, link, element("span", { class: "role" }, chain.role), ...share);
    }));
  };
  try {
    render((await call<{ items: Chain[] }>(token, "GET", "/api/chains")).items);
  } catch (error) {
    list.replaceChildren(element("li", { class: "error" }, `Cannot list chains: ${error}`));
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = (form.elements.namedItem("name") as HTMLInputElement).value;
    const chain = await call<Chain>(token, "POST", "/api/chains", { name });
    location.assign(`/chains/${chain.id}`);
  });
}
