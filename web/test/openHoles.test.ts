// Open holes on the canvas: which wormhole signatures are holes not yet linked, what their
// markers say, and which side of the box they go on. Run by tests/test_web_units.py.

import { deepStrictEqual, ok, strictEqual } from "node:assert";
import { test } from "node:test";
import { holeSide, holeText, openHoles, placeHoles } from "../src/canvas/openHoles";
import { NODE_W } from "../src/canvas/sizes";
import type { WormholeType } from "../src/universe";

const TYPES: WormholeType[] = [
  { code: "B274", targetClass: 7, lifetimeMinutes: 1440, maxMass: 2e9, maxJumpMass: 3e8 },
  { code: "H296", targetClass: 5, lifetimeMinutes: 1440, maxMass: 3e9, maxJumpMass: 1.35e9 },
  { code: "K162", targetClass: null, lifetimeMinutes: 1440, maxMass: null, maxJumpMass: null },
];

test("an open hole is a wormhole signature of a system on the map with no existing connection", () => {
  const signatures: [string, Record<string, unknown>][] = [
    ["1:BBB-222", { sig: "BBB-222", group: "wormhole", whType: "b274", connection: "" }],
    ["1:AAA-111", { sig: "AAA-111", group: "wormhole", connection: "1-9" }], // that connection is gone
    ["1:CCC-333", { sig: "CCC-333", group: "wormhole", connection: "1-2" }], // linked
    ["1:DDD-444", { sig: "DDD-444", group: "data", connection: "" }],
    ["5:EEE-555", { sig: "EEE-555", group: "wormhole", connection: "" }], // system not on the map
  ];
  const holes = openHoles(signatures, (id) => id === "1" || id === "2", (key) => key === "1-2");
  deepStrictEqual(Object.fromEntries(holes), { 1: [{ sig: "AAA-111", whType: "" }, { sig: "BBB-222", whType: "B274" }] });
});

test("a marker names the sig, and once typed the class it leads to; a K162 leads to ?", () => {
  deepStrictEqual(holeText({ sig: "ABC-123", whType: "" }, TYPES), { text: "ABC-123", label: "Open hole ABC-123" });
  deepStrictEqual(holeText({ sig: "ABC-123", whType: "H296" }, TYPES), { text: "ABC-123 H296→C5", label: "Open hole ABC-123 (H296 to C5)" });
  deepStrictEqual(holeText({ sig: "ABC-123", whType: "B274" }, TYPES), { text: "ABC-123 B274→HS", label: "Open hole ABC-123 (B274 to high-sec)" });
  deepStrictEqual(holeText({ sig: "ABC-123", whType: "K162" }, TYPES), { text: "ABC-123 K162→?", label: "Open hole ABC-123 (K162 to ?)" });
});

test("markers go right of the box, or where no box and fewer lines are", () => {
  const at = { x: 0, y: 0 };
  strictEqual(holeSide(at, 2, [], []), "right");
  strictEqual(holeSide(at, 2, [{ x: 298, y: 0 }], []), "right", "the gap to the next column holds them");
  strictEqual(holeSide(at, 2, [{ x: 200, y: 0 }], []), "left", "a box on the right");
  strictEqual(holeSide(at, 2, [{ x: 200, y: 0 }, { x: -200, y: 0 }], []), "below");
  strictEqual(holeSide(at, 1, [{ x: 200, y: 0 }, { x: -200, y: 0 }, { x: 0, y: 70 }], []), "above");
  strictEqual(holeSide(at, 1, [], [{ x: 298, y: 10 }]), "left", "a line leaves to the right");
});

test("markers stand in a column beside the box, apart; past five the last counts the rest", () => {
  const holes = ["A", "B", "C", "D", "E", "F", "G"].map((sig) => ({ sig, whType: "" }));
  const placed = placeHoles(holes, "right", TYPES);
  strictEqual(placed.length, 5);
  strictEqual(placed[4].text, "+3 open");
  for (const marker of placed) ok(marker.x > NODE_W / 2);
  for (let index = 1; index < placed.length; index++) ok(placed[index].y - placed[index - 1].y >= 15);
});
