// Run page: poll the run's status every 2 s while it is queued or running, and redraw the
// progress bar, the error, the log tail and the charts (SVG rendered and escaped by the server).
(function () {
  "use strict";
  const root = document.getElementById("run");
  if (!root || root.dataset.finished === "1") return;
  const url = root.dataset.statusUrl;

  function render(data) {
    document.getElementById("run-status").textContent = data.status;
    document.getElementById("run-status").className = "status status-" + data.status;
    document.getElementById("run-progress-fill").style.width = data.progress + "%";
    document.getElementById("run-progress").setAttribute("aria-valuenow", String(Math.round(data.progress)));
    document.getElementById("run-progress-text").textContent = data.progress.toFixed(1);
    const error = document.getElementById("run-error");
    error.textContent = data.error;
    error.hidden = !data.error;
    document.getElementById("run-log").textContent = data.log_tail;
    const charts = document.getElementById("run-charts");
    charts.replaceChildren();
    for (const svg of data.charts) {
      const box = document.createElement("div");
      box.className = "chart-box";
      const doc = new DOMParser().parseFromString(svg, "image/svg+xml");
      box.appendChild(document.importNode(doc.documentElement, true));
      charts.appendChild(box);
    }
  }

  async function poll() {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const data = await response.json();
        render(data);
        if (data.finished) { window.location.reload(); return; }
      }
    } catch (err) { /* network hiccup: try again on the next tick */ }
    window.setTimeout(poll, 2000);
  }
  window.setTimeout(poll, 2000);
})();
