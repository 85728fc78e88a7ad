// Staff console: live queue and live transcript over /ws.  Customer text is only ever set with
// textContent, never parsed as HTML.
"use strict";

(function () {
  const page = document.body.dataset.page;

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function connect(onMessage) {
    const state = document.getElementById("live-state");
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(scheme + "//" + location.host + "/ws");
    socket.addEventListener("open", () => { if (state) state.textContent = "live"; });
    socket.addEventListener("message", (event) => {
      let message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      onMessage(message);
    });
    socket.addEventListener("close", () => {
      if (state) state.textContent = "reconnecting…";
      setTimeout(() => connect(onMessage), 2000);
    });
  }

  async function refreshQueue() {
    const response = await fetch("/api/queue", { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const body = await response.json();
    const rows = document.getElementById("queue-rows");
    if (!rows) return;
    rows.replaceChildren();
    if (body.tickets.length === 0) {
      const tr = el("tr", null, "empty");
      const td = el("td", "No one is waiting. New handoffs appear here by themselves.");
      td.colSpan = 7;
      tr.appendChild(td);
      rows.appendChild(tr);
      return;
    }
    for (const t of body.tickets) {
      const tr = el("tr");
      tr.dataset.ticketId = String(t.id);
      tr.appendChild(el("td", Math.floor(t.wait_seconds / 60) + " min"));
      tr.appendChild(el("td", t.status));
      tr.appendChild(el("td", t.team));
      tr.appendChild(el("td", t.channel));
      tr.appendChild(el("td", t.summary, "summary"));
      tr.appendChild(el("td", t.assigned_name || ""));
      const open = el("td");
      const link = el("a", "Open");
      link.href = "/desk/tickets/" + encodeURIComponent(String(t.id));
      open.appendChild(link);
      tr.appendChild(open);
      rows.appendChild(tr);
    }
  }

  function appendMessage(message) {
    const list = document.getElementById("messages");
    if (!list) return;
    const item = el("li", null, "msg " + (["customer", "bot", "staff"].includes(message.who) ? message.who : "bot"));
    const when = new Date(message.at);
    item.appendChild(el("span", (message.staff_name || message.who) + " · " + when.toLocaleTimeString(), "meta"));
    item.appendChild(el("span", message.text, "text"));
    list.appendChild(item);
    item.scrollIntoView({ block: "end" });
  }

  if (page === "queue") {
    connect((message) => { if (message.type === "queue") refreshQueue(); });
  }

  if (page === "ticket") {
    const ticketId = Number(document.body.dataset.ticketId);
    connect((message) => {
      if (message.type === "message" && message.ticket_id === ticketId) appendMessage(message);
    });
    const canned = document.getElementById("canned");
    const text = document.getElementById("reply-text");
    if (canned && text) {
      canned.addEventListener("change", () => {
        if (canned.value) { text.value = canned.value; text.focus(); }
      });
    }
  }
})();
