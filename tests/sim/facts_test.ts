import assert from "node:assert/strict";
import { join } from "node:path";
import { smallPreset } from "../../sim/config.ts";
import { autocorrelation, FactsCollector, returnInterval } from "../../sim/facts.ts";
import { taos } from "./taos_process.ts";

Deno.test("a minute whose book is one-sided is a gap: no return spans two minutes", () => {
  const facts = new FactsCollector(1, 60e9);
  const mids = [100, 101, 100, NaN, 102, 103, 102];
  mids.forEach((mid, i) => {
    const [bid, ask] = Number.isNaN(mid) ? [NaN, 100] : [mid - 0.5, mid + 0.5];
    facts.observe(0, (i + 1) * 60e9, bid, ask, 0.01);
  });
  // 100→101→100 and 102→103→102: four 1-minute returns; 100→102 spans two minutes and is left out.
  assert.equal(facts.summary().returns, 4);
});

Deno.test("a book with too few returns adds nothing to the kurtosis: standardized, two are ±1", () => {
  const facts = new FactsCollector(2, 60e9);
  // Three mids per book: two returns each, the kurtosis of any two standardized values -2.
  for (const book of [0, 1]) {
    [100, 103, 101].forEach((mid, i) =>
      facts.observe(book, (i + 1) * 60e9, mid - 0.5, mid + 0.5, 0.01)
    );
  }
  // Not -2: that figure follows from the count of returns alone and says nothing of the market.
  assert.ok(Number.isNaN(facts.summary().excessKurtosis));
  assert.equal(facts.summary().returns, 4);
});

Deno.test("autocorrelation leaves out the pairs a gap belongs to", () => {
  // The six present values have mean 0 and squares summing to 6. The pairs (1,-1), (-1,1),
  // (-1,1) and (1,-1) remain; (1,NaN) and (NaN,-1) are dropped.
  assert.equal(autocorrelation([1, -1, 1, NaN, -1, 1, -1], 1), -4 / 6);
  assert.ok(Number.isNaN(autocorrelation([NaN, NaN, 1], 1)));
  // Two values are one pair at lag 1: too few to tell a correlation from noise.
  assert.ok(Number.isNaN(autocorrelation([1, 2], 1)));
  assert.ok(Number.isNaN(autocorrelation([1, 2, 3, 4, 5, 6], 5)));
  // One more than that: mean 2, deviations -1, 0, 1, the one pair (0, -1) adds 0.
  assert.equal(autocorrelation([1, 2, 3], 1), 0);
});

Deno.test("the lowest mid is the lowest of every step's mid, on any book", () => {
  const facts = new FactsCollector(2, 60e9, { price: 2, volume: 0 });
  facts.observe(0, 60e9, 300, 301, 0.01);
  facts.observe(1, 60e9, 299, 299.5, 0.01);
  facts.observe(0, 65e9, 302, 303, 0.01);
  // A one-sided book has no mid.
  facts.observe(1, 70e9, NaN, 1, 0.01);
  assert.equal(facts.summary().minMid, 299.25);
  // Every step counts, not only those at a return's interval mark (125 s is none).
  facts.observe(0, 125e9, 299.1, 299.2, 0.01);
  assert.equal(facts.summary().minMid, 299.15);
  assert.ok(Number.isNaN(new FactsCollector(1).summary().minMid));
});

Deno.test("the lowest mid is exact at one decimal more than the prices, without float noise", () => {
  const facts = new FactsCollector(1, 60e9, { price: 2, volume: 4 });
  // As doubles, (299.21 + 299.22) / 2 is 299.21500000000003.
  facts.observe(0, 60e9, 299.21, 299.22, 0.01);
  facts.observe(0, 65e9, 300.03, 300.04, 0.01);
  assert.equal(facts.summary().minMid, 299.215);
  assert.equal(String(facts.summary().minMid), "299.215");
});

Deno.test("returns span a minute, or the fewest whole steps past it when steps skip minutes", () => {
  assert.equal(returnInterval(5e9), 60e9);
  assert.equal(returnInterval(60e9), 60e9);
  assert.equal(returnInterval(7e9), 63e9);
  assert.equal(returnInterval(90e9), 90e9);
});

