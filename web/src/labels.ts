// How static data reads on screen (contract section 8): class labels, security as EVE shows
// it, masses in tonnes. Pure functions, so web/test checks them in node.

const DRIFTER = ["Sentinel", "Barbican", "Vidette", "Conflux", "Redoubt"];

const CLASS_LABELS = new Map<number, string>([
  [7, "high-sec"],
  [8, "low-sec"],
  [9, "null-sec"],
  [12, "Thera"],
  [13, "shattered"],
  [25, "Pochven"],
  ...DRIFTER.map((name, index): [number, string] => [14 + index, `Drifter (${name})`]),
]);

/** "C5", "high-sec", "Thera", "Drifter (Vidette)"...; "" when unknown. */
export function classLabel(wormholeClass: number | null | undefined): string {
  if (wormholeClass === null || wormholeClass === undefined) return "";
  if (wormholeClass >= 1 && wormholeClass <= 6) return `C${wormholeClass}`;
  return CLASS_LABELS.get(wormholeClass) ?? `class ${wormholeClass}`;
}

const SHORT_CLASS: Record<string, string> = { "high-sec": "HS", "low-sec": "LS", "null-sec": "NS", Thera: "Thera", shattered: "Shat", Pochven: "Poch" };

/** The class in a few letters, for the map: "C5", "HS", "Drift"; "?" when unknown. */
export function shortClassLabel(wormholeClass: number | null | undefined): string {
  const label = classLabel(wormholeClass);
  return SHORT_CLASS[label] ?? (label.startsWith("Drifter") ? "Drift" : label || "?");
}

/** Rounded to one decimal, except that EVE never shows a system above 0.0 as 0.0. */
export function securityText(security: number): string {
  if (security > 0 && security < 0.05) return "0.1";
  const rounded = Math.round(security * 10) / 10;
  return (rounded === 0 ? 0 : rounded).toFixed(1); // no "-0.0"
}

/** Where EVE's security colours put a known-space system. */
export function securityBand(security: number): "high" | "low" | "null" {
  const shown = Number(securityText(security));
  return shown >= 0.5 ? "high" : shown > 0 ? "low" : "null";
}

const TONNES = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** A mass in kilograms as EVE writes it: "2,000,000 t". */
export function tonnes(kilograms: number): string {
  return `${TONNES.format(Math.round(kilograms / 1000))} t`;
}

export const WSPACE_FIRST_ID = 31_000_000;

/** What the map shows next to a system's name: its class in wormhole space, else security. */
export function spaceLabel(info: { id: number; security: number; wormholeClass: number | null } | null | undefined): string {
  if (!info) return "";
  if (info.id >= WSPACE_FIRST_ID && info.wormholeClass !== null) return classLabel(info.wormholeClass);
  return securityText(info.security);
}

export interface WormholeFacts {
  targetClass: number | null;
  maxMass: number | null;
  maxJumpMass: number | null;
  lifetimeMinutes: number | null;
}

/** One line about a wormhole type: "leads to high-sec · 2,000,000 t total · ...". */
export function wormholeFacts(type: WormholeFacts): string {
  return [
    type.targetClass !== null ? `leads to ${classLabel(type.targetClass)}` : "",
    type.maxMass ? `${tonnes(type.maxMass)} total` : "",
    type.maxJumpMass ? `${tonnes(type.maxJumpMass)} a jump` : "",
    type.lifetimeMinutes ? `${type.lifetimeMinutes / 60} h` : "",
  ].filter(Boolean).join(" · ");
}

/** A system's space in one phrase: "0.9 high-sec", "C5", "Thera", "-1.0 Pochven". */
export function spaceSummary(info: { id: number; security: number; wormholeClass: number | null }): string {
  if (info.id >= WSPACE_FIRST_ID && info.wormholeClass !== null) return classLabel(info.wormholeClass);
  return `${securityText(info.security)} ${classLabel(info.wormholeClass) || `${securityBand(info.security)}-sec`}`;
}

/** "Statics: B274 → high-sec, C247 → C3"; "" when there are none or they are not known. */
export function staticsText(list: { code: string; targetClass: number | null }[] | null): string {
  if (!list?.length) return "";
  return `Statics: ${list.map((item) => `${item.code} → ${classLabel(item.targetClass) || "?"}`).join(", ")}`;
}

/** How long ago, as scouts read it: "45m", "3h 12m", "2d 5h"; "0m" for under a minute and for
 * times ahead of this clock (another scout's clock may run a little fast). */
export function ageText(ms: number): string {
  const minutes = Math.max(0, Math.floor(ms / 60_000));
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h ${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/** Which colour a system's label takes: wormhole space, or its security band. */
export function spaceKind(info: { id: number; security: number } | null | undefined): "wspace" | "high" | "low" | "null" | "unknown" {
  if (!info) return "unknown";
  return info.id >= WSPACE_FIRST_ID ? "wspace" : securityBand(info.security);
}
