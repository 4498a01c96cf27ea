/**
 * Offline backtests: run the market simulation with copies of a trading agent plugged in
 * through the same path remote miners take — the per-miner state update at every publish, the
 * agent's measured compute time turned into the validator's execution delay, the validator's
 * instruction validation — and score them with the subnet's scoring.
 *
 * ```ts
 * import { backtest } from "./backtest.ts";
 * import { smallPreset } from "../sim/config.ts";
 * const report = await backtest({
 *   agent: "MarketMakerAgent",
 *   config: smallPreset(),
 *   seed: 7,
 *   duration: 600e9,
 * });
 * console.log(report.agents[0].score);
 * ```
 * @module
 */
import { join } from "node:path";
import { printOut, UsageError } from "../cli/command.ts";
import { counted } from "../cli/counted.ts";
import { integerFlag } from "../cli/flag_values.ts";
import { expandHome } from "../cli/home_path.ts";
import {
  formatDuration,
  parseDuration,
  parseSimConfig,
  type SimConfig,
  smallPreset,
} from "../sim/config.ts";
import { SimEngine } from "../sim/engine.ts";
import { feedSources, readFeeds } from "../sim/feed.ts";
import { listenForInterrupt } from "../sim/interrupt.ts";
import { formatUnits } from "../native/exchange.ts";
import { prepareOutputDir, writeFileWhole, writeJsonFile } from "../sim/outputs.ts";
import {
  DEFAULT_QUERY_TIMEOUT_SECONDS,
  executionDelay,
  normalizeSharpe,
  roundHalfEven,
} from "../validator/scoring/formulas.ts";
import { observationFromPublish, Scorer } from "../validator/scoring/scorer.ts";
import {
  AgentHost,
  AgentStartError,
  defaultHeapMb,
  PROCESS_MEMORY_SLACK_MB,
  REPLY_MARGIN_S,
} from "../miner/agent_host.ts";
import { RepeatLimiter } from "../miner/repeat_limiter.ts";
import { nonFiniteForNull, writtenAsNull } from "../miner/reply_json.ts";
import type { AgentClass, AgentParams } from "./sdk/agent.ts";
import {
  ignoredField,
  MAX_REQUESTED_DELAY_NS,
  type Rejection,
  type RejectionRule,
  scheduleInstructions,
  validateInstructions,
} from "./sdk/instructions.ts";
import {
  AgentLoadError,
  checkAgentParams,
  constructAgent,
  DEFAULT_AGENTS_DIR,
  parseAgentParams,
  unusedAgentParams,
} from "./sdk/loader.ts";
import { simulationConfigFor, simulationConfigSchema, stateForAgent } from "./sdk/state.ts";
import { HostRunner, InThreadRunner, type StepRunner } from "./step_runner.ts";

/** What to backtest. */
export interface BacktestOptions {
  /** Agent class, or its name (looked up in `agentPath`, then among the bundled examples). */
  agent: AgentClass | string;
  /** Directory or file to load a named agent from (default `~/.taos/agents`). */
  agentPath?: string;
  /** `k=v k2=v2` or parsed params. */
  params?: string | AgentParams;
  /** Simulation config (default: the small preset). */
  config?: SimConfig;
  /** Master seed (default: the config's). */
  seed?: number;
  /** Simulated ns to run (default: the config's duration). */
  duration?: number;
  /** Copies of the agent, uids 0 … agents−1 (default 1). */
  agents?: number;
  /** Miner query timeout of the delay formula, seconds (default: the validator's, 3). The agent
   * has this less the 0.5 s a live miner keeps back for its reply. */
  timeoutSeconds?: number;
  /**
   * Execution delay before the agent's instructions reach the exchange (plus any delay an
   * instruction asks for): `"validator"` (default) the validator's formula on the measured compute
   * time, which varies from run to run; `"none"` as the reference's offline proxy; a number, that
   * many ns every time, at most 1 h as an instruction's own delay. Only the last two make a seed's
   * result reproducible.
   */
  delay?: DelayModel;
  /** Native worker threads (default 1; results do not depend on it). */
  threads?: number;
  /**
   * Each named agent copy's memory limit, MiB, as the miner's `--agent.max_memory` (default: V8's
   * heap limit): a copy over it is replaced by a fresh instance, as on a miner.
   */
  maxMemoryMb?: number;
  /**
   * How messages about the memory limit name its setting (default `maxMemoryMb`; `taos sim` says
   * `--agent-max-memory`).
   */
  maxMemoryName?: string;
  /** Called after every publish with the simulated ns reached and events processed so far. */
  onProgress?: (simulatedNs: number, events: number) => void;
  /**
   * Told of each copy's first lost response (later ones are only counted), and once of each
   * restart or error between updates of a copy.
   */
  onWarning?: (message: string) => void;
  /** Recorded price feeds in place of the synthetic processes (as `taos sim` takes them). */
  feed?: { fundamental?: number[]; external?: number[] };
  /**
   * Aborting it makes the next publish the last: the copies get it as the end of the simulation
   * (their `onEnd` runs) and the report covers what ran.
   */
  signal?: AbortSignal;
  /**
   * Called once the parameters and the config are accepted, every copy has started and the
   * engine is built, before the first publish: output made here is left behind only by a backtest
   * that runs. What it throws ends the backtest.
   */
  onReady?: () => void;
}

