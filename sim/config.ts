/**
 * Simulation configuration: our JSON format, validated with zod (errors name the field path), the
 * embedded default (the reference's production `simulation_0.xml`: 20 books, one simulated day,
 * 256 remote accounts, every background agent group) and a small fast preset for demos and tests.
 * @module
 */
import { totalmem } from "node:os";
import { cutChars, quotedChars } from "../cli/code_points.ts";
import { z } from "../cli/zod_messages.ts";
import { gridUnits } from "./grid.ts";

const units: Record<string, number> = {
  ns: 1,
  us: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
  d: 86400e9,
};

/**
 * A duration as written: a number, then a unit (ns when none). Spaces after the number are matched
 * one way only: two optional runs of them around an optional unit backtrack quadratically.
 */
const DURATION_SYNTAX = /^\s*(\d+(?:\.\d+)?)\s*(?:(ns|us|ms|s|m|h|d)\s*)?$/;

/**
 * The ns `text` stands for, exactly (a decimal string times its unit, in integers: `1.1s` as a
 * double product is 1100000000.0000002 ns), or null when that is not a whole number.
 */
function exactNs(match: RegExpExecArray): bigint | null {
  const [whole, fraction = ""] = match[1].split(".");
  const scaled = BigInt(whole + fraction) * BigInt(units[match[2] ?? "ns"]);
  const divisor = 10n ** BigInt(fraction.length);
  return scaled % divisor === 0n ? scaled / divisor : null;
}

/** Parses a duration such as `90s`, `10m`, `1h`, `1d`, `250ms` or a whole number of ns. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION_SYNTAX.exec(text);
  if (match === null) return undefined;
  const ns = exactNs(match);
  return ns !== null && ns <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(ns) : undefined;
}

/** Whole days of the ns clock: times beyond 2^53 - 1 ns are not exact as doubles. */
const CLOCK_DAYS = Math.floor(Number.MAX_SAFE_INTEGER / units.d);

/** Why `text` is not a duration: a fraction of a ns, too long for the ns clock, or not written as
 * one. */
export function durationProblem(text: string): string {
  const match = DURATION_SYNTAX.exec(text);
  if (match === null) return `${quote(text)} is not a duration (e.g. 90s, 10m, 1h)`;
  return exactNs(match) === null
    ? `${quote(text)} is not a whole number of nanoseconds`
    : `${quote(text)} is longer than the clock's ${CLOCK_DAYS} days`;
}

/** `text` in quotes for a message, cut short: a value may be most of a file. */
export function quote(text: string): string {
  return quotedChars(text, 40);
}

/** The most order books a simulation runs. */
export const MAX_BOOKS = 4096;

/** Formats ns as the largest exact unit (`5s`, `10m`, `1500ms`). */
export function formatDuration(ns: number): string {
  for (const unit of ["d", "h", "m", "s", "ms", "us"]) {
    if (ns !== 0 && ns % units[unit] === 0) return `${ns / units[unit]}${unit}`;
  }
  return `${ns}ns`;
}

/**
 * A whole number in `min..max`, with one message: a fraction is told it is not whole, and only a
 * whole number is held against the range. Not zod's integer check: for a number past 2^53 it
 * adds a second issue to the range's ("expected int to be <=9007199254740991").
 */
export function integer(
  min: number,
  max = Number.MAX_SAFE_INTEGER,
  messages: { min?: string; max?: string } = {},
) {
  return z.number()
    .refine(Number.isInteger, {
      message: "Invalid input: expected int, received number",
      abort: true,
    })
    .min(min, messages.min).max(max, messages.max);
}

/**
 * For a check across fields: runs it once the fields it reads (dotted paths) are valid. Zod runs
 * an object's checks even when a field failed its own range or integer check (2.5 agents reach
 * them as 2.5); with this it also runs when another field is wrong, even of the wrong type, so
 * that checks of fields that are fine report beside the others' problems. A problem with the
 * object itself (not an object at all) stops every check; an unknown key stops none.
 */
