// The intel document (/ws/intel, contract section 10), read only: kills of the last hour per
// system, and EVE-Scout's Thera and Turnur connections. Only the service writes it, and it
// rebuilds it on each load, so every connection starts from an empty document (as status.ts).

import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";

const RECONNECT_MS = 1000;

export interface TheraLink {
  id: string;
  inSystem: number;
  outSystem: number;
  whType: string;
  size: string;
  expiresAt: number | null;
  updatedAt: number | null;
}

export interface Kills {
  ships: number;
  pods: number;
  npcs: number;
}

const count = (value: unknown): number => (typeof value === "number" && Number.isFinite(value) && value > 0 ? value : 0);
const stamp = (value: unknown): number | null => (typeof value === "number" && Number.isFinite(value) ? value : null);

export class IntelFeed {
  private doc = new Y.Doc();
  private readonly listeners = new Set<() => void>();
  private pending = false;

  constructor(token: string | null) {
    if (token) this.connect(token);
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  kills(systemId: string): Kills | null {
    const entry = this.doc.getMap<Y.Map<unknown>>("activity").get(systemId);
    if (!(entry instanceof Y.Map)) return null;
    return { ships: count(entry.get("shipKills")), pods: count(entry.get("podKills")), npcs: count(entry.get("npcKills")) };
  }

  /** EVE-Scout's connections still open. */
  links(): TheraLink[] {
    const now = Date.now();
    const links: TheraLink[] = [];
    for (const [id, entry] of this.doc.getMap<Y.Map<unknown>>("eveScout")) {
      if (!(entry instanceof Y.Map)) continue;
      const inSystem = count(entry.get("inSystem"));
      const outSystem = count(entry.get("outSystem"));
      const expiresAt = stamp(entry.get("expiresAt"));
      if (!inSystem || !outSystem || (expiresAt !== null && expiresAt < now)) continue;
      links.push({ id, inSystem, outSystem, whType: String(entry.get("whType") ?? ""), size: String(entry.get("size") ?? ""), expiresAt, updatedAt: stamp(entry.get("updatedAt")) });
    }
    return links;
  }

  private connect(token: string): void {
    const base = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
    const doc = new Y.Doc();
    this.doc = doc;
    const provider = new WebsocketProvider(base, "intel", doc, { params: { token } });
    doc.on("update", () => this.changed());
    provider.on("status", ({ status }: { status: string }) => {
      if (status !== "disconnected") return;
      provider.destroy();
      doc.destroy();
      setTimeout(() => this.connect(token), RECONNECT_MS);
    });
  }

  private changed(): void {
    if (this.pending) return;
    this.pending = true;
    setTimeout(() => {
      this.pending = false;
      for (const listener of this.listeners) listener();
    }, 0);
  }
}