Deno.test("a run whose step does not divide a minute still measures its facts", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "step7.json");
    await Deno.writeTextFile(
      file,
      JSON.stringify({ ...smallPreset(), step: 7e9, duration: 20 * 60e9 }),
    );
    const run = await taos("sim", "--config", file, "--quiet", "--out", join(dir, "out"));
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /stylized facts on 63 s mid returns \((\d+) returns, 2 books\)/);
    const { facts } = JSON.parse(await Deno.readTextFile(join(dir, "out", "summary.json")));
    assert.equal(facts.returnIntervalSeconds, 63);
    // 19 marks of 63 s in 20 minutes, so up to 18 returns per book: 36 at most (a mark where a
    // book is one-sided leaves a gap), where returns over every 7 s step would be about 170.
    assert.ok(facts.returns > 20 && facts.returns <= 36, `${facts.returns} returns`);
    assert.ok(Number.isFinite(facts.excessKurtosis));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("summary.json's traded volume and notional are the exact sums of the trades files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = join(dir, "out");
    const run = await taos(
      "sim",
      "--config",
      "small",
      "--duration",
      "10m",
      "--quiet",
      "--out",
      out,
    );
    assert.equal(run.code, 0, run.stderr);
    const { facts } = JSON.parse(await Deno.readTextFile(join(out, "summary.json")));
    const { books, exchange } = JSON.parse(await Deno.readTextFile(join(out, "config.json")));
    // Prices and volumes are written at fixed decimals: without the point they are ticks and lots.
    const units = (cell: string) => BigInt(cell.replace(".", ""));
    let lots = 0n, notional = 0n, trades = 0;
    for (let book = 0; book < books; book++) {
      const text = await Deno.readTextFile(join(out, `trades-${book}.csv`));
      for (const line of text.trim().split("\n").slice(1)) {
        const cells = line.split(",");
        lots += units(cells[4]);
        notional += units(cells[3]) * units(cells[4]);
        trades++;
      }
    }
    assert.ok(trades > 100, `only ${trades} trades`);
    assert.equal(facts.trades, trades);
    // The nearest number to each exact sum (a float running sum of 1391 trades was 5001.393000000001).
    assert.equal(facts.volume, Number(`${lots}e-${exchange.volumeDecimals}`));
    assert.equal(
      facts.notional,
      Number(`${notional}e-${exchange.priceDecimals + exchange.volumeDecimals}`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the traded notional and volume stay the nearest numbers to the exact sums past 2^53 units", () => {
  // At 3 price and 8 volume decimals one trade of 12.3 base at 300.1 is 3.7e14 ticks x lots: the
  // running sum passes 2^53 within 25 such trades and a float sum would lose its last units.
  const facts = new FactsCollector(1, 60e9, { price: 3, volume: 8 });
  const fills: [bigint, bigint][] = [[300_123n, 1_234_567_891n], [299_987n, 987_654_321n]];
  let lots = 0n, tickLots = 0n;
  for (let i = 0; i < 1000; i++) {
    const [ticks, volume] = fills[i % fills.length];
    facts.trade(ticks, volume);
    lots += volume;
    tickLots += ticks * volume;
  }
  assert.ok(tickLots > 2n ** 53n);
  const summary = facts.summary();
  assert.equal(summary.volume, Number(`${lots}e-8`));
  assert.equal(summary.notional, Number(`${tickLots}e-11`));
});

/** Mids `i` minutes in (from 1), from a fixed sequence of returns with bursts of large moves. */
function observeReturns(facts: FactsCollector, book: number, returns: number[]) {
  let mid = 300;
  facts.observe(book, 60e9, mid - 0.005, mid + 0.005, 0.01);
  returns.forEach((r, i) => {
    mid *= Math.exp(r);
    facts.observe(book, (i + 2) * 60e9, mid - 0.005, mid + 0.005, 0.01);
  });
}

Deno.test("kurtosis is the excess over a normal's 3: two equal and opposite moves give -2", () => {
  const facts = new FactsCollector(1, 60e9);
  // Standardized, returns of one size either way are all ±1: fourth moment 1, squared variance 1.
  observeReturns(facts, 0, [0.01, -0.01, 0.01, -0.01]);
  const { excessKurtosis } = facts.summary();
  assert.ok(Math.abs(excessKurtosis - -2) < 1e-9, `excess kurtosis ${excessKurtosis}`);
});

Deno.test("the return autocorrelation is at lag 1 and the absolute ones at lags 1, 5 and 10, averaged over books", () => {
  // Fixed returns whose absolute values are correlated differently at each lag.
  const returns = [
    [3, -1, 4, -1, 5, -9, 2, 6, -5, 3, 5, -8, 9, 7, -9, 3, 2, -3, 8, 4, -6, 2, 6, -4, 3],
    [2, 7, -1, 8, 2, -8, 1, 8, -2, 8, 4, -5, 9, 0, -4, 5, 2, -3, 5, 3, -6, 0, 2, -8, 7],
  ].map((series) => series.map((x) => x / 1000));
  const facts = new FactsCollector(2, 60e9);
  returns.forEach((series, book) => observeReturns(facts, book, series));
  const summary = facts.summary();
  // Each book's returns as the collector measures them: logs of consecutive mids.
  const measured = returns.map((series) => {
    const mids = [300];
    for (const r of series) mids.push(mids.at(-1)! * Math.exp(r));
    return mids.slice(1).map((mid, i) => Math.log(mid / mids[i]));
  });
  const mean = (f: (r: number[]) => number) => (f(measured[0]) + f(measured[1])) / 2;
  const abs = (lag: number) => mean((r) => autocorrelation(r.map(Math.abs), lag));
  assert.equal(summary.returnAutocorrLag1, mean((r) => autocorrelation(r, 1)));
  assert.deepEqual(summary.absReturnAutocorr, { lag1: abs(1), lag5: abs(5), lag10: abs(10) });
  // Neighbouring lags differ here, so a lag off by one would show.
  for (const lag of [1, 5, 10]) assert.notEqual(abs(lag), abs(lag + 1));
  for (const lag of [5, 10]) assert.notEqual(abs(lag), abs(lag - 1));
  assert.notEqual(summary.returnAutocorrLag1, mean((r) => autocorrelation(r, 2)));
});

Deno.test("the mean spread is in ticks, over the steps with both sides present", () => {
  const facts = new FactsCollector(1, 60e9);
  facts.observe(0, 5e9, 300, 300.01, 0.01);
  facts.observe(0, 10e9, 300, 300.05, 0.01);
  // One-sided: no spread.
  facts.observe(0, 15e9, NaN, 300.5, 0.01);
  const { meanSpreadTicks } = facts.summary();
  assert.ok(Math.abs(meanSpreadTicks - 3) < 1e-9, `${meanSpreadTicks} ticks`);
});

Deno.test("the deviation from the fundamental is the mean absolute log ratio at the interval marks", () => {
  const facts = new FactsCollector(1, 60e9);
  facts.observe(0, 60e9, 98.5, 99.5, 0.01, 100); // mid 99, below
  facts.observe(0, 90e9, 49.5, 50.5, 0.01, 100); // between marks: not sampled
  facts.observe(0, 120e9, 100.5, 101.5, 0.01, 100); // mid 101, above
  const expected = (Math.abs(Math.log(99 / 100)) + Math.abs(Math.log(101 / 100))) / 2;
  assert.equal(facts.summary().meanAbsDeviationFromFundamental, expected);
});

Deno.test("a book adds to the kurtosis from four returns: three add none", () => {
  const facts = new FactsCollector(2, 60e9);
  // Four mids per book: three returns each, one fewer than a kurtosis is computed from.
  for (const book of [0, 1]) {
    [100, 103, 101, 104].forEach((mid, i) =>
      facts.observe(book, (i + 1) * 60e9, mid - 0.5, mid + 0.5, 0.01)
    );
  }
  assert.ok(Number.isNaN(facts.summary().excessKurtosis));
  assert.equal(facts.summary().returns, 6);
});

Deno.test("a book whose mid never moves adds nothing to the kurtosis of the others", () => {
  const facts = new FactsCollector(2, 60e9);
  observeReturns(facts, 0, [0.01, -0.01, 0.01, -0.01]);
  // Four returns of 0: no spread to standardize by, so none is pooled (0 / 0 would be NaN).
  for (let i = 0; i < 5; i++) facts.observe(1, (i + 1) * 60e9, 299.5, 300.5, 0.01);
  const { excessKurtosis, returns } = facts.summary();
  assert.equal(returns, 8);
  // Book 0 alone: returns of one size either way give -2.
  assert.ok(Math.abs(excessKurtosis - -2) < 1e-9, `excess kurtosis ${excessKurtosis}`);
});

Deno.test("a mark without a mid is two missing returns: lags past it stay in time", () => {
  const moves = [3, -1, 4, -1, 5, -9, 2, 6, -5, 3, 5, -8].map((x) => x / 1000);
  const mids = [300];
  for (const r of moves) mids.push(mids.at(-1)! * Math.exp(r));
  const facts = new FactsCollector(1, 60e9);
  // Bid equal to ask: the mid is the value itself. The sixth mark's book is one-sided.
  mids.forEach((mid, i) => facts.observe(0, (i + 1) * 60e9, i === 5 ? NaN : mid, mid, 0.01));
  const measured = mids.slice(1).map((mid, i) => Math.log(mid / mids[i]));
  // The returns into and out of the sixth mark are gaps, each in its own place.
  const withGap = measured.map((r, i) => (i === 4 || i === 5 ? NaN : r));
  const summary = facts.summary();
  assert.equal(summary.returns, 10);
  const lag5 = autocorrelation(withGap.map(Math.abs), 5);
  assert.equal(summary.absReturnAutocorr.lag5, lag5);
  // One gap in place of two would pair returns five apart that are six minutes apart.
  const oneGap = withGap.filter((_, i) => i !== 5);
  assert.notEqual(autocorrelation(oneGap.map(Math.abs), 5), lag5);
});
