// Edits of the scout's workflow on a chain document (contract section 5, v2 fields): link a
// signature to its connection, set a signature's wormhole type, count a jump, confirm an
// offered move, clean up what has expired. Each is one transaction with the local origin, so
// it undoes as one step.

import * as Y from "yjs";
import { addSystem, connectionKey, type Entry, LOCAL, roots } from "./chain";
import { endOf, expiredContent, type Jump, readJumps, type Offer } from "./wormholes";
import type { WormholeType } from "./universe";

/** A connection's `jumps` as plain items (a Y.Array of objects or Y.Maps; absent: none). */
export function jumpsOf(connection: Entry): Jump[] {
  const raw = connection.get("jumps");
  return raw instanceof Y.Array ? readJumps(raw.toJSON()) : [];
}

/** Append a ship to a connection's `jumps` (a new Y.Array if it has none yet). */
export function addJump(doc: Y.Doc, connection: Entry, jump: Jump): void {
  doc.transact(() => appendJump(connection, jump), LOCAL);
}

function appendJump(connection: Entry, jump: Jump): void {
  let jumps = connection.get("jumps");
  if (!(jumps instanceof Y.Array)) {
    jumps = new Y.Array<unknown>();
    connection.set("jumps", jumps);
  }
  (jumps as Y.Array<unknown>).push([{ ...jump }]);
  connection.set("updatedAt", Date.now());
}

/** Link a wormhole signature to a connection of its system (or unlink it with `""`): the
 * signature's `connection` and that end's `sigA`/`sigB`. A signature whose type is known
 * tells which side is typed: its own end for a code, the other for a K162. */
export function linkSignature(doc: Y.Doc, signatureKey: string, key: string): void {
  const { connections, signatures } = roots(doc);
  const signature = signatures.get(signatureKey);
  if (!signature) return;
  const systemId = Number(signatureKey.split(":")[0]);
  const sig = String(signature.get("sig") ?? "");
  doc.transact(() => {
    const before = String(signature.get("connection") ?? "");
    const previous = connections.get(before);
    const previousEnd = endOf(before, systemId);
    if (previous && previousEnd && previous.get(sigField(previousEnd)) === sig) previous.set(sigField(previousEnd), "");
    signature.set("connection", key);
    signature.set("updatedAt", Date.now());
    const connection = connections.get(key);
    const end = endOf(key, systemId);
    if (!connection || !end) return;
    connection.set(sigField(end), sig);
    const code = String(signature.get("whType") ?? "");
    if (code && code !== "K162") {
      connection.set("whType", code);
      connection.set("whSide", end);
    } else if (code === "K162" && !connection.get("whSide")) {
      connection.set("whSide", end === "a" ? "b" : "a");
    }
    connection.set("updatedAt", Date.now());
  }, LOCAL);
}

function sigField(end: "a" | "b"): "sigA" | "sigB" {
  return end === "a" ? "sigA" : "sigB";
}

/** Set a wormhole signature's type (`whType`), and the linked connection's when it is the
 * typed side. */
export function setSignatureType(doc: Y.Doc, signatureKey: string, code: string): void {
  const { connections, signatures } = roots(doc);
  const signature = signatures.get(signatureKey);
  if (!signature) return;
  doc.transact(() => {
    signature.set("whType", code);
    signature.set("updatedAt", Date.now());
    const key = String(signature.get("connection") ?? "");
    const connection = connections.get(key);
    const end = endOf(key, Number(signatureKey.split(":")[0]));
    if (!connection || !end || !code) return;
    if (code !== "K162") {
      connection.set("whType", code);
      connection.set("whSide", end);
    } else if (!connection.get("whSide")) {
      connection.set("whSide", end === "a" ? "b" : "a");
    }
    connection.set("updatedAt", Date.now());
  }, LOCAL);
}

/** Write an offered move the user confirmed: the system not yet on the chain (next to the
 * one that is), the connection of `kind`, and for a wormhole the ship that passed. */
export function confirmOffer(doc: Y.Doc, offer: Offer, kind: "wormhole" | "bridge", by: string): void {
  const { systems, connections } = roots(doc);
  doc.transact(() => {
    const known = systems.get(String(offer.from)) ?? systems.get(String(offer.to));
    const x = Number(known?.get("x")) || 160;
    const y = Number(known?.get("y")) || 80;
    for (const id of [offer.from, offer.to]) if (!systems.has(String(id))) addSystem(doc, id, x + 170, y + 60, by);
    const key = connectionKey(offer.from, offer.to);
    if (connections.has(key)) return;
    const now = Date.now();
    const connection = new Y.Map<unknown>();
    for (const [field, value] of Object.entries({
      a: Math.min(offer.from, offer.to), b: Math.max(offer.from, offer.to), kind, whType: "", mass: "fresh",
      eol: false, eolAt: null, size: "", createdAt: now, updatedAt: now,
    })) connection.set(field, value);
    connections.set(key, connection);
    if (kind === "wormhole") appendJump(connection, { at: offer.at, characterId: offer.characterId, shipTypeId: offer.shipTypeId, mass: offer.mass });
  }, LOCAL);
}

/** Remove expired connections and signatures older than a day, in one edit; how many went. */
export function cleanUpExpired(doc: Y.Doc, types: WormholeType[], now: number): { connections: number; signatures: number } {
  const { connections, signatures } = roots(doc);
  const byCode = new Map(types.map((type) => [type.code, type]));
  const found = expiredContent(
    [...connections.entries()].map(([key, entry]) => [key, entry.toJSON()]),
    [...signatures.entries()].map(([key, entry]) => [key, entry.toJSON()]),
    (code) => byCode.get(code),
    now,
  );
  if (found.connections.length || found.signatures.length) {
    doc.transact(() => {
      for (const key of found.connections) connections.delete(key);
      for (const key of found.signatures) signatures.delete(key);
      // A signature left pointing at a removed connection leads nowhere now, and a
      // connection no longer has the signature it was scanned as.
      const gone = new Set(found.connections);
      for (const signature of signatures.values()) if (gone.has(String(signature.get("connection") ?? ""))) signature.set("connection", "");
      for (const key of found.signatures) {
        const [systemId, sig] = key.split(":");
        for (const [connectionKey, connection] of connections.entries()) {
          const end = endOf(connectionKey, Number(systemId));
          if (end && connection.get(sigField(end)) === sig) connection.set(sigField(end), "");
        }
      }
    }, LOCAL);
  }
  return { connections: found.connections.length, signatures: found.signatures.length };
}
