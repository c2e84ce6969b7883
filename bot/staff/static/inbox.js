// Pintu staff inbox. Plain JavaScript; every text is set with textContent (never innerHTML).
// Live updates: server-sent events name what changed; this script then fetches what it may see.
"use strict";

(function () {
  const root = document.getElementById("inbox");
  if (!root) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const myId = Number(root.dataset.staffId);
  const isSupervisor = root.dataset.role === "supervisor" || root.dataset.role === "admin";
  const $ = (id) => document.getElementById(id);
  const CHANNELS = { whatsapp: "WhatsApp", telegram: "Telegram", api: "Chat lokal" };
  const STATUS = { queued: "dalam antrean kirim", sent: "terkirim", delivered: "diterima",
    read: "dibaca", failed: "gagal terkirim", dead: "gagal terkirim" };

  let queue = null;          // the last /staff/api/queue answer
  let queueAt = Date.now();  // when it came (waiting times count on from there)
  let current = null;        // the open handoff's detail
  let lastMessageId = 0;
  let canned = [];

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (value !== null && value !== undefined && value !== false) node.setAttribute(key, value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  async function api(path, options) {
    const opts = Object.assign({ headers: {} }, options || {});
    opts.headers = Object.assign({ Accept: "application/json" }, opts.headers);
    if (opts.method && opts.method !== "GET") opts.headers["X-CSRF-Token"] = csrf;
    if (opts.json !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(opts.json);
    }
    const response = await fetch(path, opts);
    if (response.status === 401) { window.location.assign("/staff/login?next=/staff/inbox"); }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const detail = typeof data.detail === "string" ? data.detail : "Permintaan ditolak.";
      throw new Error(detail);
    }
    return data;
  }

  function showError(message) { $("chat-error").textContent = message || ""; }

  function minutes(seconds) {
    if (seconds < 60) return seconds + " dtk";
    const m = Math.floor(seconds / 60);
    return m < 60 ? m + " mnt" : Math.floor(m / 60) + " j " + (m % 60) + " mnt";
  }

  function timeOf(iso) {
    return new Date(iso).toLocaleTimeString("id-ID", { hour: "2-digit", minute: "2-digit",
      timeZone: "Asia/Jakarta" });
  }

  // -- lists -----------------------------------------------------------------------------

  function chatItem(item) {
    const waited = item.waiting_s + Math.floor((Date.now() - queueAt) / 1000);
    const overdue = item.status === "waiting" && waited > queue.first_response_s;
    const classes = ["chat-item"];
    if (overdue) classes.push("overdue");
    if (item.flagged) classes.push("flagged");
    if (item.urgent) classes.push("urgent");
    if (current && current.handoff.id === item.id) classes.push("selected");
    const badges = el("span", { class: "badges" });
    if (item.urgent) badges.append(el("span", { class: "badge badge-urgent", text: "Darurat" }));
    if (overdue) badges.append(el("span", { class: "badge badge-overdue", text: "Terlambat" }));
    if (item.flagged) badges.append(el("span", { class: "badge badge-flag", text: "Lewat batas tunggu" }));
    const button = el("button", { type: "button", class: "chat-open", "data-id": item.id,
      onclick: () => openChat(item.id) },
      el("span", { class: "chat-who", text: item.resident }),
      el("span", { class: "chat-wait", "data-waiting": item.waiting_s, text: minutes(waited) }),
      el("span", { class: "chat-service", text: [item.service || "layanan belum jelas", item.reason].join(" · ") }),
      item.assigned_to ? el("span", { class: "chat-agent", text: "Petugas: " + item.assigned_to }) : null,
      el("span", { class: "chat-last", text: (item.last_messages || []).join(" / ") }),
      badges);
    return el("li", { class: classes.join(" ") }, button);
  }

  function liveItem(item) {
    return el("li", { class: "chat-item" },
      el("div", { class: "chat-open" },
        el("span", { class: "chat-who", text: item.resident }),
        el("span", { class: "chat-wait", text: minutes(item.last_inbound_s) + " lalu" }),
        el("button", { type: "button", class: "button button-quiet", "data-contact": item.contact_id,
          onclick: () => takeover(item.contact_id) }, "Ambil alih")));
  }

  function fill(listId, countId, items, make) {
    const list = $(listId);
    if (!list) return;
    list.replaceChildren(...items.map(make));
    if (!items.length) list.append(el("li", { class: "chat-empty", text: "Tidak ada." }));
    $(countId).textContent = String(items.length);
  }

  function renderQueue() {
    if (!queue) return;
    fill("list-waiting", "count-waiting", queue.waiting, chatItem);
    fill("list-mine", "count-mine", queue.mine, chatItem);
    if (isSupervisor) fill("list-others", "count-others", queue.others, chatItem);
    fill("list-live", "count-live", queue.live, liveItem);
    $("available").checked = !!queue.available;
    const assign = $("assign-to");
    if (assign && !assign.options.length) {
      for (const agent of queue.agents) assign.append(el("option", { value: agent.id, text: agent.name }));
    }
  }

  // At most one list reload a second however many events arrive (a busy hour sends many),
  // at a random moment within it, so that every officer's page does not reload at once.
  let queueTimer = null;
  function loadQueueSoon() {
    if (queueTimer) return;
    queueTimer = setTimeout(() => { queueTimer = null; loadQueue(); }, 500 + Math.random() * 1000);
  }

  async function loadQueue() {
    try {
      queue = await api("/staff/api/queue");
      queueAt = Date.now();
      renderQueue();
    } catch (error) { $("live-status").textContent = error.message; }
  }

  // -- one conversation ------------------------------------------------------------------

  function messageItem(message) {
    const mine = message.direction === "out";
    const body = el("p", { class: "message-text", text: message.text });
    const parts = [el("span", { class: "message-by", text: message.by + " · " + timeOf(message.at) }), body];
    if (message.attachment && message.attachment.ref) {
      parts.push(el("a", { href: "/staff/" + message.attachment.ref, target: "_blank", rel: "noopener",
        text: "Lihat lampiran" + (message.attachment.name ? " (" + message.attachment.name + ")" : "") }));
    }
    if (message.masked) {
      parts.push(el("button", { type: "button", class: "link-button", text: "Tampilkan data",
        onclick: () => askReveal(message.id, body) }));
    }
    if (!mine && message.text) {
      const flag = el("button", { type: "button", class: "link-button", text: "Bot salah paham",
        title: "Kirim pesan ini ke tinjauan NLU admin" });
      flag.addEventListener("click", async () => {
        try {
          await api("/staff/api/messages/" + message.id + "/flag", { method: "POST", json: {} });
          flag.replaceWith(el("span", { class: "message-status", text: "Ditandai untuk ditinjau" }));
        } catch (error) { flag.textContent = error.message; }
      });
      parts.push(flag);
    }
    if (mine && message.status) {
      parts.push(el("span", { class: "message-status", text: STATUS[message.status] || message.status }));
    }
    return el("li", { class: "message " + (mine ? "message-out" : "message-in"), "data-id": message.id }, ...parts);
  }

  function noteItem(note) {
    return el("li", {}, el("span", { class: "message-by", text: note.by + " · " + timeOf(note.at) }),
      el("p", { text: note.text }));
  }

  function renderChat(detail, append) {
    const h = detail.handoff;
    $("chat").hidden = false;
    $("side").hidden = false;
    $("empty-state").hidden = true;
    $("chat-title").textContent = h.resident;
    $("chat-meta").textContent = [CHANNELS[h.channel] || h.channel, h.service || "layanan belum jelas",
      h.reason, h.status === "waiting" ? "menunggu" : h.status === "active" ? "ditangani " + (h.assigned_to || "") : "ditutup",
      h.note ? "Catatan bot: " + h.note : ""].filter(Boolean).join(" · ");
    const transcript = $("transcript");
    // A message already shown (two refreshes can overlap) is updated, never shown twice.
    const items = [];
    for (const message of detail.messages) {
      const shown = append && transcript.querySelector('.message[data-id="' + message.id + '"]');
      if (shown) shown.replaceWith(messageItem(message)); else items.push(messageItem(message));
    }
    if (append) transcript.append(...items); else transcript.replaceChildren(...items);
    if (detail.messages.length) lastMessageId = detail.messages[detail.messages.length - 1].id;
    transcript.scrollTop = transcript.scrollHeight;
    $("notes").replaceChildren(...detail.notes.map(noteItem));
    const active = h.status === "active";
    const canAct = active && (h.mine || isSupervisor);
    $("take").hidden = h.status !== "waiting";
    $("reply-form").hidden = !canAct || !detail.window_open;
    $("template-form").hidden = !canAct || detail.window_open;
    $("window-closed").hidden = detail.window_open || !canAct;
    $("close-form").hidden = !canAct;
    const assignForm = $("assign-form");
    if (assignForm) assignForm.hidden = h.status === "closed";
    if (!detail.window_open && detail.templates) renderTemplates(detail.templates);
  }

  async function openChat(id) {
    showError("");
    try {
      current = await api("/staff/api/handoffs/" + id);
      lastMessageId = 0;
      renderChat(current, false);
      renderQueue();
      $("reply-text").focus();
    } catch (error) { showError(error.message); }
  }

  let refreshing = null;
  let refreshAgain = false;
  async function refreshChat() {
    // One refresh at a time; a request made meanwhile runs once more after it.
    if (refreshing) { refreshAgain = true; return refreshing; }
    refreshing = (async () => {
      do {
        refreshAgain = false;
        await refreshOnce();
      } while (refreshAgain);
    })();
    try { await refreshing; } finally { refreshing = null; }
  }

  async function refreshOnce() {
    if (!current) return;
    try {
      const detail = await api("/staff/api/handoffs/" + current.handoff.id + "?after=" + lastMessageId);
      current.handoff = detail.handoff;
      current.window_open = detail.window_open;
      renderChat(detail, true);
    } catch (error) { showError(error.message); }
  }

  async function act(path, json) {
    showError("");
    try {
      await api(path, { method: "POST", json: json || {} });
      return true;
    } catch (error) { showError(error.message); return false; }
  }

  async function takeover(contactId) {
    try {
      const result = await api("/staff/api/contacts/" + contactId + "/takeover", { method: "POST", json: {} });
      await loadQueue();
      await openChat(result.handoff_id);
    } catch (error) { showError(error.message); }
  }

  $("take").addEventListener("click", async () => {
    if (await act("/staff/api/handoffs/" + current.handoff.id + "/take")) {
      await loadQueue();
      await openChat(current.handoff.id);
    }
  });

  const assignForm = $("assign-form");
  if (assignForm) assignForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (await act("/staff/api/handoffs/" + current.handoff.id + "/assign", { staff_id: Number($("assign-to").value) })) {
      await openChat(current.handoff.id);
    }
  });

  $("reply-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("reply-text").value.trim();
    const file = $("reply-file").files[0];
    if (!text && !file) { showError("Tulis balasan atau pilih lampiran."); return; }
    const id = current.handoff.id;
    let ok;
    if (file) {
      const form = new FormData();
      form.append("file", file);
      form.append("caption", text);
      ok = await fetch("/staff/api/handoffs/" + id + "/attachment", { method: "POST", body: form,
        headers: { "X-CSRF-Token": csrf, Accept: "application/json" } })
        .then(async (r) => { if (!r.ok) throw new Error((await r.json()).detail); return true; })
        .catch((error) => { showError(error.message); return false; });
    } else {
      ok = await act("/staff/api/handoffs/" + id + "/reply", { text });
    }
    if (ok) {
      $("reply-text").value = "";
      $("reply-file").value = "";
      await refreshChat();
    }
  });

  function renderTemplates(templates) {
    const select = $("template-name");
    select.replaceChildren(...templates.map((t) => el("option", { value: t.name, text: t.name })));
    const show = () => {
      const chosen = templates.find((t) => t.name === select.value) || templates[0];
      if (!chosen) return;
      $("template-preview").textContent = chosen.body;
      const count = (chosen.body.match(/\{\{\d+\}\}/g) || []).length;
      $("template-params").replaceChildren(...Array.from({ length: count }, (_, i) =>
        el("label", { text: "Isian " + (i + 1) + " " }, el("input", { type: "text", "data-param": i, required: "required" }))));
    };
    select.onchange = show;
    show();
  }

  $("template-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const parameters = Array.from(document.querySelectorAll("[data-param]")).map((i) => i.value);
    if (await act("/staff/api/handoffs/" + current.handoff.id + "/template",
      { name: $("template-name").value, parameters })) await refreshChat();
  });

  $("close-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const resolution = $("resolution").value;
    if (!resolution) { showError("Pilih hasil penanganan dulu."); return; }
    if (await act("/staff/api/handoffs/" + current.handoff.id + "/close", { resolution })) {
      current = null;
      $("chat").hidden = true;
      $("side").hidden = true;
      $("empty-state").hidden = false;
      $("empty-state").textContent = "Percakapan ditutup dan dikembalikan ke bot.";
      await loadQueue();
    }
  });

  $("note-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("note-text").value.trim();
    if (!text) return;
    if (await act("/staff/api/handoffs/" + current.handoff.id + "/notes", { text })) {
      $("note-text").value = "";
      await refreshChat();
    }
  });

  // -- revealing a masked number (audited, with a reason) -----------------------------------

  let revealTarget = null;
  function askReveal(messageId, body) {
    revealTarget = { messageId, body };
    const form = $("reveal-form");
    form.hidden = false;
    $("reveal-reason").value = "";
    $("reveal-reason").focus();
  }
  $("reveal-cancel").addEventListener("click", () => { $("reveal-form").hidden = true; revealTarget = null; });
  $("reveal-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!revealTarget) return;
    try {
      const result = await api("/staff/api/messages/" + revealTarget.messageId + "/reveal",
        { method: "POST", json: { reason: $("reveal-reason").value } });
      revealTarget.body.textContent = result.text;
      $("reveal-form").hidden = true;
      revealTarget = null;
    } catch (error) { showError(error.message); }
  });

  // -- canned replies and availability ----------------------------------------------------

  async function loadCanned() {
    canned = await api("/staff/api/canned").catch(() => []);
    const select = $("canned");
    select.replaceChildren(el("option", { value: "", text: "— pilih —" }),
      ...canned.map((c) => el("option", { value: c.id, text: c.title })));
  }
  $("canned").addEventListener("change", () => {
    const chosen = canned.find((c) => String(c.id) === $("canned").value);
    if (chosen) { $("reply-text").value = chosen.body; $("reply-text").focus(); }
  });
  $("canned-save").addEventListener("click", async () => {
    const body = $("reply-text").value.trim();
    if (!body) { showError("Tulis dulu teks balasan cepatnya."); return; }
    const chosen = canned.find((c) => String(c.id) === $("canned").value);
    const title = chosen ? chosen.title : body.slice(0, 40);
    const path = chosen ? "/staff/api/canned/" + chosen.id : "/staff/api/canned";
    if (await act(path, { title, body })) await loadCanned();
  });
  $("available").addEventListener("change", async () => {
    await act("/staff/api/me/availability", { available: $("available").checked });
    await loadQueue();
  });

  // -- live events ------------------------------------------------------------------------

  function connect() {
    const source = new EventSource("/staff/api/events");
    source.addEventListener("hello", () => {
      $("live-status").textContent = "Tersambung (langsung)";
      loadQueue();
      refreshChat();
    });
    source.addEventListener("queue", loadQueueSoon);
    source.addEventListener("lagged", () => { loadQueue(); refreshChat(); });
    const onChange = (event) => {
      const data = JSON.parse(event.data || "{}");
      if (current && data.handoff_id === current.handoff.id) refreshChat();
      loadQueueSoon();
    };
    source.addEventListener("message", onChange);
    source.addEventListener("note", onChange);
    source.onerror = () => { $("live-status").textContent = "Terputus, menyambung ulang…"; };
  }

  // Waiting times tick on between updates; a slow full refresh covers anything missed.
  setInterval(() => {
    if (!queue) return;
    for (const node of document.querySelectorAll(".chat-wait[data-waiting]")) {
      node.textContent = minutes(Number(node.dataset.waiting) + Math.floor((Date.now() - queueAt) / 1000));
    }
  }, 1000);
  setInterval(loadQueue, 30000);

  loadQueue();
  loadCanned();
  connect();
})();
