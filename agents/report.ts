/**
 * The backtest report as one self-contained HTML page with inline SVG plots (no scripts, no
 * external resources): mid price against the fundamental and the spread per book, and each
 * agent copy's inventory value and score over time, plus the run's problems and the result tables.
 *
 * ```ts
 * import { renderReport } from "./report.ts";
 * await Deno.writeTextFile("report.html", renderReport(await backtest({ agent: "MarketMakerAgent" })));
 * ```
 * @module
 */
import { counted } from "../cli/counted.ts";
import { type BacktestReport, type DelayModel, describeDelay, describeRules } from "./backtest.ts";
import { clock } from "../sim/progress.ts";

/** Books plotted at most (the first ones). */
const MAX_BOOK_PLOTS = 4;
/** Distinct line colours (Tableau 10); past them lines are told apart by their dashes too. */
const PALETTE = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
];
/** Stroke dash patterns, one per round through the palette ("" is solid). */
const DASHES = ["", "6 3", "2 2", "9 3 2 3", "12 4", "4 2 1 2"];

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

/** The colour and dash pattern of a chart's `index`th line. */
function lineStyle(index: number): { color: string; dash: string } {
  const round = Math.floor(index / PALETTE.length) % DASHES.length;
  return { color: PALETTE[index % PALETTE.length], dash: DASHES[round] };
}

/** SVG attributes drawing a line in the `index`th style. */
function strokeOf(index: number): string {
  const { color, dash } = lineStyle(index);
  return `stroke="${color}"${dash === "" ? "" : ` stroke-dasharray="${dash}"`}`;
}

/**
 * The value range of the chart: the smallest and largest finite value of the lines (a spread would
 * overflow the stack). A constant gets a range of 1 % around it (0 to 1 for 0), which never
 * reaches below 0 for a value that is not negative.
 */
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
  if (hi > lo) return [lo, hi];
  if (lo === 0) return [0, 1];
  const margin = Math.abs(lo) / 100;
  return [lo - margin, hi + margin];
}

/**
 * Decimals for the axis labels of `lo`..`hi`: three significant digits of the span, so that the
 * labels of a narrow range differ and its ends read true (a spread of 0.01 to 1.8 is not "0.0").
 */
function axisDecimals(lo: number, hi: number): number {
  return Math.max(0, Math.min(20, 2 - Math.floor(Math.log10(hi - lo))));
}

/**
 * A line's SVG path, keeping per pixel column only its first, lowest, highest and last point: a
 * day of publishes would otherwise put 17 280 points per line into the page for 564 columns, and
 * a column's extremes keep every spike visible. A missing value lifts the pen. A point with no
 * neighbour to draw a line to, or a stretch of points all within one pixel, is returned among
 * `dots`, to be marked: a path draws nothing there, or too little to see.
 */
function trace(
  values: (number | null)[],
  xs: number[],
  sx: (x: number) => number,
  sy: (y: number) => number,
): { d: string; dots: [number, number][] } {
  let d = "";
  const dots: [number, number][] = [];
  let segment: [number, number][] = [];
  let column: [number, number][] = [];
  const flush = () => {
    if (column.length === 0) return;
    let low = 0, high = 0;
    column.forEach(([, y], k) => {
      if (y > column[low][1]) low = k; // screen y grows downwards
      if (y < column[high][1]) high = k;
    });
    const kept = [...new Set([0, Math.min(low, high), Math.max(low, high), column.length - 1])];
    for (const k of kept) segment.push(column[k]);
    column = [];
  };
  const endSegment = () => {
    flush();
    if (segment.length === 0) return;
    const xsOf = segment.map(([x]) => x), ysOf = segment.map(([, y]) => y);
    // A stretch within one pixel would be a path too short to see.
    if (
      Math.max(...xsOf) - Math.min(...xsOf) < 1 && Math.max(...ysOf) - Math.min(...ysOf) < 1
    ) dots.push(segment[0]);
    else {
      for (const [k, [x, y]] of segment.entries()) {
        d += `${k === 0 ? "M" : "L"}${x.toFixed(1)},${y.toFixed(1)}`;
      }
    }
    segment = [];
  };
  values.forEach((v, j) => {
    if (v === null || !Number.isFinite(v)) {
      endSegment();
      return;
    }
    const point: [number, number] = [sx(xs[j]), sy(v)];
    if (column.length > 0 && Math.round(column[0][0]) !== Math.round(point[0])) flush();
    column.push(point);
  });
  endSegment();
  return { d, dots };
}