export function onceValid(...fields: string[]) {
  const prefixes = fields.map((field) => field.split("."));
  const touches = (path: readonly PropertyKey[], prefix: string[]) =>
    prefix.every((key, i) => i >= path.length || String(path[i]) === key);
  return {
    when: (payload: { issues: readonly { code?: string; path?: readonly PropertyKey[] }[] }) =>
      !payload.issues.some((issue) =>
        issue.code !== "unrecognized_keys" &&
        prefixes.some((prefix) => touches(issue.path ?? [], prefix))
      ),
  };
}

/** A duration field: a non-negative integer of ns or a string with a unit. */
const duration = z.union([z.number().int().nonnegative(), z.string()], {
  error: (issue) =>
    issue.input === undefined
      ? "required"
      : "expected a non-negative integer of ns or a duration such as 90s, 10m, 1h",
}).transform((value, ctx) => {
  if (typeof value === "number") return value;
  const ns = parseDuration(value);
  if (ns === undefined) {
    ctx.addIssue({ code: "custom", message: durationProblem(value) });
    return z.NEVER;
  }
  return ns;
});

const positiveDuration = duration.refine((ns) => ns > 0, "must be positive");
/**
 * A latency or period of the model (market feed, wake-up, process update or sample, publish
 * step): at least 1 ms. Shorter ones let agents answer each other's orders in a loop a nanosecond
 * apart, or draw samples or steps by the billion: a run would never end.
 */
const reactionTime = duration.refine((ns) => ns >= 1e6, "must be at least 1ms");
const probability = z.number().min(0).max(1);
const nonNegative = z.number().nonnegative().finite();
const positive = z.number().positive().finite();

/** Account template: fixed totals, or a Pareto wealth split (section 4.0 of the model). */
const balancesSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("fixed"), base: nonNegative, quote: nonNegative }).strict(),
  z.object({
    type: z.enum(["pareto", "pareto-50"]),
    scale: positive,
    // Below 1 the draw's tail overflows the balances (the mean is infinite anyway).
    shape: z.number().min(1, "must be at least 1").finite(),
    wealth: positive,
    price: positive,
  }).strict().refine((b) => b.scale * 2 ** 53 * b.wealth < Number.MAX_VALUE, {
    // A draw is at most scale * 2^53; a balance is wealth times a share of it.
    message: "scale x 2^53 x wealth overflows a double",
    path: ["scale"],
  }),
]);

/** A fee rate: the exchange takes it in 10^-9, rounded, strictly inside (-1, 1). */
const feeRate = z.number().gt(-1).lt(1).refine(
  (rate) => Math.abs(Math.round(rate * 1e9)) < 1e9,
  "must stay inside (-1, 1) once rounded to 9 decimals",
);

const tierSchema = z.object({
  volumeRequired: nonNegative,
  makerFee: feeRate,
  takerFee: feeRate,
}).strict();

/** Fee tiers in any order: the exchange takes them sorted by `volumeRequired` (as the reference
 * sorts them), which must be distinct (see checkTierUnits); the first applies below the second,
 * whatever its own `volumeRequired`. */
const tiersSchema = z.array(tierSchema).min(1);

/** A background group's own fee policy: up to 4 tiers. */
const groupFeesSchema = z.object({ tiers: tiersSchema.max(4) }).strict();

/** Units of one asset an account may start with, and a fee tier may require: the exchange core
 * keeps a book's total holdings of each asset below 2^62 units (see the README). */
const MAX_UNITS = 2 ** 62;

/** The fee-history window when a config gives none: 24 slots of one hour. */
export const DEFAULT_FEE_WINDOW = { historySlots: 24, slotPeriod: 3600e9 } as const;

