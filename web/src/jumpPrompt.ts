// What the page asks a scout after the service tracked them: "which signature did you come
// through?" after a jump it mapped for one of their characters (in the system left and the
// system reached, listing the unlinked wormhole signatures: one click links), and whether a
// known-space move gates do not explain was a wormhole or a bridge (the offers in their own
// live document, /ws/users/me). Nothing is written until the scout clicks.

import * as Y from "yjs";
import { connectionKey, roots } from "./chain";
import { element } from "./dom";
import { confirmOffer, linkSignature } from "./holes";
import type { ChainSession } from "./session";
import { loadStored, saveStored } from "./stored";
import type { UniverseData } from "./universe";
import { freshJumps, offerId, type Offer, pendingOffers, unlinkedHoles } from "./wormholes";

const RECENT_JUMP_MS = 15 * 60_000; // a jump older than this (seen after a reconnect) asks nothing
const RECENT_OFFER_MS = 60 * 60_000;
const HANDLED_KEY = "mapper.offers.handled";
const KEEP_HANDLED = 100;

export interface PromptView {
  session: ChainSession;
  universe: UniverseData;
  editable: () => boolean;
  userId: string;
}

export interface ScoutPrompts {
  element: HTMLElement;
  /** The user's live document, each time its socket (re)connects. */
  watchUser: (doc: Y.Doc) => void;
}

export function scoutPrompts(view: PromptView): ScoutPrompts {
  const { session, universe } = view;
  const box = element("section", { class: "prompts", "aria-live": "polite" });
  const jumps = element("div", { class: "jump-prompts" });
  const offers = element("div", { class: "offers" });
  box.append(jumps, offers);
  const seen = new Set<string>();
  const asking = new Set<string>(); // connections whose jump asks which signature it was
  let characters = new Set<number>();
  let userDoc: Y.Doc | null = null;
  const handled = new Set<string>(loadStored<string[]>(HANDLED_KEY, []));

  /** The `jumps` of the given connections (all of them by default) as plain items. */
  const jumpsOf = (keys?: Iterable<string>): [string, unknown][] => {
    const { connections } = roots(session.doc);
    return [...(keys ?? connections.keys())].map((key) => {
      const jumps = connections.get(key)?.get("jumps");
      return [key, jumps instanceof Y.Array ? jumps.toJSON() : []];
    });
  };

  /** The prompt for one connection: each end's unlinked wormhole signatures as buttons. */
  const ask = (key: string) => {
    const [a, b] = key.split("-").map(Number);
    const { signatures } = roots(session.doc);
    const entries = [...signatures.entries()].map(([sigKey, entry]): [string, Record<string, unknown>] => [sigKey, entry.toJSON()]);
    const end = (systemId: number) => {
      const holes = unlinkedHoles(entries, systemId);
      const buttons = holes.map((sigKey) => {
        const button = element("button", { "data-signature": sigKey }, sigKey.split(":")[1]);
        button.addEventListener("click", () => {
          session.endStep();
          linkSignature(session.doc, sigKey, key);
          refresh();
        });
        return button;
      });
      return element("p", {}, "In ", universe.nameText(systemId), ": ", ...(buttons.length ? buttons : ["no unlinked wormhole signature (paste a scan)"]));
    };
    const linked = (systemId: number) => [...signatures.values()].some((entry) => entry.get("connection") === key && Number(entry.get("system")) === systemId);
    if (linked(a) && linked(b)) return null;
    const close = element("button", { class: "dismiss" }, "Not now");
    close.addEventListener("click", () => {
      asking.delete(key);
      refresh();
    });
    return element("div", { class: "jump-prompt", "data-connection": key },
      element("strong", {}, "Which signature did you come through?"), " ",
      universe.nameText(a), " – ", universe.nameText(b),
      ...(linked(a) ? [] : [end(a)]), ...(linked(b) ? [] : [end(b)]), close);
  };

  const offerPrompt = (offer: Offer) => {
    const choose = (kind: "wormhole" | "bridge") => {
      const button = element("button", { "data-kind": kind }, kind === "wormhole" ? "A wormhole" : "A bridge");
      button.addEventListener("click", () => {
        session.endStep();
        confirmOffer(session.doc, offer, kind, view.userId);
        remember(offer);
      });
      return button;
    };
    const dismiss = element("button", { class: "dismiss" }, "Neither");
    dismiss.addEventListener("click", () => remember(offer));
    return element("div", { class: "offer", "data-offer": offer.key },
      "You moved ", universe.nameText(offer.from), " → ", universe.nameText(offer.to), " without a stargate. Map it as ",
      choose("wormhole"), " ", choose("bridge"), " ", dismiss);
  };

  const remember = (offer: Offer) => {
    handled.add(offerId(offer.key, offer.at));
    saveStored(HANDLED_KEY, [...handled].slice(-KEEP_HANDLED));
    refresh();
  };

  /** Note the jumps of these connections (all by default); unless `quiet`, the new ones of
   * this user's characters ask. */
  const noteJumps = (keys?: Iterable<string>, quiet = false) => {
    const whose = quiet ? new Set<number>() : characters;
    for (const { key } of freshJumps(seen, jumpsOf(keys), whose, Date.now(), RECENT_JUMP_MS)) asking.add(key);
  };

  const refresh = () => {
    const now = Date.now();
    const prompts: HTMLElement[] = [];
    for (const key of [...asking]) {
      const prompt = roots(session.doc).connections.has(key) && view.editable() ? ask(key) : null;
      if (prompt) prompts.push(prompt);
      else asking.delete(key);
    }
    jumps.replaceChildren(...prompts);
    const { systems, connections } = roots(session.doc);
    const pending = userDoc && view.editable()
      ? pendingOffers(userDoc.getMap("offers").entries(), (id) => systems.has(String(id)), (a, b) => connections.has(connectionKey(a, b)), handled, now, RECENT_OFFER_MS)
      : [];
    offers.replaceChildren(...pending.map(offerPrompt));
  };

  // Only the connections whose jumps changed are read again: a drag reads none.
  roots(session.doc).connections.observeDeep((events) => {
    const keys = new Set<string>();
    for (const event of events) {
      const changed = event.changes.keys;
      if (event.path.length === 0) for (const key of changed.keys()) keys.add(key);
      else if (event.path.length > 1 ? event.path[1] === "jumps" : changed.has("jumps")) keys.add(String(event.path[0]));
    }
    if (keys.size) noteJumps(keys);
  });
  session.doc.on("update", refresh);
  // The jumps already in the document when it loads asked their questions before.
  session.stored.whenSynced.then(() => {
    noteJumps(undefined, true);
    refresh();
  });
  return {
    element: box,
    watchUser: (doc) => {
      userDoc = doc;
      const read = () => {
        characters = new Set([...doc.getMap("characters").keys()].map(Number));
        refresh();
      };
      doc.getMap("characters").observe(read);
      doc.getMap("offers").observe(refresh);
      read();
    },
  };
}
