// The chain drawn as SVG: systems as labelled nodes (names are DOM text, so they can be found
// and read), connections as lines styled by mass and end of life. Drag to move: positions go
// out at most ten times a second while dragging, and always when the drag ends.

import { type Entry, LOCAL, moveSystem, roots } from "./chain";
import { svg } from "./dom";
import type { ChainSession } from "./session";
import { securityBand, spaceLabel, WSPACE_FIRST_ID } from "./labels";
import type { UniverseData } from "./universe";

const SEND_EVERY_MS = 100;
const NODE_W = 120;
const NODE_H = 36;

export class ChainMap {
  readonly element: SVGSVGElement;
  selected: string | null = null;
  selectedConnection: string | null = null;
  onSelect: (systemId: string | null, additive: boolean) => void = () => {};
  onSelectConnection: (key: string) => void = () => {};
  private readonly layer: SVGGElement;
  // What the last render drew, so that a drag moves one node and its lines, not the map.
  private nodes = new Map<string, SVGGElement>();
  private edges = new Map<string, { a: string; b: string; lines: SVGLineElement[]; label: SVGTextElement }>();
  private drawPending = false;
  private dragging: { id: string; dx: number; dy: number; sentAt: number; x: number; y: number } | null = null;

  constructor(
    private readonly session: ChainSession,
    private readonly editable: () => boolean,
    private readonly universe: UniverseData,
  ) {
    universe.subscribe(() => this.draw());
    this.layer = svg("g");
    this.element = svg("svg", { class: "map", role: "img", "aria-label": "chain map" }, this.layer);
    session.doc.on("update", (_update: Uint8Array, origin: unknown) => {
      // The user's own drag is already on screen (see drag()).
      if (!(origin === LOCAL && this.dragging)) this.draw();
    });
    session.provider.awareness.on("change", () => this.draw());
    this.element.addEventListener("pointermove", (event) => this.drag(event));
    this.element.addEventListener("pointerup", () => this.drop());
    this.element.addEventListener("pointerleave", () => this.drop());
    this.element.addEventListener("pointerdown", (event) => {
      if (event.target === this.element) this.onSelect(null, false);
    });
    this.draw();
  }

  draw(): void {
    if (this.drawPending) return;
    this.drawPending = true;
    requestAnimationFrame(() => {
      this.drawPending = false;
      this.render();
    });
  }

  private render(): void {
    const { systems, connections, signatures } = roots(this.session.doc);
    const position = (id: string): [number, number] | null => {
      if (this.dragging?.id === id) return [this.dragging.x, this.dragging.y];
      const system = systems.get(id);
      return system ? [Number(system.get("x")) || 0, Number(system.get("y")) || 0] : null;
    };
    const sigCount = new Map<string, number>();
    for (const key of signatures.keys()) {
      const system = key.split(":")[0];
      sigCount.set(system, (sigCount.get(system) ?? 0) + 1);
    }
    const watchers = new Map<string, string[]>();
    for (const other of this.session.others()) {
      if (other.selected) watchers.set(other.selected, [...(watchers.get(other.selected) ?? []), other.user.name]);
    }
    this.nodes.clear();
    this.edges.clear();
    const lines = [...connections.entries()].flatMap(([key, connection]) => {
      const [a, b] = key.split("-");
      const from = position(a);
      const to = position(b);
      if (!from || !to) return [];
      const mass = String(connection.get("mass") ?? "fresh");
      const eol = connection.get("eol") === true;
      const classes = `connection mass-${mass}${eol ? " eol" : ""} size-${connection.get("size") || "any"}`;
      const label = String(connection.get("whType") || "");
      const selected = this.selectedConnection === key ? " selected" : "";
      const lines = [
        svg("line", { x1: from[0], y1: from[1], x2: to[0], y2: to[1], class: "hit" }),
        svg("line", { x1: from[0], y1: from[1], x2: to[0], y2: to[1] }),
      ];
      const text = svg("text", { x: (from[0] + to[0]) / 2, y: (from[1] + to[1]) / 2 - 4, class: "wh" }, label);
      const group = svg("g", { class: classes + selected, "data-key": key }, ...lines, text);
      this.edges.set(key, { a, b, lines, label: text });
      group.addEventListener("pointerdown", (event) => {
        event.stopPropagation();
        this.onSelectConnection(key);
      });
      return [group];
    });
    this.universe.want([...systems.keys()].map(Number));
    const pilots = this.session.pilots();
    const nodes = [...systems.entries()].map(([id, system]) => this.node(id, system, position(id)!, sigCount.get(id) ?? 0, watchers.get(id) ?? [], pilots.get(id)?.length ?? 0));
    this.layer.replaceChildren(...lines, ...nodes);
  }

