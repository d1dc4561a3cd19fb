// Ship types by name, from the service's static data (GET /api/universe/ships?search=), for
// counting a jump by hand: the ship's mass is what the hole loses.

import { call } from "./api";

export interface Ship {
  typeId: number;
  name: string;
  mass: number | null;
  group: string;
}

const LIMIT = 15;

/** Ships whose name starts with (or holds) `text`; none when offline or on no answer. */
export async function searchShips(token: string, text: string): Promise<Ship[]> {
  if (!text.trim()) return [];
  try {
    const found = await call<{ items: Ship[] }>(token, "GET", `/api/universe/ships?search=${encodeURIComponent(text.trim())}&limit=${LIMIT}`);
    return found.items;
  } catch {
    return [];
  }
}
