/**
 * The validator's Prometheus metrics (`prom-client`, one registry per validator): the reference
 * exporter's metric families with their names and labels (`neuron_info`, `simulation_gauges`,
 * `validator_gauges`, `book_gauges`, `books`, `trades`, `miner_trades`, `agent_gauges`,
 * `miner_gauges`, `miners`, `counters`), the process metrics (`process_*`), plus taos's own query
 * metrics (response-time histogram, query outcomes, instruction counts, alerts). Every series
 * carries `wallet` and `netuid`.
 *
 * ```ts
 * const metrics = new ValidatorMetrics({ wallet: "5F...", netuid: 79, info: { uid: "0" } });
 * metrics.report(snapshot);                      // cheap: the large families fill on scrape
 * const text = await metrics.registry.metrics();
 * ```
 * @module
 */
import { availableParallelism } from "node:os";
import process from "node:process";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { NeuronStanding } from "../chain/subnet.ts";
import type { PublishState } from "../sim/engine.ts";
import type { Alerter } from "./pagerduty.ts";
import { halfEvenDigits, roundHalfEven } from "./scoring/formulas.ts";

/** Who the validator is, for `neuron_info` (an unknown uid is -1, other unknown parts empty). */
export interface NeuronIdentity {
  uid: number | null;
  network: string;
  coldkey: string | null;
  coldkeyName: string;
  hotkey: string;
  name: string;
}

/**
 * A float as Python's `str` prints it, which is how the reference's label values read: the same
 * shortest digits as JavaScript, but `100.0` for an integral value, exponents from 1e16 and below
 * 1e-4 with two digits at least (`1e+16`, `1e-05`), and `nan`, `inf`, `-0.0`.
 */
export function pythonFloat(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  if (value === 0) return Object.is(value, -0) ? "-0.0" : "0.0";
  const [mantissa, exponentText] = value.toExponential().split("e");
  const exponent = Number(exponentText);
  const sign = value < 0 ? "-" : "";
  const digits = mantissa.replace(/^-/, "").replace(".", "");
  if (exponent < -4 || exponent >= 16) {
    const fraction = digits.length > 1 ? `.${digits.slice(1)}` : "";
    const power = String(Math.abs(exponent)).padStart(2, "0");
    return `${sign}${digits[0]}${fraction}e${exponent < 0 ? "-" : "+"}${power}`;
  }
  if (exponent < 0) return `${sign}0.${"0".repeat(-exponent - 1)}${digits}`;
  const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, "0");
  return `${sign}${whole}.${digits.slice(exponent + 1) || "0"}`;
}

/**
 * A float as Python's `f"{value:.<decimals>f}"` prints it, which is how the reference prints the
 * fee tiers: the exact binary value rounded to `decimals` places with a tie going to the even
 * digit (`toFixed` takes the larger: `12.125` is `12.13` there, `12.12` here), digits in full
 * however large, and the sign of a negative value that rounds to zero kept (`-0.00`).
 */
export function pythonFixed(value: number, decimals: number): string {
  if (Number.isNaN(value)) return "nan";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  const sign = value < 0 || Object.is(value, -0) ? "-" : "";
  const digits = halfEvenDigits(Math.abs(value), decimals);
  const whole = digits.slice(0, digits.length - decimals);
  return `${sign}${whole}${decimals > 0 ? `.${digits.slice(-decimals)}` : ""}`;
}

/** The reference config model's float fields (`MarketSimulationConfig`): printed as floats. */
const FLOAT_CONFIG_FIELDS = new Set([
  "max_leverage",
  "max_loan",
  "maintenance_margin",
  "miner_base_balance",
  "miner_quote_balance",
  "miner_wealth",
  "init_price",
  "fp_mu",
  "fp_sigma",
  "fp_lambda",
  "fp_mu_jump",
  "fp_sigma_jump",
  "init_agent_base_balance",
  "init_agent_quote_balance",
  "init_agent_wealth",
  "hft_agent_base_balance",
  "hft_agent_quote_balance",
  "hft_agent_wealth",
  "hft_agent_order_latency_scale",
  "hft_agent_psi",
  "hft_agent_gHFT",
  "hft_agent_kappa",
  "hft_agent_spread",
  "hft_agent_order_size_mean",
  "hft_agent_price_noise",
  "hft_agent_price_shift",
  "sta_agent_base_balance",
  "sta_agent_quote_balance",
  "sta_agent_wealth",
  "sta_agent_order_latency_scale",
  "sta_agent_selection_scale",
  "sta_agent_noise_weight",
  "sta_agent_chartist_weight",
  "sta_agent_fundamentalist_weight",
  "sta_agent_sigmaEps",
  "sta_agent_r_aversion",
  "futures_agent_base_balance",
  "futures_agent_quote_balance",
  "futures_agent_wealth",
  "futures_agent_volume",
  "futures_agent_sigmaEps",
  "futures_agent_lambda",
  "futures_agent_selection_scale",
]);

