// Where the canvas puts systems: the tree from home, a new system beside its parent, never on
// another. Run by tests/test_web_units.py.

import { deepStrictEqual, ok, strictEqual } from "node:assert";
import { test } from "node:test";
import { placeAround, placeNear, spanningTree, tidy } from "../src/canvas/layout";
import { NODE_H, NODE_W } from "../src/canvas/sizes";

const apart = (a: { x: number; y: number }, b: { x: number; y: number }) => Math.abs(a.x - b.x) >= NODE_W || Math.abs(a.y - b.y) >= NODE_H;

test("the tree is read from home, breadth first; a part without home has its own root", () => {
  const parents = spanningTree(["1", "2", "3", "4", "5"], [["1", "2"], ["2", "3"], ["3", "1"], ["4", "5"]], "3");
  deepStrictEqual(Object.fromEntries(parents), { 3: null, 2: "3", 1: "3", 4: null, 5: "4" });
});

test("tidy keeps home where it is and lays the chain out left to right, nothing overlapping", () => {
  const ids = ["1", "2", "3", "4"];
  const places = tidy(ids, [["1", "2"], ["1", "3"], ["3", "4"]], "1", { x: 500, y: 300 });
  deepStrictEqual(places.get("1"), { x: 500, y: 300 });
  ok(places.get("2")!.x > 500 && places.get("3")!.x > 500);
  ok(places.get("4")!.x > places.get("3")!.x);
  for (const a of ids) for (const b of ids) if (a < b) ok(apart(places.get(a)!, places.get(b)!), `${a} and ${b} overlap`);
});

test("a new system goes right of its parent, then beside the ones already there", () => {
  const parent = { x: 0, y: 0 };
  const first = placeNear(parent, [parent]);
  strictEqual(first.y, 0);
  ok(first.x > NODE_W);
  const second = placeNear(parent, [parent, first]);
  strictEqual(second.x, first.x);
  ok(apart(first, second));
});

test("with no parent, the middle of the view, or the nearest free place", () => {
  deepStrictEqual(placeAround({ x: 10, y: 20 }, []), { x: 10, y: 20 });
  ok(apart(placeAround({ x: 10, y: 20 }, [{ x: 10, y: 20 }]), { x: 10, y: 20 }));
});
