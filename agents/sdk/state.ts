/**
 * The state update a miner's trading agent receives at every publish instant, as zod schemas and
 * TypeScript types, and the conversion the validator applies to turn one published simulation
 * state into one miner's update.
 *
 * Field names are the subnet's wire names (`bids`, `asks`, `quantity`, `base_balance`, ...), so a
 * state decoded from a validator on the network parses here unchanged. Map keys (book ids, agent
 * ids) arrive as strings on the wire and stay strings in the objects; indexing with a number works.
 *
 * ```ts
 * import { parseStateUpdate } from "./state.ts";
 * const state = parseStateUpdate(JSON.parse(body));
 * const book = state.books[0];
 * console.log(book.bids[0]?.price, state.accounts[uid][0].quote_balance.free);
 * ```
 * @module
 */
import { issuesText, z } from "../../cli/zod_messages.ts";
import { pythonFloat } from "../../bittensor/python_float.ts";
import { gridUnits } from "../../sim/grid.ts";
import type { SimConfig } from "../../sim/config.ts";
import type {
  AccountOrder,
  BookEvent,
  BookState,
  Level as EngineLevel,
  Notice,
  PublishState,
  RemoteAccount,
} from "../../sim/engine.ts";

/** Levels per side the validator keeps in a book it sends to miners. */
export const MAX_BOOK_LEVELS = 21;

const int = z.number().int();
const nonNegativeInt = int.nonnegative();
/**
 * An integer of any size, for order ids the exchange judges per order: zod's `int()` stops at
 * 2^53, and a reply carrying a nanosecond clock as a `clientOrderId` (which the reference's models
 * take) would be voided whole instead of having that order rejected. The ids come back in notices
 * and are logged by the validator, so every reader of them takes what the replies may carry.
 */
export const anyInteger = z.number().refine(Number.isInteger, "expected an integer");
const side = z.union([z.literal(0), z.literal(1)]);
/** A map key holding an integer id (`"0"`, `"17"`, `"-3"`). */
const idKey = z.string().regex(/^-?\d+$/, "map key must be an integer id");

/** An order: resting in a level, placed (book event) or in an account's open-order list. */
export const orderSchema = z.object({
  id: nonNegativeInt,
  client_id: int.nullable().default(null),
  timestamp: nonNegativeInt,
  quantity: z.number(),
  side,
  order_type: z.enum(["limit", "market"]),
  price: z.number().nullable(),
});
/** An order: resting in a level, placed (book event) or in an account's open-order list. */
export type Order = z.infer<typeof orderSchema>;

/** A trade (book event). `side` is the aggressor's direction; fees are amounts in quote. */
export const tradeSchema = z.object({
  id: nonNegativeInt,
  side,
  timestamp: nonNegativeInt,
  taker_id: nonNegativeInt,
  taker_agent_id: int,
  maker_id: nonNegativeInt,
  maker_agent_id: int,
  quantity: z.number(),
  price: z.number(),
  // The reference's model allows None: read as no fee.
  maker_fee: z.number().nullable().default(0).transform((fee) => fee ?? 0),
  taker_fee: z.number().nullable().default(0).transform((fee) => fee ?? 0),
});
/** A trade (book event). `side` is the aggressor's direction; fees are amounts in quote. */
export type Trade = z.infer<typeof tradeSchema>;

/** A cancellation (book event); `quantity` null = the whole remaining order. */
export const cancellationSchema = z.object({
  orderId: nonNegativeInt,
  quantity: z.number().nullable(),
});
/** A cancellation (book event); `quantity` null = the whole remaining order. */
export type Cancellation = z.infer<typeof cancellationSchema>;

/** An L3 book event since the previous update. */
export type BookEventInfo = Order | Trade | Cancellation;

/** One price level; `orders` only for the first detailed levels, else null. */
export const levelSchema = z.object({
  price: z.number(),
  quantity: z.number(),
  orders: z.array(orderSchema).nullable().default(null),
});
/** One price level; `orders` only for the first detailed levels, else null. */
export type Level = z.infer<typeof levelSchema>;

/** One order book: levels best first, and the L3 events since the previous update. */
export const bookSchema = z.object({
  id: nonNegativeInt,
  bids: z.array(levelSchema),
  asks: z.array(levelSchema),
  events: z.array(z.union([tradeSchema, orderSchema, cancellationSchema])).nullable().default(
    null,
  ),
});
/** One order book: levels best first, and the L3 events since the previous update. */
export type Book = z.infer<typeof bookSchema>;

