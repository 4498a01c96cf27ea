/**
 * `RandomMakerAgent`: places random limit orders inside the spread on every two-sided book and
 * cancels its orders older than `expiry_period` ns. Prices and quantities are drawn uniformly and
 * rounded to the nearest tick and lot, as in the reference. A baseline, not a strategy.
 *
 * Params: `min_quantity` (0.1), `max_quantity` (1.0), `expiry_period` (200 ns: every order is
 * cancelled at the next update), `seed`.
 * @module
 */
import { z } from "zod";
import { Agent, type AgentParams } from "../sdk/agent.ts";
import {
  BUY,
  type Instruction,
  SELL,
  STP_CANCEL_BOTH,
  STP_CANCEL_NEWEST,
} from "../sdk/instructions.ts";
import { AgentRandom } from "../sdk/random.ts";
import type { SimulationConfig, StateUpdate } from "../sdk/state.ts";
import { checkQuantityLot, quantityParams, quantityRange, quantityRangeOk } from "./params.ts";
import { nearestPrice, nearestQuantity } from "./rounding.ts";

const paramsSchema = z.object({
  ...quantityParams,
  expiry_period: z.number().int().nonnegative().default(200),
}).refine(quantityRangeOk, quantityRange);

/** Random limit orders between the best bid and ask. */
export class RandomMakerAgent extends Agent<z.infer<typeof paramsSchema>> {
  /** Parameter validation and defaults. */
  static paramsSchema = paramsSchema;
  readonly #rng: AgentRandom;

  /** Creates the agent; see the module doc for params. */
  constructor(uid: number, params: AgentParams) {
    super(uid, paramsSchema.parse(params));
    this.#rng = new AgentRandom(this.params.seed ?? uid + 1);
  }

  /** Refuses a `min_quantity` below the market's lot. */
  override onStart(config: SimulationConfig | null): void {
    checkQuantityLot(this.params.min_quantity, config);
  }

  /** Cancels expired orders, then quotes a random bid and ask inside the spread. */
  onUpdate(state: StateUpdate): Instruction[] {
    const out: Instruction[] = [];
    const { min_quantity, max_quantity, expiry_period } = this.params;
    for (const book of Object.values(state.books)) {
      const expired = this.openOrders(book.id)
        .filter((order) => state.timestamp > order.timestamp + expiry_period)
        .map((order) => order.id);
      if (expired.length > 0) out.push(this.cancelOrders(book.id, expired));
      const bid = this.bestBid(book);
      const ask = this.bestAsk(book);
      // A one-sided book has no spread to quote inside (the reference then quotes around 100,
      // whatever the market's price).
      if (bid === null || ask === null) continue;
      const [low, high] = [bid, ask];
      const bidPrice = nearestPrice(this.#rng.uniform(low, high), this.config);
      const askPrice = nearestPrice(this.#rng.uniform(bidPrice, high), this.config);
      if (bidPrice === askPrice) continue;
      const quantity = nearestQuantity(this.#rng.uniform(min_quantity, max_quantity), this.config);
      const account = this.accounts[book.id];
      if (account === undefined) continue;
      if (account.quote_balance.free >= quantity * bidPrice) {
        out.push(this.limitOrder(book.id, BUY, quantity, bidPrice, { stp: STP_CANCEL_BOTH }));
      }
      if (account.base_balance.free >= quantity) {
        out.push(this.limitOrder(book.id, SELL, quantity, askPrice, { stp: STP_CANCEL_NEWEST }));
      }
    }
    return out;
  }
}
