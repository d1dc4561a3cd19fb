// The route from the selected system to one named in the box, with the options of contract
// section 8 (this chain's connections, EVE-Scout's Thera and Turnur ones, what to avoid, the
// ship's size), listed jump by jump with each system's class or security.

import { ApiError } from "./api";
import { element } from "./dom";
import { spaceKind, spaceLabel } from "./labels";
import { loadStored, saveStored } from "./stored";
import { systemSearch } from "./systemSearch";
import type { RouteOptions, UniverseData } from "./universe";

const OPTIONS_KEY = "mapper.route.options";
const SIZES = ["", "medium", "large", "xlarge", "capital"] as const;
type Flag = "avoidEol" | "avoidCritical" | "avoidLowNull" | "eveScout";
const FLAGS: [Flag, string][] = [
  ["avoidEol", "avoid end-of-life holes"],
  ["avoidCritical", "avoid critical holes"],
  ["avoidLowNull", "avoid low- and null-sec"],
  ["eveScout", "Thera and Turnur (EVE-Scout)"],
];

type Kept = Omit<RouteOptions, "chain"> & { useChain: boolean };
const DEFAULTS: Kept = { useChain: true, avoidEol: false, avoidCritical: false, avoidLowNull: false, minSize: "", eveScout: false };

export interface RoutePanel {
  element: HTMLElement;
  stop: () => void;
}

export function routePanel(universe: UniverseData, chainId: string, from: number): RoutePanel {
  const search = systemSearch(universe, { id: "route-suggestions", label: "route to", placeholder: "Route to: system name" });
  const options = optionControls();
  const find = element("button", {}, "Find route");
  const result = element("div", { class: "route" });
  let shown: number[] | null = null;
  const render = () => {
    if (shown) result.replaceChildren(jumpList(universe, shown));
  };
  const stopNames = universe.subscribe(render); // labels fill in as static data arrives
  const run = async () => {
    const to = await search.chosen();
    if (to === null) {
      result.replaceChildren(element("p", { class: "dim" }, "No such system."));
      return;
    }
    const chosen = options.read();
    saveStored(OPTIONS_KEY, chosen);
    const { useChain, ...rest } = chosen;
    result.replaceChildren(element("p", { class: "dim" }, "Finding a route…"));
    try {
      shown = await universe.route(from, to, { ...rest, chain: useChain ? chainId : null });
      if (shown) render();
      else result.replaceChildren(element("p", {}, "No route with these options."));
    } catch (error) {
      shown = null;
      const why = error instanceof ApiError ? error.message : "the service cannot be reached";
      result.replaceChildren(element("p", { class: "error" }, `No route: ${why}.`));
    }
  };
  find.addEventListener("click", () => void run());
  search.input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") void run();
  });
  const section = element("section", { class: "route-panel" },
    element("h3", {}, "Route from here"), search.input, search.suggestions, find, options.element, result);
  return { element: section, stop: stopNames };
}

/** The option checkboxes and size choice, as last used. */
function optionControls(): { element: HTMLElement; read: () => Kept } {
  const kept = { ...DEFAULTS, ...loadStored<Partial<Kept>>(OPTIONS_KEY, {}) };
  const box = (checked: boolean, label: string) => {
    const input = element("input", { type: "checkbox", "aria-label": label });
    input.checked = checked;
    return input;
  };
  const useChain = box(kept.useChain, "this chain's connections");
  const flags = FLAGS.map(([flag, label]) => [flag, box(kept[flag], label)] as const);
  const size = element("select", { "aria-label": "ship size" },
    ...SIZES.map((name) => element("option", { value: name }, name ? `${name} or larger holes` : "any hole")));
  size.value = SIZES.includes(kept.minSize) ? kept.minSize : "";
  const labelled = (input: HTMLInputElement) => element("label", {}, input, ` ${input.getAttribute("aria-label")}`);
  const part = element("details", { class: "route-options" }, element("summary", {}, "Options"),
    labelled(useChain), ...flags.map(([, input]) => labelled(input)), element("label", {}, "Ship ", size));
  const read = (): Kept => ({
    useChain: useChain.checked,
    ...(Object.fromEntries(flags.map(([flag, input]) => [flag, input.checked])) as Record<Flag, boolean>),
    minSize: size.value as Kept["minSize"],
  });
  return { element: part, read };
}

/** "3 jumps", then each system by name with its class or security, coloured like the map. */
function jumpList(universe: UniverseData, path: number[]): HTMLElement {
  const jumps = path.length - 1;
  const items = path.map((id) => {
    const info = universe.system(id);
    return element("li", { "data-route-system": String(id) },
      element("span", { class: `space space-${spaceKind(info)}` }, spaceLabel(info)), " ", universe.nameText(id));
  });
  return element("div", {}, element("p", { class: "jumps" }, `${jumps} jump${jumps === 1 ? "" : "s"}`), element("ol", {}, ...items));
}
