// The side panel for a selected connection: its two ends by name, the wormhole type with
// what static data says about it and which side is typed (the other being the K162), the
// signature at each end, mass passed and left (with jumps added by hand), size, end of life,
// time left and age.

import { type Entry, setFields } from "./chain";
import { element } from "./dom";
import { addJump, jumpsOf } from "./holes";
import { tonnes, wormholeFacts } from "./labels";
import type { ChainSession } from "./session";
import { searchShips, type Ship } from "./ships";
import type { UniverseData, WormholeType } from "./universe";
import { codeAt, type End, jumpMakesCritical, massLeft, massPassed, massStage, shortDuration, timeLeft } from "./wormholes";

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
  token: string;
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
  const code = String(connection.get("whType") ?? "");
  const parts = [
    element("h2", { "data-key": key }, "Connection ", universe.nameText(a), " – ", universe.nameText(b)),
    element("label", {}, "Type ", whType),
    typedSide(view, connection, a, b, edit),
    ends(view, connection, a, b),
    choose("mass", "mass", ["fresh", "reduced", "critical"]),
    choose("size", "size", ["", "small", "medium", "large", "xlarge", "capital"]),
    element("label", {}, eol, " end of life"),
    typeInfo(universe, code),
    massAndLife(view, connection, code),
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

/** "B274 on Jita's side": which end holds the typed side (`whSide`); the other is the K162. */
function typedSide(view: ConnectionView, connection: Entry, a: number, b: number, edit: (fields: Record<string, unknown>) => void): HTMLElement {
  const code = String(connection.get("whType") ?? "") || "typed side";
  const label = code === "K162" ? "typed side" : code;
  const side = element("select", { "aria-label": "typed side" },
    element("option", { value: "" }, "—"),
    element("option", { value: "a" }, `${label} on ${view.universe.name(a)}'s side`),
    element("option", { value: "b" }, `${label} on ${view.universe.name(b)}'s side`));
  side.value = String(connection.get("whSide") ?? "");
  side.addEventListener("change", () => edit({ whSide: side.value }));
  return element("label", {}, "Side ", side);
}

/** Each end: the code seen there and the signature it was scanned as. */
function ends(view: ConnectionView, connection: Entry, a: number, b: number): HTMLElement {
  const hole = connection.toJSON();
  const line = (end: End, systemId: number) => {
    const sig = String(connection.get(end === "a" ? "sigA" : "sigB") ?? "");
    const code = codeAt(hole, end);
    return element("li", { "data-end": end }, view.universe.nameText(systemId), `: ${code || "?"}`, sig ? `, signature ${sig}` : ", no signature linked");
  };
  return element("ul", { class: "ends" }, line("a", a), line("b", b));
}

/** Time left, mass passed and left against the type's maximum, and adding a jump by hand. */
function massAndLife(view: ConnectionView, connection: Entry, code: string): HTMLElement {
  const life = element("p", { class: "time-left" });
  const mass = element("p", { class: "mass-left" });
  const warning = element("p", { class: "warning", hidden: "" });
  const ship = element("input", { "aria-label": "ship", placeholder: "Ship (name)", list: "ship-names", autocomplete: "off" });
  const names = element("datalist", { id: "ship-names" });
  const add = element("button", {}, "Add jump");
  let type: WormholeType | undefined;
  let found: Ship[] = [];
  let confirmed = "";
  const jumps = () => jumpsOf(connection);
  const show = () => {
    const left = timeLeft(connection.toJSON(), type, Date.now());
    life.textContent = left === null ? "" : `Time left: ${shortDuration(left)}`;
    const passed = massPassed(jumps());
    const remaining = massLeft(type, jumps());
    const stage = massStage(connection.toJSON(), type, jumps());
    mass.dataset.stage = stage;
    mass.textContent = remaining === null || !type?.maxMass
      ? `Mass passed ${tonnes(passed)} (${jumps().length} jumps); maximum unknown`
      : `Mass passed ${tonnes(passed)} of ${tonnes(type.maxMass)} (${jumps().length} jumps); left ${tonnes(remaining)} (${stage})`;
  };
  const chosen = async (): Promise<Ship | undefined> => {
    const name = ship.value.trim().toLowerCase();
    if (!name) return undefined;
    if (!found.some((candidate) => candidate.name.toLowerCase() === name)) found = await searchShips(view.token, ship.value);
    return found.find((candidate) => candidate.name.toLowerCase() === name) ?? (found.length === 1 ? found[0] : undefined);
  };
  const warn = async () => {
    const picked = await chosen();
    const critical = picked?.mass ? jumpMakesCritical(type, jumps(), picked.mass) : false;
    warning.hidden = !critical;
    warning.textContent = critical && picked ? `A ${picked.name} (${tonnes(picked.mass ?? 0)}) takes this hole critical.` : "";
    add.textContent = critical ? "Jump anyway" : "Add jump";
    return { picked, critical };
  };
  ship.addEventListener("input", async () => {
    found = await searchShips(view.token, ship.value);
    names.replaceChildren(...found.map((candidate) => element("option", { value: candidate.name })));
  });
  ship.addEventListener("change", () => void warn());
  add.addEventListener("click", async () => {
    const { picked, critical } = await warn();
    if (!picked) {
      warning.hidden = false;
      warning.textContent = "Pick a ship by name.";
      return;
    }
    if (critical && confirmed !== picked.name) {
      confirmed = picked.name; // the second click, after the warning, adds it
      return;
    }
    view.session.endStep();
    addJump(view.session.doc, connection, { at: Date.now(), characterId: 0, shipTypeId: picked.typeId, mass: picked.mass ?? 0 });
    confirmed = "";
    ship.value = "";
    view.redraw();
  });
  if (!view.editable) for (const control of [ship, add]) control.setAttribute("disabled", "");
  void view.universe.wormholes().then((types) => {
    type = types.find((candidate) => candidate.code === code);
    show();
  });
  show();
  return element("section", { class: "mass" }, life, mass, element("div", { class: "add-jump" }, ship, names, add), warning);
}