/** One balance; `free` is available for new orders, `reserved` is locked in resting orders. */
export const balanceSchema = z.object({
  currency: z.enum(["BASE", "QUOTE"]),
  total: z.number(),
  free: z.number(),
  reserved: z.number(),
});
/** One balance; `free` is available for new orders, `reserved` is locked in resting orders. */
export type Balance = z.infer<typeof balanceSchema>;

/** Fee state of an account on one book: rolling traded volume and the current tier's rates. */
export const feesSchema = z.object({
  volume_traded: z.number(),
  maker_fee_rate: z.number(),
  taker_fee_rate: z.number(),
});
/** Fee state of an account on one book. */
export type Fees = z.infer<typeof feesSchema>;

/** An agent's account on one book. */
export const accountSchema = z.object({
  agent_id: int,
  book_id: nonNegativeInt,
  base_balance: balanceSchema,
  quote_balance: balanceSchema,
  orders: z.array(orderSchema).default([]),
  fees: feesSchema.nullable().default(null),
});
/** An agent's account on one book. */
export type Account = z.infer<typeof accountSchema>;

const eventBase = { timestamp: nonNegativeInt, agentId: int.nullable().default(null) };
const placementBase = {
  ...eventBase,
  bookId: nonNegativeInt.nullable().default(null),
  orderId: nonNegativeInt.nullable(),
  clientOrderId: anyInteger.nullable().default(null),
  side,
  quantity: z.number(),
  success: z.boolean(),
  message: z.string().default(""),
};

/**
 * A notice addressed to the agent (or broadcast): responses to its instructions, its fills. Told
 * apart by `type`, so that a notice of a known type is checked field by field as that type.
 */
export const eventSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("EVENT_SIMULATION_START"),
    ...eventBase,
    logDir: z.string().nullable().default(null),
  }),
  z.object({ type: z.literal("EVENT_SIMULATION_STOP"), ...eventBase }),
  z.object({
    type: z.enum([
      "RESPONSE_DISTRIBUTED_PLACE_ORDER_LIMIT",
      "ERROR_RESPONSE_DISTRIBUTED_PLACE_ORDER_LIMIT",
    ]),
    ...placementBase,
    price: z.number(),
  }),
  z.object({
    type: z.enum([
      "RESPONSE_DISTRIBUTED_PLACE_ORDER_MARKET",
      "ERROR_RESPONSE_DISTRIBUTED_PLACE_ORDER_MARKET",
    ]),
    ...placementBase,
  }),
  z.object({
    type: z.enum([
      "RESPONSE_DISTRIBUTED_CANCEL_ORDERS",
      "ERROR_RESPONSE_DISTRIBUTED_CANCEL_ORDERS",
    ]),
    ...eventBase,
    bookId: nonNegativeInt.nullable().default(null),
    cancellations: z.array(z.object({
      timestamp: nonNegativeInt,
      bookId: nonNegativeInt,
      // Any integer, as the reference's: the refusal of a cancellation names the id it was given.
      orderId: anyInteger,
      quantity: z.number().nullable(),
      success: z.boolean(),
      message: z.string().default(""),
    })).default([]),
  }),
  z.object({
    type: z.literal("EVENT_TRADE"),
    ...eventBase,
    bookId: nonNegativeInt.nullable().default(null),
    tradeId: nonNegativeInt,
    clientOrderId: anyInteger.nullable().default(null),
    takerAgentId: int,
    takerOrderId: nonNegativeInt,
    makerAgentId: int,
    makerOrderId: nonNegativeInt,
    side,
    price: z.number(),
    quantity: z.number(),
    makerFee: z.number().default(0),
    takerFee: z.number().default(0),
  }),
  z.object({
    type: z.enum(["RESPONSE_DISTRIBUTED_RESET_AGENT", "ERROR_RESPONSE_DISTRIBUTED_RESET_AGENT"]),
    ...eventBase,
    resets: z.array(z.object({
      type: z.string(),
      timestamp: nonNegativeInt,
      agentId: int,
      success: z.boolean(),
      message: z.string().default(""),
    })).default([]),
  }),
]);
/** A notice addressed to the agent (or broadcast). */
export type Event = z.infer<typeof eventSchema>;
/** The notice for one of the agent's fills. */
export type TradeEvent = Extract<Event, { type: "EVENT_TRADE" }>;
/** The answer to one placement, accepted (`success`) or rejected (`message` names the reason). */
export type PlacementEvent = Extract<Event, { success: boolean; side: unknown }>;
/** The outcome for one order of a cancel notice. */
export type CancellationEvent = Extract<Event, { cancellations: unknown }>["cancellations"][number];

