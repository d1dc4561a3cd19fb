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

// One row per group in each client language, as the game writes the scan group and group
// (sources in web/src/paste.ts).
const LANGUAGES: Record<string, [string, string[]]> = {
  English: ["Cosmic Signature", ["Wormhole", "Combat Site", "Data Site", "Relic Site", "Gas Site", "Ore Site"]],
  German: ["Kosmische Signatur", ["Wurmloch", "Kampfgebiet", "Datengebiet", "Reliktgebiet", "Gasgebiet", "Mineraliengebiet"]],
  French: ["Signature cosmique", ["Trou de ver", "Site de combat", "Site de données", "Site de reliques", "Site de collecte de gaz", "Site de minerai"]],
  Russian: ["Скрытый сигнал", ["Червоточина", "Боевой район", "Информационный район", "Археологический район", "Газовый район", "Астероидный район"]],
  Japanese: ["宇宙のシグネチャ", ["ワームホール", "戦闘サイト", "データサイト", "遺物サイト", "ガスサイト", "鉱石サイト"]],
  Chinese: ["空间信号", ["虫洞", "战斗地点", "数据地点", "遗迹地点", "气云地点", "矿石地点"]],
  Korean: ["코즈믹 시그니처", ["웜홀", "전투 사이트", "데이터 사이트", "유물 사이트", "가스 사이트", "채광 사이트"]],
};
const GROUP_ORDER = ["wormhole", "combat", "data", "relic", "gas", "ore"];

for (const [language, [scanGroup, groups]] of Object.entries(LANGUAGES)) {
  test(`every group in ${language}`, () => {
    const paste = groups.map((group, index) => `AAA-10${index}\t${scanGroup}\t${group}\tSite ${index}\t100,0%\t1,00 AU`).join("\r\n");
    deepStrictEqual(parsePaste(paste).map((row) => [row.group, row.name]), GROUP_ORDER.map((group, index) => [group, `Site ${index}`]));
  });
}

test("Spanish signatures and gas sites", () => {
  deepStrictEqual(parsePaste("FFF-666\tSeñal cósmica\tZona de gas\tReserva perimetral baldía\t100,0%\t8,00 UA"), [
    { sig: "FFF-666", group: "gas", name: "Reserva perimetral baldía", strength: 100 },
  ]);
});

test("no-break spaces in the group, and anomalies in every language are skipped", () => {
  const paste = [
    "ABC-123\tСкрытый сигнал\tБоевой\u00a0район\tЛогово\t100,0%\t1,00 а.е.",
    "ABC-124\tКосмическая аномалия\tБоевой район\tЛогово\t100,0%\t1,00 а.е.",
    "ABC-125\t코즈믹 어노말리\t전투 사이트\t기지\t100.0%\t1.00 AU",
    "ABC-126\tAnomalie cosmique\tSite de combat\tRepaire\t100,0%\t1,00 UA",
  ].join("\n");
  deepStrictEqual(parsePaste(paste), [{ sig: "ABC-123", group: "combat", name: "Логово", strength: 100 }]);
});