/** Per-book exchange parameters. */
const exchangeFields = z.object({
  priceDecimals: integer(2, 8).default(2),
  volumeDecimals: integer(2, 8).default(4),
  baseDecimals: integer(2, 8).default(4),
  quoteDecimals: integer(2, 12).default(10),
  initialPrice: positive.default(300),
  /** Largest leverage of one margin order (the HFT agents quote on margin up to it). */
  maxLeverage: z.number().min(0).max(100).default(0),
  /** Largest loan of one account in one book (quote). */
  maxLoan: z.number().min(0).lt(1e8).default(0),
  /** Margin-call threshold; at most 1/(2(1 + maxLeverage)). */
  maintenanceMargin: z.number().min(0).default(0),
  /** First levels per side published with their individual orders. */
  detailedDepth: integer(0, 1024).default(5),
  /** The book depth the config sent to miners reports (`book_levels`, the reference's
   * `Books@maxDepth`, which also caps `detailedDepth`); `detailedDepth` when absent. */
  maxDepth: integer(1, 1024).optional(),
  fees: z.object({
    historySlots: integer(1, 1000).default(DEFAULT_FEE_WINDOW.historySlots),
    slotPeriod: positiveDuration.default(DEFAULT_FEE_WINDOW.slotPeriod),
    tiers: tiersSchema.max(8),
  }).strict(),
}).strict();

const exchangeSchema = exchangeFields.superRefine(
  checkExchange,
  onceValid(
    "maintenanceMargin",
    "maxLeverage",
    "baseDecimals",
    "volumeDecimals",
    "initialPrice",
    "priceDecimals",
    "quoteDecimals",
    "fees.tiers",
  ),
);

function checkExchange(
  x: z.output<typeof exchangeFields>,
  ctx: z.RefinementCtx<z.output<typeof exchangeFields>>,
): void {
  const problem = (path: string, message: string) =>
    ctx.addIssue({ code: "custom", message, path: [path] });
  if (x.maintenanceMargin > 1 / (2 * (1 + x.maxLeverage))) {
    problem("maintenanceMargin", "must be at most 1/(2(1 + maxLeverage))");
  }
  if (x.baseDecimals < x.volumeDecimals) problem("baseDecimals", "must be at least volumeDecimals");
  if (x.maxDepth !== undefined && x.maxDepth < x.detailedDepth) {
    problem("maxDepth", `must be at least detailedDepth (${x.detailedDepth})`);
  }
  const ticks = x.initialPrice * 10 ** x.priceDecimals;
  if (!(ticks > 2 && ticks < 1e6)) {
    problem("initialPrice", `must lie between 2 and 1e6 ticks (of ${10 ** -x.priceDecimals})`);
  }
  checkTierUnits(x.fees.tiers, x.quoteDecimals, ["fees"], ctx);
}

/**
 * Fee tier thresholds as the exchange takes them, in whole quote units (as gridUnits): each within a
 * book's 2^62 units and, in sorted order, above the next lower tier's by at least one unit (0 and
 * 1e-300 would be one threshold). Issues name tiers by their place as given. `path` leads to the
 * tiers' `fees` object.
 */
function checkTierUnits(
  tiers: readonly { volumeRequired: number }[],
  quoteDecimals: number,
  path: (string | number)[],
  ctx: z.RefinementCtx<unknown>,
): void {
  const unit = 10 ** quoteDecimals;
  const units = tiers.map((tier) => gridUnits(tier.volumeRequired, quoteDecimals));
  const problem = (i: number, message: string) =>
    ctx.addIssue({ code: "custom", message, path: [...path, "tiers", i, "volumeRequired"] });
  units.forEach((u, i) => {
    if (u > MAX_UNITS) {
      problem(i, `must be at most ${MAX_UNITS / unit} at ${quoteDecimals} quote decimals`);
    }
  });
  // Ties keep their order as given, so the later of two equal thresholds is the one named.
  const order = units.map((_, i) => i).sort((a, b) => units[a] - units[b] || a - b);
  for (let k = 1; k < order.length; k++) {
    const [lower, i] = [order[k - 1], order[k]];
    if (units[i] > MAX_UNITS || units[i] > units[lower]) continue;
    problem(
      i,
      `must exceed tier ${lower}'s by at least one quote unit (${1 / unit} at ` +
        `${quoteDecimals} quote decimals)`,
    );
  }
}

/** Fee tiers in the order the exchange takes them: by ascending `volumeRequired`. */
export function ascendingTiers<Tier extends { volumeRequired: number }>(
  tiers: readonly Tier[],
): Tier[] {
  return [...tiers].sort((a, b) => a.volumeRequired - b.volumeRequired);
}

