// How long a wormhole has left and how much mass it still takes, from a connection's fields
// (contract section 5) and its type's static data (section 8). Pure functions: the canvas's
// lines and the side panels read the same answers.

import type { WormholeType } from "./universe";

export type MassStage = "fresh" | "reduced" | "critical";

/** One ship seen passing through (a connection's `jumps` entry). */
export interface Jump {
  at: number;
  characterId: number;
  shipTypeId: number;
  mass: number;
}

/** The fields of a connection these answers read; a missing one reads as its default. */
export interface HoleFields {
  createdAt?: unknown;
  eol?: unknown;
  eolAt?: unknown;
  mass?: unknown;
}

export const EOL_LEFT_MS = 4 * 3_600_000; // EVE's "end of life": less than 4 hours left
const REDUCED_BELOW = 0.5; // EVE: "reduced" below half of the maximum mass
const CRITICAL_BELOW = 0.1; // EVE: "critical" below a tenth
const STAGES: MassStage[] = ["fresh", "reduced", "critical"];

function positive(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value > 0;
}

/** Milliseconds left until the hole closes (negative once it should have), or null when
 * nothing tells: the earlier of its type's lifetime from `createdAt` and 4 h from `eolAt`. */
export function timeLeft(hole: HoleFields, type: Pick<WormholeType, "lifetimeMinutes"> | undefined, now: number): number | null {
  const ends: number[] = [];
  if (positive(hole.createdAt) && positive(type?.lifetimeMinutes)) ends.push(hole.createdAt + type.lifetimeMinutes * 60_000);
  if (hole.eol === true && positive(hole.eolAt)) ends.push(hole.eolAt + EOL_LEFT_MS);
  return ends.length ? Math.min(...ends) - now : null;
}

export function isExpired(hole: HoleFields, type: Pick<WormholeType, "lifetimeMinutes"> | undefined, now: number): boolean {
  const left = timeLeft(hole, type, now);
  return left !== null && left <= 0;
}

/** The `jumps` entries that read as ships, skipping whatever a client broke; with
 * `massless`, also those whose ship static data did not know (mass 0). */
export function readJumps(raw: unknown, massless = false): Jump[] {
  if (!Array.isArray(raw)) return [];
  return raw.filter((jump): jump is Jump => (positive(jump?.mass) || (massless && jump?.mass === 0)) && typeof jump?.at === "number");
}

export function massPassed(jumps: Jump[]): number {
  return jumps.reduce((sum, jump) => sum + jump.mass, 0);
}

/** Mass the hole still takes (kg, at least 0), or null when its type's maximum is unknown. */
export function massLeft(type: Pick<WormholeType, "maxMass"> | undefined, jumps: Jump[]): number | null {
  return positive(type?.maxMass) ? Math.max(0, type.maxMass - massPassed(jumps)) : null;
}

export function stageOf(left: number, max: number): MassStage {
  if (left < max * CRITICAL_BELOW) return "critical";
  return left < max * REDUCED_BELOW ? "reduced" : "fresh";
}

/** The stage to show: the worse of what a scout set (`mass`) and what the jumps add up to. */
export function massStage(hole: HoleFields, type: Pick<WormholeType, "maxMass"> | undefined, jumps: Jump[]): MassStage {
  const set = STAGES.includes(hole.mass as MassStage) ? (hole.mass as MassStage) : "fresh";
  const left = massLeft(type, jumps);
  if (left === null || !positive(type?.maxMass)) return set;
  const counted = stageOf(left, type.maxMass);
  return STAGES.indexOf(counted) > STAGES.indexOf(set) ? counted : set;
}

/** True when one more jump of `shipMass` would take the hole to critical (or close it). */
export function jumpMakesCritical(type: Pick<WormholeType, "maxMass"> | undefined, jumps: Jump[], shipMass: number): boolean {
  const left = massLeft(type, jumps);
  if (left === null || !positive(type?.maxMass)) return false;
  return stageOf(left - shipMass, type.maxMass) === "critical";
}

