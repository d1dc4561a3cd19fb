// One shared clock for what counts down on the canvas. It ticks every second, but a line
// redraws only when the text it shows changes (once a minute for "3h 12m"), so a chain of
// 600 lines costs a few string comparisons a second.

import { useSyncExternalStore } from "react";

const TICK_MS = 1000;
const listeners = new Set<() => void>();
let timer: ReturnType<typeof setInterval> | null = null;

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  timer ??= setInterval(() => {
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

/** `text(now)`, kept current: the component redraws when the answer changes. */
export function useTimeText(text: (now: number) => string): string {
  return useSyncExternalStore(subscribe, () => text(Date.now()));
}
