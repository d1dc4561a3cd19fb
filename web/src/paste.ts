// The in-game Probe Scanner's copied rows (../shared/notes/eve-domain.md): six columns,
// TAB-separated (or tabs expanded to runs of spaces), column names translated.

export type Group = "unknown" | "wormhole" | "combat" | "data" | "relic" | "gas" | "ore";

export interface ScannedSignature {
  sig: string; // "ABC-123"
  group: Group;
  name: string;
  strength: number; // percent
}

// Scan group (column 2), by prefix, in every client language: only signatures are kept.
const SIGNATURE = ["cosmic signature", "kosmische signatur", "signature cosmique", "скрытый сигнал", "宇宙のシグネチャ", "우주 시그니처", "宇宙信号"];
const ANOMALY = ["cosmic anomaly", "kosmische anomalie", "anomalie cosmique", "космическая аномалия", "宇宙の特異点", "우주 특이점", "宇宙异常"];

// Group (column 3), by prefix.
const GROUPS: [Group, string[]][] = [
  ["wormhole", ["wormhole", "wurmloch", "trou de ver", "червоточина", "ワームホール", "웜홀", "虫洞"]],
  ["combat", ["combat site", "kampfgebiet", "site de combat", "боевой", "戦闘サイト", "전투 사이트", "战斗地点"]],
  ["data", ["data site", "datengebiet", "site de données", "информационный", "データサイト", "데이터 사이트", "数据地点"]],
  ["relic", ["relic site", "reliktgebiet", "site de reliques", "археологический", "遺物サイト", "유물 사이트", "遗迹地点"]],
  ["gas", ["gas site", "gasgebiet", "site de gaz", "газовый", "ガスサイト", "가스 사이트", "气云地点"]],
  ["ore", ["ore site", "erzgebiet", "site de minerai", "рудный", "鉱石サイト", "광석 사이트", "矿石地点"]],
];

const SIG_ID = /^[A-Za-z]{3}-\d{3}$/;
const STRENGTH = /^(\d+(?:[.,]\d+)?)\s*%$/;

function startsWithAny(text: string, prefixes: string[]): boolean {
  const lowered = text.toLocaleLowerCase();
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
