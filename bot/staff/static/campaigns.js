// Campaign pages: the live recipient count of the compose form, and on a campaign's page its
// progress (polled every two seconds) with a chart drawn as inline SVG (no library: offline).
"use strict";
(function () {
  const form = document.getElementById("form-kampanye");
  if (form) {
    const total = document.getElementById("jumlah-penerima");
    const detail = document.getElementById("jumlah-rinci");
    let timer = null;
    async function recount() {
      const params = new URLSearchParams();
      params.set("kecamatan", form.elements.kecamatan.value);
      params.set("active_since", form.elements.active_since.value);
      form.querySelectorAll("input[name=channels]:checked").forEach(function (box) {
        params.append("channels", box.value);
      });
      try {
        const response = await fetch("/staff/admin/campaigns/count?" + params.toString(),
                                      { headers: { accept: "application/json" } });
        if (!response.ok) throw new Error(String(response.status));
        const found = await response.json();
        total.textContent = found.error ? "—" : String(found.total);
        detail.textContent = found.error ? found.error : Object.entries(found.per_channel)
          .map(function (pair) { return (pair[0] === "telegram" ? "Telegram " : "WhatsApp ") + pair[1]; })
          .join(", ");
      } catch (e) { total.textContent = "—"; }
    }
    document.getElementById("segmen").addEventListener("change", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(recount, 150);
    });
    recount();
  }

  const box = document.getElementById("kemajuan");
  if (!box) return;
  const SVG = "http://www.w3.org/2000/svg";
  const chart = document.getElementById("grafik");
  const series = { sent: [], delivered: [], read: [], failed: [] };
  const colours = { sent: "#1d4ed8", delivered: "#047857", read: "#7c3aed", failed: "#b91c1c" };
  const names = { sent: "Terkirim", delivered: "Diterima", read: "Dibaca", failed: "Gagal" };
  const started = Date.now();

  function element(name, attributes, text) {
    const node = document.createElementNS(SVG, name);
    Object.entries(attributes).forEach(function (pair) { node.setAttribute(pair[0], pair[1]); });
    if (text) node.textContent = text;
    return node;
  }

  function draw(recipients) {
    while (chart.firstChild) chart.removeChild(chart.firstChild);
    const width = 600, height = 200, left = 50, bottom = 180, top = 10;
    const points = series.sent;
    const span = Math.max(1, points.length ? points[points.length - 1][0] : 1);
    const most = Math.max(1, recipients);
    chart.appendChild(element("line", { x1: left, y1: bottom, x2: width - 10, y2: bottom, stroke: "#555" }));
    chart.appendChild(element("line", { x1: left, y1: top, x2: left, y2: bottom, stroke: "#555" }));
    chart.appendChild(element("text", { x: 4, y: top + 10, "font-size": 11 }, String(most)));
    chart.appendChild(element("text", { x: 4, y: bottom, "font-size": 11 }, "0"));
    chart.appendChild(element("text", { x: width - 70, y: bottom + 16, "font-size": 11 },
                              Math.round(span) + " dtk"));
    Object.keys(series).forEach(function (key, i) {
      const path = series[key].map(function (p) {
        const x = left + (p[0] / span) * (width - 10 - left);
        const y = bottom - (p[1] / most) * (bottom - top);
        return x.toFixed(1) + "," + y.toFixed(1);
      }).join(" ");
      if (path) chart.appendChild(element("polyline", { points: path, fill: "none", stroke: colours[key], "stroke-width": 2 }));
      chart.appendChild(element("rect", { x: left + 10 + i * 110, y: 2, width: 10, height: 10, fill: colours[key] }));
      chart.appendChild(element("text", { x: left + 24 + i * 110, y: 11, "font-size": 11 }, names[key]));
    });
  }

  async function poll() {
    let state = box.dataset.state;
    try {
      const response = await fetch(box.dataset.progress, { headers: { accept: "application/json" } });
      if (!response.ok) throw new Error(String(response.status));
      const found = await response.json();
      const c = found.counts;
      const shown = { queued: c.queued + c.claimed + c.sending, sent: c.sent + c.delivered + c.read,
                      delivered: c.delivered + c.read, read: c.read, failed: c.failed,
                      skipped: c.skipped, unconfirmed: c.unconfirmed };
      Object.entries(shown).forEach(function (pair) {
        const cell = document.getElementById("jumlah-" + pair[0]);
        if (cell) cell.textContent = String(pair[1]);
      });
      const at = (Date.now() - started) / 1000;
      ["sent", "delivered", "read", "failed"].forEach(function (key) { series[key].push([at, shown[key]]); });
      draw(found.recipients);
      document.getElementById("status-kampanye").textContent = found.state_label;
      if (found.state !== state) { box.dataset.state = state = found.state; }
    } catch (e) { /* the next round tries again */ }
    if (state === "done" || state === "cancelled") {
      const actions = document.getElementById("tindakan");
      if (actions) actions.hidden = true;  // nothing left to pause or cancel
      return;
    }
    window.setTimeout(poll, 2000);
  }
  poll();
})();
