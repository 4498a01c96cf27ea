/**
 * Market simulation throughput: the reference production configuration (every background agent
 * group, 256 remote accounts) shortened to one simulated hour at 20 books, stepped to the end
 * through the engine as `taos sim` does (no output files). Reports messages processed per wall
 * second and simulated seconds per wall second, then one JSON line.
 *
 * ```sh
 * deno task bench sim                 # or: deno run -A bench/sim.ts --duration 6h --threads 2
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { parseDuration, referenceConfig } from "../sim/config.ts";
import { SimEngine } from "../sim/engine.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    duration: { type: "string", default: "1h" },
    books: { type: "string", default: "20" },
    threads: { type: "string", default: String(navigator.hardwareConcurrency || 1) },
    seed: { type: "string", default: "1" },
  },
  strict: true,
});
const duration = parseDuration(values.duration);
const books = Number(values.books);
const threads = Number(values.threads);
const seed = Number(values.seed);
if (duration === undefined || duration <= 5e9) {
  console.error("bench sim: --duration must be a duration above 5s (e.g. 1h)");
  Deno.exit(2);
}
for (const [name, value] of [["books", books], ["threads", threads], ["seed", seed]] as const) {
  if (!Number.isInteger(value) || value < (name === "seed" ? 0 : 1)) {
    console.error(`bench sim: --${name} must be a positive integer`);
    Deno.exit(2);
  }
}

const config = { ...referenceConfig(), duration, books };
const setupStarted = performance.now();
const engine = SimEngine.create({ config, seed, threads });
const setupSeconds = (performance.now() - setupStarted) / 1000;
const started = performance.now();
let events = 0;
let steps = 0;
for (let step = engine.step(); step !== null; step = engine.step()) {
  events += step.eventsProcessed;
  steps++;
}
const wallSeconds = (performance.now() - started) / 1000;
engine.close();

const simulatedSeconds = duration / 1e9;
const result = {
  bench: "sim",
  config: "reference",
  books,
  threads,
  simulatedSeconds,
  steps,
  events,
  setupSeconds: Number(setupSeconds.toFixed(3)),
  wallSeconds: Number(wallSeconds.toFixed(3)),
  eventsPerSecond: Math.round(events / wallSeconds),
  simulatedSecondsPerWallSecond: Number((simulatedSeconds / wallSeconds).toFixed(1)),
  projectedFullDaySeconds: Number((wallSeconds * 86400 / simulatedSeconds).toFixed(1)),
};
console.log(
  `${books} books x ${values.duration}: ${events} messages in ${wallSeconds.toFixed(2)} s ` +
    `(${(result.eventsPerSecond / 1e6).toFixed(2)}M/s, ${result.simulatedSecondsPerWallSecond} ` +
    `simulated s per wall s, ${threads} threads; a full day would take ~` +
    `${result.projectedFullDaySeconds.toFixed(0)} s)`,
);
console.log(JSON.stringify(result));