/** How a backtest turns an agent's reply into an execution delay; see {@linkcode BacktestOptions}. */
export type DelayModel = "validator" | "none" | number;

/** Result of one book for one agent copy. */
export interface BookResult {
  bookId: number;
  sharpe: number;
  normalizedSharpe: number;
  activityFactor: number;
  /**
   * Inventory value change, quote, each value at the last two-sided mid of the book: from the
   * first publish at which the book was two-sided to the last (0 for a book that never was).
   */
  pnl: number;
  /** Traded quote volume. */
  volume: number;
  /** Fees paid (negative = rebates received), quote. */
  fees: number;
  trades: number;
}

/** Result of one agent copy. */
export interface AgentResult {
  uid: number;
  /** Score EMA at the end (what weights are set from). */
  score: number;
  /** Reward of the final state. */
  reward: number;
  pnl: number;
  volume: number;
  fees: number;
  trades: number;
  books: BookResult[];
  /**
   * Instructions forwarded, rejected by validation (in all and per rule), and responses lost to
   * errors or timeout.
   */
  instructions: {
    accepted: number;
    rejected: number;
    rejectedBy: Partial<Record<RejectionRule, number>>;
    failedResponses: number;
  };
  /** Why the first response was lost (an error the agent raised, or the timeout), if any was. */
  firstFailure: string | null;
  /** Why the validator dropped the first instruction it dropped from a reply it forwarded. */
  firstRejection: string | null;
  /** Mean and max compute time of `onUpdate`, ms. */
  computeMs: { mean: number; max: number };
}

/** A copy's result before its first publish: nothing traded, sent or lost. */
export function freshResult(uid: number, books: number): AgentResult {
  return {
    uid,
    score: 0,
    reward: 0,
    pnl: 0,
    volume: 0,
    fees: 0,
    trades: 0,
    books: Array.from({ length: books }, (_, bookId) => ({
      bookId,
      sharpe: 0,
      normalizedSharpe: 0.5,
      activityFactor: 0,
      pnl: 0,
      volume: 0,
      fees: 0,
      trades: 0,
    })),
    instructions: { accepted: 0, rejected: 0, rejectedBy: {}, failedResponses: 0 },
    firstFailure: null,
    firstRejection: null,
    computeMs: { mean: 0, max: 0 },
  };
}

/** Time series for plots, one entry per publish. */
export interface BacktestSeries {
  timestamps: number[];
  /** Per book, at one decimal more than the prices (null while a side is empty). */
  mid: (number | null)[][];
  /** Per book, at the mid's decimals. */
  fundamental: number[][];
  /** Per book, at the prices' decimals (null while a side is empty). */
  spread: (number | null)[][];
  /**
   * Per agent copy, at the quote's decimals: inventory value summed over books (at the last
   * two-sided mid), minus starting wealth per book; a book that has not had a two-sided mid yet
   * counts as its starting wealth.
   */
  inventoryValue: number[][];
  /** Per agent copy. */
  score: number[][];
}

/** Most copies of an agent in one backtest: the uids of a subnet. */
export const MAX_COPIES = 256;

/** What {@linkcode backtest} returns. */
export interface BacktestReport {
  agent: string;
  params: AgentParams;
  seed: number;
  books: number;
  /** Simulated ns run. */
  duration: number;
  /** Present (true) when the run was stopped early through `signal`. */
  interrupted?: true;
  /** The delay model the run used. */
  delay: DelayModel;
  publishes: number;
  wallSeconds: number;
  agents: AgentResult[];
  /** Mean over copies. */
  meanScore: number;
  series: BacktestSeries;
}

/**
 * A backtest ended because its process held more memory than its named agent's copies may: one
 * allocating within an update, which its worker's own check cannot see, in a thread Deno cannot
 * stop.
 */
export class AgentMemoryError extends Error {
  override name = "AgentMemoryError";
}

/** How often a backtest reads its process's memory, ms. */
const PROCESS_MEMORY_CHECK_MS = 250;

/** `bytes` in whole MiB. */
const mib = (bytes: number) => Math.round(bytes / 2 ** 20);

/**
 * What the process holds outside the run's own JavaScript heap, bytes: the copies' threads (their
 * heaps and buffers) and the engine. The run's heap grows with its own bookkeeping (the report's
 * series, the scorer), which is no copy's doing.
 */
