/**
 * Market simulation throughput: the reference production configuration (every background agent
 * group, 256 remote accounts) shortened to one simulated hour at 20 books, run to the end through
 * the engine twice in the same process: one publish step at a time for every book (as the
 * validator must, to talk to miners at each step), and in windows where each book runs several
 * steps in one go (as `taos sim` does; no output files). Reports messages processed per wall
 * second and simulated seconds per wall second of both, their ratio, then one JSON line.
 *
 * ```sh
 * deno task bench sim                 # or: deno run -A bench/sim.ts --duration 6h --threads 2
 * ```
 * @module
 */
import { UsageError } from "../cli/command.ts";
import { integerFlag } from "../cli/flag_values.ts";
import {
  durationProblem,
  MAX_BOOKS,
  parseDuration,
  parseSimConfig,
  referenceConfig,
  SimConfigError,
} from "../sim/config.ts";
import { MAX_THREADS, SimEngine, WINDOW_STEPS } from "../sim/engine.ts";
import { benchArgs, optionsChecked } from "../scripts/bench_options.ts";

const values = benchArgs(
  "sim",
  "--duration D (simulated, default 1h) --books N (default 20) " +
    "--threads T (default: cores) --seed S (default 1)",
  {
    duration: { type: "string", default: "1h" },
    books: { type: "string", default: "20" },
    threads: { type: "string", default: String(navigator.hardwareConcurrency || 1) },
    seed: { type: "string", default: "1" },
  },
);
const duration = parseDuration(values.duration);
/** A whole-number option judged as `taos sim` judges it (`--books: '5000' must be <= 4096`). */
function wholeOption(name: string, max: number): number {
  try {
    return integerFlag(name, values[name as keyof typeof values], 1, max)!;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`bench sim: ${error.message}`);
    Deno.exit(2);
  }
}
const books = wholeOption("books", MAX_BOOKS);
const threads = wholeOption("threads", MAX_THREADS);
const seed = Number(values.seed);
if (duration === undefined) {
  console.error(`bench sim: --duration: ${durationProblem(values.duration)}`);
  Deno.exit(2);
}
if (duration <= 5e9) {
  console.error("bench sim: --duration must be a duration above 5s (e.g. 1h)");
  Deno.exit(2);
}
// As `taos sim --seed`: a seed past 2^53 - 1 is not held exactly by a number.
if (!Number.isSafeInteger(seed) || seed < 0) {
  console.error(`bench sim: --seed must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}`);
  Deno.exit(2);
}
/** The reference configuration at `books` and `duration`, checked as `taos sim` checks it: the
 * number of books, and the memory they need on this machine. */
function benchConfig() {
  try {
    return parseSimConfig({ ...referenceConfig(), duration, books });
  } catch (error) {
    if (!(error instanceof SimConfigError)) throw error;
    for (const issue of error.issues) {
      const field = String(issue.path[0] ?? "config");
      const option = field === "books" || field === "duration" ? `--${field}` : field;
      console.error(`bench sim: ${option}: ${issue.message}`);
    }
    Deno.exit(2);
  }
}
const config = benchConfig();
optionsChecked();

/** Wall seconds to create an engine and to run it to the end, and the messages it processed. */
function run(windowSteps: number): { setup: number; wall: number; events: number; steps: number } {
  const setupStarted = performance.now();
  const engine = SimEngine.create({ config, seed, threads });
  const setup = (performance.now() - setupStarted) / 1000;
  const started = performance.now();
  let events = 0;
  let steps = 0;
  try {
    for (
      let window = engine.steps(windowSteps, 1);
      window !== null;
      window = engine.steps(windowSteps, 1)
    ) {
      for (const step of window) {
        events += step.eventsProcessed;
        steps++;
      }
    }
  } finally {
    engine.close();
  }
  return { setup, wall: (performance.now() - started) / 1000, events, steps };
}

const single = run(1);
const windowed = run(WINDOW_STEPS);
if (windowed.events !== single.events) throw new Error("the two runs processed different messages");
const setupSeconds = single.setup;
const { wall: wallSeconds, events, steps } = windowed;
const simulatedSeconds = duration / 1e9;
const rate = (seconds: number) => Math.round(events / seconds);
const result = {
  bench: "sim",
  config: "reference",
  books,
  threads,
  simulatedSeconds,
  steps,
  events,
  setupSeconds: Number(setupSeconds.toFixed(3)),
  singleStepWallSeconds: Number(single.wall.toFixed(3)),
  singleStepEventsPerSecond: rate(single.wall),
  windowSteps: WINDOW_STEPS,
  wallSeconds: Number(wallSeconds.toFixed(3)),
  eventsPerSecond: rate(wallSeconds),
  windowVsSingleStep: Number((single.wall / wallSeconds).toFixed(2)),
  simulatedSecondsPerWallSecond: Number((simulatedSeconds / wallSeconds).toFixed(1)),
  projectedFullDaySeconds: Number((wallSeconds * 86400 / simulatedSeconds).toFixed(1)),
};
const line = (label: string, seconds: number) =>
  `${label}: ${events} messages in ${seconds.toFixed(2)} s ` +
  `(${(rate(seconds) / 1e6).toFixed(2)}M/s, ${(simulatedSeconds / seconds).toFixed(1)} ` +
  `simulated s per wall s)`;
console.log(`${books} books x ${values.duration}, ${threads} threads`);
console.log(line("  one step at a time (validator)", single.wall));
console.log(line(`  windows of ${WINDOW_STEPS} steps (taos sim)`, wallSeconds));
console.log(
  `  windows ${result.windowVsSingleStep}x faster; a full day would take ~` +
    `${result.projectedFullDaySeconds.toFixed(0)} s`,
);
console.log(JSON.stringify(result));
