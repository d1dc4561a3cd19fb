// The app: `/` lists chains, `/chains/{id}` is the map. Routes by path; signs in with the
// token from the URL fragment.

import { call, type Chain, takeToken, tokenUser } from "./api";
import { addSystem, applyScan, connect, type Entry, removeSignatures, removeSystems, roots, setFields } from "./chain";
import { connectionPanel } from "./connectionPanel";
import { parsePaste } from "./paste";
import { showChains } from "./chains";
import { element } from "./dom";
import { ChainMap } from "./map";
import { ChainSession } from "./session";
import { snapshotPanel } from "./snapshots";
import { systemFacts } from "./systemFacts";
import { characterDots } from "./status";
import { bindText } from "./textbinding";
import { UniverseData } from "./universe";
import * as Y from "yjs";

const STATUSES = ["unknown", "friendly", "hostile", "occupied", "empty"];

/** True while the user types in a text field inside `area`: a redraw would eat the keys. */
function typingIn(area: HTMLElement): boolean {
  const focused = document.activeElement;
  const typing = (focused instanceof HTMLInputElement && focused.type === "text") || focused instanceof HTMLTextAreaElement;
  return typing && area.contains(focused);
}

async function start(): Promise<void> {
  const root = document.getElementById("app")!;
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").catch(() => undefined);
  }
  const token = takeToken();
  if (!token) {
    root.replaceChildren(element("p", {}, "Sign in: open the link that `mapper serve` printed, or the one your host app gave you."));
    return;
  }
  const match = location.pathname.match(/^\/chains\/([^/]+)$/);
  if (match) await showMap(root, token, decodeURIComponent(match[1]));
  else await showChains(root, token);
}