function heldOutsideOwnHeap(): { rss: number; outside: number } {
  const { rss, heapTotal } = Deno.memoryUsage();
  return { rss, outside: rss - heapTotal };
}

/**
 * Watches the backtest's process from when the run starts: once what it holds outside the run's
 * own heap ({@linkcode heldOutsideOwnHeap}) has grown by more than twice each copy's limit (heap,
 * and as much outside it) plus {@linkcode PROCESS_MEMORY_SLACK_MB}, every step `guard`ed then or
 * later rejects with an {@linkcode AgentMemoryError}. The copies run as threads of this process, so
 * nothing else bounds one that allocates without yielding, or keeps allocating once replaced.
 */
export function watchProcessMemory(
  agentName: string,
  copies: number,
  limitMb: number,
  limitName: string,
): { guard<T>(step: Promise<T>): Promise<T>; stop(): void } {
  const allowedMb = copies * 2 * limitMb + PROCESS_MEMORY_SLACK_MB;
  const start = heldOutsideOwnHeap().outside;
  let exceeded: AgentMemoryError | null = null;
  // The steps under way: each leaves the set when it settles, so that a run of many steps keeps
  // nothing of the ones before (a race against one long-lived promise would keep them all).
  const waiting = new Set<(error: Error) => void>();
  const timer = setInterval(() => {
    const { rss, outside } = heldOutsideOwnHeap();
    if (outside - start <= allowedMb * 2 ** 20) return;
    clearInterval(timer);
    exceeded = new AgentMemoryError(
      `agent ${agentName} took the backtest's memory to ${mib(rss)} MiB, ` +
        `${mib(outside - start)} MiB more than at the start outside the run's own heap, past the ` +
        `${allowedMb} MiB its ${counted(copies, "copy", "copies")} with a memory limit of ` +
        `${limitMb} MiB may add (twice the limit each, plus ${PROCESS_MEMORY_SLACK_MB} MiB); ` +
        `a copy's thread cannot be stopped, so the run ends (${limitName} raises the limit)`,
    );
    for (const fail of waiting) fail(exceeded);
  }, PROCESS_MEMORY_CHECK_MS);
  Deno.unrefTimer(timer);
  return {
    guard: <T>(step: Promise<T>) =>
      new Promise<T>((resolve, reject) => {
        if (exceeded !== null) return reject(exceeded);
        waiting.add(reject);
        step.then(resolve, reject).finally(() => waiting.delete(reject));
      }),
    stop: () => clearInterval(timer),
  };
}

/**
 * Runs a backtest; see the module doc. Throws AgentLoadError for an unloadable agent, and
 * AgentMemoryError when a named agent's copies take the process past their memory.
 */