/** "3h 12m", "45m", "expired". */
export function shortDuration(ms: number): string {
  if (ms <= 0) return "expired";
  const minutes = Math.floor(ms / 60_000);
  return minutes < 60 ? `${minutes}m` : `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

export type End = "a" | "b";

/** Which end of connection `key` ("{a}-{b}") the system is, or null when neither. */
export function endOf(key: string, systemId: number): End | null {
  const [a, b] = key.split("-").map(Number);
  return systemId === a ? "a" : systemId === b ? "b" : null;
}

/** The wormhole code seen from one end: the type at the typed side (`whSide`), K162 at the
 * other; "" while the typed side is not known. */
export function codeAt(hole: { whType?: unknown; whSide?: unknown }, end: End): string {
  if (hole.whSide !== "a" && hole.whSide !== "b") return "";
  if (hole.whSide !== end) return "K162";
  return typeof hole.whType === "string" && hole.whType !== "K162" ? hole.whType : "";
}

/** A signature's fields as these answers read them (a missing one reads as its default). */
export interface SignatureFields {
  group?: unknown;
  connection?: unknown;
  createdAt?: unknown;
}

/** Keys of the system's wormhole signatures that lead through no connection yet, by id. */
export function unlinkedHoles(signatures: Iterable<[string, SignatureFields]>, systemId: number): string[] {
  const prefix = `${systemId}:`;
  const found: string[] = [];
  for (const [key, signature] of signatures) {
    if (key.startsWith(prefix) && signature.group === "wormhole" && !signature.connection) found.push(key);
  }
  return found.sort();
}

export const SIGNATURE_MAX_AGE_MS = 24 * 3_600_000; // "clean up" removes signatures older than a day

/** What "clean up expired" removes: connections past their lifetime, signatures older
 * than `signatureMaxAgeMs`. `typeOf` gives a connection's wormhole type by code. */
export function expiredContent(
  connections: Iterable<[string, HoleFields & { whType?: unknown }]>,
  signatures: Iterable<[string, SignatureFields]>,
  typeOf: (code: string) => Pick<WormholeType, "lifetimeMinutes"> | undefined,
  now: number,
  signatureMaxAgeMs = SIGNATURE_MAX_AGE_MS,
): { connections: string[]; signatures: string[] } {
  const holes = [...connections].filter(([, hole]) => isExpired(hole, typeOf(String(hole.whType ?? "")), now)).map(([key]) => key);
  const old = [...signatures].filter(([, signature]) => positive(signature.createdAt) && now - signature.createdAt > signatureMaxAgeMs).map(([key]) => key);
  return { connections: holes, signatures: old };
}

/** Jumps not seen before (by connection, time and character) of the given characters,
 * no older than `recentMs`; every jump read is remembered in `seen`. */
export function freshJumps(
  seen: Set<string>,
  connections: Iterable<[string, unknown]>,
  characters: Set<number>,
  now: number,
  recentMs: number,
): { key: string; jump: Jump }[] {
  const fresh: { key: string; jump: Jump }[] = [];
  for (const [key, raw] of connections) {
    for (const jump of readJumps(raw, true)) {
      const id = `${key}|${jump.at}|${jump.characterId}`;
      if (seen.has(id)) continue;
      seen.add(id);
      if (characters.has(jump.characterId) && now - jump.at <= recentMs) fresh.push({ key, jump });
    }
  }
  return fresh;
}

/** A move the service offers to confirm (the user's live document, `offers`). */
export interface Offer {
  key: string;
  from: number;
  to: number;
  at: number;
  characterId: number;
  shipTypeId: number;
  mass: number;
}

/** The offers this page should ask about: recent, touching the chain, not handled yet and
 * not already a connection. */
export function pendingOffers(
  offers: Iterable<[string, unknown]>,
  onChain: (systemId: number) => boolean,
  connected: (a: number, b: number) => boolean,
  handled: Set<string>,
  now: number,
  recentMs: number,
): Offer[] {
  const pending: Offer[] = [];
  for (const [key, raw] of offers) {
    const offer = raw as Partial<Offer> | null;
    if (typeof offer?.from !== "number" || typeof offer.to !== "number" || typeof offer.at !== "number") continue;
    if (now - offer.at > recentMs || handled.has(offerId(key, offer.at))) continue;
    if (!(onChain(offer.from) || onChain(offer.to)) || connected(offer.from, offer.to)) continue;
    pending.push({ key, from: offer.from, to: offer.to, at: offer.at, characterId: Number(offer.characterId) || 0, shipTypeId: Number(offer.shipTypeId) || 0, mass: Number(offer.mass) || 0 });
  }
  return pending.sort((x, y) => x.at - y.at);
}

/** How a handled offer is remembered: the same move made again later is a new offer. */
export function offerId(key: string, at: number): string {
  return `${key}@${at}`;
}
