/**
 * A deliberately plain model of the cash (unleveraged) part of the exchange specification, written
 * from the specification rather than from the C core, for the differential test: books are arrays
 * of orders sorted by price then arrival, accounts hold free balances with per-order reservations,
 * and every fixed-point step is a `bigint` operation truncated toward zero where the specification
 * truncates. Where the specification lists a reference bug (its section 8) the model does what the
 * README's "Differences from the reference implementation" says the core does instead.
 *
 * Where the specification is silent the model follows the core's documented conventions: the
 * event vocabulary of `taos_exchange.h` (acceptance after the fills, `placed` for what rests,
 * `stpReduced` and `remainderDropped` for volume an incoming order loses), a cancel checks that
 * the order exists before its volume, and a market order sized in quote that buys less than one
 * lot is EMPTY_BOOK, like one priced against nothing but the agent's own orders (Q13).
 *
 * Left out: leverage (any leverage > 0 is INVALID_LEVERAGE, as with `maxLeverage` 0), fee
 * policies added after trading began, malformed records, and the core's range limits (holdings,
 * order-id exhaustion, book-volume bounds, rebates bounded by holdings), which ordinary sizes never
 * reach.
 * @module
 */
import type {
  Cancellation,
  Direction,
  FeeTier,
  LimitPlacement,
  Placement,
  SelfTradePrevention,
  TimeInForce,
} from "../../native/exchange.ts";

/** One instruction of a stream, in the shape `InstructionBatch` takes it. */
export type Instruction =
  | ({ kind: "limit" } & LimitPlacement)
  | ({ kind: "market" } & Placement)
  | ({ kind: "cancel" } & Cancellation)
  | { kind: "reset"; agentId: number };

/** The model's configuration: the cash subset of `ExchangeConfig`. */
export interface ModelConfig {
  books: number;
  agents: number;
  priceDecimals: number;
  volumeDecimals: number;
  baseDecimals: number;
  quoteDecimals: number;
  initialBase: bigint;
  initialQuote: bigint;
  feeTiers: FeeTier[];
  feeHistorySlots: number;
  feeSlotPeriodNs: bigint;
}

/**
 * An event as the model predicts it: only the fields it sets are compared with the core's event
 * of the same position (field names as in `ExchangeEvent`).
 */
export type ModelEvent = Record<string, string | number | bigint | boolean | null>;

interface Order {
  id: number;
  agentId: number;
  clientOrderId: number | null;
  direction: Direction;
  price: bigint;
  /** Remaining own volume, base units. */
  volume: bigint;
  timestamp: bigint;
  /** Maker rate when placed: a resting buy keeps `price * volume * (1 + rate)` reserved. */
  makerE9: bigint;
}

interface Book {
  /** Best first: highest price, then earliest arrival. */
  bids: Order[];
  /** Best first: lowest price, then earliest arrival. */
  asks: Order[];
  nextOrderId: number;
  nextTradeId: number;
}

interface Account {
  baseFree: bigint;
  quoteFree: bigint;
  /** Fee-history slots, oldest first; null until the account's first fill in the book. */
  slots: bigint[] | null;
  /** Tier earned at the last roll under each fee policy. */
  tiers: number[];
}

interface Expiry {
  due: bigint;
  seq: number;
  bookId: number;
  orderId: number;
  agentId: number;
  direction: Direction;
  clientOrderId: number | null;
}

const E9 = 1_000_000_000n;
const pow10 = (n: number) => 10n ** BigInt(n);
const min = (a: bigint, b: bigint) => (a < b ? a : b);

/** The cash exchange model. */
export class ExchangeModel {
  readonly #config: ModelConfig;
  readonly #books: Book[];
  /** accounts[agent][book]. */
  readonly #accounts: Account[][];
  #expiries: Expiry[] = [];
  #now = 0n;
  #seq = 0;
  #events: ModelEvent[] = [];
  #instruction: number | null = null;
  /** Book of the instruction being processed. */
  #bookId = 0;
  /** Fee policies' tiers; policy 0 is the configuration's. */
  readonly #policies: FeeTier[][];
  /** The fee policy of each agent. */
  readonly #policyOf: number[];
  /** Lot of order volumes, in base units. */
  readonly #lot: bigint;