export async function backtest(options: BacktestOptions): Promise<BacktestReport> {
  const rawParams = typeof options.params === "object"
    ? options.params
    : parseAgentParams(options.params);
  const copies = options.agents ?? 1;
  if (!Number.isInteger(copies) || copies < 1 || copies > MAX_COPIES) {
    throw new RangeError(`agents: must be an integer in 1..${MAX_COPIES}, got ${copies}`);
  }
  const base = options.config ?? smallPreset();
  let config: SimConfig;
  try {
    config = parseSimConfig({
      ...base,
      seed: options.seed ?? base.seed,
      duration: options.duration ?? base.duration,
      remoteAgentCount: Math.max(base.remoteAgentCount, copies),
    });
  } catch (error) {
    if (copies <= base.remoteAgentCount) throw error;
    // The copies set the account count: name them first, not a field the user never wrote.
    const [head, ...issues] = (error as Error).message.split("\n");
    throw new Error(
      [
        head,
        `  agents: ${copies} copies need ${copies} miner accounts per book (remoteAgentCount), ` +
        `which this config cannot hold:`,
        ...issues,
      ].join("\n"),
    );
  }
  const timeout = options.timeoutSeconds ?? DEFAULT_QUERY_TIMEOUT_SECONDS;
  // What a live miner leaves its agent of the timeout.
  const budget = Math.max(0, Math.round((timeout - REPLY_MARGIN_S) * 1e6) / 1e6);
  const delay = options.delay ?? "validator";
  if (
    typeof delay === "number" &&
    !(Number.isSafeInteger(delay) && delay >= 0 && delay <= MAX_REQUESTED_DELAY_NS)
  ) {
    throw new RangeError(
      `delay: must be "validator", "none" or a whole number of ns in 0..${MAX_REQUESTED_DELAY_NS}, ` +
        `got ${delay}`,
    );
  }
  const delayOf = (seconds: number) =>
    delay === "validator" ? executionDelay(seconds, timeout) : delay === "none" ? 0 : delay;
  const simulation = simulationConfigFor(config);
  // A named agent's worker hands the update over unchecked: its config comes with the fields in
  // the order a miner's check of the update gives them.
  const agentConfig = typeof options.agent === "string"
    ? simulationConfigSchema.parse(simulation)
    : simulation;
  const { runners, agentName, params } = await startRunners(options, rawParams, copies);
  // Nothing is published before the grace period but the end of the run, which always is.
  const firstPublish = Math.max(1, Math.ceil((config.gracePeriod - config.start) / config.step)) *
    config.step;
  if (firstPublish >= config.duration) {
    // The grace period is a time of the simulation, the duration a length of the run: a run that
    // does not start at 0 gives the publish both ways.
    const intoRun = formatDuration(firstPublish);
    const publishAt = config.start === 0
      ? intoRun
      : `${formatDuration(config.start + firstPublish)}, ${intoRun} into the run`;
    const grace = formatDuration(config.gracePeriod);
    options.onWarning?.(
      `the duration (${formatDuration(config.duration)}) does not reach past the first publish ` +
        `after the config's ${grace} grace period (at ${publishAt}): the agent gets only the ` +
        `final publish, and its score rests on that one (give at least ` +
        `${formatDuration(firstPublish + config.step)})`,
    );
  }
  const scorer = new Scorer({
    uids: copies,
    books: config.books,
    config: {
      minerWealth: simulation.miner_wealth,
      publishInterval: config.step,
      volumeDecimals: config.exchange.volumeDecimals,
    },
  });
  const wealth = simulation.miner_wealth;
  const results = Array.from({ length: copies }, (_, uid) => freshResult(uid, config.books));
  /**
   * Per copy and book, the inventory value at the first publish at which the book was two-sided,
   * and at the last publish: a book that has not been two-sided yet has no value to start from.
   */
  const firstValue: (number | undefined)[][] = Array.from({ length: copies }, () => []);
  const lastValue: (number | undefined)[][] = Array.from({ length: copies }, () => []);
  const computeTotal = new Array(copies).fill(0);
  /** Last two-sided mid per book: P&L and the plotted value use it when a side is empty. */
  const lastMid: (number | undefined)[] = [];
  const { priceDecimals, quoteDecimals, volumeDecimals } = config.exchange;
  /** Traded quote volume and fees per copy and book, in quote units: sums of doubles would drift
   * past the quote's last decimal over a long run. */
  const tradedUnits = Array.from(
    { length: copies },
    () => new Array<bigint>(config.books).fill(0n),
  );
  const feeUnits = Array.from({ length: copies }, () => new Array<bigint>(config.books).fill(0n));
  const units = (amount: number, decimals: number) => BigInt(Math.round(amount * 10 ** decimals));
  /** A fill's notional in quote units, truncated as the exchange does. */
  const notionalUnits = (price: number, volume: number) => {
    const exact = units(price, priceDecimals) * units(volume, volumeDecimals);
    const shift = quoteDecimals - priceDecimals - volumeDecimals;
    return shift >= 0 ? exact * 10n ** BigInt(shift) : exact / 10n ** BigInt(-shift);
  };
  const quoteAmount = (amount: bigint) => Number(formatUnits(amount, quoteDecimals));
  // A mid of two tick prices is exact at one decimal more than they are; the fundamental is
  // plotted against it, so it is kept at the same resolution.
  const midOf = (bid: number, ask: number) => roundHalfEven((bid + ask) / 2, priceDecimals + 1);
  const series: BacktestSeries = {
    timestamps: [],
    mid: Array.from({ length: config.books }, () => []),
    fundamental: Array.from({ length: config.books }, () => []),
    spread: Array.from({ length: config.books }, () => []),
    inventoryValue: Array.from({ length: copies }, () => []),
    score: Array.from({ length: copies }, () => []),
  };

  const lose = (uid: number, why: string) => {
    const result = results[uid];
    result.instructions.failedResponses++;
    if (result.firstFailure !== null) return;
    result.firstFailure = why;
    options.onWarning?.(`uid ${uid}: response lost: ${why} (later losses are only counted)`);
  };
  const drop = (uid: number, rejection: Rejection) => {
    const result = results[uid];
    if (result.firstRejection !== null) return;
    result.firstRejection = `instruction ${rejection.index}: ${rejection.reason}`;
    options.onWarning?.(
      `uid ${uid}: the validator dropped ${result.firstRejection} (later drops are only counted)`,
    );
  };

  /** Per uid: a field validators ignore was named already. */
  const ignoredWarned: boolean[] = new Array(copies).fill(false);
  const started = performance.now();
  let publishes = 0;
  let events = 0;
  let engine: SimEngine | null = null;
  let ending = false;
  let memory: ReturnType<typeof watchProcessMemory> | null = null;
  try {
    engine = SimEngine.create({
      config,
      threads: options.threads ?? 1,
      feed: options.feed,
      // Only the copies trade: the other accounts of the config stay as they started.
      publishedAccounts: copies,
    });
    options.onReady?.();
    if (typeof options.agent === "string") {
      memory = watchProcessMemory(
        agentName,
        copies,
        options.maxMemoryMb ?? defaultHeapMb(),
        options.maxMemoryName ?? "maxMemoryMb",
      );
    }
    for (let state = engine.advance(); state !== null; state = ending ? null : engine.advance()) {
      // Once stopped through `signal`, this publish is the last: the copies get it as the end of
      // the simulation, so that their onEnd runs as at a natural end.
      ending = state.final || options.signal?.aborted === true;
      const published = ending && !state.final ? { ...state, final: true } : state;
      publishes++;
      events += state.eventsProcessed;
      const observation = observationFromPublish(state);
      scorer.observe(observation);
      series.timestamps.push(state.timestamp);
      state.books.forEach((book, b) => {
        const bid = book.bid[0]?.price ?? null;
        const ask = book.ask[0]?.price ?? null;
        const twoSided = bid !== null && ask !== null;
        series.mid[b].push(twoSided ? midOf(bid, ask) : null);
        series.spread[b].push(twoSided ? roundHalfEven(ask - bid, priceDecimals) : null);
        series.fundamental[b].push(roundHalfEven(book.fundamental, priceDecimals + 1));
      });
      for (const notice of state.notices) {
        if (notice.type !== "EVENT_TRADE" || notice.trade === undefined) continue;
        const result = results[notice.agentId];
        const book = result?.books[notice.bookId];
        if (book === undefined) continue;
        tradedUnits[notice.agentId][notice.bookId] += notionalUnits(
          notice.trade.price,
          notice.trade.volume,
        );
        feeUnits[notice.agentId][notice.bookId] += units(notice.trade.fee, quoteDecimals);
        book.trades++;
      }
      observation.quotes.forEach((q, b) => {
        if (q.bid !== null && q.ask !== null) lastMid[b] = midOf(q.bid, q.ask);
      });
      for (let uid = 0; uid < copies; uid++) {
        const holdings = observation.holdings.get(uid) ?? [];
        let inventory = 0;
        observation.quotes.forEach((_, b) => {
          const h = holdings[b];
          const mid = lastMid[b];
          // Until its book has had a two-sided mid a book counts at the starting wealth: its base
          // valued at 0 would show as a loss, and the first mid as a profit of the same size.
          if (h === undefined || mid === undefined) return;
          const value = h.quote + mid * h.base;
          firstValue[uid][b] ??= value;
          lastValue[uid][b] = value;
          inventory += value - wealth;
        });
        series.inventoryValue[uid].push(roundHalfEven(inventory, quoteDecimals));
        series.score[uid].push(scorer.miners[uid].score);

        const update = stateForAgent(published, uid, agentConfig, {
          first: publishes === 1,
          start: config.start,
        });
        // Copies share the publish's books; one in this thread that reorders a level list must
        // not change what the next sees (a worker gets its own copy on the way). The last copy
        // takes the original: every other got a clone before it ran.
        if (typeof options.agent !== "string" && uid < copies - 1) {
          update.books = structuredClone(update.books);
        }
        const step = runners[uid].step(update, budget * 1000);
        const outcome = await (memory === null ? step : memory.guard(step));
        const seconds = outcome.seconds;
        computeTotal[uid] += seconds * 1000;
        results[uid].computeMs.max = Math.max(results[uid].computeMs.max, seconds * 1000);
        if (outcome.kind === "failed") {
          // Worded as the miner logs it: the method that failed and where in the agent's code.
          lose(
            uid,
            "the agent failed" + (outcome.method !== undefined ? ` in ${outcome.method}` : "") +
              `: ${outcome.message}` + (outcome.at !== undefined ? ` (at ${outcome.at})` : ""),
          );
          continue;
        }
        if (outcome.kind === "overran" || seconds > budget) {
          lose(uid, `no reply within the ${budget} s a miner leaves its agent`);
          continue;
        }
        const checked = validateInstructions(outcome.response, {
          uid,
          bookCount: config.books,
          volumes: scorer.volumeTraded(uid),
          volumeCap: scorer.volumeCap,
        });
        // Refused as a named agent's worker refuses it: a NaN JSON sends as a null of meaning.
        const meant = checked.discarded === null && outcome.written !== undefined
          ? nonFiniteForNull(outcome.written)
          : null;
        if (meant !== null) {
          lose(uid, `the agent failed: ${meant}`);
          continue;
        }
        // A named agent's worker leaves out what is on books the validator does not have, as a
        // miner does: those count as the validator's drops too.
        const unsent = (outcome.unsent ?? []).map((r) => ({
          ...r,
          reason: `${r.reason} (not sent)`,
        }));
        // In reply order, so that the first named is the reply's first dropped instruction.
        const rejected = [...unsent, ...checked.rejected].sort((a, b) => a.index - b.index);
        const counts = results[uid].instructions;
        counts.accepted += checked.accepted.length;
        counts.rejected += rejected.length;
        for (const { rule } of rejected) {
          counts.rejectedBy[rule] = (counts.rejectedBy[rule] ?? 0) + 1;
        }
        if (checked.discarded !== null) {
          const note = outcome.written === undefined
            ? ""
            : writtenAsNull(outcome.written, checked.rejected[0]);
          lose(uid, `reply discarded: ${checked.discarded}${note}`);
        } else if (rejected.length > 0) drop(uid, rejected[0]);
        if (!ignoredWarned[uid] && checked.discarded === null) {
          // A named agent's worker judged the reply as the agent wrote it, before leaving out
          // instructions on books the simulation lacks: its numbering is the agent's.
          const ignored = outcome.ignored ?? ignoredField(outcome.response);
          if (ignored !== null) {
            ignoredWarned[uid] = true;
            options.onWarning?.(`uid ${uid}: ${ignored} (said once)`);
          }
        }
        for (
          const batch of scheduleInstructions(checked.accepted, delayOf(seconds))
        ) {
          engine.inject(uid, batch.instructions, batch.delayNs);
        }
      }
      options.onProgress?.(state.timestamp - config.start, events);
    }
  } finally {
    memory?.stop();
    engine?.close();
    for (const runner of runners) runner.close();
  }

  for (const result of results) {
    const record = scorer.miners[result.uid];
    result.score = record.score;
    result.reward = record.reward;
    result.computeMs.mean = publishes > 0 ? computeTotal[result.uid] / publishes : 0;
    for (const book of result.books) {
      book.sharpe = record.sharpe.books[book.bookId];
      // The scorer's own clamp and scale, so that the two never tell different values.
      book.normalizedSharpe = normalizeSharpe(
        book.sharpe,
        scorer.config.normalizationMin,
        scorer.config.normalizationMax,
      );
      book.activityFactor = record.activity[book.bookId];
      const first = firstValue[result.uid][book.bookId];
      const last = lastValue[result.uid][book.bookId];
      book.pnl = first === undefined || last === undefined ? 0 : last - first;
      result.pnl += book.pnl;
      book.volume = quoteAmount(tradedUnits[result.uid][book.bookId]);
      book.fees = quoteAmount(feeUnits[result.uid][book.bookId]);
      result.trades += book.trades;
    }
    result.volume = quoteAmount(tradedUnits[result.uid].reduce((a, b) => a + b, 0n));
    result.fees = quoteAmount(feeUnits[result.uid].reduce((a, b) => a + b, 0n));
    // Differences of valuations: shown at the quote's decimals.
    for (const amounts of [result, ...result.books]) {
      amounts.pnl = roundHalfEven(amounts.pnl, quoteDecimals);
    }
  }
  const interrupted = options.signal?.aborted === true;
  return {
    agent: agentName,
    params,
    seed: config.seed,
    books: config.books,
    duration: interrupted
      ? (series.timestamps.at(-1) ?? config.start) - config.start
      : config.duration,
    ...(interrupted ? { interrupted: true as const } : {}),
    delay,
    publishes,
    wallSeconds: (performance.now() - started) / 1000,
    agents: results,
    meanScore: results.reduce((a, r) => a + r.score, 0) / results.length,
    series,
  };
}