async function showMap(root: HTMLElement, token: string, chainId: string): Promise<void> {
  const user = tokenUser(token);
  let role: Chain["role"] = "viewer";
  const title = element("h1", {}, "Chain");
  const known = `mapper.chain.${chainId}`;
  try {
    const chain = await call<Chain>(token, "GET", `/api/chains/${chainId}`);
    localStorage.setItem(known, JSON.stringify({ name: chain.name, role: chain.role }));
  } catch {
    // Offline: the last known name and role, and the chain as IndexedDB has it.
  }
  const remembered = JSON.parse(localStorage.getItem(known) ?? "null") as Pick<Chain, "name" | "role"> | null;
  role = remembered?.role ?? "viewer";
  title.textContent = remembered?.name ?? "Chain";
  const editable = () => role !== "viewer";
  const session = new ChainSession(chainId, token, user);
  const universe = new UniverseData(token);
  const map = new ChainMap(session, editable, universe);
  const banner = element("div", { class: "banner", hidden: "" }, "Offline: your edits are kept and sent when the connection is back.");
  const status = element("span", { class: "status" }, "connecting");
  const viewers = element("span", { class: "viewers" });
  const suggestions = element("datalist", { id: "system-suggestions" });
  const systemInput = element("input", { placeholder: "Add system: name or id", "aria-label": "system id", list: "system-suggestions", autocomplete: "off" });
  const add = element("button", { title: "Add the system (A)" }, "Add");
  const link = element("button", { title: "Connect the two selected systems (C)" }, "Connect");
  const remove = element("button", { title: "Delete the selected systems (Delete)" }, "Delete");
  const undo = element("button", { title: "Undo (Ctrl+Z)" }, "Undo");
  const redo = element("button", { title: "Redo (Ctrl+Shift+Z)" }, "Redo");
  const panel = element("aside", { class: "panel" });
  const details = element("div", { class: "details" });
  panel.append(details);
  if (role === "owner") panel.append(snapshotPanel(token, chainId, universe));
  const toolbar = element("div", { class: "toolbar" }, element("a", { href: "/" }, "Chains"), title, systemInput, add, link, remove, undo, redo, status, viewers, characterDots(token));
  if (!editable()) {
    for (const control of [systemInput, add, link, remove, undo, redo]) control.setAttribute("disabled", "");
    toolbar.append(element("span", { class: "readonly" }, "read-only"));
  }
  root.replaceChildren(banner, toolbar, suggestions, element("main", {}, map.element, panel));

  let picked: string[] = [];
  const pick = (systemId: string | null, additive: boolean) => {
    map.selectedConnection = null;
    picked = systemId === null ? [] : additive ? [...picked.filter((id) => id !== systemId), systemId].slice(-2) : [systemId];
    map.selected = picked.at(-1) ?? null;
    session.select(map.selected);
    showPanel();
    map.draw();
  };
  map.onSelect = pick;
  map.onSelectConnection = (key) => {
    picked = [];
    map.selected = null;
    map.selectedConnection = key;
    session.select(null);
    showConnection(key);
    map.draw();
  };

  const showConnection = (key: string) => {
    const connection = roots(session.doc).connections.get(key);
    if (!connection) return showPanel();
    stopFacts();
    const view = { session, universe, editable: editable(), redraw: () => showConnection(key) };
    details.replaceChildren(...connectionPanel(view, key, connection));
  };

  let unbindNotes = () => {};
  let stopFacts = () => {};
  const showPanel = () => {
    const system = map.selected ? roots(session.doc).systems.get(map.selected) : undefined;
    stopFacts();
    if (!system) {
      unbindNotes();
      refreshSignatures = () => {};
      details.replaceChildren(element("p", { class: "hint" }, "Select a system; shift-click a second one to connect them."));
      return;
    }
    const alias = element("input", { value: String(system.get("alias") ?? ""), maxlength: "64", "aria-label": "alias" });
    const statusSelect = element("select", { "aria-label": "status" }, ...STATUSES.map((name) => element("option", { value: name }, name)));
    statusSelect.value = String(system.get("status") ?? "unknown");
    const notes = element("textarea", { "aria-label": "notes", rows: "6" });
    const text = system.get("notes");
    unbindNotes();
    if (text instanceof Y.Text) unbindNotes = bindText(notes, text);
    if (!editable()) for (const control of [alias, statusSelect, notes]) control.setAttribute("disabled", "");
    const edit = (fields: Record<string, unknown>) => {
      session.endStep();
      setFields(session.doc, system, fields);
    };
    alias.addEventListener("change", () => edit({ alias: alias.value.slice(0, 64) }));
    statusSelect.addEventListener("change", () => edit({ status: statusSelect.value }));
    const systemId = Number(map.selected);
    const facts = systemFacts(universe, systemId);
    stopFacts = facts.stop;
    const heading = element("h2", { title: String(systemId) }, universe.nameText(systemId));
    details.replaceChildren(heading, facts.element, element("label", {}, "Alias ", alias), element("label", {}, "Status ", statusSelect), element("label", {}, "Notes", notes), signaturePanel(systemId));
  };

  /** For a wormhole signature: which of the system's connections it is. */
  const linkChoice = (systemId: number, signature: Entry): HTMLElement | string => {
    if (signature.get("group") !== "wormhole") return "";
    const mine = [...roots(session.doc).connections.keys()].filter((key) => key.split("-").includes(String(systemId)));
    const other = (key: string) => universe.nameText(Number(key.split("-").find((id) => id !== String(systemId))));
    const choice = element("select", { "aria-label": `connection of ${signature.get("sig")}` },
      element("option", { value: "" }, "—"), ...mine.map((key) => element("option", { value: key }, other(key))));
    choice.value = String(signature.get("connection") ?? "");
    if (!editable()) choice.setAttribute("disabled", "");
    choice.addEventListener("change", () => {
      session.endStep();
      setFields(session.doc, signature, { connection: choice.value, updatedAt: Date.now() });
    });
    return choice;
  };

  let refreshSignatures = () => {};
  const signaturePanel = (systemId: number): HTMLElement => {
    const heading = element("h3", {});
    const table = element("table", { class: "signatures" });
    refreshSignatures = () => {
      const rows = [...roots(session.doc).signatures.entries()]
        .filter(([key]) => key.startsWith(`${systemId}:`))
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([, entry]) => element("tr", {}, element("td", {}, String(entry.get("sig"))), element("td", {}, String(entry.get("group"))), element("td", {}, String(entry.get("name") ?? "")), element("td", {}, linkChoice(systemId, entry))));
      heading.textContent = `Signatures (${rows.length})`;
      table.replaceChildren(element("tr", {}, element("th", {}, "Sig"), element("th", {}, "Group"), element("th", {}, "Name"), element("th", {}, "Leads to")), ...rows);
    };
    refreshSignatures();
    const pasteBox = element("textarea", { "aria-label": "probe scanner paste", rows: "4", placeholder: "Paste probe scanner results (Ctrl+A, Ctrl+C in game)" });
    const apply = element("button", {}, "Apply paste");
    const outcome = element("div", { class: "outcome" });
    if (!editable()) for (const control of [pasteBox, apply]) control.setAttribute("disabled", "");
    apply.addEventListener("click", () => {
      session.endStep();
      const result = applyScan(session.doc, systemId, parsePaste(pasteBox.value), user.id);
      pasteBox.value = "";
      outcome.replaceChildren(`${result.added.length} added, ${result.updated.length} updated.`);
      if (result.missing.length) {
        // Deleting what the paste lacks is opt-in, and shows what goes first.
        const prune = element("button", { class: "prune" }, `Delete ${result.missing.length} not in the paste: ${result.missing.join(", ")}`);
        prune.addEventListener("click", () => {
          session.endStep();
          removeSignatures(session.doc, systemId, result.missing);
          prune.remove();
        });
        outcome.append(" ", prune);
      }
    });
    return element("section", {}, heading, table, pasteBox, apply, outcome);
  };
  showPanel();

  let lastSearch: { text: string; ids: number[] } = { text: "", ids: [] };
  systemInput.addEventListener("input", async () => {
    const text = systemInput.value.trim();
    if (!text || /^\d+$/.test(text)) return;
    try {
      const found = await universe.search(text);
      if (systemInput.value.trim() !== text) return; // a later keystroke's answer wins
      lastSearch = { text, ids: found.map((item) => item.id) };
      suggestions.replaceChildren(...found.map((item) => element("option", { value: item.name }, `${item.region} ${item.id}`)));
    } catch {
      // offline: ids still work
    }
  });
  const addFromInput = async () => {
    const text = systemInput.value.trim();
    let id = Number(text);
    if (!/^\d+$/.test(text)) {
      const found = lastSearch.text === text ? lastSearch.ids : (await universe.search(text).catch(() => [])).map((item) => item.id);
      const exact = found.find((candidate) => universe.system(candidate)?.name.toLowerCase() === text.toLowerCase());
      id = exact ?? found[0] ?? NaN;
    }
    if (!Number.isInteger(id) || id <= 0) return;
    const count = roots(session.doc).systems.size;
    session.endStep();
    addSystem(session.doc, id, 160 + (count % 6) * 150, 80 + Math.floor(count / 6) * 70, user.id);
    systemInput.value = "";
    pick(String(id), false);
  };
  add.addEventListener("click", addFromInput);
  systemInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter") addFromInput();
  });
  const connectPicked = () => {
    if (picked.length !== 2) return;
    session.endStep();
    connect(session.doc, Number(picked[0]), Number(picked[1]));
  };
  const removePicked = () => {
    if (!picked.length) return;
    session.endStep();
    removeSystems(session.doc, picked);
    pick(null, false);
  };
  link.addEventListener("click", connectPicked);
  remove.addEventListener("click", removePicked);
  undo.addEventListener("click", () => session.undo.undo());
  redo.addEventListener("click", () => session.undo.redo());
  document.addEventListener("keydown", (event) => {
    if (!editable() || event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement) return;
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") {
      event.preventDefault();
      if (event.shiftKey) session.undo.redo();
      else session.undo.undo();
    } else if (event.key === "Delete") {
      removePicked();
    } else if (event.key === "c") {
      connectPicked();
    } else if (event.key === "a") {
      event.preventDefault();
      systemInput.focus();
    }
  });

  const showStatus = () => {
    const online = session.provider.wsconnected && navigator.onLine;
    status.textContent = online ? "live" : "offline";
    status.className = `status ${online ? "live" : "offline"}`;
    banner.hidden = online;
  };
  session.provider.on("status", showStatus);
  // The browser knows first: drop a socket that can no longer carry anything, and come
  // back at once rather than at the provider's next backoff.
  window.addEventListener("offline", () => {
    session.provider.disconnect();
    showStatus();
  });
  window.addEventListener("online", () => {
    session.provider.connect();
    showStatus();
  });
  if (!navigator.onLine) session.provider.disconnect();
  showStatus();
  session.provider.awareness.on("change", () => {
    viewers.textContent = session.others().map((other) => other.user.name).join(", ");
  });
  session.doc.on("update", () => {
    if (map.selected && !roots(session.doc).systems.has(map.selected)) pick(null, false);
    else if (map.selectedConnection && !typingIn(details)) showConnection(map.selectedConnection);
    else refreshSignatures();
  });
}

start();
