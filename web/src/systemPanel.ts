// The side panel for a selected system: its name and static facts, alias, status, notes,
// its signatures, and the route from it to any system.

import * as Y from "yjs";
import { type Entry, setFields } from "./chain";
import { element } from "./dom";
import { routePanel } from "./routePanel";
import type { ChainSession } from "./session";
import { signaturePanel } from "./signatures";
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
  const route = routePanel(view.universe, view.session.chainId, systemId);
  return {
    parts: [
      element("h2", { title: String(systemId) }, view.universe.nameText(systemId)),
      facts.element,
      element("label", {}, "Alias ", alias),
      element("label", {}, "Status ", status),
      element("label", {}, "Notes", notes),
      signatures.element,
      route.element,
    ],
    refreshSignatures: signatures.refresh,
    stop: () => {
      unbindNotes();
      facts.stop();
      signatures.stop();
      route.stop();
    },
  };
}
