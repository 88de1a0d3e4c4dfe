// Starts the app and registers the service worker. A file, not an inline
// script, so the Content-Security-Policy can allow only the app's own scripts.
import init from "/fieldbook-client.js";
init({ module_or_path: "/fieldbook-client_bg.wasm" });
if ("serviceWorker" in navigator) {
  // A page a service worker already served that then sees another take over
  // runs an older build than the one now cached: offer to load the new one
  // (the page never reloads on its own: a form may be half filled).
  const servedBy = navigator.serviceWorker.controller;
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (!servedBy || document.querySelector(".update-offer")) return;
    const english = localStorage.getItem("fieldbook.lang") === "en";
    const bar = document.createElement("div");
    bar.className = "update-offer";
    bar.setAttribute("role", "status");
    const text = document.createElement("span");
    text.textContent = english ? "A new version of the app is ready." : "新版本已就绪。";
    const reload = document.createElement("button");
    reload.className = "primary";
    reload.textContent = english ? "Load it" : "重新载入";
    reload.addEventListener("click", () => location.reload());
    bar.append(text, reload);
    document.body.append(bar);
  });
  navigator.serviceWorker.register("/sw.js").catch((e) => console.warn("service worker not registered", e));
}
