import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type AgentResult, type BacktestReport, freshResult } from "../../agents/backtest.ts";
import { renderReport } from "../../agents/report.ts";
import { testTempDir } from "../temp_dir.ts";
import { browserTest, launchChromium } from "../browser.ts";

/** A copy's result that lost nothing and had nothing dropped. */
function result(uid: number, books: number): AgentResult {
  return { ...freshResult(uid, books), score: 0.5, reward: 0.5, computeMs: { mean: 1, max: 2 } };
}

/**
 * A report of `copies` copies on `books` books over `publishes` publishes, without running a
 * backtest: mids along a slope, spreads of one tick, scores rising.
 */
function syntheticReport(copies: number, books: number, publishes: number): BacktestReport {
  const steps = Array.from({ length: publishes }, (_, i) => i);
  const perBook = (value: (i: number) => number) => steps.map(value);
  return {
    agent: "Synthetic",
    params: {},
    seed: 1,
    books,
    duration: publishes * 5e9,
    delay: "none",
    publishes,
    wallSeconds: 1,
    agents: Array.from({ length: copies }, (_, uid) => result(uid, books)),
    meanScore: 0.5,
    series: {
      timestamps: steps.map((i) => (i + 1) * 5e9),
      mid: Array.from({ length: books }, () => perBook((i) => 300 + i / 10)),
      fundamental: Array.from({ length: books }, () => perBook((i) => 300 + i / 20)),
      spread: Array.from({ length: books }, () => perBook(() => 0.01)),
      inventoryValue: Array.from({ length: copies }, (_, uid) => perBook((i) => uid * i)),
      score: Array.from({ length: copies }, (_, uid) => perBook((i) => (uid + i) / 1000)),
    },
  };
}

/** The markup of the chart `id`: its SVG and its legend. */
function chartOf(html: string, id: string): string {
  const start = html.indexOf(`<svg id="${id}"`);
  assert.ok(start >= 0, `chart ${id}`);
  return html.slice(start, html.indexOf("</ul>", start));
}

/** The two value-axis labels of a chart, top first. */
function axisLabels(chart: string): string[] {
  return [...chart.matchAll(/<text x="4" y="[\d.]+" font-size="10">([^<]*)<\/text>/g)]
    .map((m) => m[1])
    .slice(0, 2);
}

