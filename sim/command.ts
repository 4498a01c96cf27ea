/**
 * `taos sim`: runs a market simulation from a configuration (embedded reference default, a preset
 * or a JSON/TOML/XML file), shows progress, optionally writes the research outputs, and prints the
 * run's throughput and the market's stylized facts.
 * @module
 */
import { join } from "node:path";
import { stringify as stringifyToml } from "smol-toml";
import { counted } from "../cli/counted.ts";
import { type Command, parseFlags, printOut, UsageError } from "../cli/command.ts";
import { integerFlag, nonEmptyFlag } from "../cli/flag_values.ts";
import { expandHome } from "../cli/home_path.ts";
import { MAX_STEP_DEPTH, MAX_THREADS, SimEngine, WINDOW_STEPS } from "./engine.ts";
import { quote } from "./config.ts";
import { FactsCollector, returnInterval, type StylizedFacts } from "./facts.ts";
import { flagOverrides, loadForCommand } from "./load.ts";
import { EventKind } from "./native_sim.ts";
import { native } from "../native/ffi.ts";
import { describeFeeds, feedSources, readFeeds } from "./feed.ts";
import { eventLoopBreather, listenForInterrupt } from "./interrupt.ts";
import { prepareOutputDir, SimOutputs, writeJsonFile } from "./outputs.ts";
import { clock, compact, Progress, progressMode } from "./progress.ts";

const help = `Usage: taos sim [options]

Runs the background market model: every book's event loop, the fundamental price and futures
signal, and the background agents (initialization, stylized, HFT, ALGO, futures traders).

Options:
  --config <name|file>   preset (reference, small) or a .json/.toml/.xml file [reference]
  --seed <n>             master seed of every random stream [config's seed]
  --books <n>            number of books [config's]
  --duration <d>         simulated length, e.g. 90s, 10m, 1h, 1d [config's: 1d for reference]
  --threads <n>          worker threads for the books; results do not depend on it [cores;
                         1 in a backtest]
  --out <dir>            write events/trades/L2 per book, balances.csv, config.json and
                         summary.json there
  --depth <n>            L2 levels per side written to l2-<book>.csv (1 to 100) [5]
  --intended-dynamics    fix the reference's dynamics-changing quirks (default: reproduce
                         them, the production parameters are calibrated for them; README)
  --fundamental-feed <f> CSV file or URL of seed prices (count,price[,time]; the time is not
                         read), one per seed interval (the first process update a whole
                         seedInterval after the last)
  --external-feed <f>    CSV file or URL of futures samples (count,price[,time]), one per
                         sample interval
  --print-config [toml]  print the complete config the other flags give (--config, --seed,
                         --books, --duration, --intended-dynamics) as JSON, or as TOML, and
                         exit without running; a file to edit, or to give as --config
  --quiet                no progress output (warnings still show)
  --progress             progress even when stderr is not a terminal (a line every 10 %;
                         by default progress shows on a terminal only)
  -h, --help             this help

Trading-agent backtest (runs your agent against this market, see "Trading agents" in README):
  --agent <dir|file>  --agent-name <Class>  --agent-params "k=v ..."  --agents <n>
                         (--agent defaults to ~/.taos/agents; a backtest's --config defaults
                         to small)
  --out <dir>            a backtest writes backtest.json there (results and the plotted series;
                         no CSV files), replacing an earlier backtest's backtest.json and
                         report.html [out/backtest]
  --report               also write report.html beside it: plots of mid vs fundamental and
                         spread (first 4 books), inventory value and score per copy, and the
                         run's lost responses and dropped instructions
  --agent-max-memory <MiB>  each copy's memory limit, as the miner's --agent.max_memory
                         (default: V8's heap limit); a copy over it is replaced, as on a miner
  --delay <validator|none|d>  execution delay: the validator's formula on the measured compute
                         time (default; varies between runs), none, or a fixed duration up to
                         1h such as 50ms (either of the last two makes a seed's result
                         reproducible)

The reference default (20 books, one simulated day) takes about half a minute to a minute and a
half on two cores; use --duration 1h (or --config small) for a quick look. Ctrl-C (or SIGTERM)
stops a run at the end of the 12 steps under way (a simulated minute at 5 s steps) and keeps what
it wrote (summary.json then says "interrupted"; exit 130, 143 for SIGTERM); a second one exits at
once.`;

const options = {
  config: { type: "string" },
  seed: { type: "string" },
  books: { type: "string" },
  duration: { type: "string" },
  threads: { type: "string" },
  out: { type: "string" },
  depth: { type: "string" },
  "intended-dynamics": { type: "boolean" },
  "fundamental-feed": { type: "string" },
  "external-feed": { type: "string" },
  "print-config": { type: "string" },
  quiet: { type: "boolean" },
  progress: { type: "boolean" },
  agent: { type: "string" },
  "agent-name": { type: "string" },
  "agent-params": { type: "string" },
  agents: { type: "string" },
  "agent-max-memory": { type: "string" },
  report: { type: "boolean" },
  delay: { type: "string" },
} as const;

function show(x: number, digits = 4): string {
  return Number.isFinite(x) ? x.toFixed(digits) : "n/a";
}

