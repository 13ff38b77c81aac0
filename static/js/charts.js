// Draws every <canvas data-chart="ID"> from the JSON in <script id="ID"
// type="application/json"> (Django's json_script), with the vendored Chart.js.
// The page's tables carry the same figures; the chart is a picture of them.
// Amounts arrive as decimal strings and become numbers only for drawing.
// Progressive enhancement: a chart's box (or its figure) comes from the server
// hidden, and its data table shown, so a browser without JavaScript reads the
// figures; once drawn, the chart shows and a table of its own
// ([data-chart-table="ID"]) stays for screen readers only.
(function () {
  "use strict";

  // Bootstrap-friendly colours that keep adjacent stacks apart.
  const COLOURS = ["#0d6efd", "#198754", "#fd7e14", "#6f42c1", "#dc3545", "#20c997", "#6c757d", "#ffc107"];

  function draw(canvas) {
    if (canvas.dataset.chartDrawn || typeof Chart === "undefined") return;
    const source = document.getElementById(canvas.dataset.chart);
    if (!source) return;
    const spec = JSON.parse(source.textContent);
    canvas.dataset.chartDrawn = "1";
    // Shown before drawing: Chart.js sizes the canvas to its visible box.
    for (let node = canvas.parentElement; node; node = node.parentElement) {
      if (node.hidden) node.hidden = false;
    }
    const table = document.querySelector(`[data-chart-table="${canvas.dataset.chart}"]`);
    if (table) table.classList.add("visually-hidden");
    new Chart(canvas, {
      type: spec.type || "bar",
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map((dataset, index) => ({
          label: dataset.label,
          data: dataset.data.map(Number),
          backgroundColor: COLOURS[index % COLOURS.length],
        })),
      },
      options: {
        // Chart.js sizes the canvas to its box (.chart-box has a fixed height in app.css).
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: {
          x: { stacked: Boolean(spec.stacked) },
          y: { stacked: Boolean(spec.stacked), beginAtZero: true },
        },
        plugins: { legend: { position: "bottom" } },
      },
    });
  }

  function drawAll(root) {
    (root || document).querySelectorAll("canvas[data-chart]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", () => drawAll(document));
  // A report swapped in by htmx (a new date or range) brings new canvases; htmx:load
  // fires on the new content itself (an outerHTML swap's settle events fire on the
  // element it replaced, which is no longer in the document).
  document.addEventListener("htmx:load", (event) => drawAll(event.target));
})();
