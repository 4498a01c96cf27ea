/**
 * `SimpleRegressorAgent`: learns online, per book (and per validator: each runs its own
 * simulation), to predict the next interval's log return
 * from features of the current one, and trades on strong predictions with good-till-time
 * orders.
 *
 * Every `sampling_interval` ns of the book's L3 events form one bar: open/high/low/close of
 * trade prices, placed volume, direction sign(close − open), trade imbalance (buy − sell trade
 * quantity over total), order imbalance (same for placements) and average return
 * 1 − mean trade price / high. The target is ln(close / open) of the following bar. A
 * passive-aggressive regressor (`model=PassiveAggressiveRegressor`, the only model offered)
 * learns each completed pair. A prediction beyond `model_threshold` is distrusted and replaced by
 * ±`signal_threshold` (which trades nothing). Above `signal_threshold`: buy one tick above the
 * best bid and sell at mid·e^signal; below −`signal_threshold`: sell one tick below the best
 * ask and buy at mid·e^signal. Orders are GTT with `expiry_period` ns.
 *
 * Params (defaults): `min_quantity` 0.1, `max_quantity` 1.0, `expiry_period` 200,
 * `model` PassiveAggressiveRegressor, `signal_threshold` 0.0025, `model_threshold`
 * 2 × signal_threshold (refused below signal_threshold), `sampling_interval` = the publish
 * interval, `seed`.
 * @module
 */
import { z } from "zod";
import { Agent, type AgentParams } from "../sdk/agent.ts";
import { BUY, GTT, type Instruction, SELL } from "../sdk/instructions.ts";
import { isOrder, isTrade } from "../sdk/book.ts";
import { AgentRandom } from "../sdk/random.ts";
import type { Book, SimulationConfig, StateUpdate } from "../sdk/state.ts";
import {
  checkQuantityLot,
  positiveNumber,
  quantityParams,
  quantityRange,
  quantityRangeOk,
} from "./params.ts";
import { PassiveAggressiveRegressor } from "./passive_aggressive.ts";

const paramsSchema = z.object({
  ...quantityParams,
  expiry_period: z.number().int().positive().default(200),
  model: z.literal("PassiveAggressiveRegressor", {
    error: "only PassiveAggressiveRegressor is available",
  }).default("PassiveAggressiveRegressor"),
  signal_threshold: positiveNumber.default(0.0025),
  model_threshold: positiveNumber.optional(),
  sampling_interval: z.number().int().positive().optional(),
}).refine(quantityRangeOk, quantityRange).superRefine((p, ctx) => {
  // Below signal_threshold, every prediction strong enough to trade would be distrusted.
  if (p.model_threshold !== undefined && p.model_threshold < p.signal_threshold) {
    ctx.addIssue({
      code: "custom",
      message: `must not be below signal_threshold (${p.signal_threshold}): ` +
        "every signal that would trade would be distrusted",
      path: ["model_threshold"],
    });
  }
});

/** Number of features per bar. */
const FEATURES = 10;

interface Bar {
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  buyTrades: number;
  sellTrades: number;
  buyOrders: number;
  sellOrders: number;
  priceSum: number;
  trades: number;
}

function emptyBar(): Bar {
  return {
    open: NaN,
    high: -Infinity,
    low: Infinity,
    close: NaN,
    volume: 0,
    buyTrades: 0,
    sellTrades: 0,
    buyOrders: 0,
    sellOrders: 0,
    priceSum: 0,
    trades: 0,
  };
}

/** Features of a completed bar (null when it had no trades). */
export function barFeatures(bar: Bar): number[] | null {
  if (bar.trades === 0) return null;
  const tradeQty = bar.buyTrades + bar.sellTrades;
  const orderQty = bar.buyOrders + bar.sellOrders;
  return [
    bar.open,
    bar.high,
    bar.low,
    bar.close,
    bar.volume,
    Math.sign(bar.close - bar.open),
    tradeQty === 0 ? 0 : (bar.buyTrades - bar.sellTrades) / tradeQty,
    orderQty === 0 ? 0 : (bar.buyOrders - bar.sellOrders) / orderQty,
    1 - bar.priceSum / bar.trades / bar.high,
    Math.log(bar.close / bar.open),
  ];
}

interface BookModel {
  model: PassiveAggressiveRegressor;
  bar: Bar;
  barEnd: number;
  previous: number[] | null;
  signal: number;
}

/** One validator's market: its sampling interval and a model per book. */
interface Market {
  interval: number;
  books: Map<number, BookModel>;
}