/**
 * One step runner per copy: a named agent in its own worker, as a miner hosts it; a class handed
 * over directly in this thread.
 */
/**
 * Starts the copies of the agent. A named agent is loaded in workers only, each with the miner's
 * protections: its module code never runs in this thread, where an exit or an endless loop at
 * load would end or hang the whole backtest. Returns them with the agent's name and the
 * parameters it was constructed with (its schema's output).
 */
async function startRunners(
  options: BacktestOptions,
  rawParams: AgentParams,
  copies: number,
): Promise<{ runners: StepRunner[]; agentName: string; params: AgentParams }> {
  const uids = Array.from({ length: copies }, (_, uid) => uid);
  const agent = options.agent;
  const written = typeof options.params === "string" ? options.params : undefined;
  if (typeof agent !== "string") {
    const params = checkAgentParams(agent, rawParams, written);
    const unused = unusedAgentParams(agent, rawParams);
    if (unused !== null) options.onWarning?.(unused);
    const runners = await Promise.all(
      uids.map(async (uid) =>
        new InThreadRunner(await constructAgent(agent, agent.name, uid, params), uid)
      ),
    );
    return { runners, agentName: agent.name, params };
  }
  // As written, not as parsed: each worker's loader gives text to a parameter its schema wants
  // as text (see `checkAgentParams`).
  const spec = {
    path: options.agentPath ?? DEFAULT_AGENTS_DIR,
    name: agent,
    params: written ?? rawParams,
  };
  // An agent that fails the same way at every publish (ending its worker, say) is told of once.
  const repeats = new RepeatLimiter(Infinity);
  const warn = (uid: number, message: string) => {
    if (repeats.pass(`${uid} ${message}`, message) === null) return;
    options.onWarning?.(`uid ${uid}: ${message} (repeats are not shown)`);
  };
  const started = await Promise.allSettled(
    uids.map((uid) =>
      AgentHost.start({ ...spec, uid }, {
        // Up to 256 copies: a process each would cost several times a thread's memory and start-up.
        isolation: "thread",
        maxMemoryMb: options.maxMemoryMb,
        maxMemoryName: options.maxMemoryName ?? "maxMemoryMb",
        onRestart: (message) => warn(uid, message),
        onError: (message) => warn(uid, `the agent failed between updates: ${message}`),
        signal: options.signal,
      })
    ),
  );
  const hosts = started.flatMap((s) => s.status === "fulfilled" ? [s.value] : []);
  const failure = started.find((s) => s.status === "rejected");
  if (failure !== undefined) {
    for (const host of hosts) host.close();
    const error = failure.reason;
    throw error instanceof AgentStartError ? new AgentLoadError(error.message) : error;
  }
  // Every copy got the same parameters: the first tells what they became.
  if (hosts[0].paramsWarning !== null) options.onWarning?.(hosts[0].paramsWarning);
  return {
    runners: hosts.map((host) => new HostRunner(host)),
    agentName: agent,
    params: hosts[0].params ?? rawParams,
  };
}