const feeTierSchema = z.object({
  volume_required: z.number(),
  maker_fee: z.number(),
  taker_fee: z.number(),
});

/**
 * The simulation configuration sent with each update. Only the fields agents commonly need are
 * required; every other field of the reference's config object passes through untouched.
 */
export const simulationConfigSchema = z.looseObject({
  logDir: z.string().nullable().default(null),
  time_unit: z.string().default("ns"),
  duration: nonNegativeInt,
  grace_period: nonNegativeInt.default(0),
  publish_interval: z.number().int().positive(),
  book_count: z.number().int().positive(),
  book_levels: nonNegativeInt.default(5),
  baseDecimals: nonNegativeInt,
  quoteDecimals: nonNegativeInt,
  priceDecimals: nonNegativeInt,
  volumeDecimals: nonNegativeInt,
  fee_policy: z.object({
    fee_type: z.string(),
    params: z.record(z.string(), z.unknown()),
    tiers: z.array(feeTierSchema),
  }).nullable().default(null),
  miner_wealth: z.number(),
  init_price: z.number(),
});
/** The simulation configuration sent with each update. */
export type SimulationConfig = z.infer<typeof simulationConfigSchema>;

/**
 * A decoded state update (`MarketSimulationStateUpdate` after decompression). `accounts` and
 * `notices` are keyed by agent id; taos validators include only the recipient's own entry.
 */
export const stateUpdateSchema = z.object({
  model: z.string().default("im"),
  timestamp: nonNegativeInt,
  config: simulationConfigSchema.nullable().default(null),
  books: z.record(idKey, bookSchema),
  accounts: z.record(idKey, z.record(idKey, accountSchema)),
  notices: z.record(idKey, z.array(eventSchema)).nullable().default({}),
  /**
   * The ss58 hotkey of the validator that sent the update, set by the miner (absent in
   * backtests). Each validator runs its own simulation and one agent instance answers them all:
   * state that must not mix their markets is kept per validator.
   */
  validator: z.string().optional(),
});
/** A decoded state update. */
export type StateUpdate = z.infer<typeof stateUpdateSchema>;

/** Formats zod issues as `path: problem` lines. */
export function describeIssues(error: z.ZodError): string {
  return issuesText(error.issues, "(root)");
}

/** Parses a decoded state update; throws an Error naming every bad field. */
export function parseStateUpdate(raw: unknown): StateUpdate {
  const result = stateUpdateSchema.safeParse(raw);
  if (!result.success) throw new Error(`invalid state update: ${describeIssues(result.error)}`);
  return result.data;
}

type Balances = SimConfig["remoteBalances"];

/** A group's capital as the reference's config reports it: `capital_type`, `base_balance` and
 * `quote_balance` (fixed balances only) and `wealth` (a fixed account's value at the initial
 * price, to the quote decimals). */
function capital(balances: Balances, config: SimConfig) {
  const fixed = balances.type === "fixed";
  return {
    capital_type: fixed ? "static" : balances.type,
    base_balance: fixed ? balances.base : null,
    quote_balance: fixed ? balances.quote : null,
    wealth: fixed
      ? roundTo(
        balances.quote + balances.base * config.exchange.initialPrice,
        config.exchange.quoteDecimals,
      )
      : balances.wealth,
  };
}

/** `capital(...)` with every key behind `prefix`. */
function capitalFields(prefix: string, balances: Balances, config: SimConfig) {
  return Object.fromEntries(
    Object.entries(capital(balances, config)).map(([key, value]) => [prefix + key, value]),
  );
}

/** The fields the reference's miner-side config model requires of a group, zero or empty: a group
 * that is not configured still sends them (a Python miner refuses the whole config otherwise). */
function absentGroup(prefix: string, fields: string[]): Record<string, unknown> {
  return {
    [`${prefix}capital_type`]: "static",
    [`${prefix}base_balance`]: null,
    [`${prefix}quote_balance`]: null,
    [`${prefix}wealth`]: 0,
    ...Object.fromEntries(fields.map((name) => [prefix + name, 0])),
  };
}