/** Online regression on L3 bars; trades strong predicted moves. */
export class SimpleRegressorAgent extends Agent<z.infer<typeof paramsSchema>> {
  /** Parameter validation and defaults. */
  static paramsSchema = paramsSchema;
  readonly #rng: AgentRandom;
  /** Per validator (its own simulation; "" in backtests): the sampling interval and book models. */
  readonly #markets = new Map<string, Market>();

  /** Creates the agent; see the module doc for params. */
  constructor(uid: number, params: AgentParams) {
    super(uid, paramsSchema.parse(params));
    this.#rng = new AgentRandom(this.params.seed ?? uid + 1);
  }

  /** Refuses a `min_quantity` below the market's lot, picks the sampling interval and starts fresh models for the validator's new simulation. */
  override onStart(config: SimulationConfig | null, validator: string | null): void {
    checkQuantityLot(this.params.min_quantity, config);
    this.#markets.delete(validator ?? "");
    this.#market(validator ?? "", config);
  }

  #market(key: string, config: SimulationConfig | null): Market {
    let market = this.#markets.get(key);
    if (market === undefined) {
      const interval = this.params.sampling_interval ?? config?.publish_interval ?? 5e9;
      this.#markets.set(key, market = { interval, books: new Map() });
    }
    return market;
  }

  /** Latest prediction (log return) for a book of a validator's market, 0 before there is one. */
  signal(bookId: number, validator: string | null = null): number {
    return this.#markets.get(validator ?? "")?.books.get(bookId)?.signal ?? 0;
  }

  /** Updates each book's bars and model, then trades strong signals. */
  onUpdate(state: StateUpdate): Instruction[] {
    const out: Instruction[] = [];
    const threshold = this.params.signal_threshold;
    const distrust = this.params.model_threshold ?? 2 * threshold;
    const market = this.#market(state.validator ?? "", this.config);
    for (const book of Object.values(state.books)) {
      const entry = this.#learn(market, book, state.timestamp);
      let signal = entry.signal;
      if (Math.abs(signal) > distrust) signal = Math.sign(signal) * threshold;
      const bid = this.bestBid(book);
      const ask = this.bestAsk(book);
      const mid = this.mid(book);
      const account = this.accounts[book.id];
      if (bid === null || ask === null || mid === null || account === undefined) continue;
      const quantity = this.roundQuantity(
        this.#rng.uniform(this.params.min_quantity, this.params.max_quantity),
      );
      const gtt = { timeInForce: GTT, expiryPeriod: this.params.expiry_period } as const;
      const target = mid * Math.exp(signal);
      if (signal > threshold) {
        const price = bid + this.tick;
        if (account.quote_balance.free >= quantity * price) {
          out.push(this.limitOrder(book.id, BUY, quantity, price, gtt));
        }
        if (account.base_balance.free >= quantity && target > price) {
          out.push(this.limitOrder(book.id, SELL, quantity, target, gtt));
        }
      } else if (signal < -threshold) {
        const price = ask - this.tick;
        if (account.base_balance.free >= quantity) {
          out.push(this.limitOrder(book.id, SELL, quantity, price, gtt));
        }
        if (account.quote_balance.free >= quantity * target && target < price) {
          out.push(this.limitOrder(book.id, BUY, quantity, target, gtt));
        }
      }
    }
    return out;
  }

  #learn(market: Market, book: Book, now: number): BookModel {
    let entry = market.books.get(book.id);
    if (entry === undefined) {
      entry = {
        model: new PassiveAggressiveRegressor(FEATURES),
        bar: emptyBar(),
        barEnd: now + market.interval,
        previous: null,
        signal: 0,
      };
      market.books.set(book.id, entry);
    }
    for (const event of book.events ?? []) {
      if (isTrade(event)) {
        const bar = entry.bar;
        if (Number.isNaN(bar.open)) bar.open = event.price;
        bar.close = event.price;
        bar.high = Math.max(bar.high, event.price);
        bar.low = Math.min(bar.low, event.price);
        bar.priceSum += event.price;
        bar.trades++;
        if (event.side === 0) bar.buyTrades += event.quantity;
        else bar.sellTrades += event.quantity;
      } else if (isOrder(event)) {
        entry.bar.volume += event.quantity;
        if (event.side === 0) entry.bar.buyOrders += event.quantity;
        else entry.bar.sellOrders += event.quantity;
      }
    }
    if (now >= entry.barEnd) {
      const features = barFeatures(entry.bar);
      if (features !== null) {
        if (entry.previous !== null) entry.model.learn(entry.previous, features[FEATURES - 1]);
        entry.previous = features;
        entry.signal = entry.model.samples > 0 ? entry.model.predict(features) : 0;
      }
      entry.bar = emptyBar();
      entry.barEnd = now + market.interval;
    }
    return entry;
  }
}
