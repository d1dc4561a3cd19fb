// The map canvas (React Flow): pan by dragging the background, zoom by wheel, pinch or the
// buttons, "Fit map" to bring every system into view, a minimap, the view kept per chain.
// Nodes and edges come from ChainGraph (the document); a drag is shown locally while it
// lasts and written once when it ends.

import { type RefObject, useCallback, useDeferredValue, useEffect, useLayoutEffect, useMemo, useRef, useState, useSyncExternalStore } from "react";
import {
  getViewportForBounds, type NodeChange, Panel, ReactFlow, ReactFlowProvider, type ReactFlowInstance, type ReactFlowProps, useReactFlow, useStoreApi, type Viewport, type XYPosition,
} from "@xyflow/react";
import { ChainMinimap } from "./ChainMinimap";
import { ConnectionLine } from "./ConnectionLine";
import type { ChainGraph, ConnectionEdge, SystemNode } from "./graph";
import { HelpOverlay, type MenuAt, type MenuItem, SystemMenu } from "./Overlays";
import { BoxActionsContext, FarContext, SystemBox } from "./SystemBox";
import { useZoomSketch, ZoomSketchCanvas } from "./ZoomSketch";
import { loadViewport, saveViewport } from "./viewport";

const nodeTypes = { system: SystemBox };
const edgeTypes = { connection: ConnectionLine };
const FIT_MAX_ZOOM = 1.2;
const FIT_PADDING = 0.1;
const FIT_MS = 150;

export interface CanvasHandlers {
  onSelect: (systemId: string | null, additive: boolean) => void;
  onSelectConnection: (key: string) => void;
  onEscape: () => void;
  onTidy: () => void;
  menuItems: (systemId: string) => MenuItem[];
  onReady: (flow: ReactFlowInstance<SystemNode, ConnectionEdge>) => void;
}

export interface CanvasProps extends CanvasHandlers {
  graph: ChainGraph;
  chainId: string;
  editable: boolean;
}

function typing(target: EventTarget | null): boolean {
  return target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement;
}

/** Brings the whole chain into view, open holes included (React Flow's fitView knows only
 * the boxes). */
function useFitMap(graph: ChainGraph) {
  const flow = useReactFlow();
  const store = useStoreApi();
  return useCallback((duration = FIT_MS) => {
    const bounds = graph.extent();
    const { width, height, minZoom } = store.getState();
    if (bounds && width && height) void flow.setViewport(getViewportForBounds(bounds, width, height, minZoom, FIT_MAX_ZOOM, FIT_PADDING), { duration });
  }, [graph, flow, store]);
}

function ViewButtons({ editable, fit, onTidy, onHelp }: { editable: boolean; fit: () => void; onTidy: () => void; onHelp: () => void }) {
  const flow = useReactFlow();
  return (
    <Panel position="top-left" className="view-buttons">
      <button type="button" aria-label="Zoom in" title="Zoom in (+)" onClick={() => flow.zoomIn({ duration: 150 })}>+</button>
      <button type="button" aria-label="Zoom out" title="Zoom out (-)" onClick={() => flow.zoomOut({ duration: 150 })}>−</button>
      <button type="button" aria-label="Fit map" title="Fit map (F)" onClick={() => fit()}>⤢</button>
      {editable && <button type="button" title="Lay out the chain as a tree from its home system (undo takes it back)" onClick={() => { onTidy(); requestAnimationFrame(() => fit()); }}>Tidy</button>}
      <button type="button" aria-label="Shortcuts" title="Shortcuts (?)" onClick={onHelp}>?</button>
    </Panel>
  );
}

