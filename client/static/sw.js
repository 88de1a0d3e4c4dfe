// Fieldbook's service worker: caches the app shell so the app opens offline.
// `cargo xtask dist` stamps BUILD with a hash of the build, so each new build
// gets a new cache and the old one is deleted when it takes over.
const BUILD = "__BUILD__";
const CACHE = `fieldbook-shell-${BUILD}`;
const SHELL = [
  "/",
  "/index.html",
  "/boot.js",
  "/app.css",
  "/fieldbook-client.js",
  "/fieldbook-client_bg.wasm",
  "/manifest.webmanifest",
  "/icon.svg",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("fieldbook-shell-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  // The API and the sync socket always go to the network.
  if (event.request.method !== "GET" || url.pathname.startsWith("/api/") || url.pathname === "/sync") return;
  const key = event.request.mode === "navigate" ? "/index.html" : url.pathname;
  event.respondWith(
    caches.match(key).then((hit) => hit || fetch(event.request))
  );
});
