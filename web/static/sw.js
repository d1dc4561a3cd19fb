// Offline: keep the app shell, and answer from the cache when the network is away. Pages
// and the API go to the network first (fresh when online), the cache second. System lookups
// and searches are left to the page, which keeps the systems it has seen (universe.ts):
// caching each query here would grow without bound and still miss the next one.
const CACHE = "mapper-v4";
const SHELL = ["/", "/app.js", "/app.css", "/style.css", "/index.html", "/sketch-worker.js"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  const old = caches.keys().then((names) => Promise.all(names.filter((name) => name !== CACHE).map((name) => caches.delete(name))));
  event.waitUntil(old.then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== location.origin || url.pathname.startsWith("/ws/")) return;
  const lookup = url.pathname === "/api/universe/systems";
  const cacheable = request.mode === "navigate" || SHELL.includes(url.pathname) || (url.pathname.startsWith("/api/universe/") && !lookup) || /^\/api\/chains\/[^/]+$/.test(url.pathname);
  if (!cacheable) return;
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(request.mode === "navigate" ? "/index.html" : request, copy));
        }
        return response;
      })
      .catch(() => caches.match(request.mode === "navigate" ? "/index.html" : request).then((hit) => hit ?? Response.error())),
  );
});
