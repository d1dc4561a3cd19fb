// The chain document bound to the canvas: the document stays the single source of truth,
// and the canvas's nodes and edges are derived from it. A change rebuilds only the nodes and
// edges it touched, so React Flow redraws only those; a drag writes x/y once, at its end.
// What only a box shows (alias, effect, pilots, open holes...) reaches it through its own
// subscription (box, subscribeBox): a change there leaves React Flow's nodes as they were,
// so React Flow does not run its ~1,100 element selectors for it.

import * as Y from "yjs";
import { type Edge, type Node, type NodeHandle, Position, type Rect } from "@xyflow/react";
import { moveSystem, roots } from "../chain";
import type { ChainSession, Pilot, Presence } from "../session";
import { securityBand, spaceLabel, WSPACE_FIRST_ID } from "../labels";
import { readStatics, type Static, type UniverseData, type WormholeType } from "../universe";
import { type Jump, massStage, readJumps, type MassStage } from "../wormholes";
import type { IntelFeed, TheraLink } from "./intel";
import { HOLE_H, HOLE_W, holeSide, type OpenHole, openHoles, type PlacedHole, placeHoles, type Side } from "./openHoles";
import { NODE_H, NODE_W } from "./sizes";

export interface SystemData extends Record<string, unknown> {
  id: string;
  name: string;
  alias: string;
  status: string;
  locked: boolean;
  space: string; // high, low, null, c1..c6, thera, shattered, drifter, pochven, unknown
  classLabel: string;
  effect: string;
  statics: Static[];
  signatures: number;
  pilots: string[]; // who flies there: the user's name, or the character id
  kills: { ships: number; pods: number; npcs: number } | null;
  watchers: string[];
  theraLinks: TheraLink[];
  holes: PlacedHole[]; // its open holes' markers (see openHoles.ts)
  holeSide: Side;
  home: boolean;
  picked: boolean;
  connecting: boolean;
}

export interface ConnectionData extends Record<string, unknown> {
  key: string;
  kind: string; // wormhole, stargate, bridge, thera
  whType: string;
  typedEnd: "source" | "target" | null;
  mass: MassStage;
  eol: boolean;
  eolAt: number | null;
  createdAt: number | null;
  size: string;
  type: WormholeType | undefined;
  jumps: Jump[];
  expiresAt: number | null; // EVE-Scout's end, for Thera and Turnur links
  picked: boolean;
}

/** What a system box shows from outside its Y.Map. */
type Live = Pick<SystemData, "signatures" | "watchers" | "pilots" | "home" | "theraLinks" | "holes" | "holeSide">;

interface HoleMarkers {
  side: Side;
  holes: PlacedHole[];
  key: string; // the two as one string, for liveKey
  from: OpenHole[]; // the open holes they were placed for
}

const NO_HOLES: HoleMarkers = { side: "right", holes: [], key: "", from: [] };
const CELL_W = 300; // the grid a system's neighbours are looked up in: wider than a box with
const CELL_H = 200; // a column of markers beside it, taller than one with markers below

const cellOf = (x: number, y: number) => `${Math.floor(x / CELL_W)},${Math.floor(y / CELL_H)}`;

export type SystemNode = Node<SystemData, "system">;
export type ConnectionEdge = Edge<ConnectionData, "connection">;

export interface Picks {
  systems: string[];
  connection: string | null;
  connecting: string | null;
}

export interface GraphState {
  nodes: SystemNode[];
  edges: ConnectionEdge[];
  connecting: string | null; // the system a connection is being made from
}

function spaceOf(info: ReturnType<UniverseData["system"]>): string {
  if (!info) return "unknown";
  if (info.id < WSPACE_FIRST_ID || info.wormholeClass === null) return securityBand(info.security);
  const special: Record<number, string> = { 12: "thera", 13: "shattered", 25: "pochven" };
  if (info.wormholeClass >= 1 && info.wormholeClass <= 6) return `c${info.wormholeClass}`;
  return special[info.wormholeClass] ?? (info.wormholeClass >= 14 && info.wormholeClass <= 18 ? "drifter" : "unknown");
}

