// A box that names a system (to add it, or to route to it): by id, or by name with suggestions from static data (the
// service's search, or offline the systems the page has seen).

import { element } from "./dom";
import { spaceLabel } from "./labels";
import type { UniverseData } from "./universe";

export interface SystemSearch {
  input: HTMLInputElement;
  suggestions: HTMLDataListElement;
  /** The system the box names now, or null when it names none. */
  chosen: () => Promise<number | null>;
}

/** The box's names: the datalist id (one per box on the page), its label and placeholder. */
export interface SearchNames {
  id: string;
  label: string;
  placeholder: string;
}

const ADD_SYSTEM: SearchNames = { id: "system-suggestions", label: "system id", placeholder: "Add system: name or id" };

export function systemSearch(universe: UniverseData, names: SearchNames = ADD_SYSTEM): SystemSearch {
  const suggestions = element("datalist", { id: names.id });
  const input = element("input", { placeholder: names.placeholder, "aria-label": names.label, list: names.id, autocomplete: "off" });
  let last: { text: string; ids: number[] } = { text: "", ids: [] };
  input.addEventListener("input", async () => {
    const text = input.value.trim();
    if (!text || /^\d+$/.test(text)) return;
    try {
      const found = await universe.search(text);
      if (input.value.trim() !== text) return; // a later keystroke's answer wins
      last = { text, ids: found.map((item) => item.id) };
      suggestions.replaceChildren(...found.map((item) => element("option", { value: item.name }, `${spaceLabel(item)} ${item.region}`)));
    } catch {
      // the service refused: ids still work
    }
  });
  const chosen = async () => {
    const text = input.value.trim();
    if (/^\d+$/.test(text)) return Number(text) > 0 ? Number(text) : null;
    const found = last.text === text ? last.ids : (await universe.search(text).catch(() => [])).map((item) => item.id);
    const exact = found.find((candidate) => universe.system(candidate)?.name.toLowerCase() === text.toLowerCase());
    return exact ?? found[0] ?? null;
  };
  return { input, suggestions, chosen };
}
