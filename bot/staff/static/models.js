// The model page's progress bar: polls the running job until it ends, then reloads the page so
// that the new version and its scores appear.
"use strict";
(function () {
  const box = document.getElementById("tugas");
  if (!box || box.dataset.active !== "yes") return;
  const bar = document.getElementById("progres");
  const percent = document.getElementById("progres-persen");
  async function poll() {
    try {
      const response = await fetch("/staff/admin/models/job", { headers: { accept: "application/json" } });
      if (!response.ok) throw new Error(String(response.status));
      const job = (await response.json()).job;
      if (!job) return;
      bar.value = job.progress;
      bar.textContent = percent.textContent = Math.round(job.progress * 100) + "%";
      document.getElementById("tugas-status").textContent = job.status_label;
      document.getElementById("tugas-tahap").textContent = job.stage || "";
      if (job.error) {
        const error = document.getElementById("tugas-galat");
        error.textContent = job.error;
        error.hidden = false;
      }
      if (!job.active) { window.location.reload(); return; }
    } catch (e) { /* the next round tries again */ }
    window.setTimeout(poll, 1000);
  }
  window.setTimeout(poll, 1000);
})();