const HFT_FIELDS = [
  "feed_latency_min",
  "order_latency_min",
  "order_latency_max",
  "order_latency_scale",
  "tau",
  "delta",
  "psi",
  "gHFT",
  "kappa",
  "spread",
  "order_size_mean",
  "price_noise",
  "price_shift",
];
const STA_FIELDS = [
  "feed_latency_min",
  "feed_latency_mean",
  "feed_latency_std",
  "order_latency_min",
  "order_latency_max",
  "order_latency_scale",
  "decision_latency_mean",
  "decision_latency_std",
  "selection_scale",
  "noise_weight",
  "chartist_weight",
  "fundamentalist_weight",
  "tau",
  "tauHist",
  "tauF",
  "sigmaEps",
  "r_aversion",
];

/** The background groups' parameters under the reference's names (a group that is not configured
 * reports a count of 0, and zeros for the fields the reference's model requires). The stylized
 * traders' `tauF` is their own: the reference copies `tau`. */
function agentFields(config: SimConfig): Record<string, unknown> {
  const { initialization: init, hft, stylized: sta, futures } = config.agents;
  return {
    init_agent_count: init?.count ?? 0,
    ...(init
      ? { ...capitalFields("init_agent_", init.balances, config), init_agent_tau: init.tau }
      : absentGroup("init_agent_", ["tau"])),
    hft_agent_count: hft?.count ?? 0,
    ...(hft === undefined ? absentGroup("hft_agent_", HFT_FIELDS) : {
      ...capitalFields("hft_agent_", hft.balances, config),
      hft_agent_feed_latency_min: hft.minMFLatency,
      hft_agent_order_latency_min: hft.minOPLatency,
      hft_agent_order_latency_max: hft.maxOPLatency,
      hft_agent_order_latency_scale: hft.opLatencyScaleRay,
      hft_agent_tau: hft.tau,
      hft_agent_delta: hft.delta,
      hft_agent_psi: hft.psiHFT_constant,
      hft_agent_gHFT: hft.gHFT,
      hft_agent_kappa: hft.kappa,
      hft_agent_spread: hft.spread,
      hft_agent_order_size_mean: hft.orderMean,
      hft_agent_price_noise: hft.noiseRay,
      hft_agent_price_shift: hft.shiftPercentage,
    }),
    sta_agent_count: sta?.count ?? 0,
    ...(sta === undefined ? absentGroup("sta_agent_", STA_FIELDS) : {
      ...capitalFields("sta_agent_", sta.balances, config),
      sta_agent_feed_latency_min: 0,
      sta_agent_feed_latency_mean: sta.MFLmean,
      sta_agent_feed_latency_std: sta.MFLstd,
      sta_agent_order_latency_min: sta.minOPLatency,
      sta_agent_order_latency_max: sta.maxOPLatency,
      sta_agent_order_latency_scale: sta.opLatencyScaleRay,
      sta_agent_decision_latency_mean: sta.delayMean,
      sta_agent_decision_latency_std: sta.delaySTD,
      sta_agent_selection_scale: sta.scaleR,
      sta_agent_noise_weight: sta.sigmaN,
      sta_agent_chartist_weight: sta.sigmaC,
      sta_agent_fundamentalist_weight: sta.sigmaF,
      sta_agent_tau: sta.tau,
      sta_agent_tauHist: sta.tauHist,
      sta_agent_tauF: sta.tauF,
      sta_agent_sigmaEps: sta.sigmaEps,
      sta_agent_r_aversion: sta.r_aversion,
    }),
    futures_agent_count: futures?.count ?? 0,
    ...(futures && {
      ...capitalFields("futures_agent_", futures.balances, config),
      futures_agent_volume: futures.volume,
      futures_agent_sigmaEps: futures.sigmaEps,
      futures_agent_lambda: futures.lambda,
      futures_agent_feed_latency_mean: futures.MFLmean,
      futures_agent_feed_latency_std: futures.MFLstd,
      futures_agent_order_latency_min: futures.minOPLatency,
      futures_agent_order_latency_max: futures.maxOPLatency,
      futures_agent_selection_scale: futures.scaleR,
    }),
  };
}

