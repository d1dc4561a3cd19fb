// The service's HTTP API and the caller's token.

export const TOKEN_KEY = "mapper.token";

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** The token handed over in the URL fragment (`#token=...`) by `mapper serve` or a host
 * app; kept in localStorage so reloads, and offline starts, stay signed in. */
export function takeToken(): string | null {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const given = fragment.get("token");
  if (given) {
    localStorage.setItem(TOKEN_KEY, given);
    history.replaceState(null, "", location.pathname + location.search);
  }
  return localStorage.getItem(TOKEN_KEY);
}

/** Signing out: the page forgets the token. */
export function forgetToken(): void {
  localStorage.removeItem(TOKEN_KEY);
}

/** The user id and name the token carries (its payload; the service checks the signature). */
export function tokenUser(token: string): { id: string; name: string } {
  try {
    const payload = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return { id: String(payload.sub), name: String(payload.name ?? payload.sub) };
  } catch {
    return { id: "unknown", name: "unknown" };
  }
}

export async function call<T>(token: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    let message = response.statusText;
    try {
      message = (await response.json()).error.message;
    } catch {
      // not JSON: keep the status text
    }
    throw new ApiError(response.status, message);
  }
  return response.status === 204 ? (undefined as T) : ((await response.json()) as T);
}

export interface Chain {
  id: string;
  name: string;
  role: "viewer" | "editor" | "owner";
}