  private node(id: string, system: Entry, [x, y]: [number, number], signatureCount: number, watchers: string[], pilotCount: number): SVGGElement {
    const alias = String(system.get("alias") || "");
    const status = String(system.get("status") || "unknown");
    const info = this.universe.system(Number(id));
    const kind = info ? (Number(id) >= WSPACE_FIRST_ID ? "wspace" : securityBand(info.security)) : "unknown";
    const selected = this.selected === id;
    const group = svg("g", {
      class: `system status-${status} space-${kind}${selected ? " selected" : ""}`,
      "data-system": id,
      transform: `translate(${x - NODE_W / 2},${y - NODE_H / 2})`,
    },
      svg("rect", { width: NODE_W, height: NODE_H, rx: 6 }),
      svg("text", { x: 8, y: 15, class: "name" }, info?.name ?? id),
      svg("text", { x: NODE_W - 38, y: 30, class: "class", "text-anchor": "end" }, spaceLabel(info)),
      svg("text", { x: 8, y: 30, class: "alias" }, alias),
      svg("text", { x: NODE_W - 8, y: 15, class: "sigs", "text-anchor": "end" }, signatureCount ? `${signatureCount}◎` : ""));
    if (pilotCount) group.append(svg("text", { x: NODE_W - 8, y: 30, class: "pilots", "text-anchor": "end" }, `${pilotCount}✈`));
    if (watchers.length) {
      group.append(svg("text", { x: 0, y: NODE_H + 12, class: "watchers" }, watchers.join(", ")));
      group.append(svg("title", {}, `selected by ${watchers.join(", ")}`));
    }
    this.nodes.set(id, group);
    group.addEventListener("pointerdown", (event) => {
      event.stopPropagation();
      this.onSelect(id, event.shiftKey);
      if (!this.editable() || system.get("locked") === true) return;
      const point = this.point(event);
      this.session.endStep();
      this.dragging = { id, dx: point[0] - x, dy: point[1] - y, sentAt: 0, x, y };
      this.element.setPointerCapture?.(event.pointerId);
    });
    return group;
  }

  private point(event: PointerEvent): [number, number] {
    const box = this.element.getBoundingClientRect();
    return [event.clientX - box.left, event.clientY - box.top];
  }

  private drag(event: PointerEvent): void {
    if (!this.dragging) return;
    const [px, py] = this.point(event);
    this.dragging.x = px - this.dragging.dx;
    this.dragging.y = py - this.dragging.dy;
    const now = performance.now();
    if (now - this.dragging.sentAt >= SEND_EVERY_MS) {
      this.dragging.sentAt = now;
      moveSystem(this.session.doc, this.dragging.id, this.dragging.x, this.dragging.y);
    }
    this.moveOnScreen(this.dragging.id, this.dragging.x, this.dragging.y);
  }

  private moveOnScreen(id: string, x: number, y: number): void {
    this.nodes.get(id)?.setAttribute("transform", `translate(${x - NODE_W / 2},${y - NODE_H / 2})`);
    for (const edge of this.edges.values()) {
      if (edge.a !== id && edge.b !== id) continue;
      const end = edge.a === id ? ["x1", "y1"] : ["x2", "y2"];
      for (const line of edge.lines) {
        line.setAttribute(end[0], String(x));
        line.setAttribute(end[1], String(y));
      }
      const [x1, y1, x2, y2] = ["x1", "y1", "x2", "y2"].map((name) => Number(edge.lines[0].getAttribute(name)));
      edge.label.setAttribute("x", String((x1 + x2) / 2));
      edge.label.setAttribute("y", String((y1 + y2) / 2 - 4));
    }
  }

  private drop(): void {
    if (!this.dragging) return;
    const { id, x, y } = this.dragging;
    this.dragging = null;
    moveSystem(this.session.doc, id, x, y);  // the final position always goes out
    this.session.endStep();
    this.draw();
  }
}
