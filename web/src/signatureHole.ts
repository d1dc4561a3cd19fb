// For a wormhole signature in the system panel: its type, chosen by code (whType), and where
// that leads by static data.

import type { Entry } from "./chain";
import { element } from "./dom";
import { classLabel } from "./labels";
import { setSignatureType } from "./holes";
import type { ChainSession } from "./session";
import type { UniverseData } from "./universe";

export function signatureTypeChoice(session: ChainSession, universe: UniverseData, editable: boolean, signature: Entry): HTMLElement | string {
  if (signature.get("group") !== "wormhole") return "";
  const key = `${signature.get("system")}:${signature.get("sig")}`;
  const code = String(signature.get("whType") ?? "");
  const input = element("input", { "aria-label": `type of ${signature.get("sig")}`, value: code, maxlength: "8", placeholder: "K162", list: "signature-types", size: "5" });
  const leads = element("span", { class: "dim leads" });
  const codes = element("datalist", { id: "signature-types" });
  void universe.wormholes().then((types) => {
    codes.replaceChildren(...types.map((type) => element("option", { value: type.code })));
    const type = types.find((candidate) => candidate.code === code);
    if (type && type.code !== "K162") leads.textContent = ` → ${classLabel(type.targetClass)}`;
  });
  if (!editable) input.setAttribute("disabled", "");
  input.addEventListener("change", () => {
    session.endStep();
    setSignatureType(session.doc, key, input.value.trim().toUpperCase());
  });
  return element("span", {}, input, leads, codes);
}