/** A config value as the reference's Python exporter prints it (`None`, `True`/`False`,
 * floats as Python does). */
function pythonText(field: string, value: unknown): string {
  if (value === null || value === undefined) return "None";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "number" && FLOAT_CONFIG_FIELDS.has(field)) return pythonFloat(value);
  return String(value);
}

/** `validator_gauges` that describe the validator's own neuron: gone while it has no uid. */
const OWN_NEURON_GAUGES = [
  "uid",
  "stake",
  "last_update",
  "active",
  "validator_trust",
  "dividends",
  "emission",
];

/**
 * The `neuron_info` label set of the reference's exporter: the identity, then the simulation's
 * labels (see {@linkcode simulationInfoLabels}) and its seed.
 */
export function neuronInfoLabels(
  identity: NeuronIdentity,
  simulation: Record<string, unknown>,
  seed: number,
): Record<string, string> {
  return {
    uid: identity.uid === null ? "-1" : String(identity.uid),
    network: identity.network,
    coldkey: identity.coldkey ?? "",
    coldkey_name: identity.coldkeyName,
    hotkey: identity.hotkey,
    name: identity.name,
    ...simulationInfoLabels(simulation),
    simulation_seed: String(seed),
  };
}

/**
 * `simulation_<field>` for every field of the config sent to miners but `logDir` and
 * `fee_policy`, and the fee policy as `simulation_fee_policy_type`, `_<param>` and per tier
 * `_tier_<i>_volume_required` (2 places), `_maker_rate` and `_taker_rate` (percent, 4 places).
 */
function simulationInfoLabels(simulation: Record<string, unknown>): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [field, value] of Object.entries(simulation)) {
    if (field !== "logDir" && field !== "fee_policy") {
      labels[`simulation_${field}`] = pythonText(field, value);
    }
  }
  const fees = simulation.fee_policy as
    | {
      fee_type: string;
      params: Record<string, unknown>;
      tiers: { volume_required: number; maker_fee: number; taker_fee: number }[];
    }
    | null
    | undefined;
  if (fees) {
    labels.simulation_fee_policy_type = fees.fee_type;
    for (const [name, value] of Object.entries(fees.params)) {
      labels[`simulation_fee_policy_${name}`] = pythonText(name, value);
    }
    fees.tiers.forEach((tier, i) => {
      const prefix = `simulation_fee_policy_tier_${i}`;
      labels[`${prefix}_volume_required`] = pythonFixed(tier.volume_required, 2);
      labels[`${prefix}_maker_rate`] = pythonFixed(tier.maker_fee * 100, 4);
      labels[`${prefix}_taker_rate`] = pythonFixed(tier.taker_fee * 100, 4);
    });
  }
  return labels;
}

/** Per-book scoring details of one miner. */
export interface BookScoreDetail {
  sharpe: number;
  activityFactor: number;
  inventoryValue: number;
  /** Latest minus oldest inventory value of this book in the window. */
  pnl: number;
  /** Quote volume over the assessment period (24 h) by role. */
  volume: { total: number; maker: number; taker: number; self: number };
}

/** Scoring details of one miner, for the metrics and the status page. */
export interface MinerScoreDetail {
  uid: number;
  books: BookScoreDetail[];
  /** Latest reward (before smoothing). */
  reward: number;
  /** Smoothed score. */
  score: number;
  /** Inventory observations in the window. */
  observations: number;
  /** Latest minus oldest total inventory value in the window. */
  pnl: number;
  /** Latest minus previous total inventory value. */
  inventoryValueChange: number;
  /** `pnl` minus what it was at the previous observation. */
  pnlChange: number;
}

/** Per-uid query statistics accumulated between two miner-gauge reports. */
export interface QueryStats {
  requests: number;
  timeouts: number;
  failures: number;
  rejections: number;
  /** Sum of response times of successful queries, seconds. */
  callTime: number;
  successes: number;
}

