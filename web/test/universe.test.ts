// Reading static data answers: statics in contract v2's shape and in the bare codes of a
// service before it. Run by tests/test_web_units.py.

import { deepStrictEqual } from "node:assert";
import { test } from "node:test";
import { readStatics } from "../src/universe";

const TYPES = [{ code: "B274", targetClass: 7 }, { code: "C247", targetClass: 3 }];

test("statics with their target class", () => {
  deepStrictEqual(readStatics([{ code: "B274", targetClass: 7 }], []), [{ code: "B274", targetClass: 7 }]);
  deepStrictEqual(readStatics(["C247", "X999"], TYPES), [{ code: "C247", targetClass: 3 }, { code: "X999", targetClass: null }]);
  deepStrictEqual(readStatics([], TYPES), []);
});