/**
 * Bounds of the price processes' log moves. The fundamental is P0·exp((mu − sigma²/2)·t + sigma·W_t
 * + J_t), t in days, J_t adding Poisson(lambda) jumps of Normal(muJump, sigmaJump) at each update;
 * the external signal multiplies by exp(Normal(0, sigma)) at each sample. One day's drift and
 * standard deviation, one jump's mean and standard deviation, and one sample's standard deviation
 * are each held to 10 in size (a factor of e^10 ≈ 22 000, beyond the 2 to 10^6 ticks a book's
 * prices span; drift and jump mean may be negative):
 * past that a price means nothing, and exp() of one update soon overflows to Infinity or to 0.
 */
const MAX_LOG_MOVE = 10;
const logMove = nonNegative.max(MAX_LOG_MOVE, `must be at most ${MAX_LOG_MOVE}`);
/** A drift or jump mean, which may be negative (the reference refuses that: no falling market). */
const signedLogMove = z.number().finite()
  .min(-MAX_LOG_MOVE, `must be at least -${MAX_LOG_MOVE}`)
  .max(MAX_LOG_MOVE, `must be at most ${MAX_LOG_MOVE}`);

const fundamentalSchema = z.object({
  seedInterval: duration.default(10e9),
  mu: signedLogMove,
  // sigma²/2, a day's drift down, within 10 too.
  sigma: nonNegative.max(4, "must be at most 4"),
  // The reference's jump probability per update: more would pile several jumps into each.
  lambda: nonNegative.max(1, "must be at most 1"),
  muJump: signedLogMove,
  sigmaJump: logMove,
}).strict();

/**
 * The "external" futures signal. Offline it is a synthetic seeded random walk sampled every
 * `sampleInterval` of simulated time (the reference samples a live perp price once per minute).
 */
const externalSchema = z.object({
  seedInterval: duration.default(10e9),
  sampleInterval: reactionTime.default(60e9),
  /** Std of the log-return between two samples. */
  sigma: logMove.default(0.0015),
}).strict();

/** Fields of every background agent group. */
const groupFields = {
  count: integer(0, 100_000),
  balances: balancesSchema,
  /** The group's own fee policy (history window shared with the exchange's); absent = the
   * exchange's policy, as in the reference. */
  fees: groupFeesSchema.optional(),
};

const initializationSchema = z.object({
  ...groupFields,
  tau: positiveDuration,
}).strict();

const latencyFields = {
  minOPLatency: positiveDuration,
  maxOPLatency: positiveDuration,
  opLatencyScaleRay: positive.default(0.235),
};

/** The order-placement latency is drawn between the two bounds: the reference refuses an empty
 * range. */
function latencyRange<T extends { minOPLatency: number; maxOPLatency: number }>(
  group: T,
  ctx: z.RefinementCtx<T>,
): void {
  if (group.minOPLatency >= group.maxOPLatency) {
    ctx.addIssue({
      code: "custom",
      message: `must be less than maxOPLatency (${group.minOPLatency} >= ${group.maxOPLatency} ns)`,
      path: ["minOPLatency"],
    });
  }
}

/** A stylized trader's weight scale: beyond this its weights overflow. */
const weightScale = nonNegative.max(1000, "must be at most 1000");

const stylizedSchema = z.object({
  ...groupFields,
  MFLmean: reactionTime,
  MFLstd: duration,
  ...latencyFields,
  delayMean: reactionTime,
  delaySTD: duration,
  scaleR: positive,
  sigmaF: weightScale,
  sigmaC: weightScale,
  sigmaN: weightScale,
  tau: positiveDuration,
  tauHist: integer(1),
  tauF: positive,
  // As the reference: the noise term's deviation must be above 0.
  sigmaEps: positive,
  r_aversion: positive,
  regimeChangeFlag: z.boolean().default(false),
  /** Absent = 0, as the reference reads a missing attribute. */
  regimeProb: probability.default(0),
  /** Required, as in the reference (even with regime changes off). */
  tauFRegime: positive,
  pO_alpha: nonNegative.lt(1, "must be below 1").default(0),
  /**
   * The start-up price path each agent's return history is read from: X_t = GBM_X0 ·
   * exp((GBM_mu − GBM_sigma²/2)·t + GBM_sigma·W_t) on t in [0, 1], prices P0·(1 + X_t). The
   * bounds keep every price of the path finite (the exponent stays far below exp's 709; past
   * them it overflowed and the returns were NaN).
   */
  GBM_X0: positive.max(1e6).default(0.001),
  GBM_mu: nonNegative.max(100).default(0),
  GBM_sigma: nonNegative.max(10).default(0.01),
}).strict().superRefine(latencyRange, onceValid("minOPLatency", "maxOPLatency"));

