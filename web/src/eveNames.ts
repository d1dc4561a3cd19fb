// How the EVE login's people and grants read on screen: members of a chain, corporations and
// alliances of a character, the scopes a character granted. Pure, for the unit tests.

const KINDS: Record<string, string> = { user: "user", character: "character", corp: "corporation", alliance: "alliance" };

/** What each scope the login asks for lets the service read. */
const SCOPES: Record<string, string> = {
  "esi-location.read_online.v1": "online status",
  "esi-location.read_location.v1": "location",
  "esi-location.read_ship_type.v1": "ship type",
};

export interface Named {
  id: number;
  name: string | null;
}

/** A chain member (`corp:98000001`) by name, with its kind: "Brave Newbies (corporation)";
 * the id stands in for a name the service does not know. */
export function memberLabel(member: string, name: string | null): string {
  const at = member.indexOf(":");
  const kind = member.slice(0, at);
  return `${name ?? member.slice(at + 1)} (${KINDS[kind] ?? kind})`;
}

export function scopeLabel(scope: string): string {
  return SCOPES[scope] ?? scope;
}

/** "Avari Holdings · Wormhole Society": a character's corporation and alliance. */
export function groupText(corporation: Named | null, alliance: Named | null): string {
  const corporationText = corporation ? corporation.name ?? `corporation ${corporation.id}` : "no corporation known yet";
  return alliance ? `${corporationText} · ${alliance.name ?? `alliance ${alliance.id}`}` : corporationText;
}
