// Starts the app and registers the service worker. A file, not an inline
// script, so the Content-Security-Policy can allow only the app's own scripts.
import init from "/fieldbook-client.js";
init({ module_or_path: "/fieldbook-client_bg.wasm" });
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js").catch((e) => console.warn("service worker not registered", e));
}