/** Everything one report needs. */
export interface ReportInput {
  publish: PublishState;
  /** Mean simulated ns per wall second over recent publishes. */
  stepRate: number;
  ownUid: number | null;
  /** Our own neuron's stake (TAO), last weight-update block and coldkey, when registered. */
  own?: { stake: number; lastUpdate: number; coldkey?: string } | null;
  /** The chain's metagraph as last read (absent without a chain): its block and each uid's
   * standing. */
  chain?: { block: number; standing: ReadonlyMap<number, NeuronStanding> } | null;
  /** uid → smoothed score. */
  scores: Map<number, number>;
  details: MinerScoreDetail[];
  /** Initial balances per uid per book, as first seen in this simulation. */
  initialBalances: Map<number, { base: number; quote: number }[]>;
  /**
   * The uids in the current neuron list: `miner_trades` shows only theirs. Absent, every uid's.
   */
  listed?: ReadonlySet<number>;
  /** Present every 100 publish intervals; the counters are reset by the caller afterwards. */
  queryStats?: Map<number, QueryStats>;
  /** Resource usage of this process and host, percent. */
  usage: { cpu: number; ram: number; disk: number };
}

/** Formats simulated ns as `[<d>d ]HH:MM:SS.nnnnnnnnn`. */
export function timestampString(ns: number): string {
  const total = BigInt(Math.trunc(ns));
  const second = 1_000_000_000n;
  const fraction = total % second;
  let seconds = total / second;
  const days = seconds / 86_400n;
  seconds %= 86_400n;
  const pad = (v: bigint, n = 2) => v.toString().padStart(n, "0");
  const clock = `${pad(seconds / 3600n)}:${pad((seconds / 60n) % 60n)}:${pad(seconds % 60n)}.${
    pad(fraction, 9)
  }`;
  return days > 0n ? `${days}d ${clock}` : clock;
}

const LEVELS = 21;

/** All validator metric families, registered on {@linkcode ValidatorMetrics.registry}. */
export class ValidatorMetrics {
  /** The registry `/metrics` serves. */
  readonly registry = new Registry();
  readonly #simulation: Gauge;
  readonly #validator: Gauge;
  readonly #book: Gauge;
  readonly #books: Gauge;
  readonly #trades: Gauge;
  readonly #minerTrades: Gauge;
  readonly #agent: Gauge;
  readonly #miner: Gauge;
  readonly #miners: Gauge;
  /** Response time of answering miners, seconds. */
  readonly responseTime: Histogram;
  /** Queries by outcome (ok, timeout, failure, rejected). */
  readonly queries: Counter;
  /** Instructions by result (accepted, dropped, voided). */
  readonly instructions: Counter;
  readonly weightSubmissions: Counter;
  /** Wall seconds of one publish round (state build, query, validation, injection). */
  readonly roundSeconds: Histogram;
  #latest: ReportInput | null = null;
  #dirty = false;
  #tradesDirty = false;
  #minerTradesDirty = false;
  #queryStats = new Map<number, QueryStats>();
  /** Last-trade ids already published per book, to emit `trades` only when new ones exist. */
  readonly #recentTrades = new Map<number, Record<string, string>[]>();
  /** A miner's last fills: uid → book → label sets. */
  readonly #recentMinerTrades = new Map<number, Map<number, Record<string, string>[]>>();

  #info!: Gauge;
  #infoLabels: Record<string, string> = {};
  /**
   * The running simulation's `baseDecimals` and `volumeDecimals`, to which the reference rounds a
   * miner's daily volumes and total balances; null (unrounded) until a simulation gives them.
   */
  #decimals: { base: number; volume: number } | null = null;