function fixed(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : "n/a";
}

/** The delay model as the summary names it: `none`, `validator` or a duration (`50ms`). */
export function describeDelay(delay: DelayModel): string {
  return typeof delay === "number" ? formatDuration(delay) : delay;
}

/** ` (volumeCap 805, instructionsPerBook 3)`, or nothing when no instruction was rejected. */
export function describeRules(counts: Partial<Record<RejectionRule, number>>): string {
  const entries = Object.entries(counts);
  return entries.length === 0 ? "" : ` (${entries.map(([rule, n]) => `${rule} ${n}`).join(", ")})`;
}

/** `--delay`: `validator`, `none` or a duration such as `50ms`. */
function parseDelayFlag(value: unknown): DelayModel | undefined {
  if (value === undefined) return undefined;
  const text = String(value);
  if (text === "validator" || text === "none") return text;
  const ns = parseDuration(text);
  if (ns === undefined) {
    throw new UsageError(
      `--delay: '${text}' is not validator, none or a duration (0, 500us, 50ms, 1s)`,
    );
  }
  if (ns > MAX_REQUESTED_DELAY_NS) throw new UsageError(`--delay: '${text}' is longer than 1h`);
  return ns;
}

/** Human-readable summary of a backtest: per-book and overall score, P&L, volume and fees. */
export function formatBacktestReport(report: BacktestReport): string {
  const lines = [
    `${report.agent} backtest: ${counted(report.agents.length, "copy", "copies")}, ${
      counted(report.books, "book")
    }, seed ${report.seed}, ${counted(report.publishes, "publish", "publishes")}, ` +
    `delay ${describeDelay(report.delay)}, ${fixed(report.wallSeconds, 1)} s wall`,
  ];
  for (const a of report.agents) {
    lines.push(
      `uid ${a.uid}: score ${fixed(a.score, 4)} (last reward ${fixed(a.reward, 4)}), ` +
        `P&L ${fixed(a.pnl, 2)}, quote volume ${fixed(a.volume, 2)}, fees ${fixed(a.fees, 2)}, ` +
        `${a.trades} trades, instructions ${a.instructions.accepted} accepted / ` +
        `${a.instructions.rejected} rejected${describeRules(a.instructions.rejectedBy)}, ` +
        `${a.instructions.failedResponses} responses lost, ` +
        `compute ${fixed(a.computeMs.mean, 2)} ms mean`,
    );
    if (a.firstFailure !== null) lines.push(`  first lost response: ${a.firstFailure}`);
    if (a.firstRejection !== null) lines.push(`  first dropped: ${a.firstRejection}`);
    lines.push(
      `  ${"book".padEnd(5)} ${"sharpe".padStart(7)} ${"N(s)".padStart(7)} ` +
        `${"activity".padStart(9)} ${"P&L".padStart(11)} ${"quote volume".padStart(13)} ` +
        `${"fees".padStart(9)} ${"trades".padStart(7)}`,
    );
    for (const b of a.books) {
      lines.push(
        `  ${String(b.bookId).padEnd(5)} ${fixed(b.sharpe, 3).padStart(7)} ` +
          `${fixed(b.normalizedSharpe, 4).padStart(7)} ${fixed(b.activityFactor, 4).padStart(9)} ` +
          `${fixed(b.pnl, 2).padStart(11)} ${fixed(b.volume, 2).padStart(13)} ` +
          `${fixed(b.fees, 2).padStart(9)} ${String(b.trades).padStart(7)}`,
      );
    }
  }
  lines.push(`mean score ${fixed(report.meanScore, 4)}`);
  return lines.join("\n");
}

