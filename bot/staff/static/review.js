// Entity marking on the NLU review page: the admin selects words in the message, picks a type,
// and the span (character offsets in the masked text) joins the hidden JSON field. Offsets count
// code points, as Python does: a DOM range counts UTF-16 units, so an emoji before the words
// would shift the span by one.
"use strict";
(function () {
  const text = document.getElementById("teks");
  const field = document.getElementById("entitas-json");
  const list = document.getElementById("daftar-entitas");
  const button = document.getElementById("tandai");
  if (!text || !field || !list || !button) return;
  const source = text.dataset.text || "";
  const points = Array.from(source);
  function toPoints(units) { return Array.from(source.slice(0, units)).length; }
  let marks = [];
  try { marks = JSON.parse(field.value || "[]"); } catch (e) { marks = []; }

  function draw() {
    list.replaceChildren();
    marks.forEach(function (m, i) {
      const item = document.createElement("li");
      item.textContent = m.entity + ': "' + points.slice(m.start, m.end).join("") + '" ';
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "button button-small";
      remove.textContent = "Hapus";
      remove.setAttribute("aria-label", "Hapus entitas " + m.entity);
      remove.addEventListener("click", function () { marks.splice(i, 1); sync(); });
      item.appendChild(remove);
      list.appendChild(item);
    });
  }
  function sync() { field.value = JSON.stringify(marks); draw(); }

  button.addEventListener("click", function () {
    const sel = window.getSelection();
    if (!sel || sel.rangeCount === 0 || sel.isCollapsed) return;
    const range = sel.getRangeAt(0);
    if (!text.contains(range.startContainer) || !text.contains(range.endContainer)) return;
    const before = document.createRange();
    before.selectNodeContents(text);
    before.setEnd(range.startContainer, range.startOffset);
    let start = before.toString().length;
    let end = start + range.toString().length;
    while (start < end && source[start] === " ") start++;
    while (end > start && source[end - 1] === " ") end--;
    if (end <= start) return;
    start = toPoints(start);
    end = toPoints(end);
    const entity = document.getElementById("jenis-entitas").value;
    marks = marks.filter(function (m) { return m.end <= start || m.start >= end; });
    marks.push({ entity: entity, start: start, end: end });
    marks.sort(function (a, b) { return a.start - b.start; });
    sel.removeAllRanges();
    sync();
  });
  draw();
})();
