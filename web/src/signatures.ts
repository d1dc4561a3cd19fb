// A system's signatures: the table (id, group, name, age and a delete per row; under a
// wormhole's row, its type and which connection it leads through, by the other end's name,
// so the table fits a narrow panel) and the probe-scanner paste.

import { applyScan, type Entry, removeSignatures, roots } from "./chain";
import { element } from "./dom";
import { linkSignature } from "./holes";
import { ageText } from "./labels";
import { parsePaste } from "./paste";
import { signatureTypeChoice } from "./signatureHole";
import type { SystemView } from "./systemPanel";

const AGE_TICK_MS = 30_000;

export interface SignatureList {
  element: HTMLElement;
  /** Redraw the table (the document changed). */
  refresh: () => void;
  /** Stop the clock that keeps the ages current. */
  stop: () => void;
}

export function signaturePanel(view: SystemView, systemId: number): SignatureList {
  const heading = element("h3", {});
  const table = element("table", { class: "signatures" });
  const refresh = () => {
    const rows = [...roots(view.session.doc).signatures.entries()]
      .filter(([key]) => key.startsWith(`${systemId}:`))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([, entry]) => signatureRows(view, systemId, entry));
    heading.textContent = `Signatures (${rows.length})`;
    const head = ["Sig", "Group", "Name", "Age", ""].map((title) => element("th", {}, title));
    table.replaceChildren(element("tr", {}, ...head), ...rows.flat());
  };
  refresh();
  // Ages count on while the panel shows; the table is redrawn only if nobody types in it.
  const clock = setInterval(() => {
    if (!table.contains(document.activeElement)) refresh();
  }, AGE_TICK_MS);
  const paste = pasteBox(view, systemId);
  return {
    element: element("section", {}, heading, table, ...paste),
    refresh,
    stop: () => clearInterval(clock),
  };
}

/** A signature's row, and for a wormhole a second one with its type and "Leads to". */
function signatureRows(view: SystemView, systemId: number, entry: Entry): HTMLElement[] {
  const sig = String(entry.get("sig"));
  const created = Number(entry.get("createdAt"));
  const age = Number.isFinite(created) && created > 0 ? ageText(Date.now() - created) : "";
  const remove = element("button", { class: "delete", title: `Delete ${sig}`, "aria-label": `delete signature ${sig}` }, "×");
  if (view.editable) {
    remove.addEventListener("click", () => {
      view.session.endStep();
      removeSignatures(view.session.doc, systemId, [sig]);
    });
  } else remove.setAttribute("disabled", "");
  const row = element("tr", { "data-sig": sig },
    element("td", {}, sig),
    element("td", {}, String(entry.get("group"))),
    element("td", {}, String(entry.get("name") ?? "")),
    element("td", { class: "age", title: Number.isFinite(created) ? new Date(created).toLocaleString() : "" }, age),
    element("td", {}, remove));
  if (entry.get("group") !== "wormhole") return [row];
  const hole = element("td", { colspan: "5" },
    element("span", { class: "field" }, "Type ", signatureTypeChoice(view.session, view.universe, view.editable, entry)),
    element("span", { class: "field" }, "Leads to ", linkChoice(view, systemId, entry)));
  return [row, element("tr", { class: "hole-row" }, hole)];
}

/** The paste box: adds and updates; deleting what the paste lacks is offered, not done. */
function pasteBox(view: SystemView, systemId: number): HTMLElement[] {
  const { session } = view;
  const box = element("textarea", { "aria-label": "probe scanner paste", rows: "4", placeholder: "Paste probe scanner results (Ctrl+A, Ctrl+C in game)" });
  const apply = element("button", {}, "Apply paste");
  const outcome = element("div", { class: "outcome" });
  if (!view.editable) for (const control of [box, apply]) control.setAttribute("disabled", "");
  apply.addEventListener("click", () => {
    session.endStep();
    const result = applyScan(session.doc, systemId, parsePaste(box.value), view.userId);
    box.value = "";
    outcome.replaceChildren(`${result.added.length} added, ${result.updated.length} updated.`);
    if (result.missing.length) {
      const prune = element("button", { class: "prune" }, `Delete ${result.missing.length} not in the paste: ${result.missing.join(", ")}`);
      prune.addEventListener("click", () => {
        session.endStep();
        removeSignatures(session.doc, systemId, result.missing);
        prune.remove();
      });
      outcome.append(" ", prune);
    }
  });
  return [box, apply, outcome];
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
