/* Rapport web chat embed: <script src="https://YOUR-CONSOLE/chat/embed.js" async></script>
 * Adds a launcher button and a chat panel (an iframe of /chat) in a shadow root.  A host page that
 * knows its logged-in customer sets window.RapportCustomer = {id: "...", signature: "<hex HMAC>"}
 * before this script runs; the pair reaches the chat in the iframe's URL fragment (never sent to
 * a server in a URL) and travels with each message as metadata.  Styles are set through the
 * CSSOM, so host pages with a strict style-src still work. */
(function () {
  "use strict";
  var script = document.currentScript;
  var origin = new URL(script ? script.src : "/chat/embed.js", window.location.href).origin;

  function style(element, rules) { Object.keys(rules).forEach(function (k) { element.style[k] = rules[k]; }); }

  function mount() {
    if (document.getElementById("rapport-webchat")) { return; }
    var host = document.createElement("div");
    host.id = "rapport-webchat";
    document.body.appendChild(host);
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;

    var panel = document.createElement("div");
    panel.id = "rapport-panel";
    panel.hidden = true;
    style(panel, { position: "fixed", right: "1rem", bottom: "5rem", width: "min(24rem, calc(100vw - 2rem))",
      height: "min(36rem, calc(100vh - 7rem))", boxShadow: "0 4px 24px rgba(0,0,0,.25)", borderRadius: "12px",
      overflow: "hidden", background: "#fbf8f1", zIndex: "2147483646" });

    var frame = document.createElement("iframe");
    var customer = window.RapportCustomer;
    var fragment = "";
    if (customer && typeof customer.id === "string" && typeof customer.signature === "string") {
      fragment = "#customer=" + encodeURIComponent(customer.id) + "&signature=" + encodeURIComponent(customer.signature);
    }
    frame.title = "Chat with Marginalia Books";
    frame.src = origin + "/chat?embed=1" + fragment;
    style(frame, { border: "0", width: "100%", height: "100%" });
    panel.appendChild(frame);

    var launcher = document.createElement("button");
    launcher.type = "button";
    launcher.textContent = "Chat with us";
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-controls", "rapport-panel");
    style(launcher, { position: "fixed", right: "1rem", bottom: "1rem", padding: ".75rem 1.1rem",
      borderRadius: "999px", border: "0", background: "#7a3b12", color: "#fff", font: "600 16px system-ui, sans-serif",
      cursor: "pointer", zIndex: "2147483647" });

    function setOpen(open) {
      panel.hidden = !open;
      launcher.setAttribute("aria-expanded", String(open));
      launcher.textContent = open ? "Close chat" : "Chat with us";
      if (open) { frame.focus(); } else { launcher.focus(); }
    }
    launcher.addEventListener("click", function () { setOpen(panel.hidden); });
    root.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !panel.hidden) { setOpen(false); }
    });
    window.addEventListener("message", function (event) {
      if (event.source === frame.contentWindow && event.origin === origin && event.data &&
          event.data.type === "rapport:close" && !panel.hidden) { setOpen(false); }
    });
    root.appendChild(panel);
    root.appendChild(launcher);
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", mount); } else { mount(); }
})();
