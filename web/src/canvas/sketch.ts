// The chain drawn as a sketch on a 2D canvas: lines in their mass or kind colour (dashed at
// end of life), boxes with their status colour, and class and name once they are big enough
// to read. ZoomSketch.tsx shows it while the view's scale changes. The scene is plain data
// (colours resolved from the stylesheet) so that a worker can draw it (sketchWorker.ts).

import type { ConnectionEdge, SystemNode } from "./graph";
import { NODE_H, NODE_W } from "./sizes";

const STRIP = 5; // the box's left border, in its status colour
const SMALLEST_TEXT_PX = 5; // text smaller than this on screen is left out: nobody reads it
const NEAR_FONT = 11;
const FAR_FONT = 20; // zoomed far out the boxes show class and name only, larger (style.css)
const ROW_MIDDLE = 2 + 19 / 2; // the middle of the box's top row (style.css: .system)

export interface SketchBox { x: number; y: number; strip: string; labelColour: string; label: string; name: string }
export interface SketchLine { x1: number; y1: number; x2: number; y2: number; colour: string; dashed: boolean }

export interface SketchScene {
  boxes: SketchBox[]; // x, y: the top left corner, in flow units
  lines: SketchLine[]; // from centre to centre
  box: string;
  text: string;
  font: string;
}

export interface SketchView {
  transform: [number, number, number]; // React Flow's x, y, zoom
  width: number; // the canvas in CSS pixels
  height: number;
  ratio: number; // device pixels per CSS pixel
  far: boolean;
}

type Context2D = CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D;

/** The scene of `nodes` and `edges`, in the colours of the stylesheet's variables (style.css,
 * `:root`) as they apply to `element`. */
export function sceneOf(element: Element, nodes: SystemNode[], edges: ConnectionEdge[]): SketchScene {
  const style = getComputedStyle(element);
  const known = new Map<string, string>();
  const colour = (name: string) => {
    let value = known.get(name);
    if (value === undefined) {
      value = style.getPropertyValue(`--${name}`).trim() || style.getPropertyValue("--dim").trim();
      known.set(name, value);
    }
    return value;
  };
  const centres = new Map(nodes.map((node) => [node.id, [node.position.x + NODE_W / 2, node.position.y + NODE_H / 2]]));
  const lines: SketchLine[] = [];
  for (const { source, target, data } of edges) {
    const [from, to] = [centres.get(source), centres.get(target)];
    if (!from || !to || !data) continue;
    const variable = data.kind === "wormhole" ? `line-${data.mass}` : `line-${data.kind}`;
    const dashed = data.eol || data.kind === "bridge" || data.kind === "thera";
    lines.push({ x1: from[0], y1: from[1], x2: to[0], y2: to[1], colour: colour(variable), dashed });
  }
  const boxes = nodes.map(({ position, data }) => ({
    x: position.x, y: position.y, strip: colour(`status-${data.status}`), labelColour: colour(`space-${data.space}`),
    label: data.classLabel || "?", name: data.name,
  }));
  return { boxes, lines, box: colour("box"), text: colour("text"), font: style.fontFamily };
}

interface Area { left: number; top: number; right: number; bottom: number }

/** The part of the line inside `area` (Liang-Barsky), or null: a long line mostly out of
 * view would otherwise cost its whole length. */
function clip(area: Area, { x1, y1, x2, y2 }: SketchLine): [number, number, number, number] | null {
  const [dx, dy] = [x2 - x1, y2 - y1];
  let [from, to] = [0, 1];
  const sides: [number, number][] = [[-dx, x1 - area.left], [dx, area.right - x1], [-dy, y1 - area.top], [dy, area.bottom - y1]];
  for (const [p, q] of sides) {
    if (p === 0) {
      if (q < 0) return null;
      continue;
    }
    const t = q / p;
    if (p < 0) from = Math.max(from, t);
    else to = Math.min(to, t);
    if (from > to) return null;
  }
  return [x1 + from * dx, y1 + from * dy, x1 + to * dx, y1 + to * dy];
}

/** The lines in view, at most a device pixel wide: the canvas draws those fastest. */
function drawLines(context: Context2D, lines: SketchLine[], area: Area, pixel: number) {
  context.lineWidth = Math.min(3, pixel);
  for (const line of lines) {
    const segment = clip(area, line);
    if (!segment) continue;
    context.strokeStyle = line.colour;
    context.setLineDash(line.dashed ? [7, 5] : []);
    context.beginPath();
    context.moveTo(segment[0], segment[1]);
    context.lineTo(segment[2], segment[3]);
    context.stroke();
  }
  context.setLineDash([]);
}

function drawBoxes(context: Context2D, shown: SketchBox[], scene: SketchScene) {
  context.fillStyle = scene.box;
  context.beginPath();
  for (const { x, y } of shown) context.rect(x, y, NODE_W, NODE_H);
  context.fill();
  for (const { x, y, strip } of shown) {
    context.fillStyle = strip;
    context.fillRect(x, y, STRIP, NODE_H);
  }
}

function drawNames(context: Context2D, shown: SketchBox[], scene: SketchScene, far: boolean) {
  const size = far ? FAR_FONT : NEAR_FONT;
  context.font = `${size}px ${scene.font}`;
  context.textBaseline = "middle";
  for (const box of shown) {
    const [x, y] = [box.x + STRIP + 5, box.y + (far ? NODE_H / 2 : ROW_MIDDLE)];
    context.fillStyle = box.labelColour;
    context.fillText(box.label, x, y);
    context.fillStyle = scene.text;
    const after = x + context.measureText(box.label).width + size / 3;
    context.fillText(box.name, after, y, Math.max(1, box.x + NODE_W - 6 - after));
  }
}

/** Draws `scene` as `view` shows it; the context's canvas is `view` large in device pixels. */
export function drawSketch(context: Context2D, scene: SketchScene, { transform: [x, y, zoom], width, height, ratio, far }: SketchView): void {
  context.setTransform(1, 0, 0, 1, 0, 0);
  context.clearRect(0, 0, context.canvas.width, context.canvas.height);
  context.setTransform(ratio * zoom, 0, 0, ratio * zoom, ratio * x, ratio * y);
  const area = { left: -x / zoom, top: -y / zoom, right: (width - x) / zoom, bottom: (height - y) / zoom };
  const shown = scene.boxes.filter((box) => box.x + NODE_W >= area.left && box.x <= area.right && box.y + NODE_H >= area.top && box.y <= area.bottom);
  drawLines(context, scene.lines, area, 1 / (ratio * zoom));
  drawBoxes(context, shown, scene);
  if ((far ? FAR_FONT : NEAR_FONT) * zoom >= SMALLEST_TEXT_PX) drawNames(context, shown, scene, far);
}

/** Sizes `canvas` for `view` and draws `scene` on it; without either, clears it. */
export function paintSketch(canvas: HTMLCanvasElement | OffscreenCanvas, scene: SketchScene | null, view: SketchView | null): void {
  const context = canvas.getContext("2d") as Context2D | null;
  if (!context) return;
  if (!view || !scene) {
    context.clearRect(0, 0, canvas.width, canvas.height);
    return;
  }
  const [width, height] = [Math.round(view.width * view.ratio), Math.round(view.height * view.ratio)];
  if (canvas.width !== width || canvas.height !== height) [canvas.width, canvas.height] = [width, height];
  drawSketch(context, scene, view);
}
