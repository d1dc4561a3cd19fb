// "Clean up expired": removes the connections past their lifetime and the signatures older
// than a day, in one edit that Undo takes back. Only ever on a person's click.

import { element } from "./dom";
import { cleanUpExpired } from "./holes";
import type { ChainSession } from "./session";
import type { UniverseData } from "./universe";

export function cleanUpButton(session: ChainSession, universe: UniverseData): HTMLButtonElement {
  const button = element("button", { class: "clean-up", title: "Remove expired connections and signatures older than a day (Undo brings them back)" }, "Clean up expired");
  button.addEventListener("click", async () => {
    const types = await universe.wormholes();
    session.endStep();
    const removed = cleanUpExpired(session.doc, types, Date.now());
    session.endStep();
    button.title = `Removed ${removed.connections} connections and ${removed.signatures} signatures`;
    button.dataset.removed = `${removed.connections}/${removed.signatures}`;
  });
  return button;
}
