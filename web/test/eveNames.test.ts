// Members, corporations and scopes of the EVE login as the page shows them.
// Run by tests/test_web_units.py (esbuild bundles this file for node --test).

import { strictEqual } from "node:assert";
import { test } from "node:test";
import { groupText, memberLabel, scopeLabel } from "../src/eveNames";

test("members by name and kind, the id where no name is known", () => {
  strictEqual(memberLabel("corp:98000003", "Brave Newbies"), "Brave Newbies (corporation)");
  strictEqual(memberLabel("alliance:99000001", "Wormhole Society"), "Wormhole Society (alliance)");
  strictEqual(memberLabel("character:91000001", "Alice Avari"), "Alice Avari (character)");
  strictEqual(memberLabel("user:0f3a", null), "0f3a (user)");
  strictEqual(memberLabel("user:host:42", null), "host:42 (user)");
});

test("a character's corporation and alliance", () => {
  strictEqual(groupText({ id: 1, name: "Avari Holdings" }, { id: 2, name: "Wormhole Society" }), "Avari Holdings · Wormhole Society");
  strictEqual(groupText({ id: 1, name: null }, null), "corporation 1");
  strictEqual(groupText(null, null), "no corporation known yet");
});

test("scopes read as what they let the service see", () => {
  strictEqual(scopeLabel("esi-location.read_online.v1"), "online status");
  strictEqual(scopeLabel("esi-location.read_ship_type.v1"), "ship type");
  strictEqual(scopeLabel("esi-other.v1"), "esi-other.v1");
});