/**
 * An SVG line chart over simulated minutes, with a legend naming every line below it; `id` lets
 * tests and readers find it.
 */
function chart(id: string, title: string, xs: number[], lines: Line[], unit: string): string {
  const width = 640, height = 220, left = 64, right = 12, top = 16, bottom = 30;
  const [lo, hi] = range(lines);
  const x0 = xs[0] ?? 0, x1 = xs.at(-1) ?? 1;
  const sx = (x: number) => left + ((x - x0) / (x1 - x0 || 1)) * (width - left - right);
  const sy = (y: number) => top + (1 - (y - lo) / (hi - lo)) * (height - top - bottom);
  const drawn = lines.map((line, i) => {
    const { d, dots } = trace(line.values, xs, sx, sy);
    const name = `<title>${escapeHtml(line.label)}</title>`;
    const path = d === ""
      ? ""
      : `<path class="series" d="${d}" fill="none" ${
        strokeOf(i)
      } stroke-width="1.5">${name}</path>`;
    const markers = dots.map(([x, y]) =>
      `<circle class="marker" cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3" fill="${
        lineStyle(i).color
      }">${name}</circle>`
    );
    return path + markers.join("");
  }).join("");
  const legend = lines.map((line, i) =>
    `<li><svg width="24" height="8" aria-hidden="true"><line x1="0" y1="4" x2="24" y2="4" ${
      strokeOf(i)
    } stroke-width="2"/></svg>${escapeHtml(line.label)}</li>`
  ).join("");
  const digits = axisDecimals(lo, hi);
  const minutes = (ns: number) => (ns / 60e9).toFixed(1);
  return `<figure><figcaption>${escapeHtml(title)}</figcaption>
<svg id="${id}" class="plot" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${
    escapeHtml(title)
  }">
<rect x="${left}" y="${top}" width="${width - left - right}" height="${
    height - top - bottom
  }" fill="#fafafa" stroke="#ccc"/>
<text x="4" y="${sy(hi) + 4}" font-size="10">${num(hi, digits)}</text>
<text x="4" y="${sy(lo)}" font-size="10">${num(lo, digits)}</text>
<text x="4" y="${height / 2}" font-size="10">${escapeHtml(unit)}</text>
<text x="${left}" y="${height - 10}" font-size="10">${minutes(x0)} min</text>
<text x="${width - right - 60}" y="${height - 10}" font-size="10">${minutes(x1)} min</text>
${drawn}</svg><ul class="legend" id="${id}-legend">${legend}</ul></figure>`;
}

/** How the report names the delay model a run used. */
function delayText(delay: DelayModel): string {
  if (delay === "validator") {
    return "validator (the validator's formula on each reply's measured compute time, which " +
      "varies between runs)";
  }
  if (delay === "none") return "none (only what an instruction asks for)";
  return `${describeDelay(delay)} on every reply`;
}

/** `1 copy`, `2 copies`. */
function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * The run's problems at a glance: an interruption, lost responses and dropped instructions (each
 * copy's first is under Results, as in the terminal summary).
 */
function problems(report: BacktestReport): string {
  const notes: string[] = [];
  if (report.interrupted) {
    notes.push(
      `Interrupted at ${clock(report.duration)} simulated, after ${
        counted(report.publishes, "publish", "publishes")
      }: the report covers the run up to there.`,
    );
  }
  const lost = report.agents.filter((a) => a.instructions.failedResponses > 0);
  if (lost.length > 0) {
    const total = lost.reduce((n, a) => n + a.instructions.failedResponses, 0);
    notes.push(
      `${count(total, "response", "responses")} lost, by ${lost.length} of ` +
        `${count(report.agents.length, "copy", "copies")} (the first of each is under Results).`,
    );
  }
  const dropping = report.agents.filter((a) => a.instructions.rejected > 0);
  if (dropping.length > 0) {
    const total = dropping.reduce((n, a) => n + a.instructions.rejected, 0);
    notes.push(
      `${count(total, "instruction", "instructions")} dropped by the validator, from ` +
        `${dropping.length} of ${count(report.agents.length, "copy", "copies")} (the first of ` +
        "each is under Results).",
    );
  }
  return notes.map((note) => `<p class="alert">${escapeHtml(note)}</p>`).join("\n");
}

