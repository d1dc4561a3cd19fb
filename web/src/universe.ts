// Static data from the service (contract section 8): names, classes, effects, statics and
// wormhole types. Lookups go out in batches; what comes back is kept in local storage, so a
// reload offline still shows the names of the chain's systems and search finds systems seen
// before. Without static data every answer is empty and the page shows system ids.

import { ApiError, call } from "./api";
import { loadStored, saveStored } from "./stored";

export interface Static {
  code: string;
  targetClass: number | null;
}

export interface SystemInfo {
  id: number;
  name: string;
  security: number;
  region: string;
  constellation?: string;
  wormholeClass: number | null;
  effect?: string | null;
  // Objects per contract v2; a service before it answers bare codes, and only per system.
  statics?: (Static | string)[];
}

export interface WormholeType {
  code: string;
  targetClass: number | null;
  lifetimeMinutes: number | null;
  maxMass: number | null;
  maxJumpMass: number | null;
  size?: string | null;
}

/** The route options of contract section 8. */
export interface RouteOptions {
  chain: string | null; // use this chain's connections
  avoidEol: boolean;
  avoidCritical: boolean;
  avoidLowNull: boolean;
  minSize: "" | "medium" | "large" | "xlarge" | "capital";
  eveScout: boolean; // use EVE-Scout's Thera and Turnur connections
}

const SYSTEMS_KEY = "mapper.universe.systems";
const WORMHOLES_KEY = "mapper.universe.wormholes";
const KEEP_SYSTEMS = 5000; // about 1 MB of local storage
const BATCH = 500; // the service takes up to 1000 ids a call
const RETRY_MS = 30_000;
const SAVE_AFTER_MS = 300;
const SEARCH_LIMIT = 10;
const MAX_EVE_ID = 2 ** 31 - 1; // what the service accepts as an id

function isSystemId(id: number): boolean {
  return Number.isInteger(id) && id > 0 && id <= MAX_EVE_ID;
}

/** The systems kept in local storage, skipping whatever does not look like one. */
function keptSystems(): SystemInfo[] {
  const kept = loadStored<unknown>(SYSTEMS_KEY, []);
  if (!Array.isArray(kept)) return [];
  return kept.filter((info): info is SystemInfo => Number.isInteger(info?.id) && typeof info?.name === "string" && typeof info?.security === "number");
}

export class UniverseData {
  // Insertion order is use order: the oldest go first when the store is full.
  private readonly systems = new Map<number, SystemInfo>(keptSystems().map((info) => [info.id, info]));
  private readonly asked = new Set<number>(); // this session: answered or on the way
  private readonly absent = new Set<number>(); // answered, but the static data lacks them
  private readonly detailed = new Set<number>();
  private readonly queued = new Set<number>();
  private readonly listeners = new Set<() => void>();
  private readonly pendingNames = new Map<Text, number>();
  private flushTimer: ReturnType<typeof setTimeout> | null = null;
  private saveTimer: ReturnType<typeof setTimeout> | null = null;
  private wormholeList: Promise<WormholeType[]> | null = null;

  constructor(private readonly token: string) {
    addEventListener("pagehide", () => this.save());
  }

  system(id: number): SystemInfo | undefined {
    return this.systems.get(id);
  }

  name(id: number): string {
    return this.systems.get(id)?.name ?? String(id);
  }

  /** A text node with the system's name, or its id until the name is known. */
  nameText(id: number): Text {
    const node = document.createTextNode(this.name(id));
    if (isSystemId(id) && !this.systems.has(id) && !this.absent.has(id)) {
      this.pendingNames.set(node, id);
      this.want([id]);
    }
    return node;
  }

  /** Call `listener` whenever new static data arrives; returns the way to stop. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Ask for the ids not asked yet this session, together with others asked meanwhile. */
  want(ids: Iterable<number>): void {
    for (const id of ids) {
      if (isSystemId(id) && !this.asked.has(id)) this.queued.add(id);
    }
    if (this.queued.size && this.flushTimer === null) this.flushTimer = setTimeout(() => this.flush(), 0);
  }

  private async flush(): Promise<void> {
    this.flushTimer = null;
    const ids = [...this.queued];
    this.queued.clear();
    for (const id of ids) this.asked.add(id);
    for (let start = 0; start < ids.length; start += BATCH) {
      const batch = ids.slice(start, start + BATCH);
      try {
        const { items } = await call<{ items: SystemInfo[] }>(this.token, "GET", `/api/universe/systems?ids=${batch.join(",")}`);
        const found = new Set(items.map((item) => item.id));
        for (const id of batch) if (!found.has(id)) this.absent.add(id);
        this.remember(items);
      } catch (error) {
        if (error instanceof ApiError && error.status === 400) {
          for (const id of batch) this.absent.add(id); // refused: asking again changes nothing
          this.notify();
          continue;
        }
        for (const id of batch) this.asked.delete(id);
        setTimeout(() => this.want(batch), RETRY_MS); // offline: what is stored shows meanwhile
      }
    }
  }

