// Offline: keep the app shell, and answer from the cache when the network is away. Pages
// and the API go to the network first (fresh when online), the cache second.
const CACHE = "mapper-v1";
const SHELL = ["/", "/app.js", "/style.css", "/index.html"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== location.origin || url.pathname.startsWith("/ws/")) return;
  const cacheable = request.mode === "navigate" || SHELL.includes(url.pathname) || url.pathname.startsWith("/api/universe/") || /^\/api\/chains\/[^/]+$/.test(url.pathname);
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
