// A textarea bound to a Y.Text: typing becomes the smallest delete-and-insert, so two people
// writing in the same notes merge character by character; remote changes update the box
// and keep the caret where it was relative to the text.

import * as Y from "yjs";
import { LOCAL } from "./chain";

export function bindText(area: HTMLTextAreaElement, text: Y.Text): () => void {
  area.value = text.toString();
  let shown = area.value;
  const onInput = () => {
    const next = area.value;
    let start = 0;
    while (start < shown.length && start < next.length && shown[start] === next[start]) start++;
    let end = 0;
    while (end < shown.length - start && end < next.length - start && shown[shown.length - 1 - end] === next[next.length - 1 - end]) end++;
    text.doc!.transact(() => {
      if (shown.length - start - end > 0) text.delete(start, shown.length - start - end);
      if (next.length - start - end > 0) text.insert(start, next.slice(start, next.length - end));
    }, LOCAL);
    shown = next;
  };
  const onChange = (event: Y.YTextEvent, transaction: Y.Transaction) => {
    if (transaction.origin === LOCAL) return;
    // Move the caret with the remote edits before it.
    let caret = area.selectionStart;
    let index = 0;
    for (const op of event.delta) {
      if (op.retain) index += op.retain;
      else if (typeof op.insert === "string") {
        if (index < caret) caret += op.insert.length;
        index += op.insert.length;
      } else if (op.delete) {
        if (index < caret) caret -= Math.min(op.delete, caret - index);
      }
    }
    shown = text.toString();
    area.value = shown;
    area.setSelectionRange(caret, caret);
  };
  area.addEventListener("input", onInput);
  text.observe(onChange);
  return () => {
    area.removeEventListener("input", onInput);
    text.unobserve(onChange);
  };
}
