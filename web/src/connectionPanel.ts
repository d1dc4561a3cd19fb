// The side panel for a selected connection: its two ends by name, the wormhole type with
// what static data says about it, mass, size, end of life and age.

import { type Entry, setFields } from "./chain";
import { element } from "./dom";
import { wormholeFacts } from "./labels";
import type { ChainSession } from "./session";
import type { UniverseData } from "./universe";

function duration(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export interface ConnectionView {
  session: ChainSession;
  universe: UniverseData;
  editable: boolean;
  /** Draw the panel again (the wormhole type changed what it says). */
  redraw: () => void;
}

export function connectionPanel(view: ConnectionView, key: string, connection: Entry): HTMLElement[] {
  const { session, universe } = view;
  const edit = (fields: Record<string, unknown>) => {
    session.endStep();
    setFields(session.doc, connection, { ...fields, updatedAt: Date.now() });
  };
  const choose = (label: string, field: string, options: string[]) => {
    const select = element("select", { "aria-label": label }, ...options.map((option) => element("option", { value: option }, option || "—")));
    select.value = String(connection.get(field) ?? "");
    select.addEventListener("change", () => edit({ [field]: select.value }));
    return element("label", {}, `${label} `, select);
  };
  const whType = element("input", { "aria-label": "wormhole type", value: String(connection.get("whType") ?? ""), maxlength: "8", placeholder: "K162", list: "wormhole-types" });
  whType.addEventListener("change", () => {
    edit({ whType: whType.value.trim().toUpperCase() });
    view.redraw();
  });
  const eol = element("input", { type: "checkbox", "aria-label": "end of life" });
  eol.checked = connection.get("eol") === true;
  eol.addEventListener("change", () => edit({ eol: eol.checked, eolAt: eol.checked ? Date.now() : null }));
  const [a, b] = key.split("-").map(Number);
  const parts = [
    element("h2", { "data-key": key }, "Connection ", universe.nameText(a), " – ", universe.nameText(b)),
    element("label", {}, "Type ", whType),
    choose("mass", "mass", ["fresh", "reduced", "critical"]),
    choose("size", "size", ["", "small", "medium", "large", "xlarge", "capital"]),
    element("label", {}, eol, " end of life"),
    typeInfo(universe, String(connection.get("whType") ?? "")),
    age(connection),
  ];
  if (!view.editable) for (const part of parts) for (const control of part.querySelectorAll("input, select")) control.setAttribute("disabled", "");
  return parts;
}

/** What static data says about the wormhole type, and the codes to pick from. */
function typeInfo(universe: UniverseData, code: string): HTMLElement {
  const facts = element("p", { class: "dim type-info" });
  const codes = element("datalist", { id: "wormhole-types" });
  void universe.wormholes().then((types) => {
    codes.replaceChildren(...types.map((type) => element("option", { value: type.code })));
    const type = types.find((candidate) => candidate.code === code);
    if (type) facts.textContent = wormholeFacts(type);
  });
  return element("div", {}, facts, codes);
}

function age(connection: Entry): HTMLElement {
  const now = Date.now();
  const created = Number(connection.get("createdAt")) || now;
  const eolAt = Number(connection.get("eolAt")) || 0;
  return element("p", { class: "dim age" }, `Age ${duration(now - created)}${eolAt ? `, end of life for ${duration(now - eolAt)}` : ""}`);
}
