import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { checkRunFiles, writeMarginConfig } from "./output_files.ts";
import { taos } from "./taos_process.ts";

/** Asserts `actual` is within a relative 1e-9 of `expected` (sums in another order). */
function near(actual: number, expected: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= 1e-9 * Math.abs(expected),
    `${what}: ${actual} ${expected}`,
  );
}

Deno.test("every file of a run parses and agrees with the others and with summary.json", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const margin = await writeMarginConfig(dir);
    for (
      const [name, args, depth] of [
        ["small", ["--config", "small", "--depth", "20", "--seed", "7"], 20],
        // Not a whole number of steps: the last L2 row is the end of the run.
        ["margin", ["--config", margin, "--duration", "3602s", "--seed", "3"], 5],
      ] as const
    ) {
      const out = join(dir, name);
      const run = await taos("sim", ...args, "--quiet", "--out", out);
      assert.equal(run.code, 0, run.stderr);
      const totals = checkRunFiles(out, depth);
      if (name === "margin") assert.ok(totals.marginRemovals > 0, "margin orders were cancelled");
      const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"));
      const written = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
      assert.equal(summary.interrupted, undefined);
      assert.equal(summary.seed, written.seed);
      assert.equal(summary.books, written.books);
      assert.equal(summary.duration, written.duration);
      assert.equal(totals.lastStep, written.start + written.duration, `${name}: the last step`);
      assert.ok(summary.events > 0 && summary.facts.trades > 100, name);
      assert.equal(summary.facts.trades, totals.trades, `${name}: trades`);
      near(summary.facts.volume, totals.volume, `${name}: volume`);
      near(summary.facts.notional, totals.notional, `${name}: notional`);
      assert.match(run.stdout, new RegExp(`, ${totals.trades} trades\n`));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the same seed writes byte-identical files in a second run", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const args = ["sim", "--config", "small", "--duration", "15m", "--seed", "11", "--quiet"];
    for (const run of ["a", "b"]) {
      const result = await taos(...args, "--out", join(dir, run));
      assert.equal(result.code, 0, result.stderr);
    }
    const files = readdirSync(join(dir, "a")).filter((name) => name !== "summary.json");
    assert.equal(files.length, 3 * 2 + 2);
    for (const name of files) {
      const [a, b] = ["a", "b"].map((run) => readFileSync(join(dir, run, name)));
      assert.ok(a.equals(b), `${name} differs between two runs of one seed`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
