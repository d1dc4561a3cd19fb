// While the view's scale changes (the wheel, a pinch, the zoom buttons, Fit map), the chain is
// shown as a sketch on one canvas (sketch.ts) and the browser skips the boxes and lines
// (`content-visibility: hidden`); when the move ends they come back, drawn once at the new
// scale. Without a GPU, Chromium drew every box and line again at each step of a zoom: 100 to
// 300 ms a step for 500 systems. A worker draws the sketch (sketchWorker.ts), so the page's
// own frames stay short. Cytoscape.js' `textureOnViewport` does the same for the same reason.
//
// The boxes' far-out look (class and name only, no open holes) follows the zoom once the move
// has ended, so nothing is laid out or drawn again in the middle of one.

import { type RefObject, useCallback, useEffect, useRef, useState } from "react";
import { useStoreApi, type Viewport } from "@xyflow/react";
import type { ConnectionEdge, SystemNode } from "./graph";
import { paintSketch, sceneOf, type SketchScene } from "./sketch";
import type { SketchMessage } from "./sketchWorker";

const FAR_BELOW_ZOOM = 0.5; // zoomed out further, boxes show their class and name only
// A smaller chain zooms drawn by the browser: fast enough there (bench/browser_map.py: p95
// 16.8 ms with 9 systems, 33 ms with 15), and a sketch standing in for a few boxes would only
// make them flicker.
const SKETCH_FROM_SYSTEMS = 10;
const WORKER_URL = "/sketch-worker.js";

interface Painter {
  send: (message: SketchMessage) => void;
}

/** Draws in a worker where the canvas can be handed to one, else on the page. */
function painterFor(canvas: HTMLCanvasElement): { painter: Painter; stop: () => void } {
  if ("transferControlToOffscreen" in canvas && typeof Worker !== "undefined") {
    const worker = new Worker(WORKER_URL);
    const offscreen = canvas.transferControlToOffscreen();
    worker.postMessage({ canvas: offscreen }, [offscreen]);
    return { painter: { send: (message) => worker.postMessage(message) }, stop: () => worker.terminate() };
  }
  let scene: SketchScene | null = null;
  const send = (message: SketchMessage) => {
    scene = message.scene ?? scene;
    if (message.view !== undefined) paintSketch(canvas, scene, message.view);
  };
  return { painter: { send }, stop: () => {} };
}

function usePainter(canvas: RefObject<HTMLCanvasElement | null>) {
  const painter = useRef<Painter | null>(null);
  useEffect(() => {
    if (!canvas.current) return;
    const made = painterFor(canvas.current);
    painter.current = made.painter;
    return () => {
      painter.current = null;
      made.stop();
    };
  }, [canvas]);
  return painter;
}

/** `wrapper` holds the canvas (and gets the class `zooming` while the sketch shows); `nodes`
 * and `edges` are what the sketch draws. Hand `onMoveStart` and `onMoveEnd` to React Flow. */
export function useZoomSketch(wrapper: RefObject<HTMLDivElement | null>, nodes: SystemNode[], edges: ConnectionEdge[]) {
  const store = useStoreApi();
  const canvas = useRef<HTMLCanvasElement>(null);
  const painter = usePainter(canvas);
  const drawn = useRef({ nodes, edges });
  drawn.current = { nodes, edges };
  const move = useRef<{ zoom: number; sketching: boolean } | null>(null);
  const [far, setFar] = useState(() => store.getState().transform[2] < FAR_BELOW_ZOOM);
  useEffect(() => store.subscribe(({ transform: [x, y, zoom], width, height }) => {
    const current = move.current;
    const [root, paint] = [wrapper.current, painter.current];
    if (!current) {
      setFar(zoom < FAR_BELOW_ZOOM); // a change without a move: a jump
      return;
    }
    if (!root || !paint) return;
    if (!current.sketching && (zoom === current.zoom || drawn.current.nodes.length < SKETCH_FROM_SYSTEMS)) return;
    const view = { transform: [x, y, zoom] as [number, number, number], width, height, ratio: window.devicePixelRatio || 1, far: zoom < FAR_BELOW_ZOOM };
    if (current.sketching) {
      paint.send({ view });
      return;
    }
    current.sketching = true;
    paint.send({ scene: sceneOf(root, drawn.current.nodes, drawn.current.edges), view });
    root.classList.add("zooming");
  }), [store, wrapper, painter]);
  const onMoveStart = useCallback(() => {
    move.current = { zoom: store.getState().transform[2], sketching: false };
  }, [store]);
  const onMoveEnd = useCallback((viewport: Viewport) => {
    // React Flow reports a move's end a task later: another move may have begun meanwhile (a
    // wheel cutting an animated fit short), and this end is not that move's.
    const [x, y, zoom] = store.getState().transform;
    if (viewport.x !== x || viewport.y !== y || viewport.zoom !== zoom) return;
    const ended = move.current;
    move.current = null;
    if (ended?.sketching) {
      wrapper.current?.classList.remove("zooming");
      painter.current?.send({ view: null });
    }
    setFar(store.getState().transform[2] < FAR_BELOW_ZOOM);
  }, [store, wrapper, painter]);
  return { canvas, far, onMoveStart, onMoveEnd };
}

export function ZoomSketchCanvas({ canvas }: { canvas: RefObject<HTMLCanvasElement | null> }) {
  return <canvas ref={canvas} className="zoom-sketch" aria-hidden="true" />;
}
