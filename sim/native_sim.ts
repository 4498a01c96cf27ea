/**
 * The native simulation's data layouts (`native/include/taos_sim.h`): the flat parameter array
 * built from a configuration, and the event, order and instruction records (the symbol table
 * itself lives with the others in `native/ffi.ts`).
 * @module
 */
import { native } from "../native/ffi.ts";
import {
  ascendingTiers,
  type BalancesConfig,
  type SimConfig,
  type VolumeDistributionConfig,
} from "./config.ts";

/** The loaded native simulation symbols. */
export type SimSymbols = ReturnType<typeof native>;

/** Opens the native library (building it first if its sources changed). */
export function simSymbols(): SimSymbols {
  return native();
}

/** Error codes of the C interface. */
export const SimStatus = {
  OK: 0,
  CONFIG: -1,
  MEMORY: -2,
  ARGUMENT: -3,
  ENDED: -4,
} as const;

/** Size in bytes of one `taos_sim_event`. */
export const EVENT_SIZE = 80;
/** Size in bytes of one `taos_sim_instruction`. */
const INSTRUCTION_SIZE = 56;
/** Size in bytes of one `taos_sim_order`. */
export const ORDER_SIZE = 48;
/** "No id" marker for client order ids and order ids. */
export const NONE = 0xFFFFFFFF;

/** Event kinds of the per-book record. */
export const EventKind = { PLACE: 1, TRADE: 2, CANCEL: 3, REJECT: 4, CANCEL_FAIL: 5 } as const;

/** Record flags (`TAOS_SIM_EVF_*`): a market order; a volume in quote units (a market order sized
 * in quote); a cancel that left part of the order resting; a cancel of an incoming order's volume
 * that never rested; a resting order cancelled by self-trade prevention. */
export const EVENT_FLAG_MARKET = 1;
export const EVENT_FLAG_QUOTE = 2;
export const EVENT_FLAG_PARTIAL = 4;
export const EVENT_FLAG_DROPPED = 8;
export const EVENT_FLAG_STP = 16;

/** Names of a reject record's code: the exchange core's rejection reasons (`TX_R_*`). */
export const rejectReason: Readonly<Record<number, string>> = {
  1: "NONEXISTENT_ACCOUNT",
  2: "INSUFFICIENT_BASE",
  3: "INSUFFICIENT_QUOTE",
  4: "EMPTY_BOOK",
  7: "EXCEEDING_LOAN",
  8: "CONTRACT_VIOLATION",
  9: "INVALID_LEVERAGE",
  10: "INVALID_VOLUME",
  11: "INVALID_PRICE",
  12: "INVALID_BOOK",
  14: "INVALID_INSTRUCTION",
  16: "INVALID_EXPIRY",
  17: "HOLDINGS_LIMIT",
  18: "ORDER_IDS_EXHAUSTED",
  19: "BOOK_VOLUME_LIMIT",
};

/** One decoded `taos_sim_event` (prices in ticks, volumes in lots, fees in quote units). */
export interface RawEvent {
  timestamp: bigint;
  price: bigint;
  volume: bigint;
  feeMaker: bigint;
  feeTaker: bigint;
  orderId: number;
  restingOrderId: number;
  tradeId: number;
  agentId: number;
  restingAgentId: number;
  clientOrderId: number;
  /** For trades: the resting side's client order id. */
  restingClientOrderId: number;
  /** Place, cancel: the order's margin leverage in 10^-9 (0 = cash order). */
  leverageE9: bigint;
  kind: number;
  direction: number;
  code: number;
  flags: number;
}