Deno.test("the report tells the run's lost responses, drops, interruption and delay model, escaped", () => {
  const report = syntheticReport(2, 2, 10);
  report.interrupted = true;
  report.duration = 90e9;
  report.delay = 50_000_000;
  const [lossy, dropping] = report.agents;
  lossy.instructions.failedResponses = 7;
  lossy.firstFailure = "the agent failed: <script>alert('x')</script> & more";
  dropping.instructions = {
    accepted: 40,
    rejected: 9,
    rejectedBy: { unknownBook: 3, instructionsPerBook: 6 },
    failedResponses: 0,
  };
  dropping.firstRejection = 'instruction 0: bookId 5 outside 0..1 "<b>"';
  const html = renderReport(report);
  assert.doesNotMatch(html, /<script>|<b>"/, "agent text is escaped");
  assert.match(html, /Interrupted at 00:01:30 simulated, after 10 publishes/);
  assert.match(html, /execution delay 50ms on every reply/);
  assert.match(html, /7 responses lost, by 1 of 2 copies/);
  assert.match(html, /9 instructions dropped by the validator, from 1 of 2 copies/);
  assert.ok(html.includes(
    "first lost response: <code>the agent failed: " +
      "&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62; &#38; more</code>",
  ));
  assert.match(html, /7 responses lost; compute/);
  assert.match(html, /40 accepted, 9 dropped \(unknownBook 3, instructionsPerBook 6\)/);
  assert.ok(html.includes(
    "first dropped instruction: <code>instruction 0: bookId 5 outside 0..1 " +
      "&#34;&#60;b&#62;&#34;</code>",
  ));
  assert.match(html, /<th>quote volume<\/th>/);
  for (const delay of ["validator", "none"] as const) {
    assert.match(renderReport({ ...report, delay }), new RegExp(`execution delay ${delay} \\(`));
  }
  const clean = renderReport(syntheticReport(1, 2, 10));
  assert.doesNotMatch(clean, /class="alert"/, "a run without problems shows none");
});

Deno.test("the report says which books it plots and where the others are", () => {
  const html = renderReport(syntheticReport(1, 6, 10));
  assert.match(
    html,
    /Books 0 to 3 of 6 are plotted; every book's mid, fundamental and spread are in backtest\.json/,
  );
  assert.ok(html.includes('<svg id="price-3"') && !html.includes('<svg id="price-4"'));
  assert.doesNotMatch(renderReport(syntheticReport(1, 4, 10)), /are plotted/);
});

Deno.test("every line of a chart has its own style and a legend entry naming it", () => {
  const html = renderReport(syntheticReport(25, 1, 10));
  const chart = chartOf(html, "inventory");
  const style = String.raw`(stroke="[^"]*"(?: stroke-dasharray="[^"]*")?)`;
  const lines = new RegExp(String.raw`<path class="series" d="[^"]*" fill="none" ${style}`, "g");
  const styles = [...chart.matchAll(lines)].map((m) => m[1]);
  assert.equal(styles.length, 25);
  assert.equal(new Set(styles).size, 25, `styles repeat: ${styles.join(" | ")}`);
  // The palette's ten colours first, solid; only past them do dashes tell lines apart.
  assert.ok(styles.slice(0, 10).every((s) => !s.includes("dasharray")), styles.join(" | "));
  assert.equal(styles[10], 'stroke="#1f77b4" stroke-dasharray="6 3"');
  const entries = new RegExp(
    String.raw`<li><svg[^>]*><line [^>]*?${style} stroke-width="2"/></svg>([^<]*)</li>`,
    "g",
  );
  const legend = [...chart.matchAll(entries)];
  assert.deepEqual(legend.map((m) => m[2]), Array.from({ length: 25 }, (_, uid) => `uid ${uid}`));
  assert.deepEqual(legend.map((m) => m[1]), styles, "each legend entry drawn as its line");
});

Deno.test("a constant series keeps its sign on the axis; labels carry the digits of the range", () => {
  const report = syntheticReport(1, 1, 10);
  report.series.score[0] = report.series.score[0].map(() => 0);
  report.series.inventoryValue[0] = report.series.inventoryValue[0].map(() => 250);
  report.series.spread[0] = report.series.spread[0].map((_, i) => 0.00005 + i * 0.00001);
  const html = renderReport(report);
  assert.deepEqual(axisLabels(chartOf(html, "score")), ["1.00", "0.00"]);
  assert.deepEqual(axisLabels(chartOf(html, "inventory")), ["252.50", "247.50"]);
  // A negative constant too: 1 % of its size on either side, the larger value on top.
  report.series.inventoryValue[0] = report.series.inventoryValue[0].map(() => -250);
  assert.deepEqual(axisLabels(chartOf(renderReport(report), "inventory")), ["-247.50", "-252.50"]);
  assert.deepEqual(axisLabels(chartOf(html, "spread-0")), ["0.0001400", "0.0000500"]);
  assert.deepEqual(axisLabels(chartOf(html, "price-0")), ["300.900", "300.000"]);
});

Deno.test("a series of a single point is drawn as a marker", () => {
  const report = syntheticReport(1, 1, 1);
  // A lone point between gaps, too.
  const gapped = syntheticReport(1, 1, 5);
  gapped.series.mid[0] = [null, 300, null, 301, 302];
  for (const [html, id] of [[renderReport(report), "score"], [renderReport(gapped), "price-0"]]) {
    const chart = chartOf(html, id);
    assert.match(chart, /<circle class="marker" cx="[\d.]+" cy="[\d.]+" r="3" fill="#1f77b4">/);
    assert.doesNotMatch(chart, / d="M[\d.]+,[\d.]+"/, "no path of a lone move");
  }
});

Deno.test("a stretch of points within one pixel between gaps is drawn as a marker, not a dot-sized path", () => {
  // 2 000 publishes over 564 pixel columns: neighbours share a column.
  const report = syntheticReport(1, 1, 2000);
  report.series.mid[0] = report.series.mid[0].map(() => null);
  report.series.mid[0][1000] = 300;
  report.series.mid[0][1001] = 300;
  const chart = chartOf(renderReport(report), "price-0");
  assert.equal([...chart.matchAll(/<circle class="marker"/g)].length, 1);
  assert.equal([...chart.matchAll(/<path class="series"/g)].length, 1, "the fundamental's alone");
});

browserTest("a lone point's marker and the legend are visible in headless Chromium", async () => {
  const file = join(testTempDir("taos-report-marker-"), "report.html");
  await Deno.writeTextFile(file, renderReport(syntheticReport(3, 1, 1)));
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(pathToFileURL(file).href);
    const marker = await page.locator("svg#score circle.marker").first().boundingBox();
    assert.ok(marker !== null && marker.width >= 5 && marker.height >= 5, "marker drawn");
    assert.equal(await page.locator("#score-legend li").count(), 3);
    const entry = await page.locator("#score-legend li").last().boundingBox();
    assert.ok(entry !== null && entry.width > 20, "legend laid out");
  } finally {
    await browser.close();
  }
});
