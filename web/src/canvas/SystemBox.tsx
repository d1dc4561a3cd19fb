// A system on the canvas, dense like Tripwire's: class and name, alias, effect, statics with
// the class each leads to, status, lock, pilots, kills of the last hour, signatures, and who
// else has it selected. A long press (touch) or a right click opens its menu.

import { createContext, memo, useCallback, useContext, useRef, useState, useSyncExternalStore, type PointerEvent } from "react";
import { Handle, type NodeProps, Position } from "@xyflow/react";
import { shortClassLabel } from "../labels";
import type { SystemData, SystemNode } from "./graph";
import { HOLE_H, HOLE_W, stubStart } from "./openHoles";
import { NODE_H, NODE_W } from "./sizes";

const LONG_PRESS_MS = 500;
const MOVE_CANCELS_PX = 8;

export interface BoxActions {
  openMenu: (systemId: string, x: number, y: number) => void;
  /** A box's latest data and its changes (ChainGraph's box and subscribeBox). */
  box: (id: string) => SystemData | undefined;
  subscribeBox: (id: string, listener: () => void) => () => void;
}

export const BoxActionsContext = createContext<BoxActions>({ openMenu: () => {}, box: () => undefined, subscribeBox: () => () => {} });
/** Zoomed far out: boxes show their class and name only, and no open holes (not even drawn,
 * so a big chain opens as fast as without them). */
export const FarContext = createContext(false);

/** Opens the menu after a touch held still; a move (a drag or a pan) cancels it. */
function useLongPress(systemId: string) {
  const { openMenu } = useContext(BoxActionsContext);
  const timer = useRef<{ id: ReturnType<typeof setTimeout>; x: number; y: number } | null>(null);
  const cancel = () => {
    if (timer.current) clearTimeout(timer.current.id);
    timer.current = null;
  };
  return {
    onPointerDown: (event: PointerEvent) => {
      if (event.pointerType !== "touch") return;
      const { clientX: x, clientY: y } = event;
      cancel();
      timer.current = { id: setTimeout(() => openMenu(systemId, x, y), LONG_PRESS_MS), x, y };
    },
    onPointerMove: (event: PointerEvent) => {
      const start = timer.current;
      if (start && Math.hypot(event.clientX - start.x, event.clientY - start.y) > MOVE_CANCELS_PX) cancel();
    },
    onPointerUp: cancel,
    onPointerCancel: cancel,
  };
}

function Pilots({ names }: { names: string[] }) {
  const [open, setOpen] = useState(false);
  if (!names.length) return null;
  return (
    <span className="pilots-wrap">
      <button type="button" className="pilots nodrag" title={names.join(", ")} aria-label={`${names.length} pilots: ${names.join(", ")}`}
        onClick={(event) => { event.stopPropagation(); setOpen(!open); }}>
        {names.length}✈
      </button>
      {open && <span className="pilot-names" role="tooltip">{names.join(", ")}</span>}
    </span>
  );
}

/** Drawn, not an emoji: it looks the same wherever the page runs. */
function Padlock() {
  return (
    <svg className="locked" width="9" height="10" viewBox="0 0 9 10" role="img" aria-label="locked">
      <rect x="1" y="4.5" width="7" height="5.5" rx="1" fill="currentColor" />
      <path d="M2.5 4.5V3a2 2 0 0 1 4 0v1.5" stroke="currentColor" fill="none" />
    </svg>
  );
}

function TopRow({ data }: { data: SystemNode["data"] }) {
  const kills = data.kills ? data.kills.ships + data.kills.pods : 0;
  return (
    <div className="row top">
      <span className={`class space-${data.space}`}>{data.classLabel || "?"}</span>
      <span className="name">{data.name}</span>
      {data.home && <span className="home" title="home system">⌂</span>}
      {data.locked && <Padlock />}
      {kills > 0 && <span className="kills" title={`kills in the last hour: ${data.kills!.ships} ships, ${data.kills!.pods} pods, ${data.kills!.npcs} NPCs`}>{kills}☠</span>}
      <Pilots names={data.pilots} />
    </div>
  );
}

function BottomRows({ data }: { data: SystemNode["data"] }) {
  const statics = data.statics.map((item) => `${item.code}→${shortClassLabel(item.targetClass)}`).join(" ");
  const thera = data.theraLinks.length ? `${data.theraLinks.length} EVE-Scout` : "";
  return (
    <>
      <div className="row">
        <span className="alias">{data.alias}</span>
        <span className="effect" title={data.effect}>{data.effect}</span>
      </div>
      <div className="row">
        <span className="statics">{statics}</span>
        {thera && <span className="thera" title="EVE-Scout's Thera and Turnur connections here">{thera}</span>}
        {data.signatures > 0 && <span className="sigs" title="signatures">{data.signatures}◎</span>}
      </div>
    </>
  );
}

/** The system's open holes: a stub from the box's edge to each marker (see openHoles.ts). */
function OpenHoles({ data }: { data: SystemNode["data"] }) {
  const far = useContext(FarContext);
  if (!data.holes.length || far) return null;
  const start = stubStart(data.holeSide);
  const [cx, cy] = [NODE_W / 2, NODE_H / 2];
  return (
    <div className="open-holes">
      <svg className="stubs" width="1" height="1" aria-hidden="true">
        {data.holes.map((hole) => <line key={hole.sig} x1={cx + start.x} y1={cy + start.y} x2={cx + hole.x} y2={cy + hole.y} />)}
      </svg>
      {data.holes.map((hole) => (
        <div key={hole.sig} className="hole" role="img" aria-label={hole.label} title={hole.label} data-sig={hole.sig}
          style={{ left: cx + hole.x - HOLE_W / 2, top: cy + hole.y - HOLE_H / 2, width: HOLE_W, height: HOLE_H }}>{hole.text}</div>
      ))}
    </div>
  );
}

/** The box's data as it is now: a change only the box shows does not go through its node. */
function useBoxData(node: SystemData): SystemData {
  const { box, subscribeBox } = useContext(BoxActionsContext);
  const subscribe = useCallback((listener: () => void) => subscribeBox(node.id, listener), [subscribeBox, node.id]);
  return useSyncExternalStore(subscribe, () => box(node.id) ?? node);
}

function SystemBoxView(props: NodeProps<SystemNode>) {
  const data = useBoxData(props.data);
  const press = useLongPress(data.id);
  const classes = ["system", `status-${data.status}`, `space-${data.space}`, data.picked ? "selected" : "", data.connecting ? "connecting" : "", data.locked ? "locked" : ""];
  return (
    <div className={classes.filter(Boolean).join(" ")} data-system={data.id} {...press}>
      <Handle type="target" position={Position.Top} isConnectable={false} className="centre-handle" />
      <Handle type="source" position={Position.Top} isConnectable={false} className="centre-handle" />
      <TopRow data={data} />
      <BottomRows data={data} />
      <OpenHoles data={data} />
      {data.watchers.length > 0 && <div className="watchers" title={`selected by ${data.watchers.join(", ")}`}>◉ {data.watchers.join(", ")}</div>}
    </div>
  );
}

export const SystemBox = memo(SystemBoxView);