/** Decodes event i of a buffer of `taos_sim_event` records. */
export function readEvent(view: DataView, i: number): RawEvent {
  const o = i * EVENT_SIZE;
  return {
    timestamp: view.getBigUint64(o, true),
    price: view.getBigInt64(o + 8, true),
    volume: view.getBigInt64(o + 16, true),
    feeMaker: view.getBigInt64(o + 24, true),
    feeTaker: view.getBigInt64(o + 32, true),
    orderId: view.getUint32(o + 40, true),
    restingOrderId: view.getUint32(o + 44, true),
    tradeId: view.getUint32(o + 48, true),
    agentId: view.getInt32(o + 52, true),
    restingAgentId: view.getInt32(o + 56, true),
    clientOrderId: view.getUint32(o + 60, true),
    kind: view.getUint8(o + 64),
    direction: view.getUint8(o + 65),
    code: view.getUint8(o + 66),
    flags: view.getUint8(o + 67),
    restingClientOrderId: view.getUint32(o + 68, true),
    leverageE9: view.getBigInt64(o + 72, true),
  };
}

/** One decoded `taos_sim_order`. */
export interface RawOrder {
  timestamp: bigint;
  price: bigint;
  volume: bigint;
  orderId: number;
  agentId: number;
  clientOrderId: number;
  direction: number;
  /** Margin leverage in 10^-9 (0 = cash order). */
  leverageE9: bigint;
}

/** Decodes order i of a buffer of `taos_sim_order` records. */
export function readOrder(view: DataView, i: number): RawOrder {
  const o = i * ORDER_SIZE;
  return {
    timestamp: view.getBigUint64(o, true),
    price: view.getBigInt64(o + 8, true),
    volume: view.getBigInt64(o + 16, true),
    orderId: view.getUint32(o + 24, true),
    agentId: view.getInt32(o + 28, true),
    clientOrderId: view.getUint32(o + 32, true),
    direction: view.getUint8(o + 36),
    leverageE9: view.getBigInt64(o + 40, true),
  };
}

/** One instruction in native units, ready to be packed. */
export interface RawInstruction {
  kind: 1 | 2 | 3 | 4;
  direction?: number;
  timeInForce?: number;
  stpFlag?: number;
  postOnly?: boolean;
  currency?: number;
  bookId?: number;
  clientOrderId?: number;
  orderId?: number;
  volume?: bigint;
  /** Cancel: `volume` lots even when 0 (a request below one lot); otherwise 0 is the whole order. */
  partial?: boolean;
  price?: bigint;
  expiryNs?: bigint;
  /** Margin leverage in 10^-9 (0 = cash order). */
  leverageE9?: bigint;
}

/** Packs instructions into the flat `taos_sim_instruction` array the C side reads. */
export function packInstructions(list: RawInstruction[]): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(Math.max(1, list.length) * INSTRUCTION_SIZE);
  const view = new DataView(bytes.buffer);
  list.forEach((x, i) => {
    const o = i * INSTRUCTION_SIZE;
    view.setUint8(o, x.kind);
    view.setUint8(o + 1, x.direction ?? 0);
    view.setUint8(o + 2, x.timeInForce ?? 0);
    view.setUint8(o + 3, x.stpFlag ?? 0);
    view.setUint8(o + 4, x.postOnly ? 1 : 0);
    view.setUint8(o + 5, x.currency ?? 0);
    view.setUint8(o + 6, x.partial ? 1 : 0);
    view.setUint32(o + 8, x.bookId ?? 0, true);
    view.setUint32(o + 12, x.clientOrderId ?? NONE, true);
    view.setUint32(o + 16, x.orderId ?? 0, true);
    view.setBigInt64(o + 24, x.volume ?? 0n, true);
    view.setBigInt64(o + 32, x.price ?? 0n, true);
    view.setBigUint64(o + 40, x.expiryNs ?? 0n, true);
    view.setBigInt64(o + 48, x.leverageE9 ?? 0n, true);
  });
  return bytes;
}

/**
 * The native parameters of a fee schedule, the exchange's (`prefix` "") or a background group's
 * ("init_", ...): `<prefix>fee_tier_count` and each tier's `<prefix>fee_volume_<i>`,
 * `<prefix>fee_maker_<i>` and `<prefix>fee_taker_<i>`, tiers ascending. A group without tiers
 * (count 0) trades under the exchange's.
 */
