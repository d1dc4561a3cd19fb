// The app: `/` lists chains, `/chains/{id}` is the map. Routes by path; signs in with the
// token from the URL fragment.

import "@xyflow/react/dist/style.css";
import { showSignIn } from "./account";
import { call, type Chain, takeToken, tokenUser } from "./api";
import { addSystem, roots } from "./chain";
import { chainTitle } from "./chainTitle";
import { cleanUpButton } from "./cleanUp";
import { showChains } from "./chains";
import { showConnectivity } from "./connectivity";
import { element } from "./dom";
import { ChainMap } from "./map";
import { mapPicking } from "./picking";
import { viewerList } from "./presence";
import { ChainSession } from "./session";
import { returnAfterSignIn } from "./signInAgain";
import { shareButton } from "./shareDialog";
import { snapshotPanel } from "./snapshots";
import { sidePanel } from "./sidePanel";
import { systemMenu } from "./systemMenu";
import { systemSearch } from "./systemSearch";
import { characterDots } from "./status";
import { scoutPrompts } from "./jumpPrompt";
import { loadStored, saveStored } from "./stored";
import { UniverseData } from "./universe";

async function start(): Promise<void> {
  const root = document.getElementById("app")!;
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").catch(() => undefined);
  }
  returnAfterSignIn();
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
  const known = await knownChain(token, chainId);
  const { role } = known;
  const editable = () => role !== "viewer";
  const session = new ChainSession(chainId, token, user);
  const title = chainTitle(session, known);
  const universe = new UniverseData(token);
  const map = new ChainMap(session, editable(), universe, token);
  const snapshots = role === "owner" ? snapshotPanel(token, chainId, universe) : null;
  // Access withdrawn: the map and panels go (the chain is no longer this user's to see), and so
  // do the edit controls; the banner says why.
  const revoked = () => {
    map.close();
    page.remove();
    for (const control of editControls) control.setAttribute("disabled", "");
  };
  const connectivity = showConnectivity(session, () => snapshots?.refresh(), revoked);
  const search = systemSearch(universe);
  const systemInput = search.input;
  const add = element("button", { title: "Add the system (A)" }, "Add");
  const link = element("button", { title: "Connect the selected system to the next one tapped (C)" }, "Connect");
  const remove = element("button", { title: "Delete the selected systems (Delete)" }, "Delete");
  const undo = element("button", { title: "Undo (Ctrl+Z)" }, "Undo");
  const redo = element("button", { title: "Redo (Ctrl+Shift+Z)" }, "Redo");
  const cleanUp = cleanUpButton(session, universe);
  const side = sidePanel({ session, universe, editable: editable(), userId: user.id, token }, snapshots?.element ?? null);
  const prompts = scoutPrompts({ session, universe, editable, userId: user.id });
  side.element.prepend(prompts.element);
  const toolbar = element("div", { class: "toolbar" }, element("a", { href: "/" }, "Chains"), title, systemInput, add, link, remove, undo, redo, cleanUp, connectivity.status, viewerList(session, user.id), characterDots(token, prompts.watchUser));
  if (role === "owner") toolbar.append(shareButton(token, { id: chainId, name: known.name }, (renamed) => (title.textContent = renamed)));
  const editControls = [systemInput, add, link, remove, undo, redo, cleanUp];
  if (!editable()) {
    for (const control of editControls) control.setAttribute("disabled", "");
    toolbar.append(element("span", { class: "readonly" }, "read-only"));
  }
  const page = element("main", {}, map.element, side.element);
  root.replaceChildren(connectivity.element, toolbar, search.suggestions, page);

  const { pick, connectPicked, removePicked } = mapPicking(map, session, side);
  const addFromInput = async () => {
    const id = await search.chosen();
    if (id === null) return;
    const parent = map.selected;
    const place = map.place(parent);
    session.endStep();
    addSystem(session.doc, id, place.x, place.y, user.id);
    map.reveal(place, parent);
    systemInput.value = "";
    pick(String(id), false);
  };
  add.addEventListener("click", addFromInput);
  systemInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter") addFromInput();
  });
  link.addEventListener("click", connectPicked);
  map.menuItems = (id) => (editable() ? systemMenu(session, id, { pick, connectPicked, removePicked }) : []);
  remove.addEventListener("click", removePicked);
  undo.addEventListener("click", () => session.undo.undo());
  redo.addEventListener("click", () => session.undo.redo());
  bindShortcuts(session, editable, { removePicked, connectPicked, focusAdd: () => systemInput.focus() });
  session.doc.on("update", () => {
    if (map.selected && !roots(session.doc).systems.has(map.selected)) pick(null, false);
    else side.refresh();
  });
}

start();
