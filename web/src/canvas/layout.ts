// Where systems go: a chain reads as a tree from its home system (dagre lays it out, left to
// right), and a new system goes next to the one it was reached from. Pure functions over
// ids and positions; the caller writes the answer into the document.

import { Graph, layout } from "@dagrejs/dagre";
import { NODE_H, NODE_W } from "./sizes";

export interface Point {
  x: number;
  y: number;
}

const GAP_X = 130; // room on each line for its type codes and its time left
const GAP_Y = 24;
const STEP_X = NODE_W + GAP_X;
const STEP_Y = NODE_H + GAP_Y; // sync/jumps.py places a system added from a jump with these steps too

/** Each system's parent on the way from the root (breadth first), per connected part; every
 * part's root is `home` if it holds it, else its first system. */
export function spanningTree(ids: string[], links: [string, string][], home: string | null): Map<string, string | null> {
  const neighbours = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const [a, b] of links) {
    neighbours.get(a)?.push(b);
    neighbours.get(b)?.push(a);
  }
  const parent = new Map<string, string | null>();
  const roots = home && neighbours.has(home) ? [home, ...ids] : ids;
  for (const root of roots) {
    if (parent.has(root)) continue;
    parent.set(root, null);
    const queue = [root];
    for (let index = 0; index < queue.length; index++) {
      for (const next of neighbours.get(queue[index]) ?? []) {
        if (parent.has(next)) continue;
        parent.set(next, queue[index]);
        queue.push(next);
      }
    }
  }
  return parent;
}

/** Centres for every system: the tree from home laid out left to right, keeping the home
 * system where it is so the view does not jump. */
export function tidy(ids: string[], links: [string, string][], home: string | null, anchor: Point): Map<string, Point> {
  const tree = spanningTree(ids, links, home);
  const graph = new Graph();
  graph.setGraph({ rankdir: "LR", nodesep: GAP_Y, ranksep: GAP_X, marginx: 0, marginy: 0 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const id of ids) graph.setNode(id, { width: NODE_W, height: NODE_H });
  for (const [child, parent] of tree) if (parent !== null) graph.setEdge(parent, child);
  layout(graph);
  const root = (home && tree.has(home) ? home : ids[0]) ?? "";
  const origin = graph.node(root) ?? { x: 0, y: 0 };
  const placed = new Map<string, Point>();
  for (const id of ids) {
    const { x, y } = graph.node(id);
    placed.set(id, { x: Math.round(x - origin.x + anchor.x), y: Math.round(y - origin.y + anchor.y) });
  }
  return placed;
}

function free(point: Point, taken: Point[]): boolean {
  return taken.every((other) => Math.abs(other.x - point.x) >= NODE_W + GAP_X / 2 || Math.abs(other.y - point.y) >= NODE_H + GAP_Y / 2);
}

/** The first free place right of `parent` (then below and above it, then further right):
 * a new system appears next to the one it was reached from. */
export function placeNear(parent: Point, taken: Point[]): Point {
  for (let column = 1; column < 50; column++) {
    for (const row of [0, 1, -1, 2, -2, 3, -3]) {
      const point = { x: parent.x + column * STEP_X, y: parent.y + row * STEP_Y };
      if (free(point, taken)) return point;
    }
  }
  return { x: parent.x + STEP_X, y: parent.y };
}

/** A free place at `centre` (the middle of the view) or close to it, for a system reached
 * from nowhere on the map. */
export function placeAround(centre: Point, taken: Point[]): Point {
  for (let ring = 0; ring < 50; ring++) {
    for (const [dx, dy] of [[0, 0], [0, 1], [1, 0], [0, -1], [-1, 0], [1, 1], [-1, 1], [1, -1], [-1, -1]]) {
      const point = { x: centre.x + dx * ring * STEP_X, y: centre.y + dy * ring * STEP_Y };
      if (free(point, taken)) return point;
    }
  }
  return centre;
}
