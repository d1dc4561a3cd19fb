// The probe-scanner parser over the real-format samples in tests/data/probe-scanner.json.
// Run by tests/test_paste.py (esbuild bundles this file for node --test).

import { deepStrictEqual } from "node:assert";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parsePaste } from "../src/paste";

const samples = JSON.parse(readFileSync(process.env.PASTE_SAMPLES!, "utf8")) as {
  what: string; paste: string; expected: unknown[];
}[];

for (const sample of samples) {
  test(sample.what, () => {
    deepStrictEqual(parsePaste(sample.paste), sample.expected);
  });
}
