// The in-game Probe Scanner's copied rows (../shared/notes/eve-domain.md): six columns,
// TAB-separated (or tabs expanded to runs of spaces), column names translated.

export type Group = "unknown" | "wormhole" | "combat" | "data" | "relic" | "gas" | "ore";

export interface ScannedSignature {
  sig: string; // "ABC-123"
  group: Group;
  name: string;
  strength: number; // percent
}

// The game's strings in each client language (English, German, French, Russian, Japanese,
// Chinese, Korean, Spanish), matched as lowercase prefixes. Checked against the paste code of
// other mappers: Tripwire's `tripwire.pasteSignatures` (validScanGroups, validTypes: en, de,
// fr, ru, ja, ko), Pathfinder's js/app/init.js `signatureGroups` (exodus4d/pathfinder: en, de,
// fr, ru, zh) and Wanderer's assets/js/hooks/Mapper/types/signatures.ts
// (wanderer-industries/wanderer: ru, fr, de). Spanish ("señal cósmica", "zona de gas") and
// Chinese "空间信号" come from another mapper's localized paste tests. Not confirmed by any of
// them, kept from before: "宇宙信号", "宇宙异常", "anomalía cósmica"; the other Spanish group
// names were not found in a public source, so such rows keep the group's text in the name.

// Scan group (column 2): only signatures are kept.
const SIGNATURE = ["cosmic signature", "kosmische signatur", "signature cosmique", "скрытый сигнал", "宇宙のシグネチャ", "宇宙信号", "空间信号", "코즈믹 시그니처", "señal cósmica"];
const ANOMALY = ["cosmic anomaly", "kosmische anomalie", "anomalie cosmique", "космическая аномалия", "宇宙の特異点", "宇宙异常", "코즈믹 어노말리", "anomalía cósmica"];

// Group (column 3).
const GROUPS: [Group, string[]][] = [
  ["wormhole", ["wormhole", "wurmloch", "trou de ver", "червоточина", "ワームホール", "虫洞", "웜홀"]],
  ["combat", ["combat site", "kampfgebiet", "site de combat", "боевой район", "戦闘サイト", "战斗地点", "전투 사이트"]],
  ["data", ["data site", "datengebiet", "site de données", "информационный район", "データサイト", "数据地点", "데이터 사이트"]],
  ["relic", ["relic site", "reliktgebiet", "site de reliques", "археологический район", "遺物サイト", "遗迹地点", "유물 사이트"]],
  ["gas", ["gas site", "gasgebiet", "site de collecte de gaz", "газовый район", "ガスサイト", "气云地点", "가스 사이트", "zona de gas"]],
  ["ore", ["ore site", "mineraliengebiet", "site de minerai", "астероидный район", "鉱石サイト", "矿石地点", "채광 사이트"]],
];

const SIG_ID = /^[A-Za-z]{3}-\d{3}$/;
const STRENGTH = /^(\d+(?:[.,]\d+)?)\s*%$/;

function startsWithAny(text: string, prefixes: string[]): boolean {
  const lowered = text.toLocaleLowerCase().replace(/\u00a0/g, " "); // some clients copy no-break spaces
  return prefixes.some((prefix) => lowered.startsWith(prefix));
}

function groupOf(text: string): Group | null {
  for (const [group, prefixes] of GROUPS) if (startsWithAny(text, prefixes)) return group;
  return null;
}

/** The cosmic signatures in a paste; other rows (anomalies, ships, junk) are skipped. */
export function parsePaste(text: string): ScannedSignature[] {
  const found = new Map<string, ScannedSignature>();
  for (const line of text.split(/\r?\n/)) {
    const cells = (line.includes("\t") ? line.split("\t") : line.trim().split(/\s{2,}/)).map((cell) => cell.trim());
    const sig = cells[0]?.toUpperCase() ?? "";
    if (!SIG_ID.test(sig) || cells.length < 2) continue;
    if (!startsWithAny(cells[1], SIGNATURE) || startsWithAny(cells[1], ANOMALY)) continue;
    // After the scan group: group and name (either may be empty), strength, distance.
    const rest = cells.slice(2).filter(Boolean);
    const strengthAt = rest.findIndex((cell) => STRENGTH.test(cell));
    const middle = strengthAt >= 0 ? rest.slice(0, strengthAt) : rest;
    const group = middle.length ? groupOf(middle[0]) : null;
    const name = (group === null ? middle : middle.slice(1)).join(" ");
    const strength = strengthAt >= 0 ? Number(STRENGTH.exec(rest[strengthAt])![1].replace(",", ".")) : 0;
    found.set(sig, { sig, group: group ?? "unknown", name, strength });
  }
  return [...found.values()];
}