  private remember(items: SystemInfo[]): void {
    for (const item of items) {
      const { neighbours: _, ...info } = { ...this.systems.get(item.id), ...item } as SystemInfo & { neighbours?: unknown };
      this.systems.delete(item.id);
      this.systems.set(item.id, info);
    }
    this.trim();
    this.saveTimer ??= setTimeout(() => this.save(), SAVE_AFTER_MS); // one write for a burst
    this.notify();
  }

  private trim(): void {
    for (const id of [...this.systems.keys()].slice(0, Math.max(0, this.systems.size - KEEP_SYSTEMS))) this.systems.delete(id);
  }

  private save(): void {
    if (this.saveTimer === null) return;
    clearTimeout(this.saveTimer);
    this.saveTimer = null;
    // Another tab may have kept systems since this one loaded: keep them too, as older.
    const others = keptSystems().filter((info) => !this.systems.has(info.id));
    if (others.length) {
      const mine = [...this.systems.values()];
      this.systems.clear();
      for (const info of [...others, ...mine]) this.systems.set(info.id, info);
      this.trim();
    }
    saveStored(SYSTEMS_KEY, [...this.systems.values()]);
  }

  private notify(): void {
    for (const [node, id] of this.pendingNames) {
      if (this.systems.has(id)) node.data = this.name(id);
      if (this.systems.has(id) || this.absent.has(id)) this.pendingNames.delete(node);
    }
    for (const listener of this.listeners) listener();
  }

  /** Systems whose names start with `text`: the service's answer, or offline the ones kept. */
  async search(text: string): Promise<SystemInfo[]> {
    const wanted = text.trim();
    if (!wanted) return [];
    try {
      const { items } = await call<{ items: SystemInfo[] }>(this.token, "GET", `/api/universe/systems?search=${encodeURIComponent(wanted)}&limit=${SEARCH_LIMIT}`);
      this.remember(items);
      return items;
    } catch (error) {
      if (error instanceof ApiError) throw error;
      return this.searchKept(wanted);
    }
  }

  private searchKept(text: string): SystemInfo[] {
    const prefix = text.toLowerCase();
    return [...this.systems.values()]
      .filter((info) => info.name.toLowerCase().startsWith(prefix))
      .sort((a, b) => a.name.localeCompare(b.name))
      .slice(0, SEARCH_LIMIT);
  }

  /** The system's statics, each with the class it leads to; null when not known. */
  async statics(id: number): Promise<Static[] | null> {
    if (this.systems.get(id)?.statics === undefined && !this.detailed.has(id)) {
      // A service before contract v2 answers statics only for one system at a time.
      this.detailed.add(id);
      try {
        this.remember([await call<SystemInfo>(this.token, "GET", `/api/universe/systems/${id}`)]);
      } catch (error) {
        if (!(error instanceof ApiError)) this.detailed.delete(id); // offline: ask again later
      }
    }
    const raw = this.systems.get(id)?.statics;
    if (!raw) return null;
    return readStatics(raw, raw.some((item) => typeof item === "string") ? await this.wormholes() : []);
  }

  /** The systems from `from` to `to`, both included; null when no path exists. */
  async route(from: number, to: number, options: RouteOptions): Promise<number[] | null> {
    const query = new URLSearchParams({ from: String(from), to: String(to) });
    if (options.chain) query.set("chain", options.chain);
    if (options.minSize) query.set("minSize", options.minSize);
    for (const flag of ["avoidEol", "avoidCritical", "avoidLowNull", "eveScout"] as const) if (options[flag]) query.set(flag, "1");
    try {
      const { path } = await call<{ path: number[] }>(this.token, "GET", `/api/universe/route?${query}`);
      this.want(path);
      return path;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }
  }

  wormholes(): Promise<WormholeType[]> {
    this.wormholeList ??= call<{ items: WormholeType[] }>(this.token, "GET", "/api/universe/wormholes")
      .then(({ items }) => {
        saveStored(WORMHOLES_KEY, items);
        return items;
      })
      .catch(() => {
        this.wormholeList = null; // ask again next time
        const kept = loadStored<unknown>(WORMHOLES_KEY, []);
        return Array.isArray(kept) ? (kept as WormholeType[]) : [];
      });
    return this.wormholeList;
  }
}

/** Statics as contract v2 gives them; bare codes (a service before it) get their target
 * class from the wormhole types. */
export function readStatics(raw: (Static | string)[], types: Pick<WormholeType, "code" | "targetClass">[]): Static[] {
  const target = (code: string) => types.find((type) => type.code === code)?.targetClass ?? null;
  return raw.map((item) => (typeof item === "string" ? { code: item, targetClass: target(item) } : item));
}
