// The scout's workflow as pure answers: ends and typed sides, unlinked wormhole signatures,
// what "clean up expired" removes, the jumps that prompt, the offers to ask about.
// Run by tests/test_web_units.py.

import { deepStrictEqual, strictEqual } from "node:assert";
import { test } from "node:test";
import { codeAt, endOf, expiredContent, freshJumps, offerId, pendingOffers, readJumps, unlinkedHoles } from "../src/wormholes";

const HOUR = 3_600_000;

test("ends and the code seen from each: the typed side and its K162", () => {
  strictEqual(endOf("30000001-31000002", 30000001), "a");
  strictEqual(endOf("30000001-31000002", 31000002), "b");
  strictEqual(endOf("30000001-31000002", 5), null);
  strictEqual(codeAt({ whType: "B274", whSide: "a" }, "a"), "B274");
  strictEqual(codeAt({ whType: "B274", whSide: "a" }, "b"), "K162");
  strictEqual(codeAt({ whType: "B274" }, "a"), "");
  strictEqual(codeAt({ whType: "K162", whSide: "b" }, "b"), "");
});

test("unlinked wormhole signatures of one system, by id", () => {
  const signatures: [string, object][] = [
    ["1:XYZ-999", { group: "wormhole", connection: "" }],
    ["1:ABC-123", { group: "wormhole" }],
    ["1:DEF-456", { group: "wormhole", connection: "1-2" }],
    ["1:GHI-789", { group: "data", connection: "" }],
    ["2:JKL-012", { group: "wormhole", connection: "" }],
  ];
  deepStrictEqual(unlinkedHoles(signatures, 1), ["1:ABC-123", "1:XYZ-999"]);
});

test("clean up: expired connections and signatures older than a day, nothing else", () => {
  const types: Record<string, { lifetimeMinutes: number }> = { B274: { lifetimeMinutes: 16 * 60 } };
  const now = 100 * HOUR;
  const found = expiredContent(
    [
      ["1-2", { whType: "B274", createdAt: now - 17 * HOUR }],
      ["2-3", { whType: "B274", createdAt: now - 15 * HOUR }],
      ["3-4", { whType: "", eol: true, eolAt: now - 5 * HOUR }],
      ["4-5", { whType: "", createdAt: now - 90 * HOUR }],
    ],
    [
      ["1:ABC-123", { createdAt: now - 25 * HOUR }],
      ["1:DEF-456", { createdAt: now - 23 * HOUR }],
      ["1:GHI-789", {}],
    ],
    (code) => types[code],
    now,
  );
  deepStrictEqual(found, { connections: ["1-2", "3-4"], signatures: ["1:ABC-123"] });
  deepStrictEqual(expiredContent([], [["1:DEF-456", { createdAt: now - 3 * HOUR }]], () => undefined, now, 2 * HOUR).signatures, ["1:DEF-456"]);
});

test("fresh jumps: this user's characters, recent, each once", () => {
  const seen = new Set<string>();
  const now = 10 * HOUR;
  const jump = (at: number, characterId: number, mass = 1_000_000) => ({ at, characterId, shipTypeId: 587, mass });
  const first = freshJumps(seen, [["1-2", [jump(now - HOUR, 7), jump(now - 1000, 7), jump(now - 500, 8)]]], new Set([7]), now, 600_000);
  deepStrictEqual(first, [{ key: "1-2", jump: jump(now - 1000, 7) }]);
  deepStrictEqual(freshJumps(seen, [["1-2", [jump(now - HOUR, 7), jump(now - 1000, 7), jump(now - 500, 8)]]], new Set([7]), now, 600_000), []);
  const unknownShip = jump(now, 7, 0);
  deepStrictEqual(freshJumps(seen, [["2-3", [unknownShip]]], new Set([7]), now, 600_000), [{ key: "2-3", jump: unknownShip }]);
  deepStrictEqual(readJumps([unknownShip]), [], "a ship of unknown mass counts no mass");
});

test("offers: recent ones touching the chain, not handled, not already connected", () => {
  const now = 10 * HOUR;
  const offer = (from: number, to: number, at: number) => ({ from, to, at, characterId: 7, shipTypeId: 587, mass: 1e6 });
  const offers: [string, unknown][] = [
    ["1>5", offer(1, 5, now - 1000)],
    ["6>7", offer(6, 7, now - 1000)],
    ["1>2", offer(1, 2, now - 1000)],
    ["3>1", offer(3, 1, now - 2 * HOUR)],
    ["4>1", offer(4, 1, now - 500)],
    ["bad", { from: "1" }],
  ];
  const pending = pendingOffers(offers, (id) => id <= 4, (a, b) => a + b === 3, new Set([offerId("4>1", now - 500)]), now, HOUR);
  deepStrictEqual(pending.map((found) => found.key), ["1>5"]);
  strictEqual(pending[0].mass, 1e6);
});