/** Keys the canvas answers: `?` help, F fit, + and - zoom, Escape closes or deselects. */
function useCanvasKeys(overlayOpen: boolean, closeOverlays: () => void, toggleHelp: () => void, onEscape: () => void, fit: () => void) {
  const flow = useReactFlow();
  useEffect(() => {
    const keys = (event: KeyboardEvent) => {
      if (typing(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
      if (event.key === "Escape") {
        if (overlayOpen) closeOverlays();
        else onEscape();
      } else if (event.key === "?") toggleHelp();
      else if (event.key === "f") fit();
      else if (event.key === "+" || event.key === "=") void flow.zoomIn({ duration: 150 });
      else if (event.key === "-") void flow.zoomOut({ duration: 150 });
    };
    document.addEventListener("keydown", keys);
    return () => document.removeEventListener("keydown", keys);
  }, [flow, overlayOpen, closeOverlays, toggleHelp, onEscape, fit]);
}

/** React Flow writes the view as one `transform` (a translate and a scale). Chromium moves a
 * layer without laying the page out again only when a translation alone changed, so the view
 * is written as the `translate` and `scale` properties instead (the stylesheet turns React
 * Flow's transform off): a pan then costs a frame a fraction of what it did. */
function useSplitViewTransform(wrapper: RefObject<HTMLDivElement | null>) {
  const store = useStoreApi();
  useLayoutEffect(() => {
    const viewport = wrapper.current?.querySelector<HTMLElement>(".react-flow__viewport");
    if (!viewport) return;
    let shown = [NaN, NaN, NaN];
    const place = () => {
      const { transform } = store.getState();
      if (transform.every((value, index) => value === shown[index])) return;
      shown = [...transform];
      viewport.style.translate = `${transform[0]}px ${transform[1]}px`;
      viewport.style.scale = `${transform[2]}`;
    };
    place();
    return store.subscribe(place);
  }, [store, wrapper]);
}

/** The nodes to draw: the document's, with the one being dragged where the pointer has it. */
function useDraggedNodes(graph: ChainGraph) {
  const { nodes, edges, connecting } = useSyncExternalStore(graph.subscribe, graph.snapshot);
  const [drag, setDrag] = useState<{ id: string; position: XYPosition } | null>(null);
  const shown = useMemo(
    () => (drag ? nodes.map((node) => (node.id === drag.id ? { ...node, position: drag.position, dragging: true } : node)) : nodes),
    [nodes, drag],
  );
  const onNodesChange = useCallback((changes: NodeChange<SystemNode>[]) => {
    for (const change of changes) {
      if (change.type === "position" && change.dragging && change.position) setDrag({ id: change.id, position: change.position });
    }
  }, []);
  const onNodeDragStop = useCallback((_event: unknown, node: SystemNode) => {
    graph.move(node.id, node.position.x, node.position.y);
    setDrag(null);
  }, [graph]);
  return { nodes: shown, placed: nodes, edges, connecting, onNodesChange, onNodeDragStop };
}

interface MoveHandlers {
  onMoveStart: () => void;
  onMoveEnd: (viewport: Viewport) => void;
}

/** What React Flow calls back, the same functions from one render to the next: a new one
 * would draw every box and line again (React Flow hands them to each), as it did on every
 * remote edit. `sketch`: the zoom sketch's, called with ours. */
function useFlowHandlers(props: CanvasProps, openMenu: (systemId: string, x: number, y: number) => void, sketch: MoveHandlers) {
  const { onSelect, onSelectConnection, onReady, chainId } = props;
  const { onMoveStart, onMoveEnd } = sketch;
  return useMemo<Partial<ReactFlowProps<SystemNode, ConnectionEdge>>>(() => ({
    onNodeClick: (event, node) => onSelect(node.id, event.shiftKey),
    onEdgeClick: (_event, edge) => edge.data?.kind !== "thera" && onSelectConnection(edge.id),
    onPaneClick: () => onSelect(null, false),
    onNodeContextMenu: (event, node) => { event.preventDefault(); openMenu(node.id, event.clientX, event.clientY); },
    onMoveStart,
    onMoveEnd: (_event, viewport) => {
      onMoveEnd(viewport);
      saveViewport(chainId, viewport);
    },
    onInit: onReady,
  }), [onSelect, onSelectConnection, onReady, chainId, openMenu, onMoveStart, onMoveEnd]);
}

function Canvas(props: CanvasProps) {
  const { graph, chainId, editable } = props;
  const { nodes, placed, edges, connecting, onNodesChange, onNodeDragStop } = useDraggedNodes(graph);
  const [menu, setMenu] = useState<MenuAt | null>(null);
  const [help, setHelp] = useState(false);
  const wrapper = useRef<HTMLDivElement>(null);
  useSplitViewTransform(wrapper);
  const kept = useMemo(() => loadViewport(chainId), [chainId]);
  const fitted = useRef(kept !== null);
  const sketch = useZoomSketch(wrapper, placed, edges);
  const far = sketch.far;
  // The boxes' open holes follow in a deferred render that yields to frames: drawing a big
  // chain's thousands of markers at once held the page for a second when zooming in.
  const holesHidden = useDeferredValue(far);
  const closeOverlays = useCallback(() => { setMenu(null); setHelp(false); }, []);
  const toggleHelp = useCallback(() => setHelp((open) => !open), []);
  const fit = useFitMap(graph);
  useCanvasKeys(menu !== null || help, closeOverlays, toggleHelp, props.onEscape, fit);
  useEffect(() => {
    // A chain opened for the first time here: fit it once its systems have arrived.
    if (fitted.current || !nodes.length) return;
    fitted.current = true;
    requestAnimationFrame(() => fit(0));
  }, [nodes.length, fit]);
  const openMenu = useCallback((systemId: string, x: number, y: number) => {
    const box = wrapper.current?.getBoundingClientRect();
    const items = props.menuItems(systemId);
    const title = graph.snapshot().nodes.find((node) => node.id === systemId)?.data.name ?? systemId;
    if (box && items.length) setMenu({ title, items, x: x - box.left, y: y - box.top });
  }, [props.menuItems, graph]);
  const actions = useMemo(() => ({ openMenu, box: graph.box, subscribeBox: graph.subscribeBox }), [openMenu, graph]);
  const handlers = useFlowHandlers(props, openMenu, sketch);
  const extent = useMemo(() => graph.extent(), [graph, placed]); // placed: the graph's latest nodes
  return (
    <BoxActionsContext.Provider value={actions}>
      <FarContext.Provider value={holesHidden}>
        <div className={far ? "canvas far" : "canvas"} ref={wrapper}>
          <ReactFlow<SystemNode, ConnectionEdge>
            nodes={nodes} edges={edges} nodeTypes={nodeTypes} edgeTypes={edgeTypes}
            onNodesChange={onNodesChange} onNodeDragStop={onNodeDragStop}
            {...handlers}
            defaultViewport={kept ?? undefined}
            minZoom={0.05} maxZoom={2.5}
            nodesConnectable={false} deleteKeyCode={null} selectionKeyCode={null} multiSelectionKeyCode={null}
            nodeDragThreshold={4} zoomOnDoubleClick={false} colorMode="dark"
          >
            <ViewButtons editable={editable} fit={fit} onTidy={props.onTidy} onHelp={toggleHelp} />
            <ChainMinimap nodes={placed} extent={extent} />
            <ZoomSketchCanvas canvas={sketch.canvas} />
            {connecting && <Panel position="top-center" className="connect-hint">Tap the system to connect to (Escape cancels)</Panel>}
          </ReactFlow>
          {menu && <SystemMenu menu={menu} close={closeOverlays} />}
          {help && <HelpOverlay close={closeOverlays} />}
        </div>
      </FarContext.Provider>
    </BoxActionsContext.Provider>
  );
}

export function MapCanvas(props: CanvasProps) {
  return (
    <ReactFlowProvider>
      <Canvas {...props} />
    </ReactFlowProvider>
  );
}
