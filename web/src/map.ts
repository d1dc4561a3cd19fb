// The chain map: a React Flow canvas (web/src/canvas) mounted as an island in the vanilla
// page. The page talks to it through this class: what is selected, where a new system goes,
// the tidy action; the canvas tells the page what the user picked.

import { createElement } from "react";
import { createRoot, type Root } from "react-dom/client";
import type { ReactFlowInstance } from "@xyflow/react";
import { placeSystems, roots } from "./chain";
import { element } from "./dom";
import type { ChainSession } from "./session";
import type { UniverseData } from "./universe";
import { ChainGraph, type ConnectionEdge, type SystemNode } from "./canvas/graph";
import { IntelFeed } from "./canvas/intel";
import { placeAround, placeNear, type Point, tidy } from "./canvas/layout";
import { MapCanvas } from "./canvas/MapCanvas";
import type { MenuItem } from "./canvas/Overlays";
import { NODE_H, NODE_W } from "./canvas/sizes";

const READABLE_ZOOM = 0.6;

export class ChainMap {
  readonly element: HTMLElement;
  /** The systems picked (the last one is the selected one) and the connection picked. */
  picked: string[] = [];
  selectedConnection: string | null = null;
  connecting: string | null = null;
  onSelect: (systemId: string | null, additive: boolean) => void = () => {};
  onSelectConnection: (key: string) => void = () => {};
  onEscape: () => void = () => {};
  menuItems: (systemId: string) => MenuItem[] = () => [];
  private readonly graph: ChainGraph;
  private flow: ReactFlowInstance<SystemNode, ConnectionEdge> | null = null;
  private readonly root: Root;

  constructor(private readonly session: ChainSession, editable: boolean, universe: UniverseData, token: string | null) {
    this.graph = new ChainGraph(session, universe, new IntelFeed(token), editable);
    this.element = element("div", { class: "map", role: "region", "aria-label": "chain map" });
    this.root = createRoot(this.element);
    this.root.render(createElement(MapCanvas, {
      graph: this.graph,
      chainId: session.chainId,
      editable,
      onSelect: (id, additive) => this.onSelect(id, additive),
      onSelectConnection: (key) => this.onSelectConnection(key),
      onEscape: () => this.onEscape(),
      onTidy: () => this.tidy(),
      menuItems: (id) => this.menuItems(id),
      onReady: (flow) => {
        this.flow = flow;
      },
    }));
  }

  /** Take the canvas down for good (access to the chain was withdrawn). */
  close(): void {
    this.root.unmount();
  }

  get selected(): string | null {
    return this.picked.at(-1) ?? null;
  }

  /** Show the picks (called by the page after it changed them). */
  draw(): void {
    this.graph.setPicks({ systems: [...this.picked], connection: this.selectedConnection, connecting: this.connecting });
  }

  /** Where a system reached from `parent` goes: next to it, or with no parent on the map,
   * in the middle of the view; never on top of another system. */
  place(parent: string | null): Point {
    const systems = roots(this.session.doc).systems;
    const taken = [...systems.values()].map((system) => ({ x: Number(system.get("x")) || 0, y: Number(system.get("y")) || 0 }));
    const from = parent ? systems.get(parent) : undefined;
    if (from) return placeNear({ x: Number(from.get("x")) || 0, y: Number(from.get("y")) || 0 }, taken);
    const box = this.element.getBoundingClientRect();
    const centre = this.flow?.screenToFlowPosition({ x: box.left + box.width / 2, y: box.top + box.height / 2 }) ?? { x: 200, y: 120 };
    return placeAround({ x: Math.round(centre.x), y: Math.round(centre.y) }, taken);
  }

  /** Pan (keeping the zoom) so that a new system's centre is in view, with the system it was
   * reached from too when both fit. */
  reveal(point: Point, from: string | null): void {
    if (!this.flow) return;
    const box = this.element.getBoundingClientRect();
    const margin = Math.min(100, box.width / 8);
    const inView = ({ x, y }: Point) => {
      const at = this.flow!.flowToScreenPosition({ x, y });
      return at.x > box.left + margin && at.x < box.right - margin && at.y > box.top + margin && at.y < box.bottom - margin;
    };
    const parent = from ? roots(this.session.doc).systems.get(from) : undefined;
    const other = parent ? { x: Number(parent.get("x")) || 0, y: Number(parent.get("y")) || 0 } : point;
    if (inView(point) && inView(other)) return;
    // Zoom out as far as both need (on a phone, say), but not so far the names cannot be read.
    const span = { x: Math.abs(point.x - other.x) + NODE_W, y: Math.abs(point.y - other.y) + NODE_H };
    const bothAt = Math.min(this.flow.getZoom(), (box.width - 2 * margin) / span.x, (box.height - 2 * margin) / span.y);
    const fitsBoth = bothAt >= READABLE_ZOOM;
    const centre = fitsBoth ? { x: (point.x + other.x) / 2, y: (point.y + other.y) / 2 } : point;
    void this.flow.setCenter(centre.x, centre.y, { zoom: fitsBoth ? bothAt : this.flow.getZoom(), duration: 150 });
  }

  /** The whole chain as a tree from its home system: one edit, so one undo takes it back.
   * (The canvas fits the view to it afterwards.) */
  tidy(): void {
    const { systems, connections, meta } = roots(this.session.doc);
    const ids = [...systems.keys()];
    if (!ids.length) return;
    const links = [...connections.keys()].map((key) => key.split("-") as [string, string]);
    const home = meta.get("home") != null ? String(meta.get("home")) : null;
    const root = systems.get(home && systems.has(home) ? home : ids[0])!;
    const places = tidy(ids, links, home, { x: Number(root.get("x")) || 0, y: Number(root.get("y")) || 0 });
    this.session.endStep();
    placeSystems(this.session.doc, places);
    this.session.endStep();
  }
}
