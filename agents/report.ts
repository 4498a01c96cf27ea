/**
 * The backtest report as one self-contained HTML page with inline SVG plots (no scripts, no
 * external resources): mid price against the fundamental and the spread per book, and each
 * agent copy's inventory value and score over time, plus the result tables.
 *
 * ```ts
 * import { renderReport } from "./report.ts";
 * await Deno.writeTextFile("report.html", renderReport(await backtest({ agent: "MarketMakerAgent" })));
 * ```
 * @module
 */
import type { BacktestReport } from "./backtest.ts";

/** Books plotted at most (the first ones). */
const MAX_BOOK_PLOTS = 4;
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function num(x: number, digits = 4): string {
  return Number.isFinite(x) ? x.toFixed(digits) : "n/a";
}

/** One line of a plot. */
interface Line {
  label: string;
  values: (number | null)[];
}

/** Lines named in a chart's legend at most; more are named only in their tooltips. */
const MAX_LEGEND = 4;

/** The smallest and largest finite value of the lines (a spread would overflow the stack). */
function range(lines: Line[]): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const line of lines) {
    for (const v of line.values) {
      if (v !== null && Number.isFinite(v)) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
  }
  if (lo > hi) return [0, 1];
  return hi === lo ? [lo - 1, hi + 1] : [lo, hi];
}

/**
 * A line's SVG path, keeping per pixel column only its first, lowest, highest and last point: a
 * day of publishes would otherwise put 17 280 points per line into the page for 564 columns, and
 * a column's extremes keep every spike visible. A missing value lifts the pen.
 */
function path(
  values: (number | null)[],
  xs: number[],
  sx: (x: number) => number,
  sy: (y: number) => number,
): string {
  let d = "";
  let pen = false;
  let column: [number, number][] = [];
  const flush = () => {
    if (column.length === 0) return;
    let low = 0, high = 0;
    column.forEach(([, y], k) => {
      if (y > column[low][1]) low = k; // screen y grows downwards
      if (y < column[high][1]) high = k;
    });
    const kept = [...new Set([0, Math.min(low, high), Math.max(low, high), column.length - 1])];
    for (const k of kept) {
      d += `${pen ? "L" : "M"}${column[k][0].toFixed(1)},${column[k][1].toFixed(1)}`;
      pen = true;
    }
    column = [];
  };
  values.forEach((v, j) => {
    if (v === null || !Number.isFinite(v)) {
      flush();
      pen = false;
      return;
    }
    const point: [number, number] = [sx(xs[j]), sy(v)];
    if (column.length > 0 && Math.round(column[0][0]) !== Math.round(point[0])) flush();
    column.push(point);
  });
  flush();
  return d;
}

/** An SVG line chart over simulated minutes; `id` lets tests and readers find it. */
function chart(id: string, title: string, xs: number[], lines: Line[], unit: string): string {
  const width = 640, height = 220, left = 64, right = 12, top = 28, bottom = 30;
  const [lo, hi] = range(lines);
  const x0 = xs[0] ?? 0, x1 = xs.at(-1) ?? 1;
  const sx = (x: number) => left + ((x - x0) / (x1 - x0 || 1)) * (width - left - right);
  const sy = (y: number) => top + (1 - (y - lo) / (hi - lo)) * (height - top - bottom);
  const paths = lines.map((line, i) => {
    const d = path(line.values, xs, sx, sy);
    return `<path class="series" d="${d}" fill="none" stroke="${
      COLORS[i % COLORS.length]
    }" stroke-width="1.5"><title>${escapeHtml(line.label)}</title></path>`;
  }).join("");
  const named = lines.length > MAX_LEGEND ? lines.slice(0, MAX_LEGEND - 1) : lines;
  const legend =
    named.map((line, i) =>
      `<text x="${left + 8 + i * 130}" y="${top - 8}" fill="${
        COLORS[i % COLORS.length]
      }" font-size="11">${escapeHtml(line.label)}</text>`
    ).join("") + (named.length < lines.length
      ? `<text x="${left + 8 + named.length * 130}" y="${top - 8}" font-size="11">and ${
        lines.length - named.length
      } more</text>`
      : "");
  const minutes = (ns: number) => (ns / 60e9).toFixed(1);
  return `<figure><figcaption>${escapeHtml(title)}</figcaption>
<svg id="${id}" class="plot" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${
    escapeHtml(title)
  }">
<rect x="${left}" y="${top}" width="${width - left - right}" height="${
    height - top - bottom
  }" fill="#fafafa" stroke="#ccc"/>
<text x="4" y="${sy(hi) + 4}" font-size="10">${num(hi, 2)}</text>
<text x="4" y="${sy(lo)}" font-size="10">${num(lo, 2)}</text>
<text x="4" y="${height / 2}" font-size="10">${escapeHtml(unit)}</text>
<text x="${left}" y="${height - 10}" font-size="10">${minutes(x0)} min</text>
<text x="${width - right - 60}" y="${height - 10}" font-size="10">${minutes(x1)} min</text>
${legend}${paths}</svg></figure>`;
}