const hftSchema = z.object({
  ...groupFields,
  minMFLatency: reactionTime,
  ...latencyFields,
  // Order lifetime in multiples of the HFT delay, read as a whole number by the reference.
  tau: integer(1),
  delta: reactionTime,
  psiHFT_constant: positive,
  gHFT: positive,
  kappa: positive,
  spread: positive,
  orderMean: z.number().finite(),
  noiseRay: nonNegative,
  shiftPercentage: z.number().min(0).lt(1),
  sigmaSqr: nonNegative.default(1e-5),
}).strict().superRefine(latencyRange, onceValid("minOPLatency", "maxOPLatency"));

/** An ALGO trader's child order size in base units, as the reference's `<VolumeDistribution>`:
 * lognormal(mu, sigma), the constant `loc` (dirac) or gamma(shape, scale). */
const volumeDistributionSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("lognormal"), mu: z.number().finite(), sigma: nonNegative }).strict(),
  z.object({ type: z.literal("dirac"), loc: positive }).strict(),
  z.object({ type: z.literal("gamma"), shape: positive, scale: positive }).strict(),
]);

const algoSchema = z.object({
  ...groupFields,
  wakeupProb: probability,
  // Above 0, as the reference requires: at 0 an ALGO trader would never trade.
  volumeProp: positive,
  MFLmean: reactionTime,
  MFLstd: duration,
  VBS: positive,
  minOPLatency: positiveDuration,
  maxOPLatency: positiveDuration,
  /** Rayleigh scale of its order-placement latency, as the other groups'. */
  opLatencyScaleRay: positive.default(0.235),
  volumeDistribution: volumeDistributionSchema,
}).strict().superRefine(latencyRange, onceValid("minOPLatency", "maxOPLatency"));

const futuresSchema = z.object({
  ...groupFields,
  MFLmean: reactionTime,
  MFLstd: duration,
  ...latencyFields,
  scaleR: positive,
  volume: positive,
  lambda: nonNegative,
  sigmaEps: positive,
}).strict().superRefine(latencyRange, onceValid("minOPLatency", "maxOPLatency"));

/** Full configuration schema of a simulation. */
const simConfigFields = z.object({
  /** Master seed of every random stream. */
  seed: integer(0).default(1),
  start: duration.default(0),
  duration: positiveDuration,
  /** Publish interval. */
  step: reactionTime.default(5e9),
  /** No state is published to remote agents before this simulated time. */
  gracePeriod: duration.default(0),
  books: integer(1, MAX_BOOKS),
  remoteAgentCount: integer(0, 65536),
  remoteBalances: balancesSchema,
  exchange: exchangeSchema,
  processes: z.object({
    updatePeriod: reactionTime,
    fundamental: fundamentalSchema,
    external: externalSchema.default({ seedInterval: 10e9, sampleInterval: 60e9, sigma: 0.0015 }),
  }).strict(),
  agents: z.object({
    initialization: initializationSchema.optional(),
    stylized: stylizedSchema.optional(),
    hft: hftSchema.optional(),
    algo: algoSchema.optional(),
    futures: futuresSchema.optional(),
  }).strict(),
  /**
   * true (default) = the reference's dynamics, for which the production parameters were
   * calibrated: chartist term divided by the horizon in ns, mixed latency bound, same-ns
   * trade-freshness test, HFT integer time decay and one-sided inventory rule, compounding futures
   * decay, ALGO buy cap, doubly shrunk return variance. false = the intended model (each of these
   * fixed). Determinism and bookkeeping quirks are fixed either way.
   */
  referenceDynamics: z.boolean().default(true),
}).strict();

