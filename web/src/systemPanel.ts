// The side panel for a selected system: its name and static facts, alias, status, notes,
// and its signatures (probe-scanner paste, and which connection a wormhole leads through).

import * as Y from "yjs";
import { applyScan, type Entry, removeSignatures, roots, setFields } from "./chain";
import { element } from "./dom";
import { linkSignature } from "./holes";
import { parsePaste } from "./paste";
import type { ChainSession } from "./session";
import { signatureTypeChoice } from "./signatureHole";
import { systemFacts } from "./systemFacts";
import { bindText } from "./textbinding";
import type { UniverseData } from "./universe";

const STATUSES = ["unknown", "friendly", "hostile", "occupied", "empty"];

export interface SystemView {
  session: ChainSession;
  universe: UniverseData;
  editable: boolean;
  userId: string;
}

export interface ShownPanel {
  parts: HTMLElement[];
  /** Redraw the signature table (the document changed). */
  refreshSignatures: () => void;
  /** Let go of the notes binding and static data (the panel shows something else). */
  stop: () => void;
}

export function systemPanel(view: SystemView, systemId: number, system: Entry): ShownPanel {
  const alias = element("input", { value: String(system.get("alias") ?? ""), maxlength: "64", "aria-label": "alias" });
  const status = element("select", { "aria-label": "status" }, ...STATUSES.map((name) => element("option", { value: name }, name)));
  status.value = String(system.get("status") ?? "unknown");
  const notes = element("textarea", { "aria-label": "notes", rows: "6" });
  const text = system.get("notes");
  const unbindNotes = text instanceof Y.Text ? bindText(notes, text) : () => {};
  if (!view.editable) for (const control of [alias, status, notes]) control.setAttribute("disabled", "");
  const edit = (fields: Record<string, unknown>) => {
    view.session.endStep();
    setFields(view.session.doc, system, fields);
  };
  alias.addEventListener("change", () => edit({ alias: alias.value.slice(0, 64) }));
  status.addEventListener("change", () => edit({ status: status.value }));
  const facts = systemFacts(view.universe, systemId);
  const signatures = signaturePanel(view, systemId);
  return {
    parts: [
      element("h2", { title: String(systemId) }, view.universe.nameText(systemId)),
      facts.element,
      element("label", {}, "Alias ", alias),
      element("label", {}, "Status ", status),
      element("label", {}, "Notes", notes),
      signatures.element,
    ],
    refreshSignatures: signatures.refresh,
    stop: () => {
      unbindNotes();
      facts.stop();
    },
  };
}

function signaturePanel(view: SystemView, systemId: number): { element: HTMLElement; refresh: () => void } {
  const { session } = view;
  const heading = element("h3", {});
  const table = element("table", { class: "signatures" });
  const refresh = () => {
    const rows = [...roots(session.doc).signatures.entries()]
      .filter(([key]) => key.startsWith(`${systemId}:`))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([, entry]) => element("tr", {}, element("td", {}, String(entry.get("sig"))), element("td", {}, String(entry.get("group"))), element("td", {}, String(entry.get("name") ?? "")), element("td", {}, signatureTypeChoice(session, view.universe, view.editable, entry)), element("td", {}, linkChoice(view, systemId, entry))));
    heading.textContent = `Signatures (${rows.length})`;
    table.replaceChildren(element("tr", {}, element("th", {}, "Sig"), element("th", {}, "Group"), element("th", {}, "Name"), element("th", {}, "Type"), element("th", {}, "Leads to")), ...rows);
  };
  refresh();
  const pasteBox = element("textarea", { "aria-label": "probe scanner paste", rows: "4", placeholder: "Paste probe scanner results (Ctrl+A, Ctrl+C in game)" });
  const apply = element("button", {}, "Apply paste");
  const outcome = element("div", { class: "outcome" });
  if (!view.editable) for (const control of [pasteBox, apply]) control.setAttribute("disabled", "");
  apply.addEventListener("click", () => {
    session.endStep();
    const result = applyScan(session.doc, systemId, parsePaste(pasteBox.value), view.userId);
    pasteBox.value = "";
    outcome.replaceChildren(`${result.added.length} added, ${result.updated.length} updated.`);
    if (result.missing.length) {
      // Deleting what the paste lacks is opt-in, and shows what goes first.
      const prune = element("button", { class: "prune" }, `Delete ${result.missing.length} not in the paste: ${result.missing.join(", ")}`);
      prune.addEventListener("click", () => {
        session.endStep();
        removeSignatures(session.doc, systemId, result.missing);
        prune.remove();
      });
      outcome.append(" ", prune);
    }
  });
  return { element: element("section", {}, heading, table, pasteBox, apply, outcome), refresh };
}

/** For a wormhole signature: which of the system's connections it is, by the other end's name. */
function linkChoice(view: SystemView, systemId: number, signature: Entry): HTMLElement | string {
  if (signature.get("group") !== "wormhole") return "";
  const own = String(systemId);
  const mine = [...roots(view.session.doc).connections.keys()].filter((key) => key.split("-").includes(own));
  const other = (key: string) => view.universe.nameText(Number(key.split("-").find((id) => id !== own)));
  const choice = element("select", { "aria-label": `connection of ${signature.get("sig")}` },
    element("option", { value: "" }, "—"), ...mine.map((key) => element("option", { value: key }, other(key))));
  choice.value = String(signature.get("connection") ?? "");
  if (!view.editable) choice.setAttribute("disabled", "");
  choice.addEventListener("change", () => {
    view.session.endStep();
    linkSignature(view.session.doc, `${systemId}:${signature.get("sig")}`, choice.value);
  });
  return choice;
}
