// What static data says about the selected system: its space, region, effect and statics
// (each with the class it leads to). Fills in as the answers arrive.

import { element } from "./dom";
import { spaceSummary, staticsText } from "./labels";
import type { UniverseData } from "./universe";

export interface Facts {
  element: HTMLElement;
  /** Stop following static data (the panel shows something else). */
  stop: () => void;
}

export function systemFacts(universe: UniverseData, id: number): Facts {
  const space = element("p", { class: "space" });
  const effect = element("p", { class: "effect" });
  const statics = element("p", { class: "statics" });
  const render = () => {
    const info = universe.system(id);
    space.textContent = info ? [spaceSummary(info), info.region, info.constellation].filter(Boolean).join(" · ") : "";
    effect.textContent = info?.effect ? `Effect: ${info.effect}` : "";
    void universe.statics(id).then((list) => {
      statics.textContent = staticsText(list);
    });
  };
  render();
  const stop = universe.subscribe(render);
  return { element: element("div", { class: "system-facts" }, space, effect, statics), stop };
}
