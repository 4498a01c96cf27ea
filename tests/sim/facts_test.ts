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
  // Until this version the summary said -2.
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
  const facts = new FactsCollector(2, 60e9);
  facts.observe(0, 60e9, 300, 301, 0.01);
  facts.observe(1, 60e9, 299, 299.5, 0.01);
  facts.observe(0, 65e9, 302, 303, 0.01);
  // A one-sided book has no mid.
  facts.observe(1, 70e9, NaN, 1, 0.01);
  assert.equal(facts.summary().minMid, 299.25);
  assert.ok(Number.isNaN(new FactsCollector(1).summary().minMid));
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
