/**
 * Reading a book and an account from a state update: best prices, mid, spread, depth, own open
 * orders and inventory value, and telling the kinds of L3 book events apart.
 *
 * ```ts
 * import { bestBid, inventoryValue, mid } from "./book.ts";
 * const m = mid(state.books[0]);              // null when a side is empty
 * const v = inventoryValue(account, state.books[0]);
 * ```
 * @module
 */
import type { Account, Book, BookEventInfo, Cancellation, Order, Trade } from "./state.ts";

/** Is this L3 book event a trade? (The reference's agents test `isinstance(e, TradeInfo)`.) */
export function isTrade(event: BookEventInfo): event is Trade {
  return "maker_id" in event;
}

/** Is this L3 book event an order placement? */
export function isOrder(event: BookEventInfo): event is Order {
  return "order_type" in event;
}

/** Is this L3 book event a cancellation? */
export function isCancellation(event: BookEventInfo): event is Cancellation {
  return "orderId" in event;
}

/** Best bid price, or null when the bid side is empty. */
export function bestBid(book: Book): number | null {
  return book.bids[0]?.price ?? null;
}

/** Best ask price, or null when the ask side is empty. */
export function bestAsk(book: Book): number | null {
  return book.asks[0]?.price ?? null;
}

/** Mid price, or null unless both sides have orders. */
export function mid(book: Book): number | null {
  const bid = bestBid(book);
  const ask = bestAsk(book);
  return bid === null || ask === null ? null : (bid + ask) / 2;
}

/** Best ask minus best bid, or null unless both sides have orders. */
export function spread(book: Book): number | null {
  const bid = bestBid(book);
  const ask = bestAsk(book);
  return bid === null || ask === null ? null : ask - bid;
}

/** Total quantity on the first `levels` levels of one side (0 = bids, 1 = asks). */
export function depth(book: Book, side: 0 | 1, levels = Infinity): number {
  const list = side === 0 ? book.bids : book.asks;
  let total = 0;
  for (let i = 0; i < list.length && i < levels; i++) total += list[i].quantity;
  return total;
}

/** (bid depth − ask depth) / (bid depth + ask depth) over the first `levels` levels; 0 if empty. */
export function imbalance(book: Book, levels = 5): number {
  const bid = depth(book, 0, levels);
  const ask = depth(book, 1, levels);
  return bid + ask === 0 ? 0 : (bid - ask) / (bid + ask);
}

/** The account's resting orders, optionally only one side. */
export function openOrders(account: Account | undefined, side?: 0 | 1): Order[] {
  const orders = account?.orders ?? [];
  return side === undefined ? orders : orders.filter((order) => order.side === side);
}

/**
 * Inventory value in quote: total quote + mid × total base, with the mid taken as 0 when a side
 * is empty (the subnet's valuation, without its constant wealth offset).
 */
export function inventoryValue(account: Account | undefined, book: Book): number {
  if (account === undefined) return 0;
  return account.quote_balance.total + (mid(book) ?? 0) * account.base_balance.total;
}