  constructor(config: ModelConfig) {
    this.#config = config;
    this.#lot = pow10(config.baseDecimals - config.volumeDecimals);
    this.#policies = [config.feeTiers];
    this.#policyOf = Array.from({ length: config.agents }, () => 0);
    this.#books = Array.from({ length: config.books }, () => ({
      bids: [],
      asks: [],
      nextOrderId: 0,
      nextTradeId: 0,
    }));
    this.#accounts = Array.from(
      { length: config.agents },
      () =>
        Array.from({ length: config.books }, () => ({
          baseFree: config.initialBase,
          quoteFree: config.initialQuote,
          slots: null,
          tiers: [0],
        })),
    );
  }

  // ---- fixed point (section 1) ----

  /** trunc_q(price * volume * (1 + rate)) in quote units; rate 0 gives the notional. */
  #quoteOf(price: bigint, volume: bigint, rateE9 = 0n): bigint {
    const c = this.#config;
    const numerator = price * volume * (E9 + rateE9) * pow10(c.quoteDecimals);
    return numerator / (E9 * pow10(c.priceDecimals + c.baseDecimals));
  }

  /** trunc_q(rate * price * volume): a fee. */
  #fee(price: bigint, volume: bigint, rateE9: bigint): bigint {
    const c = this.#config;
    return (rateE9 * price * volume * pow10(c.quoteDecimals)) /
      (E9 * pow10(c.priceDecimals + c.baseDecimals));
  }

  /** The base volume `quote` buys at `price`, truncated to the lot. */
  #baseFor(quote: bigint, price: bigint): bigint {
    const c = this.#config;
    const base = (quote * pow10(c.priceDecimals + c.baseDecimals)) /
      (price * pow10(c.quoteDecimals));
    return this.#toLot(base);
  }

  #toLot(volume: bigint): bigint {
    return volume - volume % this.#lot;
  }

  // ---- fees (section 6) ----

  #rates(agentId: number, bookId: number): FeeTier {
    const policy = this.#policyOf[agentId];
    return this.#policies[policy][this.#accounts[agentId][bookId].tiers[policy]];
  }

  /** Adds a fee policy (the configuration's tiers are policy 0); returns its index. Every
   * account's volume history counts in every policy. */
  addFeePolicy(tiers: FeeTier[]): number {
    this.#policies.push(tiers);
    for (const row of this.#accounts) for (const account of row) account.tiers.push(0);
    return this.#policies.length - 1;
  }

  /** Puts an agent under a fee policy in every book: the tier its volume earned there at the
   * last roll applies from now on. */
  setFeePolicy(agentId: number, policy: number): void {
    this.#policyOf[agentId] = policy;
  }

  #recordVolume(agentId: number, bookId: number, quote: bigint): void {
    const account = this.#accounts[agentId][bookId];
    account.slots ??= Array.from({ length: this.#config.feeHistorySlots }, () => 0n);
    account.slots[account.slots.length - 1] += quote;
  }

  #roll(): void {
    for (const row of this.#accounts) {
      for (const account of row) {
        if (account.slots === null) continue;
        const sum = account.slots.reduce((a, b) => a + b, 0n);
        account.tiers = this.#policies.map((tiers) => {
          // The first tier applies below the second, whatever its own threshold.
          let tier = 0;
          for (let i = 1; i < tiers.length; i++) if (tiers[i].volumeRequired <= sum) tier = i;
          return tier;
        });
        account.slots.shift();
        account.slots.push(0n);
      }
    }
  }

  // ---- clock ----

  /** Moves the clock to `now`: fee rolls at every slot boundary passed, then due GTT expiries. */
  #advance(now: bigint): void {
    const period = this.#config.feeSlotPeriodNs;
    for (let b = (this.#now / period + 1n) * period; b <= now; b += period) this.#roll();
    this.#now = now;
    this.#fireExpiries();
  }

  #fireExpiries(): void {
    const due = this.#expiries.filter((e) => e.due <= this.#now)
      .sort((a, b) => (a.due < b.due ? -1 : a.due > b.due ? 1 : a.seq - b.seq));
    this.#expiries = this.#expiries.filter((e) => e.due > this.#now);
    for (const expiry of due) {
      const found = this.#find(expiry.bookId, expiry.orderId);
      if (found === null) {
        this.#events.push({
          type: "rejected",
          timestamp: expiry.due,
          bookId: expiry.bookId,
          instruction: null,
          agentId: expiry.agentId,
          orderId: expiry.orderId,
          direction: expiry.direction,
          clientOrderId: expiry.clientOrderId,
          reason: "ORDER_NOT_FOUND",
          expiry: true,
        });
        continue;
      }
      const order = found;
      const volume = order.volume;
      this.#shrinkResting(expiry.bookId, order, volume);
      this.#events.push({
        type: "expired",
        timestamp: expiry.due,
        bookId: expiry.bookId,
        instruction: null,
        agentId: order.agentId,
        orderId: order.id,
        clientOrderId: order.clientOrderId,
        direction: order.direction,
        price: order.price,
        volume,
      });
    }
  }

  // ---- books ----

  #side(book: Book, direction: Direction): Order[] {
    return direction === "buy" ? book.bids : book.asks;
  }

  #opposite(book: Book, direction: Direction): Order[] {
    return direction === "buy" ? book.asks : book.bids;
  }

  /** A price within the limit of an aggressor of `direction` (null limit: any price). */
  #within(direction: Direction, price: bigint, limit: bigint | null): boolean {
    if (limit === null) return true;
    return direction === "buy" ? price <= limit : price >= limit;
  }

  #find(bookId: number, orderId: number): Order | null {
    const book = this.#books[bookId];
    return book.bids.find((o) => o.id === orderId) ?? book.asks.find((o) => o.id === orderId) ??
      null;
  }

  #rest(bookId: number, order: Order): void {
    const side = this.#side(this.#books[bookId], order.direction);
    const better = (o: Order) =>
      order.direction === "buy" ? o.price >= order.price : o.price <= order.price;
    let index = 0;
    while (index < side.length && better(side[index])) index++;
    side.splice(index, 0, order);
  }

  #remove(bookId: number, order: Order): void {
    const side = this.#side(this.#books[bookId], order.direction);
    side.splice(side.indexOf(order), 1);
  }

  /** What a resting order holds: its remaining base (sell), or its volume at its limit plus the
   * maker fee it was placed with (buy). */
  #reservation(order: Order): { base: bigint; quote: bigint } {
    return order.direction === "sell"
      ? { base: order.volume, quote: 0n }
      : { base: 0n, quote: this.#quoteOf(order.price, order.volume, order.makerE9) };
  }

  // ---- instructions ----

  /** Advances the clock to `now` and runs the instructions in order; returns their events. */
  submit(now: bigint, instructions: readonly Instruction[]): ModelEvent[] {
    this.#events = [];
    this.#advance(now);
    instructions.forEach((instruction, index) => {
      this.#instruction = index;
      if (instruction.kind === "reset") {
        this.#bookId = 0;
        return this.#reset(instruction.agentId);
      }
      this.#bookId = instruction.bookId;
      if (instruction.kind === "cancel") this.#cancel(instruction);
      else this.#place(instruction);
    });
    // An expiry of 0 fires after the call's instructions.
    this.#fireExpiries();
    return this.#events;
  }

  #emit(event: ModelEvent): void {
    this.#events.push({
      timestamp: this.#now,
      bookId: this.#bookId,
      instruction: this.#instruction,
      ...event,
    });
  }

  #known(agentId: number, bookId: number): string | null {
    if (!Number.isInteger(agentId) || agentId < 0 || agentId >= this.#config.agents) {
      return "NONEXISTENT_ACCOUNT";
    }
    if (!Number.isInteger(bookId) || bookId < 0 || bookId >= this.#config.books) {
      return "INVALID_BOOK";
    }
    return null;
  }

  /** Section 5.7: the agent's orders cancelled book by book (by id), its balances and fee
   * history as when it was created. */
  #reset(agentId: number): void {
    if (this.#known(agentId, 0) !== null) {
      return this.#emit({ type: "rejected", agentId, reason: "NONEXISTENT_ACCOUNT" });
    }
    this.#books.forEach((book, bookId) => {
      this.#bookId = bookId;
      const orders = [...book.bids, ...book.asks].filter((o) => o.agentId === agentId)
        .sort((a, b) => a.id - b.id);
      for (const order of orders) {
        this.#takeFromResting(bookId, order, order.volume, "reset", false);
      }
      const account = this.#accounts[agentId][bookId];
      account.baseFree = this.#config.initialBase;
      account.quoteFree = this.#config.initialQuote;
      account.slots = null;
      account.tiers = this.#policies.map(() => 0);
    });
    // A reset spans every book: its event names none.
    this.#bookId = 0xFFFF_FFFF;
    this.#emit({ type: "reset", agentId });
  }

  #cancel(c: Cancellation): void {
    const reject = (reason: string) =>
      this.#emit({ type: "rejected", agentId: c.agentId, orderId: c.orderId, reason });
    const unknown = this.#known(c.agentId, c.bookId);
    if (unknown !== null) return reject(unknown);
    const partial = c.volume !== undefined && c.volume !== null;
    const order = this.#find(c.bookId, c.orderId);
    // Another agent's order does not exist for this agent (Q5).
    if (order === null || order.agentId !== c.agentId) return reject("ORDER_NOT_FOUND");
    if (partial && c.volume! < 0n) return reject("INVALID_VOLUME");
    const removed = partial && c.volume! < order.volume ? this.#toLot(c.volume!) : order.volume;
    this.#takeFromResting(c.bookId, order, removed, "request", true);
  }

  /** Takes `volume` own units off a resting order (all of it: it leaves the book) and frees what
   * its reservation no longer needs. */
  #shrinkResting(bookId: number, order: Order, volume: bigint): void {
    const account = this.#accounts[order.agentId][bookId];
    const before = this.#reservation(order);
    order.volume -= volume;
    if (order.volume === 0n) this.#remove(bookId, order);
    const after = order.volume === 0n ? { base: 0n, quote: 0n } : this.#reservation(order);
    account.baseFree += before.base - after.base;
    account.quoteFree += before.quote - after.quote;
  }

  /** Removes `volume` own units from a resting order and reports it as a cancel. */
  #takeFromResting(
    bookId: number,
    order: Order,
    volume: bigint,
    cause: string,
    reportPartial: boolean,
  ): void {
    this.#shrinkResting(bookId, order, volume);
    this.#emit({
      type: "cancelled",
      agentId: order.agentId,
      orderId: order.id,
      clientOrderId: order.clientOrderId,
      direction: order.direction,
      price: order.price,
      volume,
      remaining: order.volume,
      cause,
      partial: reportPartial && order.volume > 0n,
    });
  }

  #place(p: Instruction & { kind: "limit" | "market" }): void {
    const limit = p.kind === "limit" ? p : null;
    const reject = (reason: string) =>
      this.#emit({
        type: "rejected",
        agentId: p.agentId,
        clientOrderId: p.clientOrderId ?? null,
        direction: p.direction,
        price: limit?.price ?? 0n,
        volume: p.volume,
        reason,
      });
    const unknown = this.#known(p.agentId, p.bookId);
    if (unknown !== null) return reject(unknown);
    const book = this.#books[p.bookId];
    const account = this.#accounts[p.agentId][p.bookId];
    const stp: SelfTradePrevention = p.stp ?? "CO";
    const tif: TimeInForce = limit?.timeInForce ?? "GTC";
    const currency = p.currency ?? "base";
    if ((p.leverageE9 ?? 0n) !== 0n) return reject("INVALID_LEVERAGE");
    if (p.volume <= 0n) return reject("INVALID_VOLUME");
    if (limit !== null && limit.price <= 0n) return reject("INVALID_PRICE");
    // Volumes in base are cut to the lot on arrival; one that truncates to 0 is invalid (Q2).
    const requested = currency === "base" ? this.#toLot(p.volume) : p.volume;
    if (requested === 0n) return reject("INVALID_VOLUME");
    const opposite = this.#opposite(book, p.direction);
    const rates = this.#rates(p.agentId, p.bookId);
    const own = (o: Order) => o.agentId === p.agentId;
    const skipsOwn = stp === "CO" || stp === "CN" || stp === "CB";

    let size: bigint;
    if (limit !== null) {
      if (limit.postOnly && (tif === "IOC" || tif === "FOK")) return reject("CONTRACT_VIOLATION");
      // Sized in quote: what the walk within the limit buys, the rest at the limit price (3.4).
      const byQuote = currency === "quote"
        ? this.#quoteWalk(opposite, p.direction, skipsOwn && p.agentId, limit.price, requested)
        : null;
      const makerQuote = byQuote === null ? 0n : requested - byQuote.quote;
      size = byQuote === null ? requested : byQuote.volume + this.#baseFor(makerQuote, limit.price);
      if (size === 0n) return reject("INVALID_VOLUME");
      let reduced = false;
      if (tif === "IOC") {
        const executable = this.#executable(opposite, limit, size, stp);
        if (executable === 0n) return reject("CONTRACT_VIOLATION");
        reduced = executable < size;
        size = min(size, executable);
      } else if (tif === "FOK") {
        if (!this.#fillable(opposite, limit, size, stp)) return reject("CONTRACT_VIOLATION");
      }
      if (limit.postOnly && !this.#postOnlyAccepts(opposite, p.agentId, limit, size, stp)) {
        return reject("CONTRACT_VIOLATION");
      }
      if (p.direction === "buy") {
        // A quote-sized buy is priced from its quote amounts, unless IOC cut it to a base size.
        const amount = byQuote !== null && !reduced
          ? (byQuote.quote * (E9 + rates.takerE9) + makerQuote * (E9 + rates.makerE9)) / E9
          : this.#limitBuyCost(opposite, p.agentId, skipsOwn, limit.price, size, rates);
        if (amount <= 0n || amount > account.quoteFree) return reject("INSUFFICIENT_QUOTE");
      } else if (size > account.baseFree) return reject("INSUFFICIENT_BASE");
    } else {
      if (opposite.length === 0) return reject("EMPTY_BOOK");
      const priced = p.direction === "buy" || currency === "quote";
      let walked = 0n;
      let quoteSum = 0n;
      let cost = 0n;
      if (currency === "quote") {
        ({ volume: walked, quote: quoteSum } = this.#quoteWalk(
          opposite,
          p.direction,
          skipsOwn && p.agentId,
          null,
          requested,
        ));
      } else {
        for (const o of opposite) {
          if (walked >= requested) break;
          if (skipsOwn && own(o)) continue;
          const piece = min(o.volume, requested - walked);
          cost += this.#quoteOf(o.price, piece, rates.takerE9);
          walked += piece;
        }
      }
      // Priced against nothing but the agent's own orders (Q13), or a quote amount that buys
      // less than one lot: nothing to execute, as the core reports it.
      if (priced && walked === 0n) return reject("EMPTY_BOOK");
      size = currency === "base" ? requested : walked;
      if (p.direction === "buy") {
        const amount = currency === "base" ? cost : this.#withRate(quoteSum, rates.takerE9);
        if (amount <= 0n || amount > account.quoteFree) return reject("INSUFFICIENT_QUOTE");
      } else if (size > account.baseFree) return reject("INSUFFICIENT_BASE");
    }

    // Accepted: the id is taken, the order matches, then rests or ends.
    const order: Order = {
      id: book.nextOrderId++,
      agentId: p.agentId,
      clientOrderId: p.clientOrderId ?? null,
      direction: p.direction,
      price: limit?.price ?? 0n,
      volume: size,
      timestamp: this.#now,
      makerE9: rates.makerE9,
    };
    const market = limit === null;
    this.#match(p.bookId, order, limit?.price ?? null, stp, market);
    if (order.volume > 0n && (market || tif === "IOC" || tif === "FOK")) {
      this.#emit({
        type: "remainderDropped",
        agentId: order.agentId,
        orderId: order.id,
        direction: order.direction,
        volume: order.volume,
        market,
      });
      order.volume = 0n;
    }
    if (order.volume > 0n) {
      this.#rest(p.bookId, order);
      const held = this.#reservation(order);
      account.baseFree -= held.base;
      account.quoteFree -= held.quote;
      this.#emit({
        type: "placed",
        agentId: order.agentId,
        orderId: order.id,
        clientOrderId: order.clientOrderId,
        direction: order.direction,
        price: order.price,
        volume: order.volume,
        remaining: order.volume,
      });
    }
    this.#emit({
      type: "accepted",
      agentId: order.agentId,
      orderId: order.id,
      clientOrderId: order.clientOrderId,
      direction: order.direction,
      price: order.price,
      volume: size,
      remaining: order.volume,
      market,
    });
    if (limit !== null && tif === "GTT" && limit.expiryNs !== undefined) {
      this.#expiries.push({
        due: this.#now + limit.expiryNs,
        seq: this.#seq++,
        bookId: p.bookId,
        orderId: order.id,
        agentId: order.agentId,
        direction: order.direction,
        clientOrderId: order.clientOrderId,
      });
    }
  }

  /** trunc_q(quote * (1 + rate)). */
  #withRate(quote: bigint, rateE9: bigint): bigint {
    return (quote * (E9 + rateE9)) / E9;
  }

  /**
   * The quote-sized walk of 3.4: resting orders within `limit` (null: all), best first, skipping
   * those of agent `skip` (false: none), until their notional reaches `target`; the last one
   * contributes the base the rest of the target buys.
   */
  #quoteWalk(
    opposite: Order[],
    direction: Direction,
    skip: number | false,
    limit: bigint | null,
    target: bigint,
  ): { volume: bigint; quote: bigint } {
    let volume = 0n;
    let quote = 0n;
    for (const o of opposite) {
      if (quote >= target || !this.#within(direction, o.price, limit)) break;
      if (o.agentId === skip) continue;
      const whole = this.#quoteOf(o.price, o.volume);
      if (quote + whole >= target) {
        volume += this.#baseFor(target - quote, o.price);
        quote = target;
      } else {
        volume += o.volume;
        quote += whole;
      }
    }
    return { volume, quote };
  }

  /** A limit buy's reservation (3.4): the crossing part at the resting prices with the taker
   * fee, the rest at the limit with the maker fee. */
  #limitBuyCost(
    opposite: Order[],
    agentId: number,
    skipsOwn: boolean,
    limit: bigint,
    size: bigint,
    rates: FeeTier,
  ): bigint {
    let cost = 0n;
    let volume = 0n;
    for (const o of opposite) {
      if (volume >= size || !this.#within("buy", o.price, limit)) break;
      if (skipsOwn && o.agentId === agentId) continue;
      const piece = min(o.volume, size - volume);
      cost += this.#quoteOf(o.price, piece, rates.takerE9);
      volume += piece;
    }
    return cost + this.#quoteOf(limit, size - volume, rates.makerE9);
  }

  /** IOC: the volume executable now within the limit under the order's STP rule (3.5). */
  #executable(opposite: Order[], p: LimitPlacement, size: bigint, stp: SelfTradePrevention) {
    let volume = 0n;
    for (const o of opposite) {
      if (volume >= size || !this.#within(p.direction, o.price, p.price)) break;
      if (o.agentId === p.agentId) {
        if (stp === "CO") continue;
        if (stp === "CN" || stp === "CB") return 0n;
      }
      volume += o.volume;
    }
    return min(volume, size);
  }

  /** FOK: whether the whole order fills (or, under DC, is decremented by its own orders). */
  #fillable(opposite: Order[], p: LimitPlacement, size: bigint, stp: SelfTradePrevention) {
    let left = size;
    for (const o of opposite) {
      if (left <= 0n || !this.#within(p.direction, o.price, p.price)) break;
      if (o.agentId === p.agentId && stp !== "NONE") {
        if (stp === "CO") continue;
        if (stp === "CN" || stp === "CB") return false;
      }
      left -= o.volume;
    }
    return left <= 0n;
  }

  /** Post-only, by the specification's rules per STP flag (3.6). */
  #postOnlyAccepts(
    opposite: Order[],
    agentId: number,
    p: LimitPlacement,
    size: bigint,
    stp: SelfTradePrevention,
  ): boolean {
    if (opposite.length === 0) return true;
    const crossed = opposite.filter((o) => this.#within(p.direction, o.price, p.price));
    if (stp === "CO") return crossed.every((o) => o.agentId === agentId);
    if (stp === "CB") return crossed.length === 0 || crossed[0].agentId === agentId;
    if (stp === "DC") {
      let left = size;
      for (const o of crossed) {
        if (o.agentId !== agentId) return false;
        left -= o.volume;
        if (left <= 0n) return false;
      }
      return true;
    }
    return crossed.length === 0;
  }

  /** Section 4.2 with 3.8: fills the aggressor against the opposite side within `limit`. */
  #match(
    bookId: number,
    aggressor: Order,
    limit: bigint | null,
    stp: SelfTradePrevention,
    market: boolean,
  ): void {
    const book = this.#books[bookId];
    const opposite = this.#opposite(book, aggressor.direction);
    const reduce = (volume: bigint) => {
      aggressor.volume -= volume;
      this.#emit({
        type: "stpReduced",
        agentId: aggressor.agentId,
        orderId: aggressor.id,
        direction: aggressor.direction,
        price: aggressor.price,
        volume,
        remaining: aggressor.volume,
      });
    };
    while (aggressor.volume > 0n && opposite.length > 0) {
      const resting = opposite[0];
      if (!this.#within(aggressor.direction, resting.price, limit)) break;
      if (resting.agentId === aggressor.agentId && stp !== "NONE") {
        if (stp === "CO") {
          this.#takeFromResting(bookId, resting, resting.volume, "stp", false);
          continue;
        }
        if (stp === "CN") {
          reduce(aggressor.volume);
          break;
        }
        if (stp === "CB") {
          this.#takeFromResting(bookId, resting, resting.volume, "stp", false);
          reduce(aggressor.volume);
          break;
        }
        // DC: the smaller of the two is removed from both.
        const common = min(resting.volume, aggressor.volume);
        this.#takeFromResting(bookId, resting, common, "stp", true);
        reduce(common);
        continue;
      }
      this.#fill(bookId, aggressor, resting, market);
    }
  }

  /** One trade at the resting order's price, settled as in 5.4 with fees as in 6.3. */
  #fill(bookId: number, aggressor: Order, resting: Order, market: boolean): void {
    const book = this.#books[bookId];
    const volume = min(aggressor.volume, resting.volume);
    const price = resting.price;
    const notional = this.#quoteOf(price, volume);
    let makerFee = this.#fee(price, volume, this.#rates(resting.agentId, bookId).makerE9);
    const takerFee = this.#fee(price, volume, this.#rates(aggressor.agentId, bookId).takerE9);
    const buyerIsAggressor = aggressor.direction === "buy";
    const buyer = buyerIsAggressor ? aggressor : resting;
    const seller = buyerIsAggressor ? resting : aggressor;
    const buyerAccount = this.#accounts[buyer.agentId][bookId];
    const sellerAccount = this.#accounts[seller.agentId][bookId];

    // The resting order's reservation shrinks with its volume; what it no longer holds is freed.
    this.#shrinkResting(bookId, resting, volume);
    aggressor.volume -= volume;
    if (!buyerIsAggressor && notional + makerFee > buyerAccount.quoteFree) {
      // A maker tier raised since the buy was placed (or, by a unit, a rebate's rounding): the
      // fee is cut to what the buyer can pay from what the fill freed and its free quote, never
      // touching what the rest of the order holds (README, Q6).
      makerFee = buyerAccount.quoteFree - notional;
    }

    const buyerFee = buyerIsAggressor ? takerFee : makerFee;
    const sellerFee = buyerIsAggressor ? makerFee : takerFee;
    buyerAccount.quoteFree -= notional + buyerFee;
    buyerAccount.baseFree += volume;
    sellerAccount.baseFree -= volume;
    sellerAccount.quoteFree += notional - sellerFee;
    this.#recordVolume(buyer.agentId, bookId, notional);
    this.#recordVolume(seller.agentId, bookId, notional);

    this.#emit({
      type: "trade",
      agentId: aggressor.agentId,
      orderId: aggressor.id,
      clientOrderId: aggressor.clientOrderId,
      direction: aggressor.direction,
      price,
      volume,
      remaining: aggressor.volume,
      notional,
      makerFee,
      takerFee,
      restingAgentId: resting.agentId,
      restingOrderId: resting.id,
      restingClientOrderId: resting.clientOrderId,
      tradeId: book.nextTradeId++,
      market,
      amount: resting.volume,
    });
  }

  // ---- state, in the shapes of the core's snapshots ----

  /** Free and reserved base and quote of an account in one book. */
  balances(agentId: number, bookId: number) {
    const account = this.#accounts[agentId][bookId];
    let baseReserved = 0n;
    let quoteReserved = 0n;
    const book = this.#books[bookId];
    for (const order of [...book.bids, ...book.asks]) {
      if (order.agentId !== agentId) continue;
      const held = this.#reservation(order);
      baseReserved += held.base;
      quoteReserved += held.quote;
    }
    return {
      baseFree: account.baseFree,
      baseReserved,
      quoteFree: account.quoteFree,
      quoteReserved,
    };
  }

  /** The maker and taker rates an account pays in one book now. */
  rates(agentId: number, bookId: number): FeeTier {
    return this.#rates(agentId, bookId);
  }

  /** Rolling traded volume and tier of an account in one book. */
  feeState(agentId: number, bookId: number) {
    const account = this.#accounts[agentId][bookId];
    return {
      volume: (account.slots ?? []).reduce((a, b) => a + b, 0n),
      tier: account.tiers[this.#policyOf[agentId]],
    };
  }

  /** Orders of one side, best first, as `[orderId, agentId, price, volume, timestamp]`. */
  orders(bookId: number, side: "bids" | "asks"): [number, number, bigint, bigint, bigint][] {
    return this.#books[bookId][side].map((o) => [o.id, o.agentId, o.price, o.volume, o.timestamp]);
  }

  /** Levels of one side, best first. */
  levels(bookId: number, side: "bids" | "asks"): { price: bigint; volume: bigint }[] {
    const levels: { price: bigint; volume: bigint }[] = [];
    for (const o of this.#books[bookId][side]) {
      const last = levels.at(-1);
      if (last !== undefined && last.price === o.price) last.volume += o.volume;
      else levels.push({ price: o.price, volume: o.volume });
    }
    return levels;
  }

  /** The book's best prices and live orders, for a stream generator. */
  touch(bookId: number): { bid: bigint | null; ask: bigint | null } {
    const book = this.#books[bookId];
    return { bid: book.bids[0]?.price ?? null, ask: book.asks[0]?.price ?? null };
  }

  /** Ids of the resting orders of one book. */
  liveOrders(bookId: number): { id: number; agentId: number; volume: bigint }[] {
    const book = this.#books[bookId];
    return [...book.bids, ...book.asks].map((o) => ({
      id: o.id,
      agentId: o.agentId,
      volume: o.volume,
    }));
  }

  /** Next order id of a book. */
  nextOrderId(bookId: number): number {
    return this.#books[bookId].nextOrderId;
  }
}
