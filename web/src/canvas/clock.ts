// One shared clock for everything on the canvas that counts down: it ticks once a minute
// (what the lines show is in minutes), so a chain of 600 lines redraws once a minute, not
// once a second.

import { useSyncExternalStore } from "react";

const TICK_MS = 1000;
const listeners = new Set<() => void>();
let minute = Math.floor(Date.now() / 60_000);
let timer: ReturnType<typeof setInterval> | null = null;

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  timer ??= setInterval(() => {
    const now = Math.floor(Date.now() / 60_000);
    if (now === minute) return;
    minute = now;
    for (const each of listeners) each();
  }, TICK_MS);
  return () => {
    listeners.delete(listener);
    if (!listeners.size && timer !== null) {
      clearInterval(timer);
      timer = null;
    }
  };
}

/** The current minute; the component redraws when it changes. */
export function useMinute(): number {
  return useSyncExternalStore(subscribe, () => minute);
}
