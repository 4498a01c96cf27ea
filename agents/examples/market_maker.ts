/**
 * `MarketMakerAgent`: quotes post-only orders on both sides of every book, far enough from the
 * mid that each fill is worth more than its maker fee, and skews its sizes to work its base
 * inventory towards a target. Built for the subnet's score: a steady positive change of inventory
 * value with little variance (small exposure), and enough fills to keep the activity factor up.
 *
 * Each update it cancels its resting orders and quotes again around a smoothed mid:
 * `bid = mid·(1 − fee − edge)`, `ask = mid·(1 + fee + edge)`, where `fee` is the account's
 * current maker rate. Order size is `quantity`, plus `flatten` × the excess inventory on the side
 * that reduces it; the side that would push inventory beyond `max_inventory` is not quoted.
 *
 * Params (defaults): `quantity` 1.0, `edge` 0.001, `target_inventory` 0, `max_inventory` 5,
 * `flatten` 0.05, `smoothing` 0.3 (weight of the newest mid in the smoothed mid).
 * @module
 */
import { z } from "zod";
import { Agent, type AgentParams } from "../sdk/agent.ts";
import { BUY, type Instruction, SELL } from "../sdk/instructions.ts";
import type { StateUpdate } from "../sdk/state.ts";
import { positiveNumber } from "./params.ts";

const paramsSchema = z.object({
  quantity: positiveNumber.default(1.0),
  edge: z.number().nonnegative().finite().default(0.001),
  target_inventory: z.number().nonnegative().finite().default(0),
  max_inventory: positiveNumber.default(5),
  flatten: z.number().min(0).max(1).default(0.05),
  smoothing: z.number().gt(0).max(1).default(0.3),
});

/** Fee-aware, inventory-skewed market maker. */
export class MarketMakerAgent extends Agent<z.infer<typeof paramsSchema>> {
  /** Parameter validation and defaults. */
  static paramsSchema = paramsSchema;
  readonly #mids = new Map<number, number>();

  /** Creates the agent; see the module doc for params. */
  constructor(uid: number, params: AgentParams) {
    super(uid, paramsSchema.parse(params));
  }

  /** Re-quotes every two-sided book. */
  onUpdate(state: StateUpdate): Instruction[] {
    const out: Instruction[] = [];
    const p = this.params;
    for (const book of Object.values(state.books)) {
      const account = this.accounts[book.id];
      const resting = this.openOrders(book.id).map((o) => o.id);
      if (resting.length > 0) out.push(this.cancelOrders(book.id, resting));
      const mid = this.mid(book);
      if (mid === null || account === undefined) continue;
      const smoothed = p.smoothing * mid + (1 - p.smoothing) * (this.#mids.get(book.id) ?? mid);
      this.#mids.set(book.id, smoothed);
      const fee = account.fees?.maker_fee_rate ?? 0.005;
      const half = Math.max(fee, 0) + p.edge;
      const bid = this.roundPrice(Math.min(smoothed * (1 - half), mid * (1 - half)));
      const ask = this.roundPrice(Math.max(smoothed * (1 + half), mid * (1 + half)));
      const excess = account.base_balance.total - p.target_inventory;
      // Cancelled orders release their reservations before these arrive, so count totals.
      const quote = account.quote_balance.total;
      const base = account.base_balance.total;
      const sell = Math.min(base, p.quantity + Math.max(0, excess) * p.flatten);
      const buy = Math.min(quote / bid, p.quantity + Math.max(0, -excess) * p.flatten);
      if (excess > -p.max_inventory && this.roundQuantity(sell) > 0) {
        out.push(this.limitOrder(book.id, SELL, sell, ask, { postOnly: true }));
      }
      if (excess < p.max_inventory && this.roundQuantity(buy) > 0) {
        out.push(this.limitOrder(book.id, BUY, buy, bid, { postOnly: true }));
      }
    }
    return out;
  }
}
