/**
 * `deno task bench`: `--help` names every benchmark's options, and each option reaches only the
 * benchmarks that take it.
 */
import assert from "node:assert/strict";
import { cpSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { testTempDir } from "../temp_dir.ts";

Deno.test("deno task bench --help lists each benchmark with its options", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      fileURLToPath(new URL("../../scripts/bench.ts", import.meta.url)),
      "--help",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const line = (name: string) => stdout.split("\n").find((l) => l.trim().startsWith(`${name} `));
  for (const option of ["--ops", "--seed", "--batch"]) {
    assert.match(line("exchange") ?? "", RegExp(option));
  }
  for (const option of ["--duration", "--books", "--threads", "--seed"]) {
    assert.match(line("sim") ?? "", RegExp(option));
  }
  for (const option of ["--rounds", "--phases"]) {
    assert.match(line("validator") ?? "", RegExp(option));
  }
});

Deno.test("each benchmark answers --help with its options and runs nothing", async () => {
  for (
    const [name, option] of [["exchange", "--ops"], ["sim", "--books"], ["validator", "--rounds"]]
  ) {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        fileURLToPath(new URL(`../../bench/${name}.ts`, import.meta.url)),
        "--help",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    assert.equal(output.code, 0, `${name}: ${new TextDecoder().decode(output.stderr)}`);
    assert.equal(stdout.trim().split("\n").length, 1, `${name} printed only its usage: ${stdout}`);
    assert.match(stdout, RegExp(`^${name} .*${option}`));
  }
});

/** Runs `scripts/bench.ts` (or a benchmark file) with `args`; its exit code and output. */
async function bench(script: string, args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", fileURLToPath(new URL(`../../${script}`, import.meta.url)), ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: text(output.stdout), stderr: text(output.stderr) };
}

Deno.test("each option reaches only the benchmarks that take it; one none takes runs nothing", async () => {
  // Until this version `--rounds` went to every benchmark and the exchange's ended in a stack trace.
  const refused = await bench("scripts/bench.ts", ["exchange", "--rounds", "2"]);
  assert.equal(refused.code, 2);
  assert.equal(
    refused.stderr.trim(),
    "bench: Unknown option '--rounds' (options: exchange: --ops, --seed, --batch)",
  );
  assert.equal(refused.stdout, "", "no benchmark started");

  // Both refuse their bad value themselves, which they get only if each got its own option.
  const routed = await bench("scripts/bench.ts", ["exchange", "sim", "--ops", "0", "--books", "0"]);
  assert.equal(routed.code, 2);
  assert.match(routed.stderr, /^bench exchange: --ops must be a positive integer$/m);
  assert.doesNotMatch(routed.stderr, /unknown option|\n\s+at /i);
  assert.equal(routed.stdout, "", "no benchmark started");
  const books = await bench("scripts/bench.ts", [
    "exchange",
    "sim",
    "--ops",
    "20000",
    "--books",
    "0",
  ]);
  assert.equal(books.code, 2);
  assert.match(books.stderr, /^bench sim: --books must be a positive integer$/m);
  assert.equal(books.stdout, "", "no benchmark started");

  // A value the last benchmark refuses stops the run before the first starts (until this version
  // the exchange benchmark ran in full, then the validator's refused its --rounds, exit 1).
  const late = await bench("scripts/bench.ts", [
    "exchange",
    "validator",
    "--ops",
    "20000",
    "--rounds",
    "0",
  ]);
  assert.equal(late.code, 2);
  assert.match(late.stderr, /^bench validator: --rounds must be a positive integer, got '0'$/m);
  assert.equal(late.stdout, "", "no benchmark started");

  // A value beginning with a dash reaches the benchmark as written, for its own check.
  const negative = await bench("scripts/bench.ts", ["sim", "--duration=-1h"]);
  assert.match(negative.stderr, /^bench sim: --duration must be a duration above 5s/m);
});

Deno.test("a benchmark given an option it does not take names it in one line", async () => {
  const { code, stderr } = await bench("bench/exchange.ts", ["--books", "2"]);
  assert.equal(code, 2);
  assert.equal(
    stderr.trim(),
    "bench exchange: unknown option --books (its options: --ops, --seed, --batch)",
  );
});

Deno.test("the exchange benchmark takes any seed its generator can hold, 0 included", async () => {
  // Until this version --seed 0 was refused as not positive, while the simulation's takes it.
  const zero = await bench("bench/exchange.ts", ["--check", "--seed", "0"]);
  assert.equal(zero.code, 0, zero.stderr);
  const largest = await bench("bench/exchange.ts", ["--check", "--seed", "4294967295"]);
  assert.equal(largest.code, 0, largest.stderr);
  const past = await bench("bench/exchange.ts", ["--check", "--seed", "4294967296"]);
  assert.equal(past.code, 2);
  assert.equal(
    past.stderr.trim(),
    "bench exchange: --seed must be a whole number from 0 to 4294967295 (the generator's 32 bits)",
  );
});

Deno.test("the simulation benchmark refuses a seed past 2^53 - 1 by name, as taos sim does", async () => {
  // Until this version 1e20 passed the check and the run ended in a stack trace.
  const past = await bench("bench/sim.ts", ["--check", "--seed", "1e20"]);
  assert.equal(past.code, 2);
  assert.equal(
    past.stderr.trim(),
    "bench sim: --seed must be a whole number from 0 to 9007199254740991",
  );
  const zero = await bench("bench/sim.ts", ["--check", "--seed", "0"]);
  assert.equal(zero.code, 0, zero.stderr);
});

Deno.test("deno task bench runs from a checkout whose path holds a space", async () => {
  // Until this version the benchmarks' paths kept the URL's %20, and none of them was found.
  const repository = fileURLToPath(new URL("../../", import.meta.url));
  const copy = join(testTempDir("taos-bench-"), "a checkout");
  cpSync(repository, copy, {
    recursive: true,
    filter: (path) => !/[/\\](\.git|out|build)$/.test(path),
  });
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(copy, "scripts", "bench.ts"), "--help"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  assert.match(new TextDecoder().decode(output.stdout), /^\s+validator --rounds/m);
});
