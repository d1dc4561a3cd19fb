// A connection on the canvas: colour for the mass stage, dashed at end of life with the time
// left counting down, thin and marked for frigate holes, the type code at its typed end and
// K162 at the other, the age; stargates, jump bridges and EVE-Scout's Thera and Turnur
// connections drawn each their own way. Lifetime and mass come from wormholes.ts.

import { memo } from "react";
import { BaseEdge, type EdgeProps } from "@xyflow/react";
import { shortDuration, timeLeft } from "../wormholes";
import type { ConnectionData, ConnectionEdge } from "./graph";
import { useTimeText } from "./clock";
import { NODE_H, NODE_W } from "./sizes";

const END_GAP = 22; // how far past the box's edge the middle of an end label sits
const BESIDE = 9; // how far beside the line labels sit: end labels below it, the middle above

interface Ends {
  sx: number;
  sy: number;
  tx: number;
  ty: number;
}

/** The unit normal of the line, pointing down (or right, for an upright line). */
function normal({ sx, sy, tx, ty }: Ends): [number, number] {
  const length = Math.hypot(tx - sx, ty - sy) || 1;
  const [nx, ny] = [-(ty - sy) / length, (tx - sx) / length];
  return ny < 0 || (ny === 0 && nx < 0) ? [-nx, -ny] : [nx, ny];
}

/** A point just outside the box around (x, y) towards (towardX, towardY), below the line. */
function nearEnd(x: number, y: number, towardX: number, towardY: number, [nx, ny]: [number, number]): [number, number] {
  const dx = towardX - x;
  const dy = towardY - y;
  const length = Math.hypot(dx, dy) || 1;
  const toEdge = Math.min(dx ? NODE_W / 2 / Math.abs(dx) : Infinity, dy ? NODE_H / 2 / Math.abs(dy) : Infinity);
  const along = Math.min(toEdge + END_GAP / length, 0.5);
  return [x + dx * along + nx * BESIDE, y + dy * along + ny * BESIDE];
}

/** What the middle of the line says: time left when it is known to be ending, else its age. */
function middleText(data: ConnectionData, now: number): string {
  if (data.kind === "thera") return `${data.whType || "Thera"}${data.expiresAt ? ` ${shortDuration(data.expiresAt - now)}` : ""}`;
  if (data.kind !== "wormhole") return data.kind === "bridge" ? "bridge" : "";
  const left = timeLeft({ createdAt: data.createdAt ?? undefined, eol: data.eol, eolAt: data.eolAt ?? undefined }, data.type, now);
  if (data.eol) return `EOL ${left === null ? "" : shortDuration(left)}`.trim();
  const age = data.createdAt ? shortDuration(Math.max(60_000, now - data.createdAt)) : "";
  return [data.size === "small" ? "frig" : "", age].filter(Boolean).join(" · ");
}

function EndLabels({ data, ends }: { data: ConnectionData; ends: Ends }) {
  if (data.kind !== "wormhole" || !data.whType) return null;
  const side = normal(ends);
  const source = nearEnd(ends.sx, ends.sy, ends.tx, ends.ty, side);
  const target = nearEnd(ends.tx, ends.ty, ends.sx, ends.sy, side);
  if (!data.typedEnd || data.whType === "K162") {
    return <text className="wh" x={(ends.sx + ends.tx) / 2 + side[0] * BESIDE} y={(ends.sy + ends.ty) / 2 + side[1] * BESIDE}>{data.whType}</text>;
  }
  const [typed, other] = data.typedEnd === "source" ? [source, target] : [target, source];
  return (
    <>
      <text className="wh typed" x={typed[0]} y={typed[1]}>{data.whType}</text>
      <text className="wh k162" x={other[0]} y={other[1]}>K162</text>
    </>
  );
}

function ConnectionLineView({ id, sourceX, sourceY, targetX, targetY, data }: EdgeProps<ConnectionEdge>) {
  const middle = useTimeText((now) => (data ? middleText(data, now) : ""));
  if (!data) return null;
  const ends = { sx: sourceX, sy: sourceY, tx: targetX, ty: targetY };
  const [nx, ny] = normal(ends);
  const classes = data.kind === "wormhole"
    ? `connection mass-${data.mass}${data.eol ? " eol" : ""} size-${data.size || "any"}${data.picked ? " selected" : ""}`
    : `connection kind-${data.kind}${data.picked ? " selected" : ""}`;
  return (
    <g className={classes} data-key={data.key} data-kind={data.kind}>
      <BaseEdge id={id} path={`M ${sourceX},${sourceY} L ${targetX},${targetY}`} interactionWidth={18} />
      {middle && <text className="middle" x={(sourceX + targetX) / 2 - nx * BESIDE} y={(sourceY + targetY) / 2 - ny * BESIDE}>{middle}</text>}
      <EndLabels data={data} ends={ends} />
    </g>
  );
}

export const ConnectionLine = memo(ConnectionLineView);
