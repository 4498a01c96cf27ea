/**
 * `OrderOptionAgent`: exercises every order option on every two-sided book at each update —
 * quote-denominated market orders (`QUOTE`), post-only (`PO`), good-till-time (`GTT`),
 * immediate-or-cancel (`IOC`) and fill-or-kill (`FOK`) — each in cases that should rest, fill,
 * partly fill or be refused. A test agent; it loses money. The IOC and FOK orders meant to fill in
 * full are priced 10 beyond the touch, as in the reference, the sell no lower than one tick.
 *
 * Params: `min_quantity` (0.1), `max_quantity` (1.0), `seed`, and switches `PO`, `GTT`, `IOC`,
 * `FOK`, `QUOTE` (true/false or 1/0): those switched on, or when none is, all but those switched
 * off (the reference runs all of them when none is on, even `PO=0`); all five off is refused. All of them together make 22 orders per book, past the 20 a validator takes
 * per book: the options are then taken in turns, as many per update as fit (all but `FOK`, then
 * `FOK`), so that none is cut off.
 * @module
 */
import { z } from "zod";
import { Agent, type AgentParams } from "../sdk/agent.ts";
import {
  BUY,
  CURRENCY_QUOTE,
  DEFAULT_MAX_INSTRUCTIONS_PER_BOOK,
  FOK,
  GTT,
  type Instruction,
  IOC,
  SELL,
} from "../sdk/instructions.ts";
import { AgentRandom } from "../sdk/random.ts";
import type { Book, SimulationConfig, StateUpdate } from "../sdk/state.ts";
import { checkQuantityLot, quantityParams, quantityRange, quantityRangeOk } from "./params.ts";
import { nearestQuantity, nearestQuote } from "./rounding.ts";

const OPTIONS = ["QUOTE", "PO", "GTT", "IOC", "FOK"] as const;
/** A switch: true/false, or a number as the reference reads it (`PO=1` on, `PO=0` off). */
const flag = z.union([z.boolean(), z.number()], { error: "expected true or false (or 1/0)" })
  .transform((value) => value !== false && value !== 0).optional();
const paramsSchema = z.object({
  ...quantityParams,
  QUOTE: flag,
  PO: flag,
  GTT: flag,
  IOC: flag,
  FOK: flag,
}).refine(quantityRangeOk, quantityRange);

/** Expiry of the GTT test orders: 10 simulated seconds. */
const GTT_EXPIRY = 10e9;

/** Exercises order options. */
export class OrderOptionAgent extends Agent<z.infer<typeof paramsSchema>> {
  /** Parameter validation and defaults. */
  static paramsSchema = paramsSchema;
  /** The options this instance exercises. */
  readonly enabled: Set<(typeof OPTIONS)[number]>;
  readonly #rng: AgentRandom;
  #updates = 0;

  /** Creates the agent; see the module doc for params. */
  constructor(uid: number, params: AgentParams) {
    super(uid, paramsSchema.parse(params));
    this.#rng = new AgentRandom(this.params.seed ?? uid + 1);
    const on = OPTIONS.filter((o) => this.params[o] === true);
    this.enabled = new Set(
      on.length > 0 ? on : OPTIONS.filter((o) => this.params[o] !== false),
    );
    if (this.enabled.size === 0) {
      throw new RangeError(
        `agent parameters: every option (${OPTIONS.join(", ")}) is switched off`,
      );
    }
  }

  /** Refuses a `min_quantity` below the market's lot. */
  override onStart(config: SimulationConfig | null): void {
    checkQuantityLot(this.params.min_quantity, config);
  }

  /** This update's turn of the enabled test orders on each two-sided book. */
  onUpdate(state: StateUpdate): Instruction[] {
    const turn = this.#updates++;
    return Object.values(state.books).flatMap((book) => this.#forBook(book, turn));
  }

  #forBook(book: Book, turn: number): Instruction[] {
    const bid = book.bids[0];
    const ask = book.asks[0];
    if (bid === undefined || ask === undefined) return [];
    const q = nearestQuantity(
      this.#rng.uniform(this.params.min_quantity, this.params.max_quantity),
      this.config,
    );
    const lists = OPTIONS.filter((o) => this.enabled.has(o)).map((o) =>
      this.#orders(o, book.id, q, bid, ask)
    );
    // Consecutive options, as many as fit a validator's per-book limit, make one turn.
    const turns: Instruction[][] = [];
    for (const list of lists) {
      const last = turns.at(-1);
      if (last !== undefined && last.length + list.length <= DEFAULT_MAX_INSTRUCTIONS_PER_BOOK) {
        last.push(...list);
      } else turns.push([...list]);
    }
    return turns.length === 0 ? [] : turns[turn % turns.length];
  }

  /** The test orders of one option on book `id`. */
  #orders(
    option: (typeof OPTIONS)[number],
    id: number,
    q: number,
    bid: { price: number; quantity: number },
    ask: { price: number; quantity: number },
  ): Instruction[] {
    const out: Instruction[] = [];
    if (option === "QUOTE") {
      const quote = { currency: CURRENCY_QUOTE } as const;
      const amount = (value: number) => nearestQuote(value, this.config);
      out.push(this.marketOrder(id, BUY, amount(ask.price * ask.quantity / 2), quote));
      out.push(this.marketOrder(id, BUY, amount(ask.price * ask.quantity), quote));
      out.push(this.marketOrder(id, SELL, amount(bid.price * bid.quantity / 2), quote));
      out.push(this.marketOrder(id, SELL, amount(bid.price * bid.quantity), quote));
    }
    if (option === "PO") {
      out.push(this.limitOrder(id, BUY, q, bid.price, { postOnly: true }));
      out.push(this.limitOrder(id, BUY, q, ask.price, { postOnly: true }));
      out.push(this.limitOrder(id, SELL, q, ask.price, { postOnly: true }));
      out.push(this.limitOrder(id, SELL, q, bid.price, { postOnly: true }));
    }
    if (option === "GTT") {
      const gtt = { timeInForce: GTT, expiryPeriod: GTT_EXPIRY } as const;
      out.push(this.limitOrder(id, BUY, q, bid.price, gtt));
      out.push(this.limitOrder(id, SELL, q, ask.price, gtt));
    }
    if (option === "IOC" || option === "FOK") {
      const o = { timeInForce: option === "IOC" ? IOC : FOK } as const;
      // The sweeping sell goes 10 below the bid, or down to one tick where that is not a price.
      const sweepSell = Math.max(bid.price - 10, this.tick);
      out.push(this.limitOrder(id, BUY, q, ask.price + 10, o));
      out.push(this.limitOrder(id, BUY, 2 * ask.quantity, ask.price, o));
      out.push(this.limitOrder(id, BUY, q, bid.price, o));
      out.push(this.limitOrder(id, SELL, q, sweepSell, o));
      out.push(this.limitOrder(id, SELL, 2 * bid.quantity, bid.price, o));
      out.push(this.limitOrder(id, SELL, q, ask.price, o));
    }
    return out;
  }
}