function feeParams(
  prefix: string,
  fees: { tiers: { volumeRequired: number; makerFee: number; takerFee: number }[] } | undefined,
): Record<string, number> {
  const tiers = ascendingTiers(fees?.tiers ?? []);
  const values: Record<string, number> = { [`${prefix}fee_tier_count`]: tiers.length };
  tiers.forEach((tier, i) => {
    values[`${prefix}fee_volume_${i}`] = tier.volumeRequired;
    values[`${prefix}fee_maker_${i}`] = tier.makerFee;
    values[`${prefix}fee_taker_${i}`] = tier.takerFee;
  });
  return values;
}

function balances(prefix: string, b: BalancesConfig | undefined): Record<string, number> {
  if (b === undefined) return {};
  if (b.type === "fixed") {
    return { [`${prefix}_kind`]: 0, [`${prefix}_a`]: b.base, [`${prefix}_b`]: b.quote };
  }
  return {
    [`${prefix}_kind`]: b.type === "pareto" ? 1 : 2,
    [`${prefix}_a`]: b.scale,
    [`${prefix}_b`]: b.shape,
    [`${prefix}_c`]: b.wealth,
    [`${prefix}_d`]: b.price,
  };
}

/** The native parameters of the ALGO child order size (kind: TAOS_SIM_VOLUME_* in taos_sim.h). */
function volumeDistribution(d: VolumeDistributionConfig): Record<string, number> {
  switch (d.type) {
    case "lognormal":
      return { algo_volume_kind: 0, algo_volume_a: d.mu, algo_volume_b: d.sigma };
    case "dirac":
      return { algo_volume_kind: 1, algo_volume_a: d.loc };
    case "gamma":
      return { algo_volume_kind: 2, algo_volume_a: d.shape, algo_volume_b: d.scale };
  }
}

