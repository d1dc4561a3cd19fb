// The app: `/` lists chains, `/chains/{id}` is the map. Routes by path; signs in with the
// token from the URL fragment.

import { watchAccess } from "./accessLost";
import { showSignIn } from "./account";
import { call, type Chain, takeToken, tokenUser } from "./api";
import { addSystem, connect, removeSystems, roots } from "./chain";
import { cleanUpButton } from "./cleanUp";
import { connectionPanel } from "./connectionPanel";
import { showChains } from "./chains";
import { element } from "./dom";
import { ChainMap } from "./map";
import { ChainSession } from "./session";
import { shareButton } from "./shareDialog";
import { snapshotPanel } from "./snapshots";
import { type ShownPanel, systemPanel } from "./systemPanel";
import { systemSearch } from "./systemSearch";
import { characterDots } from "./status";
import { scoutPrompts } from "./jumpPrompt";
import { loadStored, saveStored } from "./stored";
import { UniverseData } from "./universe";

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
  if (!token) return showSignIn(root);
  const match = location.pathname.match(/^\/chains\/([^/]+)$/);
  if (match) await showMap(root, token, decodeURIComponent(match[1]));
  else await showChains(root, token);
}

/** The chain's name and the caller's role: the service's answer, or offline the last one. */
async function knownChain(token: string, chainId: string): Promise<Pick<Chain, "name" | "role">> {
  const known = `mapper.chain.${chainId}`;
  try {
    const chain = await call<Chain>(token, "GET", `/api/chains/${chainId}`);
    saveStored(known, { name: chain.name, role: chain.role });
  } catch {
    // Offline: the last known name and role, and the chain as IndexedDB has it.
  }
  return loadStored(known, { name: "Chain", role: "viewer" });
}

/** The toolbar's live/offline word and the offline banner, following the socket. */
function showConnectivity(session: ChainSession, status: HTMLElement, banner: HTMLElement): void {
  const show = () => {
    const online = session.provider.wsconnected && navigator.onLine;
    status.textContent = online ? "live" : "offline";
    status.className = `status ${online ? "live" : "offline"}`;
    banner.hidden = online;
  };
  session.provider.on("status", show);
  // The browser knows first: drop a socket that can no longer carry anything, and come
  // back at once rather than at the provider's next backoff.
  window.addEventListener("offline", () => {
    session.provider.disconnect();
    show();
  });
  window.addEventListener("online", () => {
    session.provider.connect();
    show();
  });
  if (!navigator.onLine) session.provider.disconnect();
  show();
}

interface Shortcuts {
  removePicked: () => void;
  connectPicked: () => void;
  focusAdd: () => void;
}

function bindShortcuts(session: ChainSession, editable: () => boolean, actions: Shortcuts): void {
  document.addEventListener("keydown", (event) => {
    if (!editable() || event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement) return;
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") {
      event.preventDefault();
      if (event.shiftKey) session.undo.redo();
      else session.undo.undo();
    } else if (event.key === "Delete") {
      actions.removePicked();
    } else if (event.key === "c") {
      actions.connectPicked();
    } else if (event.key === "a") {
      event.preventDefault();
      actions.focusAdd();
    }
  });
}

async function showMap(root: HTMLElement, token: string, chainId: string): Promise<void> {
  const user = tokenUser(token);
  const { name, role } = await knownChain(token, chainId);
  const title = element("h1", {}, name);
  const editable = () => role !== "viewer";
  const session = new ChainSession(chainId, token, user);
  const universe = new UniverseData(token);
  const map = new ChainMap(session, editable, universe);
  const banner = element("div", { class: "banner", hidden: "" }, "Offline: your edits are kept and sent when the connection is back.");
  const status = element("span", { class: "status" }, "connecting");
  const viewers = element("span", { class: "viewers" });
  const search = systemSearch(universe);
  const systemInput = search.input;
  const add = element("button", { title: "Add the system (A)" }, "Add");
  const link = element("button", { title: "Connect the two selected systems (C)" }, "Connect");
  const remove = element("button", { title: "Delete the selected systems (Delete)" }, "Delete");
  const undo = element("button", { title: "Undo (Ctrl+Z)" }, "Undo");
  const redo = element("button", { title: "Redo (Ctrl+Shift+Z)" }, "Redo");
  const cleanUp = cleanUpButton(session, universe);
  const panel = element("aside", { class: "panel" });
  const details = element("div", { class: "details" });
  const prompts = scoutPrompts({ session, universe, editable, userId: user.id });
  panel.append(prompts.element, details);
  if (role === "owner") panel.append(snapshotPanel(token, chainId, universe));
  const toolbar = element("div", { class: "toolbar" }, element("a", { href: "/" }, "Chains"), title, systemInput, add, link, remove, undo, redo, cleanUp, status, viewers, characterDots(token, prompts.watchUser));
  if (role === "owner") toolbar.append(shareButton(token, { id: chainId, name }, (renamed) => (title.textContent = renamed)));
  if (!editable()) {
    for (const control of [systemInput, add, link, remove, undo, redo, cleanUp]) control.setAttribute("disabled", "");
    toolbar.append(element("span", { class: "readonly" }, "read-only"));
  }
  root.replaceChildren(banner, toolbar, search.suggestions, element("main", {}, map.element, panel));

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

  const NOTHING_SHOWN = { refreshSignatures: () => {}, stop: () => {} };
  let shown: Pick<ShownPanel, "refreshSignatures" | "stop"> = NOTHING_SHOWN;
  const showConnection = (key: string) => {
    const connection = roots(session.doc).connections.get(key);
    if (!connection) return showPanel();
    shown.stop();
    shown = NOTHING_SHOWN;
    const view = { session, universe, editable: editable(), redraw: () => showConnection(key), token };
    details.replaceChildren(...connectionPanel(view, key, connection));
  };
  const showPanel = () => {
    const system = map.selected ? roots(session.doc).systems.get(map.selected) : undefined;
    shown.stop();
    shown = NOTHING_SHOWN;
    if (!system) {
      details.replaceChildren(element("p", { class: "hint" }, "Select a system; shift-click a second one to connect them."));
      return;
    }
    const panel = systemPanel({ session, universe, editable: editable(), userId: user.id }, Number(map.selected), system);
    shown = panel;
    details.replaceChildren(...panel.parts);
  };
  showPanel();

  const addFromInput = async () => {
    const id = await search.chosen();
    if (id === null) return;
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
  bindShortcuts(session, editable, { removePicked, connectPicked, focusAdd: () => systemInput.focus() });
  showConnectivity(session, status, banner);
  watchAccess(session, banner);
  session.provider.awareness.on("change", () => {
    viewers.textContent = session.others().map((other) => other.user.name).join(", ");
  });
  session.doc.on("update", () => {
    if (map.selected && !roots(session.doc).systems.has(map.selected)) pick(null, false);
    else if (map.selectedConnection && !typingIn(details)) showConnection(map.selectedConnection);
    else shown.refreshSignatures();
  });
}

start();
