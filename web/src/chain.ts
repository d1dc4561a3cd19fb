// Edits of a chain document (contract section 5), each one transaction with the local origin
// so the undo manager tracks the user's own edits and nobody else's.

import * as Y from "yjs";

export const LOCAL = "local";

export type Entry = Y.Map<unknown>;

export function roots(doc: Y.Doc) {
  return {
    meta: doc.getMap("meta"),
    systems: doc.getMap<Entry>("systems"),
    connections: doc.getMap<Entry>("connections"),
    signatures: doc.getMap<Entry>("signatures"),
  };
}

export function connectionKey(a: number, b: number): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`;
}

export function addSystem(doc: Y.Doc, id: number, x: number, y: number, by: string): void {
  const { systems } = roots(doc);
  if (systems.has(String(id))) return;
  doc.transact(() => {
    const system = new Y.Map<unknown>();
    system.set("id", id);
    system.set("x", x);
    system.set("y", y);
    system.set("alias", "");
    system.set("status", "unknown");
    system.set("locked", false);
    system.set("notes", new Y.Text());
    system.set("addedAt", Date.now());
    system.set("addedBy", by);
    systems.set(String(id), system);
  }, LOCAL);
}

export function moveSystem(doc: Y.Doc, id: string, x: number, y: number): void {
  placeSystems(doc, new Map([[id, { x, y }]]));
}

/** Move systems in one transaction (one undo step), writing only the values that change. */
export function placeSystems(doc: Y.Doc, places: Map<string, { x: number; y: number }>): void {
  const { systems } = roots(doc);
  doc.transact(() => {
    for (const [id, { x, y }] of places) {
      const system = systems.get(id);
      if (!system) continue;
      if (system.get("x") !== Math.round(x)) system.set("x", Math.round(x));
      if (system.get("y") !== Math.round(y)) system.set("y", Math.round(y));
    }
  }, LOCAL);
}

/** The system a chain reads from (contract section 5, `meta.home`). */
export function setHome(doc: Y.Doc, id: number): void {
  const { meta } = roots(doc);
  if (meta.get("home") !== id) doc.transact(() => meta.set("home", id), LOCAL);
}

/** Remove systems and whatever hangs on them: their connections and signatures. */
export function removeSystems(doc: Y.Doc, ids: string[]): void {
  const { systems, connections, signatures } = roots(doc);
  const gone = new Set(ids);
  doc.transact(() => {
    for (const key of [...connections.keys()]) {
      const [a, b] = key.split("-");
      if (gone.has(a) || gone.has(b)) connections.delete(key);
    }
    for (const key of [...signatures.keys()]) {
      if (gone.has(key.split(":")[0])) signatures.delete(key);
    }
    for (const id of ids) systems.delete(id);
  }, LOCAL);
}

export function connect(doc: Y.Doc, a: number, b: number): string | null {
  if (a === b) return null;
  const { connections } = roots(doc);
  const key = connectionKey(a, b);
  if (connections.has(key)) return key;
  doc.transact(() => {
    const connection = new Y.Map<unknown>();
    const now = Date.now();
    connection.set("a", Math.min(a, b));
    connection.set("b", Math.max(a, b));
    connection.set("kind", "wormhole");
    connection.set("whType", "");
    connection.set("mass", "fresh");
    connection.set("eol", false);
    connection.set("eolAt", null);
    connection.set("size", "");
    connection.set("createdAt", now);
    connection.set("updatedAt", now);
    connections.set(key, connection);
  }, LOCAL);
  return key;
}

export function setFields(doc: Y.Doc, entry: Entry, fields: Record<string, unknown>): void {
  doc.transact(() => {
    for (const [name, value] of Object.entries(fields)) entry.set(name, value);
  }, LOCAL);
}

export interface PasteResult {
  added: string[];
  updated: string[];
  missing: string[]; // signatures of the system that the paste does not list
}

/** Upsert the scanned signatures of one system, never downgrading what is already known:
 * an identified group or a name stays when a less-scanned row comes again. */
export function applyScan(
  doc: Y.Doc, systemId: number,
  scanned: { sig: string; group: string; name: string }[], by: string,
): PasteResult {
  const { signatures } = roots(doc);
  const result: PasteResult = { added: [], updated: [], missing: [] };
  const now = Date.now();
  doc.transact(() => {
    for (const row of scanned) {
      const key = `${systemId}:${row.sig}`;
      const existing = signatures.get(key);
      if (!existing) {
        const entry = new Y.Map<unknown>();
        for (const [field, value] of Object.entries({
          system: systemId, sig: row.sig, group: row.group, type: "", name: row.name,
          connection: "", createdAt: now, updatedAt: now, by,
        })) entry.set(field, value);
        signatures.set(key, entry);
        result.added.push(row.sig);
        continue;
      }
      const changes: Record<string, unknown> = {};
      if (row.group !== "unknown" && existing.get("group") !== row.group) changes.group = row.group;
      if (row.name && existing.get("name") !== row.name) changes.name = row.name;
      if (Object.keys(changes).length) {
        for (const [field, value] of Object.entries({ ...changes, updatedAt: now, by })) existing.set(field, value);
        result.updated.push(row.sig);
      }
    }
  }, LOCAL);
  const listed = new Set(scanned.map((row) => row.sig));
  for (const key of signatures.keys()) {
    const [system, sig] = key.split(":");
    if (system === String(systemId) && !listed.has(sig)) result.missing.push(sig);
  }
  return result;
}

export function removeSignatures(doc: Y.Doc, systemId: number, sigs: string[]): void {
  const { signatures } = roots(doc);
  doc.transact(() => {
    for (const sig of sigs) signatures.delete(`${systemId}:${sig}`);
  }, LOCAL);
}