/** Parameter values by C name for a validated configuration (absent groups: count 0). */
export function nativeParams(config: SimConfig, threads: number): Record<string, number> {
  const x = config.exchange;
  const p = config.processes;
  const { initialization: init, stylized: sty, hft, algo, futures: fut } = config.agents;
  const values: Record<string, number> = {
    seed: config.seed,
    start: config.start,
    duration: config.duration,
    step: config.step,
    grace_period: config.gracePeriod,
    books: config.books,
    threads,
    remote_agents: config.remoteAgentCount,
    reference_dynamics: config.referenceDynamics ? 1 : 0,
    price_decimals: x.priceDecimals,
    volume_decimals: x.volumeDecimals,
    base_decimals: x.baseDecimals,
    quote_decimals: x.quoteDecimals,
    initial_price: x.initialPrice,
    max_leverage: x.maxLeverage,
    max_loan: x.maxLoan,
    maintenance_margin: x.maintenanceMargin,
    fee_history_slots: x.fees.historySlots,
    fee_slot_period: x.fees.slotPeriod,
    ...feeParams("", x.fees),
    ...balances("remote_bal", config.remoteBalances),
    update_period: p.updatePeriod,
    fund_seed_interval: p.fundamental.seedInterval,
    fund_mu: p.fundamental.mu,
    fund_sigma: p.fundamental.sigma,
    fund_lambda: p.fundamental.lambda,
    fund_mu_jump: p.fundamental.muJump,
    fund_sigma_jump: p.fundamental.sigmaJump,
    ext_seed_interval: p.external.seedInterval,
    ext_sample_interval: p.external.sampleInterval,
    ext_sigma: p.external.sigma,
  };
  if (init) {
    Object.assign(values, balances("init_bal", init.balances), feeParams("init_", init.fees), {
      init_count: init.count,
      init_tau: init.tau,
    });
  }
  if (sty) {
    Object.assign(values, balances("sty_bal", sty.balances), feeParams("sty_", sty.fees), {
      sty_count: sty.count,
      sty_mfl_mean: sty.MFLmean,
      sty_mfl_std: sty.MFLstd,
      sty_min_opl: sty.minOPLatency,
      sty_max_opl: sty.maxOPLatency,
      sty_ray: sty.opLatencyScaleRay,
      sty_delay_mean: sty.delayMean,
      sty_delay_std: sty.delaySTD,
      sty_scale_r: sty.scaleR,
      sty_sigma_f: sty.sigmaF,
      sty_sigma_c: sty.sigmaC,
      sty_sigma_n: sty.sigmaN,
      sty_tau: sty.tau,
      sty_tau_hist: sty.tauHist,
      sty_tau_f: sty.tauF,
      sty_sigma_eps: sty.sigmaEps,
      sty_r_aversion: sty.r_aversion,
      sty_regime_flag: sty.regimeChangeFlag ? 1 : 0,
      sty_regime_prob: sty.regimeProb,
      sty_tau_f_regime: sty.tauFRegime,
      sty_po_alpha: sty.pO_alpha,
      sty_gbm_x0: sty.GBM_X0,
      sty_gbm_mu: sty.GBM_mu,
      sty_gbm_sigma: sty.GBM_sigma,
    });
  }
  if (hft) {
    Object.assign(values, balances("hft_bal", hft.balances), feeParams("hft_", hft.fees), {
      hft_count: hft.count,
      hft_min_mfl: hft.minMFLatency,
      hft_min_opl: hft.minOPLatency,
      hft_max_opl: hft.maxOPLatency,
      hft_ray: hft.opLatencyScaleRay,
      hft_tau: hft.tau,
      hft_delta: hft.delta,
      hft_psi: hft.psiHFT_constant,
      hft_gamma: hft.gHFT,
      hft_kappa: hft.kappa,
      hft_spread: hft.spread,
      hft_order_mean: hft.orderMean,
      hft_noise_ray: hft.noiseRay,
      hft_shift_pct: hft.shiftPercentage,
      hft_sigma_sqr: hft.sigmaSqr,
    });
  }
  if (algo) {
    Object.assign(values, balances("algo_bal", algo.balances), feeParams("algo_", algo.fees), {
      algo_count: algo.count,
      algo_wakeup_prob: algo.wakeupProb,
      algo_volume_prop: algo.volumeProp,
      algo_mfl_mean: algo.MFLmean,
      algo_mfl_std: algo.MFLstd,
      algo_vbs: algo.VBS,
      algo_min_opl: algo.minOPLatency,
      algo_max_opl: algo.maxOPLatency,
      algo_ray: algo.opLatencyScaleRay,
      ...volumeDistribution(algo.volumeDistribution),
    });
  }
  if (fut) {
    Object.assign(values, balances("fut_bal", fut.balances), feeParams("fut_", fut.fees), {
      fut_count: fut.count,
      fut_mfl_mean: fut.MFLmean,
      fut_mfl_std: fut.MFLstd,
      fut_min_opl: fut.minOPLatency,
      fut_max_opl: fut.maxOPLatency,
      fut_ray: fut.opLatencyScaleRay,
      fut_scale_r: fut.scaleR,
      fut_volume: fut.volume,
      fut_lambda: fut.lambda,
      fut_sigma_eps: fut.sigmaEps,
    });
  }
  return values;
}

/** Lays named parameter values out in the C order; unknown names are a programming error. */
export function packParams(values: Record<string, number>): Float64Array<ArrayBuffer> {
  const lib = simSymbols();
  const count = lib.taos_sim_param_count();
  const out = new Float64Array(count);
  const index = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const name = lib.taos_sim_param_name(i);
    index.set(new Deno.UnsafePointerView(name!).getCString(), i);
  }
  for (const [name, value] of Object.entries(values)) {
    const i = index.get(name);
    if (i === undefined) throw new Error(`native simulation has no parameter '${name}'`);
    out[i] = value;
  }
  return out;
}
