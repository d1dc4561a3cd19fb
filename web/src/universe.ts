// Static data from the service (names, classes, wormhole types), fetched on demand and kept.
// Without imported static data every answer is empty and the map shows system ids.

import { call } from "./api";

export interface SystemInfo {
  id: number;
  name: string;
  security: number;
  region: string;
  wormholeClass: number | null;
}

export interface WormholeType {
  code: string;
  targetClass: number | null;
  lifetimeMinutes: number | null;
  maxMass: number | null;
  maxJumpMass: number | null;
}

export class UniverseData {
  private readonly systems = new Map<number, SystemInfo | null>();
  private wormholeList: Promise<WormholeType[]> | null = null;
  onChange: () => void = () => {};

  constructor(private readonly token: string) {}

  system(id: number): SystemInfo | null | undefined {
    return this.systems.get(id);
  }

  /** Look up the ids not seen yet (in one call), then tell `onChange`. */
  async want(ids: number[]): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !this.systems.has(id)).slice(0, 1000);
    if (!missing.length) return;
    for (const id of missing) this.systems.set(id, null);
    try {
      const { items } = await call<{ items: SystemInfo[] }>(this.token, "GET", `/api/universe/systems?ids=${missing.join(",")}`);
      for (const item of items) this.systems.set(item.id, item);
      if (items.length) this.onChange();
    } catch {
      for (const id of missing) this.systems.delete(id); // try again later (offline)
    }
  }

  async search(text: string): Promise<SystemInfo[]> {
    if (!text.trim()) return [];
    const { items } = await call<{ items: SystemInfo[] }>(this.token, "GET", `/api/universe/systems?search=${encodeURIComponent(text)}&limit=10`);
    for (const item of items) this.systems.set(item.id, item);
    return items;
  }

  wormholes(): Promise<WormholeType[]> {
    this.wormholeList ??= call<{ items: WormholeType[] }>(this.token, "GET", "/api/universe/wormholes")
      .then((answer) => answer.items)
      .catch(() => {
        this.wormholeList = null;
        return [];
      });
    return this.wormholeList;
  }
}

export function classLabel(info: SystemInfo | null | undefined): string {
  if (!info) return "";
  if (info.wormholeClass !== null && info.id >= 31_000_000) return `C${info.wormholeClass}`;
  return (Math.round(info.security * 10) / 10).toFixed(1);
}