/** The files a backtest writes to its output directory (and one being written). */
const BACKTEST_FILES = /^(?:backtest\.json|report\.html)(?:\.partial)?$/;

/**
 * `taos sim --agent ...`: takes the parsed `taos sim` flags (`agent`, `agent-name`,
 * `agent-params`, `agents`, `report`, `config`, `seed`, `books`, `duration`, `threads`, `out`,
 * `quiet`, `progress`), runs {@linkcode backtest}, prints the summary and writes `backtest.json` (and
 * `report.html` with `--report`) to `--out` (default `out/backtest`). Resolves to the exit code.
 */
export async function runBacktestCommand(values: Record<string, unknown>): Promise<number> {
  const name = values["agent-name"];
  if (typeof name !== "string" || name === "") {
    throw new UsageError("--agent-name: the agent's class name is required with --agent");
  }
  if (values.depth !== undefined) {
    throw new UsageError(
      "--depth: sets the L2 depth of a plain simulation's --out files; " +
        "a backtest writes backtest.json instead",
    );
  }
  const { flagOverrides, loadForCommand } = await import("../sim/load.ts");
  const source = typeof values.config === "string" ? values.config : "small";
  // The flags take the file's place before it is checked, as in a plain simulation.
  const { config } = await loadForCommand(source, flagOverrides(values));
  const copies = integerFlag("agents", values.agents, 1, MAX_COPIES) ?? 1;
  const delay = parseDelayFlag(values.delay);
  const threads = integerFlag("threads", values.threads, 1, 1024);
  // The miner's bounds for --agent.max_memory.
  const maxMemoryMb = integerFlag("agent-max-memory", values["agent-max-memory"], 16, 1_048_576);
  const out = typeof values.out === "string" ? values.out : join("out", "backtest");
  const feed = await readFeeds(
    feedSources(values),
    config,
    (message) => console.error(`warning: ${message}`),
  );
  const agentPath = typeof values.agent === "string" ? expandHome(values.agent) : undefined;
  const { clock, Progress, progressMode } = await import("../sim/progress.ts");
  const progress = new Progress(config.duration, { mode: progressMode(values) });
  let report: BacktestReport;
  using interrupt = listenForInterrupt();
  try {
    report = await backtest({
      agent: name,
      agentPath,
      params: typeof values["agent-params"] === "string" ? values["agent-params"] : undefined,
      config,
      agents: copies,
      delay,
      threads,
      maxMemoryMb,
      maxMemoryName: "--agent-max-memory",
      onProgress: (done, events) => progress.update(done, events),
      onWarning: (message) => progress.note(`warning: ${message}`),
      feed,
      signal: interrupt.signal,
      // Only once everything is accepted and every copy has started: a refused backtest leaves
      // no directory behind. An earlier backtest's files go here, as an earlier simulation's do
      // in `taos sim --out`: a run without --report leaves no report.html of another run, and one
      // of the files being a directory is refused before the run rather than after it.
      onReady: () => {
        try {
          prepareOutputDir(out, { replaceRun: true, runFiles: BACKTEST_FILES });
        } catch (error) {
          // A write the system refused keeps its own report (exit 1); the rest is the path's fault.
          if (!(error instanceof UsageError)) throw error;
          throw new UsageError(`--out: ${error.message}`);
        }
      },
    });
  } catch (error) {
    // Ctrl-C while the copies load: nothing ran, so there is no report to write.
    if (interrupt.signal.aborted && error instanceof AgentLoadError) {
      progress.note("interrupted while the agent was loading");
      return interrupt.exitCode();
    }
    if (error instanceof AgentLoadError) throw new UsageError(error.message);
    // The copy's thread runs on: the process must end now, not after a report.
    if (error instanceof AgentMemoryError) {
      progress.note(`taos sim: ${error.message}`);
      return 1;
    }
    if (error instanceof Error && error.message.startsWith("invalid simulation config")) {
      throw new UsageError(error.message);
    }
    throw error;
  }
  if (report.interrupted) {
    progress.note(
      `interrupted at ${clock(report.duration)} simulated, after ${
        counted(report.publishes, "publish", "publishes")
      }; ` +
        "the report covers them",
    );
  }
  // The files first, each whole or not at all: a run whose stdout is gone still has them.
  const written = [join(out, "backtest.json")];
  writeJsonFile(written[0], report);
  let reportFailure: unknown = null;
  if (values.report === true) {
    const { renderReport } = await import("./report.ts");
    const page = join(out, "report.html");
    try {
      writeFileWhole(page, renderReport(report));
      written.push(page);
    } catch (error) {
      // The results are in backtest.json: the summary is still printed before the failure.
      reportFailure = error;
    }
  }
  printOut(formatBacktestReport(report));
  for (const path of written) printOut(`wrote ${path}`);
  if (reportFailure !== null) throw reportFailure;
  return report.interrupted ? interrupt.exitCode() : 0;
}
