// The zoom sketch drawn off the page's thread: the page hands over its canvas once, a scene
// when a zoom starts and the view at each step; this draws the latest view once a frame, so
// the page's frames stay short however many lines the chain has. Built on its own as
// static/sketch-worker.js.

import { paintSketch, type SketchScene, type SketchView } from "./sketch";

export interface SketchMessage {
  canvas?: OffscreenCanvas;
  scene?: SketchScene;
  view?: SketchView | null; // null: the zoom has ended, clear the canvas
}

interface WorkerScope {
  onmessage: ((event: MessageEvent<SketchMessage>) => void) | null;
  requestAnimationFrame: (callback: () => void) => number;
}

const scope = self as unknown as WorkerScope;
let canvas: OffscreenCanvas | null = null;
let scene: SketchScene | null = null;
let view: SketchView | null = null;
let due = false;

function draw() {
  due = false;
  if (canvas) paintSketch(canvas, scene, view);
}

scope.onmessage = ({ data }) => {
  canvas = data.canvas ?? canvas;
  scene = data.scene ?? scene;
  if (data.view !== undefined) view = data.view;
  if (!due) {
    due = true;
    scope.requestAnimationFrame(draw);
  }
};
