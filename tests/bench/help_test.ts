/**
 * `deno task bench`: `--help` names every benchmark's options, and each option reaches only the
 * benchmarks that take it.
 */
import assert from "node:assert/strict";
import { cpSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { testTempDir } from "../temp_dir.ts";

const checkout = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Runs `script` (`scripts/bench.ts` or a benchmark file) of the checkout at `root`, this one unless
 * given, with `args`; its exit code and output.
 */
async function bench(script: string, args: string[], root = checkout) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(root, script), ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: text(output.stdout), stderr: text(output.stderr) };
}

/**
 * Asserts that `deno task bench` with `args` exits 2 before any benchmark starts, its error output
 * matching `message` (or, trimmed, being it); resolves to that error output.
 */
async function assertRefused(args: string[], message: RegExp | string): Promise<string> {
  const { code, stdout, stderr } = await bench("scripts/bench.ts", args);
  assert.equal(code, 2, stderr);
  if (typeof message === "string") assert.equal(stderr.trim(), message);
  else assert.match(stderr, message);
  assert.equal(stdout, "", "no benchmark started");
  return stderr;
}

Deno.test("deno task bench --help lists each benchmark with its options", async () => {
  const { code, stdout, stderr } = await bench("scripts/bench.ts", ["--help"]);
  assert.equal(code, 0, stderr);
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
    const { code, stdout, stderr } = await bench(`bench/${name}.ts`, ["--help"]);
    assert.equal(code, 0, `${name}: ${stderr}`);
    assert.equal(stdout.trim().split("\n").length, 1, `${name} printed only its usage: ${stdout}`);
    assert.match(stdout, RegExp(`^${name} .*${option}`));
  }
});

Deno.test("each option reaches only the benchmarks that take it; one none takes runs nothing", async () => {
  // An option none of the chosen benchmarks takes is refused in one line, before any runs, not
  // handed to each of them.
  await assertRefused(
    ["exchange", "--rounds", "2"],
    "bench: Unknown option '--rounds' (options: exchange: --ops, --seed, --batch)",
  );

  // Both refuse their bad value themselves, which they get only if each got its own option.
  const routed = await assertRefused(
    ["exchange", "sim", "--ops", "0", "--books", "0"],
    /^bench exchange: --ops must be a positive integer$/m,
  );
  assert.doesNotMatch(routed, /unknown option|\n\s+at /i);
  await assertRefused(
    ["exchange", "sim", "--ops", "20000", "--books", "0"],
    /^bench sim: --books: '0' must be >= 1$/m,
  );

  // A value the last benchmark refuses stops the run before the first starts: the exchange
  // benchmark does not run in full only for the validator's to refuse its --rounds.
  await assertRefused(
    ["exchange", "validator", "--ops", "20000", "--rounds", "0"],
    /^bench validator: --rounds must be a positive integer, got '0'$/m,
  );

  // A value beginning with a dash reaches the benchmark as written, for its own check.
  const negative = await bench("scripts/bench.ts", ["sim", "--duration=-1h"]);
  assert.match(negative.stderr, /^bench sim: --duration: '-1h' is not a duration/m);
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
  // 0 is a seed like any other, as the simulation benchmark's; only one past 32 bits is refused.
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
  // 1e20 is refused by name, not let through to end the run in a stack trace.
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
  // The benchmarks' paths are file paths: with the URL's %20 kept, none of them would be found.
  const copy = join(testTempDir("taos-bench-"), "a checkout");
  cpSync(checkout, copy, {
    recursive: true,
    filter: (path) => !/[/\\](\.git|out|build)$/.test(path),
  });
  const { code, stdout, stderr } = await bench("scripts/bench.ts", ["--help"], copy);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^\s+validator --rounds/m);
});

Deno.test("the simulation benchmark refuses, before it starts, what taos sim would refuse", async () => {
  // Each was taken by the check and then ended the run in a stack trace (threads), grew until the
  // system stopped it (books) or was told it must be above 5s (a duration past the clock).
  await assertRefused(
    ["sim", "--threads", "2000"],
    "bench sim: --threads: '2000' must be <= 1024",
  );
  // Checked alone (`--check`), so that a check that let it through would not run it.
  const books = await bench("bench/sim.ts", ["--check", "--books", "5000"]);
  assert.equal(books.code, 2);
  assert.match(books.stderr, /^bench sim: --books: '5000' must be <= 4096$/m);
  const past = await bench("bench/sim.ts", ["--check", "--duration", "200d"]);
  assert.equal(past.code, 2);
  assert.match(past.stderr, /^bench sim: --duration: '200d' is longer than the clock's \d+ days$/m);
  const largest = await bench("bench/sim.ts", ["--check", "--threads", "1024", "--books", "4096"]);
  assert.doesNotMatch(largest.stderr, /--threads|\n\s+at /);
});

Deno.test("the exchange benchmark refuses more operations than its workload can hold, before it runs", async () => {
  await assertRefused(
    ["exchange", "--ops", "1e10"],
    "bench exchange: --ops must be at most 20000000",
  );
  await assertRefused(
    ["exchange", "--batch", "20000001"],
    "bench exchange: --batch must be at most 20000000",
  );
});

Deno.test("deno task bench in a checkout whose native library cannot be built says so in one line", async () => {
  const copy = join(testTempDir("taos-bench-"), "checkout");
  cpSync(checkout, copy, {
    recursive: true,
    filter: (path) => !/[/\\](\.git|out|build)$/.test(path),
  });
  // A file where the build directory goes: it cannot be made, as in a read-only checkout.
  writeFileSync(join(copy, "native", "build"), "not a directory\n");
  const { code, stdout, stderr } = await bench(
    "scripts/bench.ts",
    ["exchange", "--ops", "1000"],
    copy,
  );
  assert.equal(code, 1, stderr);
  assert.equal(stdout, "", "no benchmark started");
  assert.match(stderr, /^bench: cannot write the native library to .*\/native\/build: [^\n]+\n$/);
});