/** Human-readable end-of-run report. */
function formatReport(
  run: { events: number; wallSeconds: number; simulatedSeconds: number; books: number },
  facts: StylizedFacts,
): string {
  const rate = run.events / run.wallSeconds;
  return [
    `messages processed: ${run.events} (${compact(rate)} messages/s, ${
      run.wallSeconds.toFixed(1)
    } s ` +
    `wall, ${compact(run.simulatedSeconds / run.wallSeconds)} simulated s per wall s)`,
    `stylized facts on ${
      facts.returnIntervalSeconds === 60 ? "1-minute" : `${facts.returnIntervalSeconds} s`
    } mid returns (${facts.returns} returns, ${counted(run.books, "book")}):`,
    `  excess kurtosis              ${show(facts.excessKurtosis, 2)}`,
    `  return autocorr lag 1        ${show(facts.returnAutocorrLag1)}`,
    `  |return| autocorr lag 1/5/10 ${show(facts.absReturnAutocorr.lag1)} / ` +
    `${show(facts.absReturnAutocorr.lag5)} / ${show(facts.absReturnAutocorr.lag10)}`,
    `  mean spread                  ${show(facts.meanSpreadTicks, 2)} ticks`,
    `  traded volume                ${facts.volume.toFixed(2)} base, ` +
    `${facts.notional.toFixed(0)} quote, ${facts.trades} trades`,
    `  mean |ln(mid/fundamental)|   ${show(facts.meanAbsDeviationFromFundamental)}`,
  ].join("\n");
}

/** `--agent ...`: the trading-agent backtest runs this market with the agent plugged in. */
async function backtest(values: Record<string, unknown>): Promise<number> {
  const { runBacktestCommand } = await import("../agents/backtest.ts");
  return await runBacktestCommand(values);
}

/** The formats `--print-config` writes; the first is the one it writes when given no value. */
const CONFIG_FORMATS = ["json", "toml"] as const;

/**
 * `args` with `--print-config`'s format given where it was left out (the flag last, or before
 * another flag): a string flag needs its value, and this one has a default.
 */
function withPrintFormat(args: string[]): string[] {
  const end = args.indexOf("--");
  return args.flatMap((arg, i) =>
    arg === "--print-config" && (end === -1 || i < end) &&
      (i + 1 === args.length || args[i + 1].startsWith("-"))
      ? [arg, CONFIG_FORMATS[0]]
      : [arg]
  );
}

/** Flags that only a run reads: with `--print-config` nothing runs, so each would do nothing. */
const RUN_FLAGS = [
  ...["threads", "out", "depth", "fundamental-feed", "external-feed"],
  // A backtest's, refused as such without --agent-name.
  ...["agent-params", "agents", "agent-max-memory", "report", "delay"],
] as const;