const BOX_SIZE = { width: NODE_W, height: NODE_H };
/** Lines run from box centre to box centre (SystemBox's centre handles). */
const CENTRE_HANDLES: NodeHandle[] = (["source", "target"] as const).map((type) => ({
  type, position: Position.Top, x: NODE_W / 2 - 0.5, y: NODE_H / 2, width: 1, height: 1,
}));

const finite = (value: unknown): number | null => (typeof value === "number" && Number.isFinite(value) ? value : null);

/** Whether React Flow would see no difference between the two nodes (the box's own content
 * aside): place, drag, selection, accessible name and the minimap's status colour. */
function sameFrame(a: SystemNode, b: SystemNode): boolean {
  return a.position.x === b.position.x && a.position.y === b.position.y && a.draggable === b.draggable && a.selected === b.selected
    && a.ariaLabel === b.ariaLabel && a.data.status === b.data.status;
}

function sameItems<T>(before: T[], after: T[]): T[] {
  return before.length === after.length && before.every((item, index) => item === after[index]) ? before : after;
}

export class ChainGraph {
  private state: GraphState = { nodes: [], edges: [], connecting: null };
  // Each node with what it was built from outside its Y.Map (see liveKey): a node is built
  // again only when its Y.Map changed (it leaves the cache) or that key differs.
  private readonly nodeCache = new Map<string, { node: SystemNode; key: string }>();
  private readonly boxes = new Map<string, SystemData>(); // each box's latest data
  private readonly boxListeners = new Map<string, Set<() => void>>();
  private changedBoxes: string[] = [];
  private readonly edgeCache = new Map<string, ConnectionEdge>();
  private readonly listeners = new Set<() => void>();
  private wormholeTypes: WormholeType[] = [];
  // Which signatures are open holes changes only when signatures change or systems or
  // connections come or go; where their markers go, also when a system moves. Each is worked
  // out again only then, and a system keeps its markers while its holes and side stay.
  private openBySystem = new Map<string, OpenHole[]>();
  private holeMarkers = new Map<string, HoleMarkers>();
  private openStale = true;
  private placesStale = true;
  picks: Readonly<Picks> = { systems: [], connection: null, connecting: null };
  private pending = false;
  private lastNodes = new Map<string, SystemNode>();

