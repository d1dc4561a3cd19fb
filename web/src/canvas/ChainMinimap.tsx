// The minimap: every system as a block coloured by its status, and the part of the chain in
// view as a frame; press or drag on it to move the view there, the wheel zooms. Ours rather
// than React Flow's: theirs draws itself again on every frame of a pan (its mask and bounds
// follow the view), which in a 500-system chain cost more than the pan. Here the systems are
// drawn only when they change, and a pan only moves the frame, a layer of its own.

import { memo, useEffect, useMemo, useRef, type PointerEvent, type WheelEvent } from "react";
import { Panel, type Rect, useReactFlow, useStoreApi } from "@xyflow/react";
import type { SystemNode } from "./graph";
import { NODE_H, NODE_W } from "./sizes";

const WIDTH = 200;
const HEIGHT = 150;
const MARGIN = NODE_W;

interface Frame { x: number; y: number; width: number; height: number; scale: number }

/** The chain's extent (ChainGraph.extent, in flow units) with a margin, and its scale here. */
function frameOf(extent: Rect | null): Frame {
  if (!extent) return { x: 0, y: 0, width: WIDTH, height: HEIGHT, scale: 1 };
  const [x, y] = [extent.x - MARGIN, extent.y - MARGIN];
  const [width, height] = [extent.width + 2 * MARGIN, extent.height + 2 * MARGIN];
  return { x, y, width, height, scale: Math.min(WIDTH / width, HEIGHT / height) };
}

const Systems = memo(function Systems({ nodes, frame }: { nodes: SystemNode[]; frame: Frame }) {
  return (
    <svg width={WIDTH} height={HEIGHT} viewBox={`${frame.x} ${frame.y} ${WIDTH / frame.scale} ${HEIGHT / frame.scale}`} aria-hidden="true">
      {nodes.map((node) => (
        <rect key={node.id} className={`mini status-${node.data.status}`} x={node.position.x} y={node.position.y} width={NODE_W} height={NODE_H} />
      ))}
    </svg>
  );
});

/** Keeps the view's frame on the minimap in step with the canvas, by translate alone while
 * panning (no layout, no drawing) and by size when the zoom or the canvas changes. */
function useViewFrame(frame: Frame) {
  const store = useStoreApi();
  const element = useRef<HTMLDivElement>(null);
  useEffect(() => {
    let size = "";
    const place = () => {
      const box = element.current;
      if (!box) return;
      const { transform: [x, y, zoom], width, height } = store.getState();
      box.style.translate = `${(-x / zoom - frame.x) * frame.scale}px ${(-y / zoom - frame.y) * frame.scale}px`;
      const next = `${(width / zoom) * frame.scale}px ${(height / zoom) * frame.scale}px`;
      if (next !== size) {
        size = next;
        [box.style.width, box.style.height] = next.split(" ");
      }
    };
    place();
    return store.subscribe(place);
  }, [store, frame]);
  return element;
}

/** `extent`: where `nodes` and their open holes lie. */
export function ChainMinimap({ nodes, extent }: { nodes: SystemNode[]; extent: Rect | null }) {
  const flow = useReactFlow();
  const frame = useMemo(() => frameOf(extent), [extent]);
  const view = useViewFrame(frame);
  const centreAt = (event: PointerEvent<HTMLDivElement>) => {
    const box = event.currentTarget.getBoundingClientRect();
    const x = frame.x + (event.clientX - box.left) / frame.scale;
    const y = frame.y + (event.clientY - box.top) / frame.scale;
    void flow.setCenter(x, y, { zoom: flow.getZoom() });
  };
  const onWheel = (event: WheelEvent<HTMLDivElement>) => {
    void flow.zoomTo(flow.getZoom() * (event.deltaY < 0 ? 1.2 : 1 / 1.2));
  };
  return (
    <Panel position="bottom-right" className="minimap">
      <div role="group" aria-label="Minimap" className="minimap-area nodrag nopan" style={{ width: WIDTH, height: HEIGHT }}
        onPointerDown={(event) => { event.currentTarget.setPointerCapture(event.pointerId); centreAt(event); }}
        onPointerMove={(event) => event.currentTarget.hasPointerCapture(event.pointerId) && centreAt(event)}
        onWheel={onWheel}>
        <Systems nodes={nodes} frame={frame} />
        <div className="minimap-view" ref={view} />
      </div>
    </Panel>
  );
}
