// The zoom sketch: what it draws for a view. Run by tests/test_web_units.py, against a context
// that records the calls the sketch makes (node has no canvas).

import { deepStrictEqual, ok, strictEqual } from "node:assert";
import { test } from "node:test";
import { drawSketch, type SketchScene, type SketchView } from "../src/canvas/sketch";

type Call = [string, ...unknown[]];

function recorder(width: number, height: number) {
  const calls: Call[] = [];
  const state: Record<string, unknown> = {};
  const record = (name: string) => (...args: unknown[]) => { calls.push([name, ...args]); };
  const context = new Proxy(state, {
    get: (target, name: string) => {
      if (name === "canvas") return { width, height };
      if (name === "measureText") return (text: string) => ({ width: text.length * 6 });
      if (name in target) return target[name];
      return record(name);
    },
    set: (target, name: string, value) => { target[name] = value; calls.push([`set ${name}`, value]); return true; },
  });
  return { context: context as unknown as CanvasRenderingContext2D, calls };
}

const box = (x: number, y: number, name: string) => ({ x, y, strip: "#e05050", labelColour: "#5ec8f0", label: "C1", name });
const scene: SketchScene = {
  boxes: [box(0, 0, "J100001"), box(5000, 5000, "J100002")],
  lines: [
    { x1: 84, y1: 32, x2: 5084, y2: 5032, colour: "#7d8da3", dashed: false },
    { x1: 84, y1: 32, x2: 400, y2: 32, colour: "#e05050", dashed: true },
    { x1: 9000, y1: 9000, x2: 9500, y2: 9000, colour: "#7d8da3", dashed: false },
  ],
  box: "#1b2129",
  text: "#d8dde4",
  font: "sans-serif",
};
const view = (zoom: number): SketchView => ({ transform: [0, 0, zoom], width: 1000, height: 800, ratio: 1, far: zoom < 0.5 });

test("only what is in view is drawn: a line out of it is left out, one across it is cut at its edge", () => {
  const { context, calls } = recorder(1000, 800);
  drawSketch(context, scene, view(1));
  const ends = calls.filter(([name]) => name === "lineTo").map(([, x, y]) => [Math.round(x as number), Math.round(y as number)]);
  deepStrictEqual(ends, [[852, 800], [400, 32]]);
  const names = calls.filter(([name]) => name === "fillText").map(([, text]) => text);
  deepStrictEqual(names, ["C1", "J100001"]);
});

test("lines at end of life are dashed, the others not, and no wider than a device pixel", () => {
  const { context, calls } = recorder(1000, 800);
  drawSketch(context, scene, view(0.5));
  const dashes = calls.filter(([name]) => name === "setLineDash").map(([, dash]) => dash);
  deepStrictEqual(dashes.slice(0, 2), [[], [7, 5]]);
  strictEqual(calls.find(([name]) => name === "set lineWidth")?.[1], 2);
});

test("names too small to read are left out; far out they are drawn larger", () => {
  const far = recorder(1000, 800);
  drawSketch(far.context, scene, view(0.3));
  ok(far.calls.some(([name, value]) => name === "set font" && value === "20px sans-serif"));
  ok(far.calls.some(([name]) => name === "fillText"));
  const tiny = recorder(1000, 800);
  drawSketch(tiny.context, scene, view(0.1));
  ok(!tiny.calls.some(([name]) => name === "fillText"));
});