/** The config object miners receive, derived from our simulation config (names as the reference's). */
export function simulationConfigFor(config: SimConfig): SimulationConfig {
  const miner = capital(config.remoteBalances, config);
  const fundamental = config.processes.fundamental;
  return {
    logDir: null,
    time_unit: "ns",
    duration: config.duration,
    grace_period: config.gracePeriod,
    publish_interval: config.step,
    book_count: config.books,
    book_levels: config.exchange.maxDepth ?? config.exchange.detailedDepth,
    baseDecimals: config.exchange.baseDecimals,
    quoteDecimals: config.exchange.quoteDecimals,
    priceDecimals: config.exchange.priceDecimals,
    volumeDecimals: config.exchange.volumeDecimals,
    fee_policy: {
      fee_type: "tiered",
      params: {
        historySlots: String(config.exchange.fees.historySlots),
        slotPeriod: String(config.exchange.fees.slotPeriod),
      },
      tiers: config.exchange.fees.tiers.map((tier) => ({
        volume_required: tier.volumeRequired,
        maker_fee: tier.makerFee,
        taker_fee: tier.takerFee,
      })),
    },
    max_leverage: config.exchange.maxLeverage,
    max_loan: config.exchange.maxLoan,
    maintenance_margin: config.exchange.maintenanceMargin,
    miner_capital_type: miner.capital_type,
    miner_base_balance: miner.base_balance,
    miner_quote_balance: miner.quote_balance,
    miner_wealth: miner.wealth,
    init_price: config.exchange.initialPrice,
    fp_update_period: config.processes.updatePeriod,
    fp_seed_interval: fundamental.seedInterval,
    fp_mu: fundamental.mu,
    fp_sigma: fundamental.sigma,
    fp_lambda: fundamental.lambda,
    fp_mu_jump: fundamental.muJump,
    fp_sigma_jump: fundamental.sigmaJump,
    ...agentFields(config),
  };
}

/**
 * `value` truncated toward zero to `decimals` places, as the exchange truncates an off-grid price
 * or volume. A float a hair below a grid point (300.11999999999998 for 300.12) counts as on it.
 */
export function truncateTo(value: number, decimals: number): number {
  return gridUnits(value, decimals) / 10 ** decimals;
}

/** Rounds half away from zero to `decimals` places. */
export function roundTo(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.sign(value) * Math.round(Math.abs(value) * factor) / factor;
}

function levelsFor(levels: EngineLevel[]): Level[] {
  return levels.slice(0, MAX_BOOK_LEVELS).map((level) => ({
    price: level.price,
    quantity: level.volume,
    orders: level.orders === undefined ? null : level.orders.map((order) => ({
      id: order.orderId,
      client_id: null,
      timestamp: order.timestamp,
      quantity: order.volume,
      side: order.direction,
      order_type: "limit" as const,
      price: level.price,
    })),
  }));
}

function eventFor(event: BookEvent): BookEventInfo {
  switch (event.event) {
    case "place":
      return {
        id: event.orderId,
        client_id: event.clientOrderId,
        timestamp: event.timestamp,
        quantity: event.volume,
        side: event.direction,
        order_type: event.price === null ? "market" : "limit",
        price: event.price,
      };
    case "trade":
      return {
        id: event.tradeId,
        side: event.direction,
        timestamp: event.timestamp,
        taker_id: event.aggressingOrderId,
        taker_agent_id: event.aggressingAgentId,
        maker_id: event.restingOrderId,
        maker_agent_id: event.restingAgentId,
        quantity: event.volume,
        price: event.price,
        maker_fee: event.fees.maker,
        taker_fee: event.fees.taker,
      };
    case "cancel":
      return { orderId: event.orderId, quantity: event.volume };
  }
}

/** Converts one published book into the miner's view. */
export function bookFor(book: BookState): Book {
  return {
    id: book.bookId,
    bids: levelsFor(book.bid),
    asks: levelsFor(book.ask),
    // An empty list, never null, as the reference sends it (a miner may iterate it directly).
    events: book.record.map(eventFor),
  };
}

function orderFor(order: AccountOrder): Order {
  return {
    id: order.orderId,
    client_id: order.clientOrderId,
    timestamp: order.timestamp,
    quantity: order.volume,
    side: order.direction,
    order_type: "limit",
    price: order.price,
  };
}

