// JSON in local storage that never breaks the page: a value that is missing, unreadable or
// too big for the quota reads as the default, or is simply not kept.

export function loadStored<T>(key: string, fallback: T): T {
  try {
    const text = localStorage.getItem(key);
    return text === null ? fallback : (JSON.parse(text) as T);
  } catch {
    return fallback;
  }
}

export function saveStored(key: string, value: unknown): void {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // over the quota or storage disabled: the page still works, online
  }
}
