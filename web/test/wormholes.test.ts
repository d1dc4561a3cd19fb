// Lifetime and mass of a wormhole, as EVE counts them. Run by tests/test_web_units.py.

import { deepStrictEqual, strictEqual } from "node:assert";
import { test } from "node:test";
import { EOL_LEFT_MS, isExpired, jumpMakesCritical, massLeft, massStage, readJumps, shortDuration, timeLeft } from "../src/wormholes";

const HOUR = 3_600_000;
const B274 = { lifetimeMinutes: 16 * 60, maxMass: 2_000_000_000 };

test("time left: the type's lifetime from createdAt, or 4 h from eolAt, whichever ends first", () => {
  strictEqual(timeLeft({ createdAt: 1_000 }, B274, 1_000 + HOUR), 15 * HOUR);
  strictEqual(timeLeft({ createdAt: 1_000, eol: true, eolAt: 1_000 + HOUR }, B274, 1_000 + 2 * HOUR), 3 * HOUR);
  strictEqual(timeLeft({ createdAt: 1_000, eol: true, eolAt: 1_000 + 14 * HOUR }, B274, 1_000 + 14 * HOUR), 2 * HOUR);
  strictEqual(timeLeft({ eol: true, eolAt: 5_000 }, undefined, 5_000), EOL_LEFT_MS);
  strictEqual(timeLeft({ eol: false, eolAt: 5_000 }, undefined, 5_000), null);
  strictEqual(timeLeft({ createdAt: "x" }, B274, 0), null);
  strictEqual(isExpired({ createdAt: 1 }, B274, 1 + 16 * HOUR), true);
  strictEqual(isExpired({ createdAt: 1 }, B274, 16 * HOUR), false);
  strictEqual(isExpired({}, undefined, 1e15), false);
});

test("mass: passed, left and the stage (reduced below half, critical below a tenth)", () => {
  const jumps = readJumps([
    { at: 1, characterId: 1, shipTypeId: 1, mass: 900_000_000 },
    { at: 2, characterId: 1, shipTypeId: 1, mass: -5 },
    "garbage",
    { at: 3, characterId: 2, shipTypeId: 2, mass: 200_000_000 },
  ]);
  deepStrictEqual(jumps.map((jump) => jump.at), [1, 3]);
  strictEqual(massLeft(B274, jumps), 900_000_000);
  strictEqual(massStage({}, B274, jumps), "reduced");
  strictEqual(massStage({ mass: "critical" }, B274, jumps), "critical");
  strictEqual(massStage({ mass: "bogus" }, B274, []), "fresh");
  strictEqual(massStage({ mass: "reduced" }, undefined, jumps), "reduced");
  strictEqual(massLeft(undefined, jumps), null);
  strictEqual(massLeft(B274, readJumps([{ at: 1, mass: 3e9 }])), 0);
  strictEqual(jumpMakesCritical(B274, jumps, 600_000_000), false);
  strictEqual(jumpMakesCritical(B274, jumps, 750_000_000), true);
  strictEqual(jumpMakesCritical(undefined, jumps, 750_000_000), false);
});

test("short durations", () => {
  strictEqual(shortDuration(0), "expired");
  strictEqual(shortDuration(45 * 60_000 + 59_000), "45m");
  strictEqual(shortDuration(3 * HOUR + 12 * 60_000), "3h 12m");
});