const simConfigSchema = simConfigFields.superRefine(
  checkSimConfig,
  onceValid(
    "start",
    "duration",
    "books",
    "remoteAgentCount",
    "remoteBalances",
    "agents",
    "exchange.baseDecimals",
    "exchange.quoteDecimals",
  ),
);

function checkSimConfig(
  config: z.output<typeof simConfigFields>,
  ctx: z.RefinementCtx<z.output<typeof simConfigFields>>,
): void {
  // Times reach TypeScript as doubles, which past 2^53 - 1 lose their last digits. Nothing after
  // the end is processed or published (a step ends at it at the latest, and a message arriving
  // later is never delivered), so the end itself is the limit.
  if (config.start + config.duration > Number.MAX_SAFE_INTEGER) {
    ctx.addIssue({
      code: "custom",
      message: `${formatDuration(config.start)} plus the duration ` +
        `(${formatDuration(config.duration)}) ends past the clock's ${CLOCK_DAYS} days ` +
        `(${Number.MAX_SAFE_INTEGER} ns)`,
      path: ["start"],
    });
  }
  // A book's accounts together must fit the core's fixed-point units (TX_MAX_HELD), so that no
  // trade between them can overflow a balance.
  const groups: [string, number, BalancesConfig][] = [
    ["remoteBalances", config.remoteAgentCount, config.remoteBalances],
  ];
  for (const [name, group] of Object.entries(config.agents)) {
    if (group === undefined) continue;
    groups.push([`agents.${name}`, group.count, group.balances]);
    if (group.fees !== undefined) {
      checkTierUnits(
        group.fees.tiers,
        config.exchange.quoteDecimals,
        ["agents", name, "fees"],
        ctx,
      );
    }
  }
  // Most of each asset one account can get: a Pareto draw splits `wealth` between the two.
  const most = (b: BalancesConfig) =>
    b.type === "fixed"
      ? { base: b.base, quote: b.quote }
      : { base: b.wealth / b.price, quote: b.wealth };
  const { baseDecimals, quoteDecimals } = config.exchange;
  for (const [asset, decimals] of [["base", baseDecimals], ["quote", quoteDecimals]] as const) {
    const total = groups.reduce((sum, [, count, b]) => sum + count * most(b)[asset], 0);
    const limit = MAX_UNITS / 10 ** decimals;
    if (total <= limit) continue;
    const parts = groups.filter(([, count]) => count > 0).map(([name, count, b]) =>
      `${name} ${count} x ${most(b)[asset]}`
    );
    ctx.addIssue({
      code: "custom",
      message: `the accounts of a book could hold up to ${total} ${asset} (${parts.join(", ")}); ` +
        `at most ${limit} fit 2^62 units at ${decimals} ${asset} decimals`,
      path: [],
    });
  }
  // Every agent keeps its state in every book: refuse a size this machine cannot hold, which would
  // otherwise grow until the system kills the process.
  const needed = leastMemory(config);
  if (needed > totalmem()) {
    const gib = (bytes: number) => (bytes / 2 ** 30).toFixed(1);
    const agents = groups.reduce((sum, [, count]) => sum + count, 0);
    ctx.addIssue({
      code: "custom",
      message: `${config.books} books x ${agents} agents need at least ` +
        `${gib(needed)} GiB of memory; this machine has ${gib(totalmem())} GiB`,
      path: ["books"],
    });
  }
}

/**
 * Least memory a simulation takes once started, in bytes: per book a fixed part (book, queues,
 * buffers) and each agent's state. Fitted below the growth of a run's peak memory per book when
 * books are added (6.3 MB per reference book and 1.05 MB per small one, one simulated minute in;
 * a book grows as it runs, to about 7 MB after two simulated hours).
 */