function balanceOf(
  currency: Balance["currency"],
  holding: { total: number; free: number; reserved: number },
): Balance {
  return { currency, total: holding.total, free: holding.free, reserved: holding.reserved };
}

/** Converts a remote account into its per-book accounts, keyed by book id. */
export function accountsFor(account: RemoteAccount): Record<string, Account> {
  const out: Record<string, Account> = {};
  account.holdings.forEach((holding, bookId) => {
    const fees = account.fees[bookId];
    out[bookId] = {
      agent_id: account.agentId,
      book_id: bookId,
      // The balance's own four fields, as the reference's model has them: the simulation's loans
      // and collateral, spread in here, would reach an agent in a backtest in code but not on a
      // miner, whose parse of the wire drops them.
      base_balance: balanceOf("BASE", holding.base),
      quote_balance: balanceOf("QUOTE", holding.quote),
      orders: (account.orders[bookId] ?? []).map(orderFor),
      fees: fees === undefined ? null : {
        volume_traded: fees.volume,
        maker_fee_rate: fees.makerFeeRate,
        taker_fee_rate: fees.takerFeeRate,
      },
    };
  });
  return out;
}

type PlaceRecord = Extract<BookEvent, { event: "place" }>;
type TradeRecord = Extract<BookEvent, { event: "trade" }>;

/**
 * Index of a published state's L3 records, to fill notice fields the engine leaves out. Notices go
 * to remote accounts (ids from 0), about their own orders and trades: the records of background
 * agents alone (negative ids), nearly all of them, are left out.
 */
class RecordIndex {
  readonly places = new Map<string, PlaceRecord>();
  readonly trades = new Map<string, TradeRecord>();
  constructor(publish: PublishState) {
    for (const book of publish.books) {
      for (const event of book.record) {
        if (event.event === "place" && event.agentId >= 0) {
          this.places.set(`${book.bookId}:${event.orderId}`, event);
        }
        if (
          event.event === "trade" && (event.aggressingAgentId >= 0 || event.restingAgentId >= 0)
        ) {
          this.trades.set(`${book.bookId}:${event.tradeId}`, event);
        }
      }
    }
  }
}

/**
 * The notice as the reference's validator words it for its miners: a placement's message names
 * the order (`Buy Limit Order 12 placed successfully for 1.0@300.1!`) or the exchange's reason
 * code (`INSUFFICIENT_QUOTE`), a cancellation's the order and book, or `Order Id does not exist!`
 * (the only way a cancellation fails).
 */
function noticeEvent(notice: Notice, index: RecordIndex): Event | null {
  const base = { timestamp: notice.timestamp, agentId: notice.agentId };
  const success = !notice.type.startsWith("ERROR_");
  const message = notice.message ?? (success ? "" : "rejected");
  switch (notice.type) {
    case "RESPONSE_DISTRIBUTED_PLACE_ORDER_LIMIT":
    case "ERROR_RESPONSE_DISTRIBUTED_PLACE_ORDER_LIMIT":
    case "RESPONSE_DISTRIBUTED_PLACE_ORDER_MARKET":
    case "ERROR_RESPONSE_DISTRIBUTED_PLACE_ORDER_MARKET": {
      /* An accepted order is described by its placement record; a rejected one never reached
       * the book, so the notice carries the order as it was requested. */
      const order = notice.request ?? index.places.get(`${notice.bookId}:${notice.orderId}`);
      const limit = notice.type.endsWith("LIMIT");
      const side = order?.direction ?? 0;
      const quantity = order?.volume ?? 0;
      const placed = `${side === 0 ? "Buy" : "Sell"} ${limit ? "Limit" : "Market"} Order ` +
        `${notice.orderId} placed successfully for ${pythonFloat(quantity)}` +
        `${limit ? `@${pythonFloat(order?.price ?? 0)}` : ""}!`;
      const placement = {
        ...base,
        bookId: notice.bookId,
        orderId: notice.orderId >= 0 ? notice.orderId : null,
        clientOrderId: notice.clientOrderId,
        side,
        quantity,
        success,
        message: success ? placed : notice.reason ?? message,
      };
      return limit
        ? {
          type: notice.type as "RESPONSE_DISTRIBUTED_PLACE_ORDER_LIMIT",
          ...placement,
          price: order?.price ?? 0,
        }
        : { type: notice.type as "RESPONSE_DISTRIBUTED_PLACE_ORDER_MARKET", ...placement };
    }
    case "RESPONSE_DISTRIBUTED_CANCEL_ORDERS":
    case "ERROR_RESPONSE_DISTRIBUTED_CANCEL_ORDERS":
      return {
        type: notice.type,
        ...base,
        bookId: notice.bookId,
        cancellations: [{
          timestamp: notice.timestamp,
          bookId: notice.bookId,
          orderId: notice.orderId,
          quantity: notice.cancelledVolume ?? null,
          success,
          message: success
            ? `Cancelled order ${notice.orderId} on book ${notice.bookId} for agent ${notice.agentId}.`
            : "Order Id does not exist!",
        }],
      };
    case "RESPONSE_DISTRIBUTED_RESET_AGENT":
      return {
        type: notice.type,
        ...base,
        resets: [{
          type: notice.type,
          timestamp: notice.timestamp,
          agentId: notice.agentId,
          success,
          message,
        }],
      };
    case "EVENT_TRADE": {
      if (notice.trade === undefined) return null;
      const record = index.trades.get(`${notice.bookId}:${notice.trade.tradeId}`);
      const asTaker = record === undefined || record.aggressingAgentId === notice.agentId;
      return {
        type: "EVENT_TRADE",
        ...base,
        bookId: notice.bookId,
        tradeId: notice.trade.tradeId,
        clientOrderId: notice.clientOrderId,
        takerAgentId: record?.aggressingAgentId ?? notice.agentId,
        takerOrderId: record?.aggressingOrderId ?? notice.orderId,
        makerAgentId: record?.restingAgentId ?? -1,
        makerOrderId: record?.restingOrderId ?? 0,
        side: notice.trade.direction,
        price: notice.trade.price,
        quantity: notice.trade.volume,
        makerFee: record?.fees.maker ?? (asTaker ? 0 : notice.trade.fee),
        takerFee: record?.fees.taker ?? (asTaker ? notice.trade.fee : 0),
      };
    }
  }
}

