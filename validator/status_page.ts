/**
 * The live status page: one self-contained HTML document (no external assets) whose small script
 * polls `/status.json` every second and draws the simulation clock, one price chart per book (SVG)
 * and the miner leaderboard. A number that is not finite (JSON null) shows as "–", and a refresh
 * that fails says so above the last figures shown.
 * @module
 */

/** The page served at `/`. */
export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>taos validator</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 1.5rem; color: #222; }
  h1 { font-size: 1.3rem; margin: 0 0 .5rem; }
  #clock { font-family: monospace; font-size: 1.1rem; }
  #books { display: flex; flex-wrap: wrap; gap: 12px; margin: 1rem 0; }
  .book { border: 1px solid #ccc; padding: 4px 8px; }
  .book h2 { font-size: .9rem; margin: 0; }
  svg { display: block; }
  .scroll { overflow-x: auto; }
  table { border-collapse: collapse; }
  td, th { border-bottom: 1px solid #ddd; padding: 2px 10px; text-align: right; }
  tr.silent td { color: #999; }
  #error { color: #b71c1c; margin: .5rem 0; }
</style>
</head>
<body>
<h1>taos validator</h1>
<div id="error" hidden></div>
<div>simulation <span id="simulation">-</span> (seed <span id="seed">-</span>),
  step <span id="step">0</span>, simulated time <span id="clock">waiting for the first publish</span></div>
<div id="books"></div>
<h2>Leaderboard</h2>
<div class="scroll"><table id="leaderboard">
  <thead><tr><th>#</th><th>uid</th><th>score</th><th>reward</th><th>pnl</th><th>answered</th></tr></thead>
  <tbody></tbody>
</table></div>
<script>
// A NaN or infinite value arrives as null: it must not stop the page.
function fixed(value, digits) {
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "–";
}
function clock(ns) {
  const s = Math.floor(ns / 1e9), d = Math.floor(s / 86400);
  const p = (v) => String(v).padStart(2, "0");
  const t = p(Math.floor(s % 86400 / 3600)) + ":" + p(Math.floor(s % 3600 / 60)) + ":" + p(s % 60);
  return (d > 0 ? d + "d " : "") + t;
}
// Beside the page's own path, so that a proxy serving it under a prefix without the trailing
// slash (/validator) still reaches its data (/validator/status.json).
const DATA_URL = location.pathname + (location.pathname.endsWith("/") ? "" : "/") + "status.json";
function chart(points) {
  const w = 240, h = 90;
  if (points.length === 0) return '<svg width="' + w + '" height="' + h + '"></svg>';
  const ts = points.map((p) => p[0]), ps = points.map((p) => p[1]);
  const t0 = Math.min(...ts), t1 = Math.max(...ts), lo = Math.min(...ps), hi = Math.max(...ps);
  const x = (t) => t1 === t0 ? w / 2 : (t - t0) / (t1 - t0) * (w - 4) + 2;
  const y = (p) => hi === lo ? h / 2 : h - 2 - (p - lo) / (hi - lo) * (h - 4);
  const path = points.map((p, i) => (i ? "L" : "M") + x(p[0]).toFixed(1) + " " + y(p[1]).toFixed(1)).join(" ");
  return '<svg width="' + w + '" height="' + h + '"><path d="' + path + '" fill="none" stroke="#1565c0"/></svg>';
}
async function refresh() {
  try {
    const view = await (await fetch(DATA_URL, { signal: AbortSignal.timeout(5000) })).json();
    document.getElementById("simulation").textContent = view.simulation;
    document.getElementById("seed").textContent = view.seed;
    document.getElementById("step").textContent = view.step;
    document.getElementById("clock").textContent = view.timestamp === null ? "waiting for the first publish" : clock(view.timestamp);
    document.getElementById("books").innerHTML = view.books.map((b) => {
      const last = b.points.length ? fixed(b.points[b.points.length - 1][1], 2) : "–";
      return '<div class="book" data-book="' + b.bookId + '"><h2>book ' + b.bookId + ' <span class="price">' + last + '</span></h2>' + chart(b.points) + '</div>';
    }).join("");
    document.querySelector("#leaderboard tbody").innerHTML = view.leaderboard.length === 0
      ? '<tr class="empty"><td colspan="6">no miner scored yet</td></tr>'
      : view.leaderboard.map((r, i) =>
      '<tr data-uid="' + r.uid + '"' + (r.answered === false ? ' class="silent"' : "") + '><td>' + (i + 1) + '</td><td>' + r.uid +
      '</td><td class="score">' + fixed(r.score, 6) + '</td><td>' + fixed(r.reward, 4) + '</td><td>' + fixed(r.pnl, 2) +
      '</td><td>' + (r.answered === null ? "–" : r.answered ? "yes" : "no") + '</td></tr>').join("");
    document.body.dataset.updated = String(view.step);
    document.getElementById("error").hidden = true;
  } catch (error) {
    const note = document.getElementById("error");
    note.textContent = "refresh failed at " + new Date().toLocaleTimeString() + " (" + error +
      "): the figures below are from the last refresh that worked";
    note.hidden = false;
  }
}
// Each refresh starts a second after the last one ended, so slow answers never pile up.
async function poll() {
  await refresh();
  setTimeout(poll, 1000);
}
poll();
</script>
</body>
</html>
`;
