// The view of each chain (pan and zoom), kept in local storage so a reload or the next visit
// opens where the scout left it.

import type { Viewport } from "@xyflow/react";
import { loadStored, saveStored } from "../stored";

const key = (chainId: string) => `mapper.view.${chainId}`;

export function loadViewport(chainId: string): Viewport | null {
  const kept = loadStored<Partial<Viewport> | null>(key(chainId), null);
  const ok = kept && [kept.x, kept.y, kept.zoom].every((value) => typeof value === "number" && Number.isFinite(value)) && kept.zoom! > 0;
  return ok ? (kept as Viewport) : null;
}

export function saveViewport(chainId: string, viewport: Viewport): void {
  saveStored(key(chainId), { x: Math.round(viewport.x), y: Math.round(viewport.y), zoom: Math.round(viewport.zoom * 1000) / 1000 });
}