  /** `alerts`: where the alert counts come from (read when scraped). */
  constructor(options: {
    wallet: string;
    /** The subnet, or `local` for a run without a chain. */
    netuid: number | "local";
    info: Record<string, string>;
    alerts?: Pick<Alerter, "raised" | "deliveryFailures">;
  }) {
    const registry = this.registry;
    registry.setDefaultLabels({ wallet: options.wallet, netuid: String(options.netuid) });
    // The reference's default registry exports these too (CPU seconds, memory, start time, fds).
    collectDefaultMetrics({ register: registry });
    this.#setInfo(options.info);
    // The reference's Python client exposes its counter `counters` as `counters_total`.
    new Counter({
      name: "counters_total",
      help: "Declared by the reference, never incremented",
      labelNames: ["timestamp", "counter_name"],
      registers: [registry],
    });
    const gauge = (name: string, help: string, labelNames: string[]) =>
      new Gauge({ name, help, labelNames, registers: [registry] });
    // The per-book and per-miner families hold tens of thousands of series: they are filled from
    // the latest report when scraped, not at every publish.
    const refresh = () => this.#refresh();
    const lazyGauge = (name: string, help: string, labelNames: string[]) =>
      new Gauge({ name, help, labelNames, registers: [registry], collect: refresh });
    this.#simulation = gauge("simulation_gauges", "Simulation time and pace", [
      "simulation_gauge_name",
    ]);
    this.#validator = gauge("validator_gauges", "Validator status", ["validator_gauge_name"]);
    this.#book = lazyGauge("book_gauges", "Book levels, mid and last trades", [
      "book_id",
      "level",
      "book_gauge_name",
    ]);
    const levelLabels = ["bid", "bid_vol", "ask", "ask_vol"].flatMap((name) =>
      [1, 2, 3, 4, 5].map((i) => `${name}_${i}`)
    );
    this.#books = lazyGauge("books", "Top five levels of each two-sided book (value 1)", [
      "timestamp",
      "timestamp_str",
      "book_id",
      ...levelLabels,
      "book_gauge_name",
    ]);
    this.#trades = lazyGauge("trades", "Last 25 trades per book (value 1)", [
      "timestamp",
      "timestamp_str",
      "book_id",
      "agent_id",
      "trade_id",
      "aggressing_order_id",
      "aggressing_agent_id",
      "resting_order_id",
      "resting_agent_id",
      "maker_fee",
      "taker_fee",
      "price",
      "volume",
      "side",
      "trade_gauge_name",
    ]);
    this.#minerTrades = lazyGauge("miner_trades", "Last 5 trades per miner per book (value 1)", [
      "timestamp",
      "timestamp_str",
      "book_id",
      "uid",
      "role",
      "price",
      "volume",
      "side",
      "fee",
      "miner_trade_gauge_name",
    ]);
    this.#agent = lazyGauge("agent_gauges", "Per-miner per-book balances, volumes and scores", [
      "book_id",
      "agent_id",
      "agent_gauge_name",
    ]);
    this.#miner = lazyGauge("miner_gauges", "Per-miner totals, scores and query statistics", [
      "agent_id",
      "miner_gauge_name",
    ]);
    this.#miners = lazyGauge("miners", "Miner leaderboard rows (value 1)", [
      "timestamp",
      "timestamp_str",
      "agent_id",
      "placement",
      "base_balance",
      "quote_balance",
      "inventory_value",
      "inventory_value_change",
      "pnl",
      "pnl_change",
      "min_daily_volume",
      "activity_factor",
      "sharpe",
      "unnormalized_score",
      "score",
      "miner_gauge_name",
    ]);
    this.responseTime = new Histogram({
      name: "validator_miner_response_seconds",
      help: "Measured response time of miners that answered",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10],
      registers: [registry],
    });
    this.queries = new Counter({
      name: "validator_miner_queries_total",
      help: "Miner queries by outcome",
      labelNames: ["outcome"],
      registers: [registry],
    });
    this.instructions = new Counter({
      name: "validator_instructions_total",
      help: "Miner instructions by result",
      labelNames: ["result"],
      registers: [registry],
    });
    const alerts = options.alerts;
    new Counter({
      name: "validator_alerts_total",
      help: "Alerts raised, by kind",
      labelNames: ["kind"],
      registers: [registry],
      collect() {
        this.reset();
        for (const [kind, count] of alerts?.raised ?? []) this.inc({ kind }, count);
      },
    });
    new Counter({
      name: "validator_alert_delivery_failures_total",
      help: "Attempts to send a PagerDuty event that failed (network failure, timeout or non-2xx)",
      registers: [registry],
      collect() {
        this.reset();
        this.inc(alerts?.deliveryFailures ?? 0);
      },
    });
    this.weightSubmissions = new Counter({
      name: "validator_weight_submissions_total",
      help: "Weight submissions by result (accepted, deferred by the rate limit, refused, failed)",
      labelNames: ["result"],
      registers: [registry],
    });
    this.roundSeconds = new Histogram({
      name: "validator_round_seconds",
      help: "Wall time of one publish round: states, queries, validation and injection",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30],
      registers: [registry],
    });
  }
  /** Replaces `neuron_info`: a new config may bring other labels (another number of fee tiers). */
  #setInfo(info: Record<string, string>): void {
    this.#infoLabels = Object.fromEntries(
      Object.entries(info).map(([k, v]) => [k.replace(/[^a-zA-Z0-9_]/g, "_"), v]),
    );
    this.registry.removeSingleMetric("neuron_info_info");
    this.#info = new Gauge({
      name: "neuron_info_info",
      help: "Validator identity and simulation configuration (value 1; data in the labels)",
      labelNames: Object.keys(this.#infoLabels),
      registers: [this.registry],
    });
    this.#info.set(this.#infoLabels, 1);
  }

  /**
   * A new simulation started (or one was resumed): `neuron_info` shows its config and seed (when
   * it carries simulation labels), the last one's trades leave `trades` and `miner_trades`, and
   * its decimals round the miners' volumes and balances.
   */
  newSimulation(simulation: Record<string, unknown>, seed: number): void {
    const { baseDecimals, volumeDecimals } = simulation;
    this.#decimals = typeof baseDecimals === "number" && typeof volumeDecimals === "number"
      ? { base: baseDecimals, volume: volumeDecimals }
      : null;
    this.#recentTrades.clear();
    this.#recentMinerTrades.clear();
    this.#trades.reset();
    this.#minerTrades.reset();
    if (!("simulation_seed" in this.#infoLabels)) return;
    const identity = Object.entries(this.#infoLabels).filter(([name]) =>
      !name.startsWith("simulation_")
    );
    const labels = {
      ...Object.fromEntries(identity),
      ...simulationInfoLabels(simulation),
      simulation_seed: String(seed),
    };
    if (JSON.stringify(labels) === JSON.stringify(this.#infoLabels)) return;
    this.#setInfo(labels);
  }

  /**
   * A uid changed hands or had its account reset: its fills so far were another miner's, or
   * another account's, and leave `miner_trades`.
   */
  forgetMiner(uid: number): void {
    if (this.#recentMinerTrades.delete(uid)) this.#minerTradesDirty = true;
  }

  /** Refreshes every gauge from one published state and the scoring details. */
  report(input: ReportInput): void {
    const { publish } = input;
    this.#simulation.set({ simulation_gauge_name: "timestamp" }, publish.timestamp);
    this.#simulation.set({ simulation_gauge_name: "step_rate" }, input.stepRate);
    // A neuron list without coldkeys (a local run's) leaves the one the command knew.
    this.#followIdentity(input.ownUid, input.own?.coldkey || null);
    this.#validator.set({ validator_gauge_name: "cpu_usage_percent" }, input.usage.cpu);
    this.#validator.set({ validator_gauge_name: "ram_usage_percent" }, input.usage.ram);
    this.#validator.set({ validator_gauge_name: "disk_usage_percent" }, input.usage.disk);
    const { own, chain } = input;
    if (own) this.#validator.set({ validator_gauge_name: "stake" }, own.stake);
    const standing = input.ownUid === null ? undefined : chain?.standing.get(input.ownUid);
    if (own && chain && standing) {
      const set = (name: string, value: number) =>
        this.#validator.set({ validator_gauge_name: name }, value);
      // Blocks since our last weight update, as the reference (it grows while weights fail).
      set("last_update", chain.block - own.lastUpdate);
      set("active", standing.active ? 1 : 0);
      set("validator_trust", standing.validatorTrust);
      set("dividends", standing.dividends);
      set("emission", standing.emission);
    }
    if (input.queryStats !== undefined) {
      this.#queryStats = new Map([...input.queryStats].map(([uid, stats]) => [uid, { ...stats }]));
    }
    this.#recordTrades(publish, input.listed);
    this.#latest = input;
    this.#dirty = true;
  }

  /**
   * Keeps the validator's uid (and its neuron's coldkey) in `neuron_info` and `validator_gauges`
   * as the neuron list changes: registered after the start, or deregistered, a validator would
   * otherwise show the uid it had then. Without a uid, the gauges of its standing go.
   */
  #followIdentity(uid: number | null, coldkey: string | null): void {
    if (uid === null) {
      for (const name of OWN_NEURON_GAUGES) this.#validator.remove({ validator_gauge_name: name });
    } else this.#validator.set({ validator_gauge_name: "uid" }, uid);
    if (!("uid" in this.#infoLabels)) return;
    const labels = {
      ...this.#infoLabels,
      uid: uid === null ? "-1" : String(uid),
      coldkey: coldkey ?? (uid === null ? "" : this.#infoLabels.coldkey),
    };
    if (labels.uid !== this.#infoLabels.uid || labels.coldkey !== this.#infoLabels.coldkey) {
      this.#setInfo(labels);
    }
  }

  /** Fills the large families from the latest report (called when scraped). */
  #refresh(): void {
    const input = this.#latest;
    if (!this.#dirty || input === null) return;
    this.#dirty = false;
    const { publish } = input;
    const ts = String(publish.timestamp);
    const tsStr = timestampString(publish.timestamp);
    this.#book.reset();

    this.#books.reset();
    for (const book of publish.books) this.#reportBook(book, ts, tsStr);

    const placements = [...input.scores.entries()].sort((a, b) => b[1] - a[1]);
    const placement = new Map(placements.map(([uid], i) => [uid, i]));
    this.#miners.reset();
    const accounts = new Map(publish.accounts.map((a) => [a.agentId, a]));
    // Rebuilt from this report alone: a uid that left the neuron list (or has no scoring
    // history yet, after a re-registration) must not keep its last values for ever.
    this.#agent.reset();
    this.#miner.reset();
    const reported = new Set(
      input.details.filter((d) => d.observations >= 3).map((d) => d.uid),
    );
    // As the reference (report.py): Python's round(), total balances to baseDecimals, the quote's
    // too, and daily volumes, per book and summed, to volumeDecimals.
    const decimals = this.#decimals;
    const roundBalance = (value: number) =>
      decimals === null ? value : roundHalfEven(value, decimals.base);
    const roundVolume = (value: number) =>
      decimals === null ? value : roundHalfEven(value, decimals.volume);
    for (const [uid, initial] of input.initialBalances) {
      if (!reported.has(uid)) continue;
      initial.forEach((balance, b) => {
        const labels = { book_id: String(b), agent_id: String(uid) };
        this.#agent.set({ ...labels, agent_gauge_name: "base_balance_initial" }, balance.base);
        this.#agent.set({ ...labels, agent_gauge_name: "quote_balance_initial" }, balance.quote);
      });
    }
    for (const detail of input.details) {
      if (!reported.has(detail.uid)) continue;
      const uid = detail.uid;
      const id = String(uid);
      const account = accounts.get(uid);
      let base = 0, quote = 0, inventory = 0;
      const volumes = { total: 0, maker: 0, taker: 0, self: 0 };
      const mins = { total: Infinity, maker: Infinity, taker: Infinity, self: Infinity };
      detail.books.forEach((book, b) => {
        const set = (name: string, value: number) =>
          this.#agent.set({ book_id: String(b), agent_id: id, agent_gauge_name: name }, value);
        const holding = account?.holdings[b];
        if (holding !== undefined) {
          set("base_balance_total", holding.base.total);
          set("base_balance_free", holding.base.free);
          set("base_balance_reserved", holding.base.reserved);
          set("quote_balance_total", holding.quote.total);
          set("quote_balance_free", holding.quote.free);
          set("quote_balance_reserved", holding.quote.reserved);
          base += holding.base.total;
          quote += holding.quote.total;
        }
        const fees = account?.fees[b];
        if (fees !== undefined) {
          set("fees_traded_volume", fees.volume);
          set("fees_maker_rate", fees.makerFeeRate);
          set("fees_taker_rate", fees.takerFeeRate);
        }
        const volume = {
          total: roundVolume(book.volume.total),
          maker: roundVolume(book.volume.maker),
          taker: roundVolume(book.volume.taker),
          self: roundVolume(book.volume.self),
        };
        set("inventory_value", book.inventoryValue);
        set("pnl", book.pnl);
        set("daily_volume", volume.total);
        set("daily_maker_volume", volume.maker);
        set("daily_taker_volume", volume.taker);
        set("daily_self_volume", volume.self);
        set("activity_factor", book.activityFactor);
        set("sharpe", book.sharpe);
        inventory += book.inventoryValue;
        for (const role of ["total", "maker", "taker", "self"] as const) {
          volumes[role] += volume[role];
          mins[role] = Math.min(mins[role], volume[role]);
        }
      });
      const bookCount = Math.max(detail.books.length, 1);
      const sharpes = detail.books.map((b) => b.sharpe).sort((a, b) => a - b);
      const mid = Math.floor(sharpes.length / 2);
      const medianSharpe = sharpes.length === 0
        ? 0
        : sharpes.length % 2
        ? sharpes[mid]
        : (sharpes[mid - 1] + sharpes[mid]) / 2;
      const minActivity = Math.min(...detail.books.map((b) => b.activityFactor), Infinity);
      const score = input.scores.get(uid) ?? 0;
      const set = (name: string, value: number) =>
        this.#miner.set({ agent_id: id, miner_gauge_name: name }, value);
      const totalBase = roundBalance(base);
      const totalQuote = roundBalance(quote);
      set("total_base_balance", totalBase);
      set("total_quote_balance", totalQuote);
      set("total_inventory_value", inventory);
      set("pnl", detail.pnl);
      for (const role of ["total", "maker", "taker", "self"] as const) {
        const infix = role === "total" ? "" : `${role}_`;
        const total = roundVolume(volumes[role]);
        set(`total_daily_${infix}volume`, total);
        set(`average_daily_${infix}volume`, roundVolume(total / bookCount));
        set(`min_daily_${infix}volume`, Number.isFinite(mins[role]) ? mins[role] : 0);
      }
      set("activity_factor", Number.isFinite(minActivity) ? minActivity : 0);
      set("sharpe", medianSharpe);
      set("unnormalized_score", 0);
      set("score", score);
      set("placement", placement.get(uid) ?? -1);
      if (input.chain) {
        // As the reference, 0 for a uid the metagraph does not hold.
        const standing = input.chain.standing.get(uid);
        set("trust", standing?.trust ?? 0);
        set("consensus", standing?.consensus ?? 0);
        set("incentive", standing?.incentive ?? 0);
        set("emission", standing?.emission ?? 0);
      }
      this.#miners.set({
        timestamp: ts,
        timestamp_str: tsStr,
        agent_id: id,
        placement: String(placement.get(uid) ?? -1),
        base_balance: pythonFloat(totalBase),
        quote_balance: pythonFloat(totalQuote),
        inventory_value: pythonFloat(inventory),
        inventory_value_change: pythonFloat(detail.inventoryValueChange),
        pnl: pythonFloat(detail.pnl),
        pnl_change: pythonFloat(detail.pnlChange),
        min_daily_volume: pythonFloat(Number.isFinite(mins.total) ? mins.total : 0),
        activity_factor: pythonFloat(Number.isFinite(minActivity) ? minActivity : 0),
        sharpe: pythonFloat(medianSharpe),
        unnormalized_score: pythonFloat(0),
        score: pythonFloat(score),
        miner_gauge_name: "miners",
      }, 1);
    }
    for (const [uid, stats] of this.#queryStats) {
      // As the rest of the miner's series (and the reference's): a uid that left the neuron list
      // since the period was counted, or not yet observed three times, shows no counts.
      if (!reported.has(uid)) continue;
      const set = (name: string, value: number) =>
        this.#miner.set({ agent_id: String(uid), miner_gauge_name: name }, value);
      set("requests", stats.requests);
      set("success", stats.requests - stats.failures - stats.timeouts - stats.rejections);
      set("failures", stats.failures);
      set("timeouts", stats.timeouts);
      set("rejections", stats.rejections);
      set("call_time", stats.successes > 0 ? stats.callTime / stats.successes : 0);
    }
    this.#emitTrades();
  }

  #reportBook(book: PublishState["books"][number], ts: string, tsStr: string) {
    const id = String(book.bookId);
    const set = (level: number, name: string, value: number) =>
      this.#book.set({ book_id: id, level: String(level), book_gauge_name: name }, value);
    for (const [side, levels] of [["bid", book.bid], ["ask", book.ask]] as const) {
      let sum = 0;
      levels.slice(0, LEVELS).forEach((level, i) => {
        sum += level.volume;
        set(i, side, level.price);
        set(i, `${side}_vol`, level.volume);
        set(i, `${side}_vol_sum`, sum);
      });
    }
    const bid = book.bid[0]?.price;
    const ask = book.ask[0]?.price;
    if (bid !== undefined && ask !== undefined) set(0, "mid", (bid + ask) / 2);
    set(0, "fundamental_price", book.fundamental);
    const trades = book.record.filter((e) => e.event === "trade");
    if (trades.length > 0) {
      const last = trades[trades.length - 1];
      set(0, "trade_price", last.price);
      set(0, "trade_volume", trades.reduce((a, t) => a + t.volume, 0));
      set(
        0,
        "trade_buy_volume",
        trades.filter((t) => t.direction === 0).reduce((a, t) => a + t.volume, 0),
      );
      set(
        0,
        "trade_sell_volume",
        trades.filter((t) => t.direction === 1).reduce((a, t) => a + t.volume, 0),
      );
    }
    if (bid === undefined || ask === undefined) return;
    const labels: Record<string, string> = {
      timestamp: ts,
      timestamp_str: tsStr,
      book_id: id,
      book_gauge_name: "books",
    };
    // The reference prints a level's float price and volume, and an int 0 for a missing level.
    const text = (value: number | undefined) => value === undefined ? "0" : pythonFloat(value);
    for (let i = 1; i <= 5; i++) {
      labels[`bid_${i}`] = text(book.bid[i - 1]?.price);
      labels[`bid_vol_${i}`] = text(book.bid[i - 1]?.volume);
      labels[`ask_${i}`] = text(book.ask[i - 1]?.price);
      labels[`ask_vol_${i}`] = text(book.ask[i - 1]?.volume);
    }
    this.#books.set(labels, 1);
  }

  #recordTrades(publish: PublishState, listed: ReadonlySet<number> | undefined) {
    let changed = false;
    let minerChanged = false;
    // A uid that left the list keeps no fills, nor gains any from orders it left resting.
    for (const uid of this.#recentMinerTrades.keys()) {
      if (listed !== undefined && !listed.has(uid)) {
        this.#recentMinerTrades.delete(uid);
        minerChanged = true;
      }
    }
    for (const book of publish.books) {
      for (const event of book.record) {
        if (event.event !== "trade") continue;
        changed = true;
        const ts = String(event.timestamp);
        const tsStr = timestampString(event.timestamp);
        const list = this.#recentTrades.get(book.bookId) ?? [];
        list.push({
          timestamp: ts,
          timestamp_str: tsStr,
          book_id: String(book.bookId),
          agent_id: String(event.aggressingAgentId),
          trade_id: String(event.tradeId),
          aggressing_order_id: String(event.aggressingOrderId),
          aggressing_agent_id: String(event.aggressingAgentId),
          resting_order_id: String(event.restingOrderId),
          resting_agent_id: String(event.restingAgentId),
          maker_fee: pythonFloat(event.fees.maker),
          taker_fee: pythonFloat(event.fees.taker),
          price: pythonFloat(event.price),
          volume: pythonFloat(event.volume),
          side: String(event.direction),
          trade_gauge_name: "trades",
        });
        this.#recentTrades.set(book.bookId, list.slice(-25));
        for (
          const [uid, role] of [[event.restingAgentId, "maker"], [
            event.aggressingAgentId,
            "taker",
          ]] as const
        ) {
          if (uid < 0 || (listed !== undefined && !listed.has(uid))) continue;
          minerChanged = true;
          let books = this.#recentMinerTrades.get(uid);
          if (books === undefined) {
            books = new Map();
            this.#recentMinerTrades.set(uid, books);
          }
          const mine = books.get(book.bookId) ?? [];
          mine.push({
            timestamp: ts,
            timestamp_str: tsStr,
            book_id: String(book.bookId),
            uid: String(uid),
            role,
            price: pythonFloat(event.price),
            volume: pythonFloat(event.volume),
            side: String(event.direction),
            fee: pythonFloat(role === "maker" ? event.fees.maker : event.fees.taker),
            miner_trade_gauge_name: "miner_trades",
          });
          books.set(book.bookId, mine.slice(-5));
        }
      }
    }
    this.#tradesDirty ||= changed;
    this.#minerTradesDirty ||= minerChanged;
  }

  #emitTrades() {
    if (this.#tradesDirty) {
      this.#tradesDirty = false;
      this.#trades.reset();
      for (const list of this.#recentTrades.values()) for (const l of list) this.#trades.set(l, 1);
    }
    if (this.#minerTradesDirty) {
      this.#minerTradesDirty = false;
      this.#minerTrades.reset();
      for (const books of this.#recentMinerTrades.values()) {
        for (const list of books.values()) for (const l of list) this.#minerTrades.set(l, 1);
      }
    }
  }
}

/**
 * CPU use in percent since the previous reading, as the reference's `psutil.cpu_percent()`: the
 * whole host's, from `/proc/stat` (busy over all time of every CPU, idle and iowait counting as
 * idle, rounded to 0.1). Where that cannot be read, this process's CPU time over wall time and
 * cores.
 */
export class CpuUsage {
  readonly #statPath: string;
  #host: { busy: number; total: number } | null;
  #process = { at: performance.now(), usage: process.cpuUsage() };

  constructor(statPath = "/proc/stat") {
    this.#statPath = statPath;
    this.#host = this.#readHost();
  }

  /** Percent since the previous call (since construction for the first). */
  percent(): number {
    const host = this.#readHost();
    const before = this.#host;
    this.#host = host;
    const now = performance.now();
    const usage = process.cpuUsage();
    const since = this.#process;
    this.#process = { at: now, usage };
    if (host !== null && before !== null) {
      const total = host.total - before.total;
      const busy = host.busy - before.busy;
      return total > 0 && busy > 0 ? Math.round(1000 * Math.min(busy / total, 1)) / 10 : 0;
    }
    const cpuMicros = usage.user + usage.system - since.usage.user - since.usage.system;
    const wallMicros = (now - since.at) * 1000;
    return wallMicros > 0 ? 100 * cpuMicros / wallMicros / availableParallelism() : 0;
  }

  /** The host's busy and total CPU time so far (ticks); null when unreadable. */
  #readHost(): { busy: number; total: number } | null {
    try {
      const line = Deno.readTextFileSync(this.#statPath).split("\n", 1)[0];
      // cpu user nice system idle iowait irq softirq steal [guest guest_nice]: guest time is
      // already counted in user and nice.
      const fields = line.trim().split(/\s+/);
      const ticks = fields.slice(1, 9).map(Number);
      if (fields[0] !== "cpu" || ticks.length < 4 || !ticks.every(Number.isFinite)) return null;
      const total = ticks.reduce((a, b) => a + b, 0);
      return { busy: total - ticks[3] - (ticks[4] ?? 0), total };
    } catch {
      return null;
    }
  }
}
