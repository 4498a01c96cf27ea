/**
 * Builds every queried miner's state update for one publish without repeating the shared work:
 * the books (the bulk of a state) are converted once and the same object is shared by every
 * miner's update, and each miner's notices are matched to the few L3 records they refer to
 * before the per-miner conversion runs, so a round costs O(books + notices), not
 * O(miners × books).
 *
 * ```ts
 * const states = minerStates(publish, [0, 1, 2], simulationConfig, { first: true });
 * states.get(1)!.accounts; // only uid 1's accounts
 * ```
 * @module
 */
import type { BookEvent, BookState, PublishState } from "../sim/engine.ts";
import {
  type Book,
  bookFor,
  type SimulationConfig,
  stateForAgent,
  type StateForAgentOptions,
  type StateUpdate,
} from "../agents/sdk/state.ts";

/** The state update of each of `uids` (only its own accounts and notices). */
export function minerStates(
  publish: PublishState,
  uids: readonly number[],
  config: SimulationConfig,
  options: StateForAgentOptions = {},
): Map<number, StateUpdate> {
  const books: Record<string, Book> = {};
  for (const book of publish.books) books[book.bookId] = bookFor(book);
  // Index the records notices can refer to: placements by order id, trades by trade id.
  const places = new Map<string, BookEvent>();
  const trades = new Map<string, BookEvent>();
  for (const book of publish.books) {
    for (const event of book.record) {
      if (event.event === "place") places.set(`${book.bookId}:${event.orderId}`, event);
      else if (event.event === "trade") trades.set(`${book.bookId}:${event.tradeId}`, event);
    }
  }
  const noticesOf = new Map<number, PublishState["notices"]>();
  for (const notice of publish.notices) {
    const list = noticesOf.get(notice.agentId);
    if (list === undefined) noticesOf.set(notice.agentId, [notice]);
    else list.push(notice);
  }
  const accountOf = new Map(publish.accounts.map((a) => [a.agentId, a]));
  const states = new Map<number, StateUpdate>();
  for (const uid of uids) {
    const notices = noticesOf.get(uid) ?? [];
    const records = new Map<number, BookEvent[]>();
    for (const notice of notices) {
      const key = `${notice.bookId}:${notice.trade?.tradeId ?? notice.orderId}`;
      const event = notice.trade !== undefined ? trades.get(key) : places.get(key);
      if (event === undefined) continue;
      const list = records.get(notice.bookId);
      if (list === undefined) records.set(notice.bookId, [event]);
      else list.push(event);
    }
    const account = accountOf.get(uid);
    const slim: PublishState = {
      ...publish,
      books: [...records].map(([bookId, record]): BookState => ({
        bookId,
        record,
        bid: [],
        ask: [],
        fundamental: 0,
      })),
      accounts: account === undefined ? [] : [account],
      notices,
    };
    states.set(uid, { ...stateForAgent(slim, uid, config, options), books });
  }
  return states;
}
