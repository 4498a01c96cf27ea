/**
 * `SelfTradingAgent`: exercises self-trade prevention. It alternates between placing a fresh
 * bid/ask pair inside the spread and, at the next book, crossing its own remembered pair with a
 * slightly larger quantity, always with decrement-and-cancel STP. The memory is shared across
 * books, as in the reference, so consecutive books alternate modes.
 *
 * Params: `min_quantity` (0.1), `max_quantity` (1.0), `seed`.
 * @module
 */
import { z } from "zod";
import { Agent, type AgentParams } from "../sdk/agent.ts";
import { BUY, type Instruction, SELL, STP_DECREMENT_CANCEL } from "../sdk/instructions.ts";
import { AgentRandom } from "../sdk/random.ts";
import type { SimulationConfig, StateUpdate } from "../sdk/state.ts";
import { checkQuantityLot, quantityParams, quantityRange, quantityRangeOk } from "./params.ts";
import { nearestPrice, nearestQuantity } from "./rounding.ts";

const paramsSchema = z.object(quantityParams).refine(quantityRangeOk, quantityRange);

/** Places orders meant to trade against its own. */
export class SelfTradingAgent extends Agent<z.infer<typeof paramsSchema>> {
  /** Parameter validation and defaults. */
  static paramsSchema = paramsSchema;
  readonly #rng: AgentRandom;
  #remembered: { bid: number; ask: number; quantity: number } | null = null;

  /** Creates the agent; see the module doc for params. */
  constructor(uid: number, params: AgentParams) {
    super(uid, paramsSchema.parse(params));
    this.#rng = new AgentRandom(this.params.seed ?? uid + 1);
  }

  /** Refuses a `min_quantity` below the market's lot. */
  override onStart(config: SimulationConfig | null): void {
    checkQuantityLot(this.params.min_quantity, config);
  }

  /** A fresh pair or a crossing pair per book, alternating. */
  onUpdate(state: StateUpdate): Instruction[] {
    const out: Instruction[] = [];
    const stp = STP_DECREMENT_CANCEL;
    for (const book of Object.values(state.books)) {
      const account = this.accounts[book.id];
      const bestBid = this.bestBid(book);
      const bestAsk = this.bestAsk(book);
      if (account === undefined || bestBid === null || bestAsk === null) continue;
      let buy: number, sell: number, quantity: number;
      if (this.#remembered === null) {
        // In whole ticks: 300.13 − 300.1 is a little less than 0.03 in floating point.
        if (Math.round((bestAsk - bestBid) / this.tick) < 3) continue;
        const draw = (low: number, high: number) =>
          nearestPrice(this.#rng.uniform(low, high), this.config);
        buy = draw(bestBid + this.tick, bestAsk - 2 * this.tick);
        sell = draw(buy + this.tick, bestAsk - this.tick);
        quantity = nearestQuantity(
          this.#rng.uniform(this.params.min_quantity, this.params.max_quantity),
          this.config,
        );
        this.#remembered = { bid: buy, ask: sell, quantity };
      } else {
        ({ ask: buy, bid: sell } = this.#remembered);
        quantity = this.#remembered.quantity + 0.1;
        this.#remembered = null;
      }
      if (account.quote_balance.free >= quantity * buy) {
        out.push(this.limitOrder(book.id, BUY, quantity, buy, { stp }));
      }
      if (account.base_balance.free >= quantity) {
        out.push(this.limitOrder(book.id, SELL, quantity, sell, { stp }));
      }
    }
    return out;
  }
}
