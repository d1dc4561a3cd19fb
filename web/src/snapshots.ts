// Owners' snapshot panel: list, take one, see what a restore would change, restore.

import { call } from "./api";
import { element } from "./dom";
import type { UniverseData } from "./universe";

interface Snapshot {
  id: number;
  createdAt: number;
  reason: string;
  label: string | null;
  createdBy: string | null;
  counts: { systems: number; connections: number; signatures: number };
}

interface Part {
  added: { key: string }[];
  removed: { key: string }[];
  changed: { key: string; fields: Record<string, { current: unknown; target: unknown }> }[];
}

const ROOTS = ["systems", "connections", "signatures"] as const;

/** A diff line's subject by name: "system Jita", "connection Jita – Perimeter",
 * "signature J123456 ABC-123" (keys as in contract section 5). */
function subject(universe: UniverseData, root: (typeof ROOTS)[number], key: string): (Node | string)[] {
  if (root === "systems") return [universe.nameText(Number(key))];
  if (root === "connections") {
    const [a, b] = key.split("-").map(Number);
    return [universe.nameText(a), " – ", universe.nameText(b)];
  }
  const [system, sig] = key.split(":");
  return [universe.nameText(Number(system)), ` ${sig}`];
}

export interface SnapshotPanel {
  element: HTMLElement;
  /** List the snapshots again (the page is back online). */
  refresh: () => void;
}

export function snapshotPanel(token: string, chainId: string, universe: UniverseData): SnapshotPanel {
  const base = `/api/chains/${chainId}/snapshots`;
  const list = element("ul", { class: "snapshots" });
  const detail = element("div", { class: "snapshot-detail" });
  const label = element("input", { placeholder: "label (optional)", "aria-label": "snapshot label", maxlength: "100" });
  const take = element("button", {}, "Take snapshot");
  const panel = element("section", { class: "admin" }, element("h3", {}, "Snapshots"), label, take, list, detail);

  const refresh = async () => {
    const { items } = await call<{ items: Snapshot[] }>(token, "GET", base);
    list.replaceChildren(...items.map((snapshot) => {
      const when = new Date(snapshot.createdAt).toLocaleString();
      const { systems, connections, signatures } = snapshot.counts;
      const show = element("button", { class: "link", "data-snapshot": String(snapshot.id) }, `#${snapshot.id} ${snapshot.reason}${snapshot.label ? ` “${snapshot.label}”` : ""}`);
      show.addEventListener("click", () => showDiff(snapshot));
      return element("li", {}, show, element("span", { class: "dim" }, ` ${when} · ${systems}/${connections}/${signatures}`));
    }));
  };

  const showDiff = async (snapshot: Snapshot) => {
    const diff = await call<Record<string, Part>>(token, "GET", `${base}/${snapshot.id}/diff`);
    const lines: HTMLElement[] = [];
    for (const root of ROOTS) {
      const part = diff[root];
      const line = (kind: string, sign: string, key: string, after = "") =>
        element("li", { class: kind, "data-key": key }, `${sign} ${root.slice(0, -1)} `, ...subject(universe, root, key), after);
      for (const entry of part.added) lines.push(line("added", "+", entry.key));
      for (const entry of part.removed) lines.push(line("removed", "−", entry.key));
      for (const entry of part.changed) lines.push(line("changed", "~", entry.key, `: ${Object.keys(entry.fields).join(", ")}`));
    }
    const restore = element("button", { class: "restore" }, `Restore #${snapshot.id}`);
    restore.addEventListener("click", async () => {
      if (!confirm(`Restore snapshot #${snapshot.id}? Everyone sees the change at once; it can be undone by restoring the pre-restore snapshot.`)) return;
      const { preRestoreSnapshotId } = await call<{ preRestoreSnapshotId: number }>(token, "POST", `${base}/${snapshot.id}/restore`);
      detail.replaceChildren(element("p", {}, `Restored. To undo, restore #${preRestoreSnapshotId}.`));
      await refresh();
    });
    detail.replaceChildren(
      element("p", {}, lines.length ? `Restoring #${snapshot.id} would change:` : `#${snapshot.id} equals the chain now.`),
      element("ul", { class: "diff" }, ...lines),
      restore,
    );
  };

  take.addEventListener("click", async () => {
    await call(token, "POST", base, label.value ? { label: label.value } : {});
    label.value = "";
    await refresh();
  });
  const show = () => {
    refresh().catch((error) => list.replaceChildren(element("li", { class: "error" }, `Cannot list snapshots: ${error}`)));
  };
  show();
  return { element: panel, refresh: show };
}