export function leastMemory(
  config: Pick<SimConfig, "books" | "agents" | "remoteAgentCount">,
): number {
  const stylized = config.agents.stylized?.count ?? 0;
  const all = Object.values(config.agents).reduce(
    (sum, group) => sum + (group?.count ?? 0),
    config.remoteAgentCount,
  );
  return config.books * (BOOK_BYTES + stylized * STYLIZED_BYTES + (all - stylized) * AGENT_BYTES);
}

/** Least memory of one book apart from its agents. */
const BOOK_BYTES = 400_000;
/** Least memory a stylized trader takes in one book (its return history included). */
const STYLIZED_BYTES = 5000;
/** Least memory any other agent takes in one book. */
const AGENT_BYTES = 1000;

/** Input form of a configuration (durations may be strings). */
export type SimConfigInput = z.input<typeof simConfigSchema>;

/**
 * Top-level fields given apart from the file (on the command line): they take the place of the
 * file's own before it is checked, so a file may leave them out, and a check across fields (the
 * step against the duration) judges the values that will run.
 */
export type ConfigOverrides = Pick<
  Partial<SimConfigInput>,
  "seed" | "books" | "duration" | "referenceDynamics"
>;

/** A validated configuration (durations in ns). */
export type SimConfig = z.output<typeof simConfigSchema>;
/** Account template. */
export type BalancesConfig = z.output<typeof balancesSchema>;
/** An ALGO trader's child order size distribution. */
export type VolumeDistributionConfig = z.output<typeof volumeDistributionSchema>;

/** One problem of a configuration: the field's path, what is wrong, and zod's issue code. */
export interface SimConfigIssue {
  path: PropertyKey[];
  message: string;
  code: string;
}

/** An invalid configuration; the message has a line per issue, by default `path: message`. */
export class SimConfigError extends Error {
  override name = "SimConfigError";

  constructor(
    readonly issues: SimConfigIssue[],
    describe: (issue: SimConfigIssue) => string = (issue) =>
      `${issue.path.length ? issue.path.join(".") : "(root)"}: ${issue.message}`,
  ) {
    // A line may quote a value or key that is most of the file: each is cut short.
    const lines = issues.map(describe).map((line) => cutChars(line, 500));
    super(`invalid simulation config:\n  ${lines.join("\n  ")}`);
  }
}

/** Validates a configuration; throws a SimConfigError whose message lists every bad field path. */
export function parseSimConfig(input: unknown): SimConfig {
  const result = simConfigSchema.safeParse(input);
  if (!result.success) {
    // A field left out is told so, as the durations are, rather than as a wrong type.
    throw new SimConfigError(
      result.error.issues.map((issue) =>
        issue.code === "invalid_type" && issue.message.endsWith("received undefined")
          ? { ...issue, message: "required" }
          : issue
      ),
    );
  }
  const config = result.data;
  if (config.duration <= config.step) {
    throw new SimConfigError([{
      path: ["duration"],
      message: `must be longer than the step (${formatDuration(config.step)}), got ` +
        formatDuration(config.duration),
      code: "custom",
    }]);
  }
  return config;
}

