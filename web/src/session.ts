// One chain open in the browser: the Yjs document, kept in IndexedDB for offline use and
// synced over the service's websocket; awareness for presence; undo of the user's own edits.

import * as Y from "yjs";
import { IndexeddbPersistence } from "y-indexeddb";
import { WebsocketProvider } from "y-websocket";
import { LOCAL, roots } from "./chain";

export interface Presence {
  user: { id: string; name: string };
  visible: boolean;
  /** The last moment the tab was visible or had input (ms epoch): a hidden tab counts as
   * present for a while after it (contract section 6). */
  activeAt: number;
  selected: string | null;
  characters: number[];
}

/** What the service publishes under its own awareness client (contract section 6). */
export interface Pilot {
  characterId: number;
  userId: string;
  systemId: number | null;
  online: boolean;
}

const ACTIVE_EVERY_MS = 60_000; // input renews activeAt at most this often
const INPUT_EVENTS = ["pointerdown", "keydown", "wheel", "touchstart"];

export class ChainSession {
  readonly doc = new Y.Doc();
  readonly provider: WebsocketProvider;
  readonly stored: IndexeddbPersistence;
  readonly undo: Y.UndoManager;

  constructor(readonly chainId: string, token: string, user: { id: string; name: string }) {
    this.stored = new IndexeddbPersistence(`mapper-chain-${chainId}`, this.doc);
    const base = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/chains`;
    this.provider = new WebsocketProvider(base, chainId, this.doc, { params: { token } });
    const { systems, connections, signatures } = roots(this.doc);
    this.undo = new Y.UndoManager([systems, connections, signatures], {
      trackedOrigins: new Set([LOCAL]),
    });
    const presence: Presence = { user, visible: !document.hidden, activeAt: Date.now(), selected: null, characters: [] };
    this.provider.awareness.setLocalState(presence);
    // A hidden tab counts as present only while it was active lately, so the service keeps
    // tracking a scout flying with the map behind the game and stops for a forgotten tab.
    let activeAt = presence.activeAt;
    const active = () => {
      const now = Date.now();
      if (now - activeAt < ACTIVE_EVERY_MS) return;
      activeAt = now;
      this.provider.awareness.setLocalStateField("activeAt", now);
    };
    document.addEventListener("visibilitychange", () => {
      // Shown, or hidden: either way it was visible until now. One awareness message.
      activeAt = Date.now();
      const state = this.provider.awareness.getLocalState();
      this.provider.awareness.setLocalState({ ...state, visible: !document.hidden, activeAt });
    });
    for (const type of INPUT_EVENTS) document.addEventListener(type, active, { capture: true, passive: true });
  }

  /** Ends the current undo step: each action (an add, a connect, a whole drag) undoes
   * on its own, however quickly the next one follows. */
  endStep(): void {
    this.undo.stopCapturing();
  }

  select(systemId: string | null): void {
    this.provider.awareness.setLocalStateField("selected", systemId);
  }

  /** Pilots of the chain's present members, by system id. */
  pilots(): Map<string, Pilot[]> {
    const bySystem = new Map<string, Pilot[]>();
    for (const state of this.provider.awareness.getStates().values()) {
      const pilots = (state as { pilots?: unknown }).pilots;
      if (!Array.isArray(pilots)) continue;
      for (const pilot of pilots as Pilot[]) {
        if (pilot?.systemId == null) continue;
        const key = String(pilot.systemId);
        bySystem.set(key, [...(bySystem.get(key) ?? []), pilot]);
      }
    }
    return bySystem;
  }

  others(): Presence[] {
    const mine = this.doc.clientID;
    return [...this.provider.awareness.getStates().entries()]
      .filter(([id, state]) => id !== mine && state && (state as Presence).user)
      .map(([, state]) => state as Presence);
  }
}