/** Renders the report page. */
export function renderReport(report: BacktestReport): string {
  const s = report.series;
  const xs = s.timestamps;
  const plots: string[] = [];
  for (let b = 0; b < Math.min(report.books, MAX_BOOK_PLOTS); b++) {
    plots.push(chart(`price-${b}`, `Book ${b}: mid price vs fundamental`, xs, [
      { label: "mid", values: s.mid[b] },
      { label: "fundamental", values: s.fundamental[b] },
    ], "quote"));
    plots.push(chart(`spread-${b}`, `Book ${b}: spread`, xs, [
      { label: "best ask − best bid", values: s.spread[b] },
    ], "quote"));
  }
  plots.push(chart(
    "inventory",
    "Inventory value (all books, minus starting wealth per book)",
    xs,
    s.inventoryValue.map((values, uid) => ({ label: `uid ${uid}`, values })),
    "quote",
  ));
  plots.push(chart(
    "score",
    "Score (EMA of rewards)",
    xs,
    s.score.map((values, uid) => ({ label: `uid ${uid}`, values })),
    "score",
  ));
  const tables = report.agents.map((a) =>
    `<h3>uid ${a.uid}</h3>
<p>score <b>${num(a.score)}</b>, last reward ${num(a.reward)}, P&amp;L ${num(a.pnl, 2)}, volume ${
      num(a.volume, 2)
    }, fees ${
      num(a.fees, 2)
    }, ${a.trades} trades; instructions ${a.instructions.accepted} accepted, ${a.instructions.rejected} rejected; compute ${
      num(a.computeMs.mean, 2)
    } ms mean, ${num(a.computeMs.max, 2)} ms max</p>
<table><thead><tr><th>book</th><th>Sharpe</th><th>N(Sharpe)</th><th>activity</th><th>P&amp;L</th><th>volume</th><th>fees</th><th>trades</th></tr></thead><tbody>
${
      a.books.map((b) =>
        `<tr><td>${b.bookId}</td><td>${num(b.sharpe, 3)}</td><td>${
          num(b.normalizedSharpe)
        }</td><td>${num(b.activityFactor)}</td><td>${num(b.pnl, 2)}</td><td>${
          num(b.volume, 2)
        }</td><td>${num(b.fees, 2)}</td><td>${b.trades}</td></tr>`
      ).join("\n")
    }
</tbody></table>`
  ).join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(report.agent)} backtest</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}figure{display:inline-block;margin:.5em}figcaption{font-weight:600}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:2px 8px;text-align:right}</style>
</head><body>
<h1>${escapeHtml(report.agent)} backtest</h1>
<p>params <code>${
    escapeHtml(JSON.stringify(report.params))
  }</code>; seed ${report.seed}; ${report.books} books; ${
    (report.duration / 60e9).toFixed(1)
  } simulated minutes, ${report.publishes} publishes; ${
    num(report.wallSeconds, 1)
  } s wall; mean score <b>${num(report.meanScore)}</b></p>
<section id="plots">${plots.join("\n")}</section>
<section id="results"><h2>Results</h2>${tables}</section>
</body></html>
`;
}