/** The parts of a published state that every miner's update shares, converted once. */
const shared = new WeakMap<PublishState, { books: Record<string, Book>; index: RecordIndex }>();

function sharedParts(publish: PublishState): { books: Record<string, Book>; index: RecordIndex } {
  let parts = shared.get(publish);
  if (parts === undefined) {
    const books: Record<string, Book> = {};
    for (const book of publish.books) books[book.bookId] = bookFor(book);
    parts = { books, index: new RecordIndex(publish) };
    shared.set(publish, parts);
  }
  return parts;
}

/** Options of {@linkcode stateForAgent}. */
export interface StateForAgentOptions {
  /** True for the first update of a simulation: an `EVENT_SIMULATION_START` notice is added. */
  first?: boolean;
  /** Simulated ns at which the simulation started (its config's `start`, default 0): the time of
   * its start and stop notices, as the reference stamps both when the simulation begins. */
  start?: number;
}

/**
 * Builds one miner's state update from a published state: every book (at most 21 levels per
 * side), only this agent's accounts and notices (keyed by its id), the config, and start/stop
 * notices. Notices are ordered by timestamp. The books are converted once per published state
 * and shared (read-only) by every miner's update.
 */
export function stateForAgent(
  publish: PublishState,
  agentId: number,
  config: SimulationConfig,
  options: StateForAgentOptions = {},
): StateUpdate {
  const { books, index } = sharedParts(publish);
  const account = publish.accounts.find((a) => a.agentId === agentId);
  const events: Event[] = [];
  for (const notice of publish.notices) {
    if (notice.agentId !== agentId) continue;
    const event = noticeEvent(notice, index);
    if (event !== null) events.push(event);
  }
  const start = options.start ?? 0;
  // Both stamped with the start, so by time they come first, the start before the stop.
  if (publish.final) {
    events.unshift({ type: "EVENT_SIMULATION_STOP", timestamp: start, agentId: null });
  }
  if (options.first) {
    events.unshift({
      type: "EVENT_SIMULATION_START",
      timestamp: start,
      agentId: null,
      // The reference's model requires a text (its log directory); taos keeps none to name.
      logDir: "",
    });
  }
  events.sort((a, b) => a.timestamp - b.timestamp);
  return {
    model: "im",
    timestamp: publish.timestamp,
    config,
    books,
    accounts: account === undefined ? {} : { [agentId]: accountsFor(account) },
    notices: { [agentId]: events },
  };
}
