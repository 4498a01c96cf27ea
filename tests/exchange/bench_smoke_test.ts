/** The exchange benchmark still runs end to end (tiny workload; no timing is asserted). */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

Deno.test("bench/exchange.ts ends with its JSON summary line", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      fileURLToPath(new URL("../../bench/exchange.ts", import.meta.url)),
      "--ops=3000",
      "--batch=256",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const summary = JSON.parse(stdout.trim().split("\n").at(-1)!);
  assert.equal(summary.bench, "exchange");
  assert.ok(summary.core_ops_per_s > 0 && summary.peer_ops_per_s > 0);
  // The ratio is the median of the rounds' ratios (each round's core against its peer run).
  const rounds = summary.round_ratios as number[];
  assert.equal(rounds.length, 5);
  assert.ok(rounds.every((r) => r > 0));
  const median = [...rounds].sort((a, b) => a - b)[2];
  // Rounding to 0.1 keeps the order of the rounds, so the rounded median is the median rounded.
  assert.equal(summary.ratio, median, "ratio is the rounds' median");
  assert.ok(summary.core_leveraged_ops_per_s > 0);
  const leveraged = summary.core_leveraged_ops_per_s / summary.core_ops_per_s;
  // The printed rates are the ones it divided (JSON keeps a double exactly), rounded to 0.01.
  assert.equal(
    summary.leveraged_vs_cash,
    Math.round(leveraged * 100) / 100,
    "leveraged_vs_cash is leveraged / cash core rate",
  );
  assert.match(stdout, /leveraged mix/);
  assert.match(stdout, /nodejs-order-book/);
});

Deno.test("bench/exchange.ts refuses a bad --ops with exit code 2", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      fileURLToPath(new URL("../../bench/exchange.ts", import.meta.url)),
      "--ops=0",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 2);
  assert.match(new TextDecoder().decode(output.stderr), /--ops must be a positive integer/);
});
