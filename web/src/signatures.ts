// A system's signatures: the table (id, group, name, age, a wormhole's type and which
// connection it leads through, by the other end's name; a delete per row) and the
// probe-scanner paste.

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
      .map(([, entry]) => signatureRow(view, systemId, entry));
    heading.textContent = `Signatures (${rows.length})`;
    const head = ["Sig", "Group", "Name", "Age", "Type", "Leads to", ""].map((title) => element("th", {}, title));
    table.replaceChildren(element("tr", {}, ...head), ...rows);
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

function signatureRow(view: SystemView, systemId: number, entry: Entry): HTMLElement {
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
  return element("tr", { "data-sig": sig },
    element("td", {}, sig),
    element("td", {}, String(entry.get("group"))),
    element("td", {}, String(entry.get("name") ?? "")),
    element("td", { class: "age", title: Number.isFinite(created) ? new Date(created).toLocaleString() : "" }, age),
    element("td", {}, signatureTypeChoice(view.session, view.universe, view.editable, entry)),
    element("td", {}, linkChoice(view, systemId, entry)),
    element("td", {}, remove));
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