/** The reference production configuration (`simulation_0.xml` of sn-79 0.1.9), as our format. */
export function referenceConfig(): SimConfig {
  return parseSimConfig({
    seed: 1,
    duration: "1d",
    step: "5s",
    gracePeriod: "10m",
    books: 20,
    remoteAgentCount: 256,
    remoteBalances: { type: "pareto", scale: 1, shape: 2, wealth: 100000, price: 300 },
    exchange: {
      priceDecimals: 2,
      volumeDecimals: 4,
      baseDecimals: 4,
      quoteDecimals: 10,
      initialPrice: 300,
      maxLeverage: 4,
      maxLoan: 10000,
      maintenanceMargin: 0.1,
      detailedDepth: 5,
      fees: {
        historySlots: 24,
        slotPeriod: "1h",
        tiers: [
          { volumeRequired: 0, makerFee: 0.005, takerFee: 0.005 },
          { volumeRequired: 200000, makerFee: 0.0025, takerFee: 0.003 },
          { volumeRequired: 400000, makerFee: 0.00125, takerFee: 0.0018 },
          { volumeRequired: 800000, makerFee: 0.00063, takerFee: 0.00108 },
          { volumeRequired: 1600000, makerFee: 0.00031, takerFee: 0.00064 },
          { volumeRequired: 3200000, makerFee: 0.00016, takerFee: 0.00038 },
        ],
      },
    },
    processes: {
      updatePeriod: "10s",
      fundamental: {
        seedInterval: "10s",
        mu: 0,
        sigma: 0.012,
        lambda: 0.002,
        muJump: 0,
        sigmaJump: 0.00335,
      },
    },
    agents: {
      initialization: {
        count: 500,
        balances: { type: "fixed", base: 100, quote: 30000 },
        tau: "300s",
        fees: { tiers: [{ volumeRequired: 0, makerFee: 0, takerFee: 0 }] },
      },
      algo: {
        count: 5,
        balances: { type: "fixed", base: 500, quote: 150000 },
        wakeupProb: 0.15,
        volumeProp: 0.0125,
        MFLmean: "1500ms",
        MFLstd: "250ms",
        VBS: 20000,
        minOPLatency: "1ms",
        maxOPLatency: "50ms",
        volumeDistribution: { type: "lognormal", mu: 1, sigma: 1 },
      },
      hft: {
        count: 10,
        balances: { type: "fixed", base: 500, quote: 150000 },
        fees: { tiers: [{ volumeRequired: 0, makerFee: 0, takerFee: 0 }] },
        minMFLatency: "50ms",
        minOPLatency: "1ms",
        maxOPLatency: "50ms",
        opLatencyScaleRay: 0.235,
        tau: 2,
        delta: "5s",
        psiHFT_constant: 100,
        gHFT: 0.2,
        kappa: 20,
        spread: 0.8,
        orderMean: 1.6,
        noiseRay: 0.23,
        shiftPercentage: 0.05,
      },
      futures: {
        count: 100,
        balances: { type: "fixed", base: 500, quote: 150000 },
        MFLmean: "1s",
        MFLstd: "50ms",
        minOPLatency: "90ms",
        maxOPLatency: "300ms",
        scaleR: 0.2,
        volume: 4,
        lambda: 0.001155,
        sigmaEps: 0.5,
        fees: { tiers: [{ volumeRequired: 0, makerFee: 0, takerFee: 0 }] },
      },
      stylized: {
        count: 1000,
        balances: { type: "pareto-50", scale: 1, shape: 1.66, wealth: 60000, price: 300 },
        MFLmean: "250ms",
        MFLstd: "50ms",
        minOPLatency: "90ms",
        maxOPLatency: "300ms",
        opLatencyScaleRay: 0.235,
        delayMean: "10s",
        delaySTD: "2s",
        scaleR: 0.2,
        sigmaF: 0.01,
        sigmaC: 1.8,
        sigmaN: 0.7,
        tau: "175s",
        tauHist: 200,
        tauF: 1,
        sigmaEps: 0.001,
        r_aversion: 0.0012,
        regimeChangeFlag: false,
        regimeProb: 0.75,
        tauFRegime: 15,
        fees: { tiers: [{ volumeRequired: 0, makerFee: 0, takerFee: 0 }] },
      },
    },
  });
}

/**
 * A small, fast preset for demos and tests: 2 books, 30 simulated minutes, a tenth of the
 * background population (same per-agent behaviour), 4 remote accounts, no grace period.
 */
export function smallPreset(): SimConfig {
  const config = referenceConfig();
  const agents = config.agents;
  return {
    ...config,
    duration: 1800e9,
    gracePeriod: 0,
    books: 2,
    remoteAgentCount: 4,
    agents: {
      initialization: { ...agents.initialization!, count: 50 },
      algo: { ...agents.algo!, count: 2, VBS: 2000 },
      hft: { ...agents.hft!, count: 3 },
      futures: { ...agents.futures!, count: 10 },
      stylized: { ...agents.stylized!, count: 100 },
    },
  };
}

/** Named built-in configurations. */
export const presets: Record<string, () => SimConfig> = {
  reference: referenceConfig,
  small: smallPreset,
};
