// Class labels, security and masses as contract section 8 and EVE show them.
// Run by tests/test_web_units.py (esbuild bundles this file for node --test).

import { strictEqual } from "node:assert";
import { test } from "node:test";
import { ageText, classLabel, securityBand, securityText, spaceLabel, spaceSummary, staticsText, tonnes, wormholeFacts } from "../src/labels";

test("class labels", () => {
  const expected: [number | null, string][] = [
    [1, "C1"], [6, "C6"], [7, "high-sec"], [8, "low-sec"], [9, "null-sec"], [12, "Thera"],
    [13, "shattered"], [14, "Drifter (Sentinel)"], [15, "Drifter (Barbican)"], [16, "Drifter (Vidette)"],
    [17, "Drifter (Conflux)"], [18, "Drifter (Redoubt)"], [25, "Pochven"], [10, "class 10"], [null, ""],
  ];
  for (const [wormholeClass, label] of expected) strictEqual(classLabel(wormholeClass), label);
});

test("security as EVE shows it", () => {
  const expected: [number, string][] = [
    [0.9459, "0.9"], [0.95, "1.0"], [0.45, "0.5"], [0.449, "0.4"], [0.05, "0.1"], [0.04, "0.1"],
    [0.0001, "0.1"], [0, "0.0"], [-0.04, "0.0"], [-0.06, "-0.1"], [-0.99, "-1.0"], [-1, "-1.0"],
  ];
  for (const [security, shown] of expected) strictEqual(securityText(security), shown, `${security}`);
  strictEqual(securityBand(0.45), "high");
  strictEqual(securityBand(0.44), "low");
  strictEqual(securityBand(0.01), "low");
  strictEqual(securityBand(0), "null");
  strictEqual(securityBand(-0.5), "null");
});

test("space labels", () => {
  strictEqual(spaceLabel({ id: 31000003, security: -0.99, wormholeClass: 5 }), "C5");
  strictEqual(spaceLabel({ id: 30000142, security: 0.9459, wormholeClass: 7 }), "0.9");
  strictEqual(spaceLabel(undefined), "");
  strictEqual(spaceSummary({ id: 30000142, security: 0.9459, wormholeClass: 7 }), "0.9 high-sec");
  strictEqual(spaceSummary({ id: 30000005, security: 0.31, wormholeClass: null }), "0.3 low-sec");
  strictEqual(spaceSummary({ id: 30045328, security: -1, wormholeClass: 25 }), "-1.0 Pochven");
  strictEqual(spaceSummary({ id: 31000005, security: -0.99, wormholeClass: 12 }), "Thera");
});

test("masses in tonnes", () => {
  strictEqual(tonnes(2e9), "2,000,000 t");
  strictEqual(tonnes(3e8), "300,000 t");
  strictEqual(tonnes(1_067_000), "1,067 t");
  strictEqual(tonnes(1499), "1 t");
});

test("wormhole and statics lines", () => {
  strictEqual(
    wormholeFacts({ targetClass: 7, maxMass: 2e9, maxJumpMass: 3e8, lifetimeMinutes: 1440 }),
    "leads to high-sec · 2,000,000 t total · 300,000 t a jump · 24 h",
  );
  strictEqual(wormholeFacts({ targetClass: null, maxMass: null, maxJumpMass: null, lifetimeMinutes: 960 }), "16 h");
  strictEqual(staticsText([{ code: "B274", targetClass: 7 }, { code: "C247", targetClass: 3 }, { code: "X999", targetClass: null }]),
    "Statics: B274 → high-sec, C247 → C3, X999 → ?");
  strictEqual(staticsText([]), "");
  strictEqual(staticsText(null), "");
});

test("signature ages", () => {
  const minute = 60_000;
  const expected: [number, string][] = [
    [-5 * minute, "0m"], [0, "0m"], [59_999, "0m"], [minute, "1m"], [59 * minute, "59m"],
    [60 * minute, "1h 0m"], [192 * minute, "3h 12m"], [24 * 60 * minute - 1, "23h 59m"],
    [24 * 60 * minute, "1d 0h"], [53 * 60 * minute + 30 * minute, "2d 5h"],
  ];
  for (const [ms, text] of expected) strictEqual(ageText(ms), text);
});
