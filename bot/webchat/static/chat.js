/* Rapport web chat: Rasa's socket.io protocol, vanilla JS, no inline scripts, no HTML from messages.
 * Every message is put on the page with textContent; links are built as elements. */
(function () {
  "use strict";

  var KEY_SESSION = "rapport.webchat.session";
  var KEY_HISTORY = "rapport.webchat.history";
  var MAX_HISTORY = 200;
  var TYPING_TIMEOUT_MS = 20000;
  var URL_PATTERN = /\bhttps?:\/\/[^\s<>"']+/g;

  var log = document.getElementById("chat-log");
  var form = document.getElementById("chat-form");
  var input = document.getElementById("chat-input");
  var statusLine = document.getElementById("chat-status");
  var typing = document.getElementById("chat-typing");
  var humanButton = document.getElementById("chat-human");
  var socketUrl = document.querySelector('meta[name="rapport-socket-url"]').getAttribute("content");

  var history = loadHistory();
  var sessionId = null;
  var pending = [];
  var typingTimer = null;

  function storageGet(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }
  function storageSet(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* private mode: history lives in memory */ }
  }
  function loadHistory() {
    try {
      var parsed = JSON.parse(storageGet(KEY_HISTORY) || "[]");
      return Array.isArray(parsed) ? parsed : [];
    } catch (e) { return []; }
  }
  function saveHistory() {
    if (history.length > MAX_HISTORY) { history = history.slice(history.length - MAX_HISTORY); }
    storageSet(KEY_HISTORY, JSON.stringify(history));
  }

  function customerMetadata() {
    var params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
    var given = window.RapportCustomer || { id: params.get("customer"), signature: params.get("signature") };
    if (given && typeof given.id === "string" && typeof given.signature === "string" && given.id && given.signature) {
      return { customer_id: given.id, customer_signature: given.signature };
    }
    return {};
  }

  function isHttpUrl(value) {
    return typeof value === "string" && /^https?:\/\//i.test(value);
  }

  function appendText(parent, text) {
    var last = 0;
    String(text).replace(URL_PATTERN, function (match, offset) {
      var url = match.replace(/[.,;:!?)\]]+$/, "");
      parent.appendChild(document.createTextNode(text.slice(last, offset)));
      var link = document.createElement("a");
      link.href = url;
      link.textContent = url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      parent.appendChild(link);
      last = offset + url.length;
      return match;
    });
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function renderEntry(entry, index) {
    var item = document.createElement("li");
    item.className = "msg msg--" + entry.who;
    item.dataset.index = String(index);
    var hidden = document.createElement("span");
    hidden.className = "chat__label";
    if (entry.who === "staff" && entry.staff) {
      var author = document.createElement("div");
      author.className = "msg__author";
      if (isHttpUrl(entry.staff.avatar)) {
        var avatar = document.createElement("img");
        avatar.className = "msg__avatar";
        avatar.src = entry.staff.avatar;
        avatar.alt = "";
        author.appendChild(avatar);
      }
      var name = document.createElement("span");
      name.className = "msg__name";
      name.textContent = entry.staff.name + " (Marginalia Books team)";
      author.appendChild(name);
      item.appendChild(author);
    } else {
      hidden.textContent = entry.who === "user" ? "You said: " : entry.who === "error" ? "Problem: " : "Assistant: ";
      item.appendChild(hidden);
    }
    var body = document.createElement("div");
    body.className = "msg__text";
    appendText(body, entry.text || "");
    item.appendChild(body);
    if (isHttpUrl(entry.image)) {
      var image = document.createElement("img");
      image.className = "msg__image";
      image.src = entry.image;
      image.alt = "Image from the assistant";
      item.appendChild(image);
    }
    if (entry.replies && entry.replies.length) {
      var replies = document.createElement("div");
      replies.className = "replies";
      replies.setAttribute("role", "group");
      replies.setAttribute("aria-label", "Suggested replies");
      entry.replies.forEach(function (reply) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "reply";
        button.textContent = reply.title;
        button.disabled = Boolean(entry.used);
        button.addEventListener("click", function () {
          entry.used = true;
          saveHistory();
          renderAll();
          send(reply.payload, reply.title);
          input.focus();
        });
        replies.appendChild(button);
      });
      item.appendChild(replies);
    }
    return item;
  }

  function renderAll() {
    while (log.firstChild) { log.removeChild(log.firstChild); }
    history.forEach(function (entry, index) { log.appendChild(renderEntry(entry, index)); });
    log.scrollTop = log.scrollHeight;
  }

  function addEntry(entry) {
    history.push(entry);
    saveHistory();
    log.appendChild(renderEntry(entry, history.length - 1));
    log.scrollTop = log.scrollHeight;
  }

  function setTyping(on) {
    typing.hidden = !on;
    if (typingTimer) { window.clearTimeout(typingTimer); typingTimer = null; }
    if (on) { typingTimer = window.setTimeout(function () { setTyping(false); }, TYPING_TIMEOUT_MS); }
  }

  function markStaff(staff) {
    if (!staff || typeof staff.name !== "string" || !staff.name) { return; }
    for (var i = history.length - 1; i >= 0; i--) {
      var entry = history[i];
      if (entry.who === "bot" || entry.who === "staff") {
        entry.who = "staff";
        entry.staff = { name: staff.name, avatar: isHttpUrl(staff.avatar) ? staff.avatar : null };
        var prefix = staff.name + ": ";
        if (entry.text && entry.text.indexOf(prefix) === 0) { entry.text = entry.text.slice(prefix.length); }
        saveHistory();
        renderAll();
        return;
      }
    }
  }

  function onBotMessage(message) {
    if (!message || typeof message !== "object") { return; }
    if (message.rapport_staff) { markStaff(message.rapport_staff); return; }
    setTyping(false);
    var entry = { who: "bot", text: typeof message.text === "string" ? message.text : "" };
    var replies = message.quick_replies || message.buttons;
    if (Array.isArray(replies)) {
      entry.replies = replies.filter(function (r) { return r && typeof r.title === "string"; })
        .map(function (r) { return { title: r.title, payload: typeof r.payload === "string" ? r.payload : r.title }; });
    }
    var attachment = message.attachment;
    if (attachment && attachment.type === "image" && attachment.payload && isHttpUrl(attachment.payload.src)) {
      entry.image = attachment.payload.src;
    }
    if (entry.text || entry.image || (entry.replies && entry.replies.length)) { addEntry(entry); }
  }

  // Long-polling: the Rasa 3.6 server (Sanic 21 on Python 3.11) cannot upgrade to websockets.
  var socket = window.io(socketUrl, { transports: ["polling"], upgrade: false });

  function emitMessage(text) {
    socket.emit("user_uttered", { message: text, session_id: sessionId, customData: customerMetadata() });
  }

  function send(text, shown) {
    addEntry({ who: "user", text: shown || text });
    setTyping(true);
    if (sessionId && socket.connected) { emitMessage(text); } else { pending.push(text); }
  }

  socket.on("connect", function () {
    statusLine.textContent = "Connecting…";
    socket.emit("session_request", { session_id: storageGet(KEY_SESSION) });
  });
  socket.on("session_confirm", function (confirmed) {
    sessionId = typeof confirmed === "string" ? confirmed : confirmed && confirmed.session_id;
    storageSet(KEY_SESSION, sessionId);
    statusLine.textContent = "Connected";
    document.body.dataset.ready = "true";
    document.body.dataset.transport = socket.io.engine.transport.name;
    while (pending.length) { emitMessage(pending.shift()); }
  });
  socket.on("bot_uttered", onBotMessage);
  socket.on("rapport_error", function (problem) {
    setTyping(false);
    addEntry({ who: "error", text: (problem && problem.error) || "Something went wrong." });
  });
  socket.on("disconnect", function () {
    statusLine.textContent = "Reconnecting…";
    document.body.dataset.ready = "false";
  });
  socket.io.on("upgrade", function (transport) { document.body.dataset.transport = transport.name; });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    send(text);
  });
  humanButton.addEventListener("click", function () { send("/request_human", "Talk to a person"); });

  if (window.parent !== window && /[?&]embed=1\b/.test(window.location.search)) {
    // Inside the embed's iframe, Escape asks the host page's launcher to close the panel.
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { window.parent.postMessage({ type: "rapport:close" }, "*"); }
    });
  }

  window.addEventListener("storage", function (event) {
    if (event.key === KEY_HISTORY) { history = loadHistory(); renderAll(); }
  });

  renderAll();
})();
