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

/** The `jumps` entries that read as ships, skipping whatever a client broke. */
export function readJumps(raw: unknown): Jump[] {
  if (!Array.isArray(raw)) return [];
  return raw.filter((jump): jump is Jump => positive(jump?.mass) && typeof jump?.at === "number");
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
