/**
 * `MarketMakerAgent`: a fee-aware market maker built for the subnet's score — a steady positive
 * change of inventory value with as little variance as possible, and enough fills to keep the
 * activity factor up.
 *
 * The inventory value is `quote + mid × base`, so any base held makes it swing with the mid (and
 * with the mid taken as 0 whenever a side of the book empties); no spread income outweighs that
 * in a Sharpe ratio. So the agent first sells, at market, a base position larger than
 * `max_inventory`, then stays nearly flat: every update it cancels its resting orders and, on a
 * two-sided book, offers all the base it holds at `mid·(1 + fee + edge)` and bids `quantity` at
 * `mid·(1 − fee − edge)` while that keeps it within `max_inventory`. `fee` is the account's
 * current maker rate, so every fill is worth more than it costs. Orders are post-only.
 *
 * The activity factor only refreshes while the miner has traded in the current 10-minute volume
 * bucket, so when a book has had no fill for `keepalive_after` ns into a bucket, the agent also
 * takes `keepalive` base with an immediate-or-cancel order at the touch (selling if it holds
 * base, else buying if it has the quote), keeping that base (or the quote it costs) out of its
 * resting orders: a tiny cost that keeps the factor at 1 or above.
 *
 * Params (defaults): `quantity` 0.5, `edge` 0.001, `max_inventory` 2, `keepalive` 0.01,
 * `keepalive_after` 60e9.
 * @module
 */
import { z } from "zod";
import { Agent, type AgentParams } from "../sdk/agent.ts";
import { BUY, type Instruction, IOC, SELL } from "../sdk/instructions.ts";
import type { StateUpdate } from "../sdk/state.ts";
import { positiveNumber } from "./params.ts";

const paramsSchema = z.object({
  quantity: positiveNumber.default(0.5),
  edge: z.number().nonnegative().finite().default(0.001),
  max_inventory: positiveNumber.default(2),
  keepalive: z.number().nonnegative().finite().default(0.01),
  keepalive_after: z.number().int().nonnegative().default(60e9),
});

/** Length of the scoring's trade-volume buckets. */
const VOLUME_BUCKET = 600e9;

/** Fee-aware market maker that stays nearly flat. */
export class MarketMakerAgent extends Agent<z.infer<typeof paramsSchema>> {
  /** Parameter validation and defaults. */
  static paramsSchema = paramsSchema;
  /**
   * Per validator and book: the volume bucket of the last update that brought one of this agent's
   * fills.
   */
  readonly #lastFillBucket = new Map<string, number>();

  /** Creates the agent; see the module doc for params. */
  constructor(uid: number, params: AgentParams) {
    super(uid, paramsSchema.parse(params));
  }

  /** Flattens a large position, else re-quotes every two-sided book. */
  onUpdate(state: StateUpdate): Instruction[] {
    const out: Instruction[] = [];
    const p = this.params;
    const lot = 10 ** -(this.config?.volumeDecimals ?? 4);
    const bucket = Math.ceil(state.timestamp / VOLUME_BUCKET);
    const market = (bookId: number) => `${state.validator ?? ""}/${bookId}`;
    for (const event of this.events) {
      if (event.type === "EVENT_TRADE" && event.bookId !== null) {
        this.#lastFillBucket.set(market(event.bookId), bucket);
      }
    }
    const intoBucket = state.timestamp - (bucket - 1) * VOLUME_BUCKET;
    for (const book of Object.values(state.books)) {
      const account = this.accounts[book.id];
      const resting = this.openOrders(book.id).map((o) => o.id);
      if (resting.length > 0) out.push(this.cancelOrders(book.id, resting));
      const mid = this.mid(book);
      if (mid === null || account === undefined) continue;
      // Cancels arrive first and release their reservations, so totals are what is available.
      const base = this.roundQuantity(account.base_balance.total);
      if (base > p.max_inventory) {
        out.push(this.marketOrder(book.id, SELL, base));
        continue;
      }
      const half = Math.max(account.fees?.maker_fee_rate ?? 0.005, 0) + p.edge;
      const bid = this.roundPrice(mid * (1 - half));
      const ask = this.roundPrice(mid * (1 + half));
      const idle = this.#lastFillBucket.get(market(book.id)) !== bucket &&
        intoBucket >= p.keepalive_after;
      const size = idle ? this.roundQuantity(p.keepalive) : 0;
      // The keepalive's base and quote are left out of the resting orders, which would otherwise
      // reserve them first and leave the immediate order nothing to trade with.
      const sellKeepalive = size >= lot && base >= size;
      const offered = this.roundQuantity(sellKeepalive ? base - size : base);
      if (offered >= lot) {
        out.push(this.limitOrder(book.id, SELL, offered, ask, { postOnly: true }));
      }
      let quote = account.quote_balance.total;
      const keepaliveCost = size * book.asks[0].price *
        (1 + Math.max(account.fees?.taker_fee_rate ?? 0.005, 0));
      const buyKeepalive = size >= lot && !sellKeepalive && quote >= keepaliveCost;
      if (buyKeepalive) quote -= keepaliveCost;
      const room = Math.min(p.quantity, p.max_inventory - base);
      if (room >= lot && quote >= room * bid) {
        out.push(this.limitOrder(book.id, BUY, room, bid, { postOnly: true }));
      }
      const touch = { timeInForce: IOC } as const;
      if (sellKeepalive) out.push(this.limitOrder(book.id, SELL, size, book.bids[0].price, touch));
      else if (buyKeepalive) {
        out.push(this.limitOrder(book.id, BUY, size, book.asks[0].price, touch));
      }
    }
    return out;
  }
}