/** Renders the report page. */
export function renderReport(report: BacktestReport): string {
  const s = report.series;
  const xs = s.timestamps;
  const plotted = Math.min(report.books, MAX_BOOK_PLOTS);
  const plots: string[] = [];
  for (let b = 0; b < plotted; b++) {
    plots.push(chart(`price-${b}`, `Book ${b}: mid price vs fundamental`, xs, [
      { label: "mid", values: s.mid[b] },
      { label: "fundamental", values: s.fundamental[b] },
    ], "quote"));
    plots.push(chart(`spread-${b}`, `Book ${b}: spread`, xs, [
      { label: "best ask − best bid", values: s.spread[b] },
    ], "quote"));
  }
  const bookNote = plotted < report.books
    ? `<p id="books-plotted">Books 0 to ${plotted - 1} of ${report.books} are plotted; every ` +
      "book's mid, fundamental and spread are in backtest.json (<code>series</code>).</p>"
    : "";
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
  const tables = report.agents.map((a) => {
    const counts = a.instructions;
    const firsts = [
      a.firstFailure === null
        ? ""
        : `<p class="alert">first lost response: <code>${escapeHtml(a.firstFailure)}</code></p>`,
      a.firstRejection === null
        ? ""
        : `<p class="alert">first dropped instruction: <code>${
          escapeHtml(a.firstRejection)
        }</code></p>`,
    ].join("");
    return `<h3>uid ${a.uid}</h3>
<p>score <b>${num(a.score)}</b>, last reward ${num(a.reward)}, P&amp;L ${
      num(a.pnl, 2)
    }, quote volume ${num(a.volume, 2)}, fees ${
      num(a.fees, 2)
    }, ${a.trades} trades; instructions ${counts.accepted} accepted, ${counts.rejected} dropped${
      escapeHtml(describeRules(counts.rejectedBy))
    }; ${counts.failedResponses} responses lost; compute ${num(a.computeMs.mean, 2)} ms mean, ${
      num(a.computeMs.max, 2)
    } ms max</p>
${firsts}<table><thead><tr><th>book</th><th>Sharpe</th><th>N(Sharpe)</th><th>activity</th><th>P&amp;L</th><th>quote volume</th><th>fees</th><th>trades</th></tr></thead><tbody>
${
      a.books.map((b) =>
        `<tr><td>${b.bookId}</td><td>${num(b.sharpe, 3)}</td><td>${
          num(b.normalizedSharpe)
        }</td><td>${num(b.activityFactor)}</td><td>${num(b.pnl, 2)}</td><td>${
          num(b.volume, 2)
        }</td><td>${num(b.fees, 2)}</td><td>${b.trades}</td></tr>`
      ).join("\n")
    }
</tbody></table>`;
  }).join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(report.agent)} backtest</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}figure{display:inline-block;margin:.5em;vertical-align:top}figcaption{font-weight:600}.legend{list-style:none;padding:0;margin:.2em 0;display:flex;flex-wrap:wrap;gap:2px 12px;max-width:640px;font-size:11px}.legend svg{margin-right:4px}.alert{color:#a40000}table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:2px 8px;text-align:right}</style>
</head><body>
<h1>${escapeHtml(report.agent)} backtest</h1>
<p>params <code>${escapeHtml(JSON.stringify(report.params))}</code>; seed ${report.seed}; ${
    counted(report.books, "book")
  }; ${(report.duration / 60e9).toFixed(1)} simulated minutes, ${
    counted(report.publishes, "publish", "publishes")
  }; execution delay ${escapeHtml(delayText(report.delay))}; ${
    num(report.wallSeconds, 1)
  } s wall; mean score <b>${num(report.meanScore)}</b></p>
<section id="problems">${problems(report)}</section>
<section id="plots">${bookNote}${plots.join("\n")}</section>
<section id="results"><h2>Results</h2>${tables}</section>
</body></html>
`;
}