  constructor(private readonly session: ChainSession, private readonly universe: UniverseData, private readonly intel: IntelFeed, private readonly editable: boolean) {
    const { systems, connections, signatures, meta } = roots(session.doc);
    systems.observeDeep((events) => this.touched(events, "node"));
    connections.observeDeep((events) => this.touched(events, "edge"));
    signatures.observeDeep(() => {
      this.openStale = true;
      this.schedule();
    });
    meta.observe(() => this.schedule());
    session.provider.awareness.on("change", () => this.schedule());
    universe.subscribe(() => this.schedule());
    intel.subscribe(() => this.rebuildAll("edge"));
    void universe.wormholes().then((types) => {
      this.wormholeTypes = types;
      this.openStale = true;
      this.rebuildAll();
    });
    this.rebuildAll();
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly snapshot = (): GraphState => this.state;

  readonly subscribeBox = (id: string, listener: () => void): (() => void) => {
    const listeners = this.boxListeners.get(id) ?? new Set();
    this.boxListeners.set(id, listeners.add(listener));
    return () => listeners.delete(listener);
  };

  /** What the box of a system shows now (its node's data may be older). */
  readonly box = (id: string): SystemData | undefined => this.boxes.get(id);

  /** Where everything drawn lies, the open holes' markers included: what "Fit map" shows. */
  extent(): Rect | null {
    let [left, top, right, bottom] = [Infinity, Infinity, -Infinity, -Infinity];
    const take = (x: number, y: number, width: number, height: number) => {
      [left, top] = [Math.min(left, x), Math.min(top, y)];
      [right, bottom] = [Math.max(right, x + width), Math.max(bottom, y + height)];
    };
    for (const { id, position } of this.state.nodes) {
      take(position.x, position.y, NODE_W, NODE_H);
      const [cx, cy] = [position.x + NODE_W / 2, position.y + NODE_H / 2];
      for (const hole of this.boxes.get(id)?.holes ?? []) take(cx + hole.x - HOLE_W / 2, cy + hole.y - HOLE_H / 2, HOLE_W, HOLE_H);
    }
    return left === Infinity ? null : { x: left, y: top, width: right - left, height: bottom - top };
  }

  setPicks(picks: Picks): void {
    const before = this.picks;
    this.picks = picks;
    for (const key of [before.connection, picks.connection]) if (key) this.edgeCache.delete(key);
    this.schedule();
  }

  /** Where the drag ended: written once, and only when it moved. */
  move(id: string, x: number, y: number): void {
    const system = roots(this.session.doc).systems.get(id);
    if (!system) return;
    const [cx, cy] = [Math.round(x + NODE_W / 2), Math.round(y + NODE_H / 2)];
    if (system.get("x") === cx && system.get("y") === cy) return;
    this.session.endStep();
    moveSystem(this.session.doc, id, cx, cy);
    this.session.endStep();
  }

  private touched(events: Y.YEvent<Y.AbstractType<unknown>>[], kind: "node" | "edge"): void {
    const cache: Map<string, unknown> = kind === "node" ? this.nodeCache : this.edgeCache;
    for (const event of events) {
      if (event.path.length) {
        cache.delete(String(event.path[0]));
        if (kind === "node" && (event.keys.has("x") || event.keys.has("y"))) this.placesStale = true;
      } else {
        for (const key of event.keys.keys()) cache.delete(key);
        this.openStale = true;
      }
    }
    if (kind === "edge") for (const key of [...this.edgeCache.keys()]) if (key.startsWith("thera:")) this.edgeCache.delete(key);
    this.schedule();
  }

  private rebuildAll(kind?: "node" | "edge"): void {
    if (kind !== "edge") this.nodeCache.clear();
    if (kind !== "node") this.edgeCache.clear();
    this.schedule();
  }

  /** One rebuild a task, however many events a transaction or a burst sends. */
  private schedule(): void {
    if (this.pending) return;
    this.pending = true;
    queueMicrotask(() => {
      this.pending = false;
      // The same array when nothing in it changed: React Flow then skips its work for it.
      const nodes = sameItems(this.state.nodes, this.buildNodes());
      const edges = sameItems(this.state.edges, this.buildEdges());
      const changed = this.changedBoxes;
      this.changedBoxes = [];
      for (const id of changed) for (const listener of this.boxListeners.get(id) ?? []) listener();
      const { connecting } = this.picks;
      if (nodes === this.state.nodes && edges === this.state.edges && connecting === this.state.connecting) return;
      this.state = { nodes, edges, connecting };
      for (const listener of this.listeners) listener();
    });
  }

  private buildNodes(): SystemNode[] {
    const { systems, signatures, meta } = roots(this.session.doc);
    const signatureCount = new Map<string, number>();
    for (const key of signatures.keys()) {
      const system = key.split(":")[0];
      signatureCount.set(system, (signatureCount.get(system) ?? 0) + 1);
    }
    const watchers = new Map<string, string[]>();
    for (const other of this.session.others()) {
      if (other.selected) watchers.set(other.selected, [...new Set([...(watchers.get(other.selected) ?? []), other.user.name])]);
    }
    const pilots = this.pilotNames();
    const home = String(meta.get("home") ?? "");
    const thera = new Map<string, TheraLink[]>();
    for (const link of this.intel.links()) {
      for (const end of [String(link.inSystem), String(link.outSystem)]) thera.set(end, [...(thera.get(end) ?? []), link]);
    }
    this.universe.want([...systems.keys()].map(Number));
    const markers = this.placedHoles();
    const nodes: SystemNode[] = [];
    for (const [id, system] of systems) {
      const holes = markers.get(id) ?? NO_HOLES;
      const live: Live = {
        signatures: signatureCount.get(id) ?? 0, watchers: watchers.get(id) ?? [], pilots: pilots.get(id) ?? [], home: home === id, theraLinks: thera.get(id) ?? [],
        holes: holes.holes, holeSide: holes.side,
      };
      const key = `${this.liveKey(id, live)}|${holes.key}`;
      let cached = this.nodeCache.get(id);
      if (cached?.key !== key) {
        const fresh = this.node(id, system, live);
        // The same node object while only what the box shows changed: React Flow is left alone.
        const before = this.lastNodes.get(id);
        cached = { node: before && sameFrame(before, fresh) ? before : fresh, key };
        this.nodeCache.set(id, cached);
        this.boxes.set(id, fresh.data);
        this.changedBoxes.push(id);
      }
      nodes.push(cached.node);
    }
    for (const id of [...this.nodeCache.keys()]) {
      if (!systems.has(id)) {
        this.nodeCache.delete(id);
        this.boxes.delete(id);
      }
    }
    this.lastNodes = new Map(nodes.map((node) => [node.id, node]));
    return nodes;
  }

  /** Each system's open holes, placed beside it where no other box is. */
  private placedHoles(): Map<string, HoleMarkers> {
    if (!this.openStale && !this.placesStale) return this.holeMarkers;
    const { systems, connections, signatures } = roots(this.session.doc);
    if (this.openStale) {
      const fields = function* () {
        for (const [key, entry] of signatures) {
          yield [key, { system: entry.get("system"), sig: entry.get("sig"), group: entry.get("group"), whType: entry.get("whType"), connection: entry.get("connection") }] as [string, Record<string, unknown>];
        }
      };
      this.openBySystem = openHoles(fields(), (id) => systems.has(id), (key) => connections.has(key));
    }
    this.openStale = this.placesStale = false;
    const open = this.openBySystem;
    const centre = (id: string) => {
      const system = systems.get(id);
      return { x: finite(system?.get("x")) ?? 0, y: finite(system?.get("y")) ?? 0 };
    };
    const grid = new Map<string, { x: number; y: number }[]>();
    for (const id of systems.keys()) {
      const at = centre(id);
      const cell = cellOf(at.x, at.y);
      grid.set(cell, [...(grid.get(cell) ?? []), at]);
    }
    const linked = new Map<string, { x: number; y: number }[]>();
    for (const key of connections.keys()) {
      const [a, b] = key.split("-");
      if (!systems.has(a) || !systems.has(b)) continue;
      if (open.has(a)) linked.set(a, [...(linked.get(a) ?? []), centre(b)]);
      if (open.has(b)) linked.set(b, [...(linked.get(b) ?? []), centre(a)]);
    }
    const before = this.holeMarkers;
    this.holeMarkers = new Map();
    for (const [id, holes] of open) {
      const at = centre(id);
      const [column, row] = [Math.floor(at.x / CELL_W), Math.floor(at.y / CELL_H)];
      const near = [-1, 0, 1].flatMap((dx) => [-1, 0, 1].flatMap((dy) => grid.get(`${column + dx},${row + dy}`) ?? []));
      const side = holeSide(at, holes.length, near.filter((box) => box.x !== at.x || box.y !== at.y), linked.get(id) ?? []);
      const kept = before.get(id);
      if (kept && kept.side === side && kept.from === holes) {
        this.holeMarkers.set(id, kept);
        continue;
      }
      const placed = placeHoles(holes, side, this.wormholeTypes);
      this.holeMarkers.set(id, { side, holes: placed, key: `${side}${placed.map((hole) => `|${hole.text}|${hole.label}|${hole.x}|${hole.y}`).join("")}`, from: holes });
    }
    return this.holeMarkers;
  }

  private pilotNames(): Map<string, string[]> {
    const users = new Map<string, string>();
    for (const state of this.session.provider.awareness.getStates().values()) {
      const user = (state as Partial<Presence>)?.user;
      if (user?.id) users.set(user.id, user.name);
    }
    const names = new Map<string, string[]>();
    for (const [system, pilots] of this.session.pilots()) {
      names.set(system, pilots.map((pilot: Pilot) => users.get(pilot.userId) ?? `#${pilot.characterId}`));
    }
    return names;
  }

  /** What a node shows that its Y.Map does not hold, as one string to compare. */
  private liveKey(id: string, live: Live): string {
    const info = this.universe.system(Number(id));
    const kills = this.intel.kills(id);
    return [
      live.signatures, live.watchers.join(), live.pilots.join(), live.home, this.picks.systems.includes(id), this.picks.connecting === id,
      info?.name, info?.security, info?.wormholeClass, info?.effect, JSON.stringify(info?.statics ?? null), this.wormholeTypes.length,
      kills ? [kills.ships, kills.pods, kills.npcs].join() : "", live.theraLinks.length,
    ].join("|");
  }

  private node(id: string, system: Y.Map<unknown>, live: Live): SystemNode {
    const info = this.universe.system(Number(id));
    const locked = system.get("locked") === true;
    const x = finite(system.get("x")) ?? 0;
    const y = finite(system.get("y")) ?? 0;
    const data: SystemData = {
      id,
      name: info?.name ?? id,
      alias: String(system.get("alias") ?? ""),
      status: String(system.get("status") ?? "unknown"),
      locked,
      space: spaceOf(info),
      classLabel: spaceLabel(info),
      effect: info?.effect ?? "",
      statics: info?.statics ? readStatics(info.statics, this.wormholeTypes) : [],
      kills: this.intel.kills(id),
      picked: this.picks.systems.includes(id),
      connecting: this.picks.connecting === id,
      ...live,
    };
    return {
      id,
      type: "system",
      position: { x: x - NODE_W / 2, y: y - NODE_H / 2 },
      width: NODE_W,
      height: NODE_H,
      // Known in advance, so React Flow never measures a box: a node built again (a drag
      // step, another client's edit) would otherwise be hidden and measured again.
      measured: BOX_SIZE,
      handles: CENTRE_HANDLES,
      draggable: this.editable && !locked,
      selected: data.picked,
      data,
      ariaLabel: data.name, // not the alias: renaming one then leaves React Flow alone
    };
  }

  private buildEdges(): ConnectionEdge[] {
    const { systems, connections } = roots(this.session.doc);
    const edges: ConnectionEdge[] = [];
    for (const [key, connection] of connections) {
      const [a, b] = key.split("-");
      if (!systems.has(a) || !systems.has(b)) continue;
      let edge = this.edgeCache.get(key);
      if (!edge) {
        edge = this.edge(key, a, b, connection);
        this.edgeCache.set(key, edge);
      }
      edges.push(edge);
    }
    for (const link of this.intel.links()) {
      const [a, b] = [String(link.inSystem), String(link.outSystem)];
      if (!systems.has(a) || !systems.has(b) || connections.has(a < b ? `${a}-${b}` : `${b}-${a}`)) continue;
      edges.push(this.theraEdge(link));
    }
    for (const key of [...this.edgeCache.keys()]) if (!key.startsWith("thera:") && !connections.has(key)) this.edgeCache.delete(key);
    return edges;
  }

  private edge(key: string, a: string, b: string, connection: Y.Map<unknown>): ConnectionEdge {
    const whType = String(connection.get("whType") ?? "").toUpperCase();
    const side = connection.get("whSide");
    const type = this.wormholeTypes.find((candidate) => candidate.code === whType);
    const rawJumps = connection.get("jumps");
    const jumps = readJumps(rawJumps instanceof Y.Array ? rawJumps.toJSON() : rawJumps);
    const fields = { createdAt: connection.get("createdAt"), eol: connection.get("eol"), eolAt: connection.get("eolAt"), mass: connection.get("mass") };
    const data: ConnectionData = {
      key,
      kind: String(connection.get("kind") ?? "wormhole"),
      whType,
      typedEnd: side === "a" ? "source" : side === "b" ? "target" : null,
      mass: massStage(fields, type, jumps),
      eol: connection.get("eol") === true,
      eolAt: finite(connection.get("eolAt")),
      createdAt: finite(connection.get("createdAt")),
      size: String(connection.get("size") ?? ""),
      type,
      jumps,
      expiresAt: null,
      picked: this.picks.connection === key,
    };
    return { id: key, type: "connection", source: a, target: b, data, selected: data.picked };
  }

  private theraEdge(link: TheraLink): ConnectionEdge {
    const id = `thera:${link.id}`;
    const cached = this.edgeCache.get(id);
    if (cached) return cached;
    const data: ConnectionData = {
      key: id, kind: "thera", whType: link.whType, typedEnd: null, mass: "fresh", eol: false, eolAt: null,
      createdAt: link.updatedAt, size: link.size, type: undefined, jumps: [], expiresAt: link.expiresAt, picked: false,
    };
    const edge: ConnectionEdge = { id, type: "connection", source: String(link.inSystem), target: String(link.outSystem), data, selectable: false };
    this.edgeCache.set(id, edge);
    return edge;
  }
}