/** `--print-config`: prints the complete config the other flags give; returns the exit code. */
async function printConfig(values: Record<string, string | boolean | undefined>): Promise<number> {
  const format = values["print-config"] as string;
  if (!(CONFIG_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--print-config: json or toml, not ${quote(format)}`);
  }
  if (values.agent !== undefined || values["agent-name"] !== undefined) {
    throw new UsageError("--print-config: not with a backtest (give --config to the backtest)");
  }
  for (const flag of RUN_FLAGS) {
    if (values[flag] !== undefined) {
      throw new UsageError(`--${flag}: not with --print-config, which runs nothing`);
    }
  }
  const { config } = await loadForCommand(
    (values.config as string | undefined) ?? "reference",
    flagOverrides(values),
  );
  // JSON as a run's config.json holds it: the two are one file.
  printOut(format === "toml" ? stringifyToml(config) : JSON.stringify(config, null, 2));
  return 0;
}

/** Runs a simulation with parsed flags; returns the exit code. */
async function run(args: string[]): Promise<number> {
  const { values } = parseFlags(
    { args: withPrintFormat(args), options, allowPositionals: false, strict: true },
    { once: true },
  );
  // An empty path is never meant: for --agent it would be the working directory.
  for (const flag of ["config", "out", "fundamental-feed", "external-feed", "agent"] as const) {
    nonEmptyFlag(flag, values[flag]);
  }
  // The shell leaves the `~` of `--out=~/run` alone; a directory named `~` is never meant. (The
  // backtest expands its `--agent` path itself.)
  for (const flag of ["config", "out", "fundamental-feed", "external-feed"] as const) {
    const given = values[flag];
    if (given !== undefined) values[flag] = expandHome(given);
  }
  if (values["print-config"] !== undefined) return await printConfig(values);
  const mode = progressMode(values);
  if (values.agent !== undefined || values["agent-name"] !== undefined) {
    return await backtest(values);
  }
  for (const flag of ["agent-params", "agents", "agent-max-memory", "report", "delay"] as const) {
    if (values[flag] !== undefined) {
      throw new UsageError(`--${flag}: only for a backtest (give --agent-name <Class>)`);
    }
  }
  // The flags take the file's place before it is checked.
  const loaded = await loadForCommand(values.config ?? "reference", flagOverrides(values));
  const config = loaded.config;
  const threads = integerFlag("threads", values.threads, 1, MAX_THREADS) ??
    Math.max(1, navigator.hardwareConcurrency || 1);
  const depth = integerFlag("depth", values.depth, 1, MAX_STEP_DEPTH) ?? 5;
  const feed = await readFeeds(
    feedSources(values),
    config,
    (message) => console.error(`warning: ${message}`),
  );

  // Built (on first use, or after its sources changed) and opened before the clock starts: the
  // compile is no part of the run's wall time or rates. A library that cannot be built or loaded
  // is no usage error: `main` tells it as what this machine lacks.
  native();
  let started: number;
  let engine: SimEngine;
  try {
    started = performance.now();
    engine = SimEngine.create({ config, threads, feed });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  // Only once the model took the config: a refused run leaves an earlier run's files alone.
  let outputs: SimOutputs | null = null;
  if (values.out !== undefined) {
    try {
      prepareOutputDir(values.out, {
        replaceRun: true,
        books: config.books,
        inputs: Object.fromEntries(
          (["config", "fundamental-feed", "external-feed"] as const)
            .filter((flag) => values[flag] !== undefined)
            .map((flag) => [`--${flag}`, values[flag]!]),
        ),
      });
      // Written first, so that files of a run that fails half-way still say what made them.
      writeJsonFile(join(values.out, "config.json"), config);
      outputs = new SimOutputs(values.out, engine, depth);
    } catch (error) {
      engine.close();
      // A write the system refused keeps its own report (exit 1); the rest is the path's fault.
      if (!(error instanceof UsageError)) throw error;
      throw new UsageError(`--out: ${error.message}`);
    }
  }
  const facts = new FactsCollector(config.books, returnInterval(config.step), {
    price: config.exchange.priceDecimals,
    volume: config.exchange.volumeDecimals,
  });
  const progress = new Progress(config.duration, { mode });
  const tick = 10 ** -config.exchange.priceDecimals;
  let events = 0;
  let reached = 0;
  using interrupt = listenForInterrupt();
  const breathe = eventLoopBreather();
  try {
    for (
      let window = engine.steps(WINDOW_STEPS, depth);
      window !== null;
      window = interrupt.signal.aborted ? null : engine.steps(WINDOW_STEPS, depth)
    ) {
      for (const step of window) {
        events += step.eventsProcessed;
        const elapsed = step.timestamp - config.start;
        for (let book = 0; book < config.books; book++) {
          const record = step.rawEvents(book);
          for (const e of record) {
            if (e.kind === EventKind.TRADE) {
              facts.trade(e.price, e.volume);
            }
          }
          outputs?.writeEvents(book, record);
          const bid = step.levels(book, 0, 1)[0]?.price ?? NaN;
          const ask = step.levels(book, 1, 1)[0]?.price ?? NaN;
          facts.observe(book, elapsed, bid, ask, tick, step.processValues(book).fundamental);
        }
        outputs?.writeStep(step.timestamp, step);
        progress.update(elapsed, events);
        reached = elapsed;
      }
      await breathe();
    }
  } finally {
    try {
      outputs?.close();
    } finally {
      engine.close();
    }
  }
  const wallSeconds = (performance.now() - started) / 1000;
  // A stop that came after the last step interrupted nothing.
  const interrupted = interrupt.signal.aborted && reached < config.duration;
  if (interrupted) {
    progress.note(
      `interrupted at ${clock(reached)} of ${clock(config.duration)} simulated` +
        (values.out !== undefined ? `; the files in ${values.out} cover the run up to there` : ""),
    );
  }
  const summary = facts.summary();
  const runInfo = {
    events,
    wallSeconds,
    simulatedSeconds: reached / 1e9,
    books: config.books,
  };
  // The record of the run is written before the report is printed: the files are complete even
  // when stdout is gone (a closed pipe, a full disk).
  if (values.out !== undefined) {
    const report = {
      ...(interrupted
        ? { interrupted: true, signal: interrupt.signal.reason as string, simulated: reached }
        : {}),
      source: loaded.source,
      seed: config.seed,
      books: config.books,
      duration: config.duration,
      // The threads used: a book runs on one thread, so there are never more than books.
      threads: Math.min(threads, config.books),
      referenceDynamics: config.referenceDynamics,
      // The recorded feeds replace the processes, so they belong to what reproduces the run.
      ...(feed.fundamental || feed.external ? { feeds: describeFeeds(values, feed) } : {}),
      events,
      wallSeconds,
      eventsPerSecond: events / wallSeconds,
      simulatedSecondsPerWallSecond: runInfo.simulatedSeconds / wallSeconds,
      facts: summary,
    };
    writeJsonFile(join(values.out, "summary.json"), report);
  }
  printOut(formatReport(runInfo, summary));
  // As a backtest names its files: the run's own may be hundreds of MB in a directory of its own.
  if (values.out !== undefined) printOut(`wrote ${values.out}`);
  return interrupted ? interrupt.exitCode() : 0;
}

/** `taos sim`. */
export const command: Command = {
  name: "sim",
  summary: "run a market simulation",
  help,
  shortHelp: true,
  run,
};
