// Open holes: a wormhole signature of a system on the map that no connection is linked to yet
// shows as a stub from its system to a small marker (its sig id, and once known its type and
// the class it leads to). Nothing is added to the document for it. Pure functions: which
// signatures are open holes, what their markers say, and on which side of the box they go.

import { classLabel, shortClassLabel } from "../labels";
import type { WormholeType } from "../universe";
import type { Point } from "./layout";
import { NODE_H, NODE_W } from "./sizes";

export const HOLE_W = 108;
export const HOLE_H = 15;
const HOLE_GAP = 3;
const STUB = 16; // from the box's edge to the markers
const MAX_SHOWN = 5; // more than these: the last marker counts the rest

/** The fields of a signature entry (contract section 5) an open hole is read from. */
export interface SignatureFields {
  system?: unknown;
  sig?: unknown;
  group?: unknown;
  whType?: unknown;
  connection?: unknown;
}

export interface OpenHole {
  sig: string;
  whType: string;
}

/** An open hole's marker, its centre relative to its system's centre. */
export interface PlacedHole {
  sig: string;
  text: string; // on the marker: "ABC-123 B274→HS"
  label: string; // its accessible name: "Open hole ABC-123 (B274 to high-sec)"
  x: number;
  y: number;
}

export type Side = "right" | "left" | "below" | "above";

/** The open holes of each system on the map, by sig id: wormhole signatures whose
 * `connection` is empty or names no connection there is. */
export function openHoles(signatures: Iterable<[string, SignatureFields]>, hasSystem: (id: string) => boolean, hasConnection: (key: string) => boolean): Map<string, OpenHole[]> {
  const found = new Map<string, OpenHole[]>();
  for (const [key, signature] of signatures) {
    if (signature.group !== "wormhole") continue;
    const system = key.split(":")[0];
    const connection = typeof signature.connection === "string" ? signature.connection : "";
    if (!hasSystem(system) || (connection && hasConnection(connection))) continue;
    const hole = { sig: String(signature.sig ?? key.slice(system.length + 1)), whType: typeof signature.whType === "string" ? signature.whType.toUpperCase() : "" };
    found.set(system, [...(found.get(system) ?? []), hole]);
  }
  for (const holes of found.values()) holes.sort((a, b) => a.sig.localeCompare(b.sig));
  return found;
}

/** What a marker says and its accessible name; a K162 leads to "?" (the other side tells). */
export function holeText(hole: OpenHole, types: WormholeType[]): { text: string; label: string } {
  if (!hole.whType) return { text: hole.sig, label: `Open hole ${hole.sig}` };
  const type = hole.whType === "K162" ? undefined : types.find((candidate) => candidate.code === hole.whType);
  const target = type ? classLabel(type.targetClass) || "?" : "?";
  const short = type ? shortClassLabel(type.targetClass) : "?";
  return { text: `${hole.sig} ${hole.whType}→${short}`, label: `Open hole ${hole.sig} (${hole.whType} to ${target})` };
}

/** The side a line from the box's centre towards `to` leaves it through. */
function exitSide(from: Point, to: Point): Side {
  const [dx, dy] = [to.x - from.x, to.y - from.y];
  if (Math.abs(dx) * NODE_H >= Math.abs(dy) * NODE_W) return dx >= 0 ? "right" : "left";
  return dy >= 0 ? "below" : "above";
}

/** The markers' centres for `count` holes on one side of a box centred at 0, 0: a column. */
function column(side: Side, count: number): Point[] {
  const step = HOLE_H + HOLE_GAP;
  const x = side === "right" ? NODE_W / 2 + STUB + HOLE_W / 2 : side === "left" ? -(NODE_W / 2 + STUB + HOLE_W / 2) : 0;
  const first = side === "below" ? NODE_H / 2 + STUB + HOLE_H / 2 : side === "above" ? -(NODE_H / 2 + STUB + HOLE_H / 2) - (count - 1) * step : -((count - 1) * step) / 2;
  return Array.from({ length: count }, (_, index) => ({ x, y: first + index * step }));
}

function overlapsBox(centre: Point, markers: Point[], box: Point): boolean {
  return markers.some((marker) => Math.abs(centre.x + marker.x - box.x) < (NODE_W + HOLE_W) / 2 && Math.abs(centre.y + marker.y - box.y) < (NODE_H + HOLE_H) / 2);
}

/** Where the markers go: on the side of the box no other box is on and fewest of its lines
 * leave through (right, then left, below, above when they tie). */
export function holeSide(centre: Point, count: number, boxes: Point[], linked: Point[]): Side {
  const shown = Math.min(count, MAX_SHOWN);
  let best: { side: Side; cost: number } | null = null;
  for (const side of ["right", "left", "below", "above"] as Side[]) {
    const markers = column(side, shown);
    const cost = 100 * boxes.filter((box) => overlapsBox(centre, markers, box)).length + linked.filter((to) => exitSide(centre, to) === side).length;
    if (!best || cost < best.cost) best = { side, cost };
  }
  return best!.side;
}

/** The markers of a system's open holes on `side`; past MAX_SHOWN, the last one counts the rest. */
export function placeHoles(holes: OpenHole[], side: Side, types: WormholeType[]): PlacedHole[] {
  const shown = holes.length > MAX_SHOWN ? holes.slice(0, MAX_SHOWN - 1) : holes;
  const rest = holes.length - shown.length;
  const spots = column(side, shown.length + (rest ? 1 : 0));
  const placed = shown.map((hole, index) => ({ sig: hole.sig, ...holeText(hole, types), ...spots[index] }));
  if (rest) placed.push({ sig: "", text: `+${rest} open`, label: `${rest} more open holes`, ...spots[shown.length] });
  return placed;
}

/** Where the stub leaves the box (relative to its centre) for markers on `side`. */
export function stubStart(side: Side): Point {
  return { right: { x: NODE_W / 2, y: 0 }, left: { x: -NODE_W / 2, y: 0 }, below: { x: 0, y: NODE_H / 2 }, above: { x: 0, y: -NODE_H / 2 } }[side];
}
