/**
 * A deliberately plain model of the exchange specification (cash trading and margin), written
 * from the specification rather than from the C core, for the differential test: books are arrays
 * of orders sorted by price then arrival, accounts hold free balances with per-order reservations
 * and a list of loans, and every fixed-point step is a `bigint` operation truncated toward zero
 * (or rounded up) where the specification says so. Where the specification lists a reference bug
 * (its section 8) the model does what the README's "Differences from the reference implementation"
 * says the core does instead: leveraged orders sized in base only, loans recording the whole
 * leveraged leg, exact collateral release, margin calls before every call with liquidation of what
 * the account holds and a write-off of what it cannot cover.
 *
 * Where the specification is silent the model follows the core's documented conventions: the
 * event vocabulary of `taos_exchange.h` (acceptance after the fills, `placed` for what rests,
 * `stpReduced` and `remainderDropped` for volume an incoming order loses), a cancel checks that
 * the order exists before its volume, and a market order sized in quote that the book takes in
 * full but that trades less than one lot is INVALID_VOLUME (one priced against nothing but the
 * agent's own orders is EMPTY_BOOK, Q13). For margin
 * it also follows the core where neither text decides: a leveraged order's own volume after a fill
 * is trunc_v(matchable / (1 + L)), collateral taken at a fill is capped by what the order holds,
 * and a fill worth less than a quote unit borrows nothing.
 *
 * Fee policies may be added and switched at any time: an agent switched to a policy gets the tier
 * its volume earned at the last slot roll there (`tx_set_fee_policy`). Instruction records may
 * hold anything (`raw`): the model checks them in the core's documented order (the header's
 * well-formedness rules, then the book, the account, and the specification's 3.2 and 3.3 with the
 * core's range limits: volumes up to 2^53 units, prices up to 2^40 ticks, GTT expiries within the
 * clock). It also follows the holdings bound (`TX_MAX_HELD`, 2^62 units of each asset per book):
 * rebates are paid only as far as the book's quote stays within it (save one a buy's reservation
 * counted on, when its owner has nothing else to pay with), a reset that would take a book past it
 * is refused, and so are a resting order that would take its side's volume past it and a cash buy
 * whose notional is past it; quote converted to base stops at 2^53 units, and traded volume
 * saturates at int64 (the holdings are tracked for cash trading: loans are left out of them).
 *
 * Left out: order-id exhaustion and products beyond 128 bits, which no stream reaches.
 * @module
 */
import type {
  Cancellation,
  Direction,
  ExchangeConfig,
  FeeTier,
  LimitPlacement,
  Placement,
  SelfTradePrevention,
  TimeInForce,
} from "../../native/exchange.ts";

/**
 * One 64-byte instruction record field by field (`tx_instruction`), any value each field's width
 * holds: what a host that packs records itself may send.
 */
export interface RawRecord {
  kind: number;
  direction: number;
  currency: number;
  timeInForce: number;
  stp: number;
  postOnly: number;
  flags: number;
  pad0: number;
  agentId: number;
  bookId: number;
  clientOrderId: number;
  orderId: number;
  volume: bigint;
  price: bigint;
  leverageE9: bigint;
  expiryNs: bigint;
  senderId: number;
  reserved: number;
}

/** One instruction of a stream, in the shape `InstructionBatch` takes it, or a raw record. */
export type Instruction =
  | ({ kind: "limit" } & LimitPlacement)
  | ({ kind: "market" } & Placement)
  | ({ kind: "cancel" } & Cancellation)
  | { kind: "reset"; agentId: number }
  | { kind: "raw"; record: RawRecord };

/** The model's configuration: the core's, with the fee history's shape always given. */
export type ModelConfig =
  & ExchangeConfig
  & Required<Pick<ExchangeConfig, "feeHistorySlots" | "feeSlotPeriodNs">>;

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
  /** Remaining matchable volume: `volume` for a cash order, about `volume * (1 + L)` else. */
  total: bigint;
  /** Leverage L (lot-truncated, 1e-9); 0 for a cash order. */
  leverageE9: bigint;
  /** What a leveraged order holds (a cash order's follows from its volume). */
  resBase: bigint;
  resQuote: bigint;
  timestamp: bigint;
  /** Maker rate when placed: a resting buy keeps `price * volume * (1 + rate)` reserved. */
  makerE9: bigint;
  /**
   * A cash buy at a taker rebate, while it matches: what the core's reservation still sets aside
   * for its fills and its rest. Each fill takes at most its own cost at the rebate from it.
   */
  setAside?: bigint;
}

/** An open margin loan (section 7.3): quote for a long (leveraged buy), base for a short. */
interface Loan {
  /** Opening order among all loans: ties between equal margin-call prices. */
  seq: number;
  agentId: number;
  bookId: number;
  orderId: number;
  direction: Direction;
  leverageE9: bigint;
  /** Price of its strictest fill (a long's highest, a short's lowest): its margin-call price. */
  price: bigint;
  amount: bigint;
  collateralBase: bigint;
  collateralQuote: bigint;
}

interface Book {
  /** What the book's accounts were given in total (initial balances, and what resets gave back). */
  heldBase: bigint;
  heldQuote: bigint;
  /** Net fees taken in the book (rebates subtract). */
  fees: bigint;
  /** What its margin loans created: lent less repaid, written-off loans included (README). */
  lentBase: bigint;
  lentQuote: bigint;
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
  /** Volume summed at the last roll (0 before one with a history): a policy switched to takes
   * its tier from it. */
  rolled: bigint;
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
/** The core's range limits: base or quote units of one order, ticks of a price, units of one
 * asset a book's accounts may hold (`TX_MAX_HELD`), and the largest int64. */
const MAX_VOLUME = 1n << 53n;
const MAX_PRICE = 1n << 40n;
const MAX_HELD = 1n << 62n;
/** The most a book's margin loans may have lent of an asset, repayments deducted. */
const LENT_LIMIT = MAX_HELD / 2n;
const INT64_MAX = (1n << 63n) - 1n;
const INT128_MAX = (1n << 127n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;
const NONE = 0xFFFF_FFFF;
/** Instruction flags (`TX_IF_*`) the drop after a reset reads. */
const AFTER_RESET = 0x02;
const SENDER = 0x04;
const JOINED = 0x08;

const pow10 = (n: number) => 10n ** BigInt(n);
const min = (a: bigint, b: bigint) => (a < b ? a : b);
const ceilDiv = (a: bigint, b: bigint) => (a + b - 1n) / b;

/** The exchange model. */
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
  /** Open loans, in opening order. */
  #loans: Loan[] = [];
  #loanSeq = 0;
  /** How often the rarer paths ran (a fee cut, a rebate bounded, an amount capped), so that a
   * stream can show it reached them. */
  readonly counts: Map<string, number> = new Map();

  #count(path: string): void {
    this.counts.set(path, (this.counts.get(path) ?? 0) + 1);
  }

  constructor(config: ModelConfig) {
    this.#config = config;
    this.#lot = pow10(config.baseDecimals - config.volumeDecimals);
    this.#policies = [config.feeTiers];
    this.#policyOf = Array.from({ length: config.agents }, () => 0);
    this.#books = Array.from({ length: config.books }, () => ({
      heldBase: config.initialBase * BigInt(config.agents),
      heldQuote: config.initialQuote * BigInt(config.agents),
      lentBase: 0n,
      lentQuote: 0n,
      fees: 0n,
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
          rolled: 0n,
        })),
    );
  }

  /** Could a fill-or-kill order meet a fill the holdings bound or the lending limit refuses,
   * and so fill in part? The core judges it on bounds (README): twice the notional of its size
   * at its limit (a buy) or at the best bid (a sell), plus four units per resting order and four
   * more, against the bound's room when any fee policy has a rebate, and against the lending
   * limit (with the size, for base) when margin is enabled. */
  #fokMayStop(
    book: Book,
    opposite: Order[],
    direction: Direction,
    price: bigint,
    size: bigint,
  ): boolean {
    const top = direction === "buy" ? price : opposite[0].price;
    const resting = BigInt(book.bids.length + book.asks.length);
    const reach = 2n * this.#quoteOf(top, size) + 4n * (resting + 1n);
    const rebates = this.#policies.some((tiers) =>
      tiers.some((tier) => tier.makerE9 < 0n || tier.takerE9 < 0n)
    );
    if (rebates && reach > this.#rebateRoom(book)) return true;
    return (this.#config.maxLeverageE9 ?? 0n) > 0n &&
      (book.lentQuote + reach > LENT_LIMIT || book.lentBase + size > LENT_LIMIT);
  }

  /** The units the core values collateral in: one quote unit and one base unit at `price`, in
   * quote units times 10^-min(shift, 0), shift = quote - price - base decimals. The model
   * computes exactly in its own units; these only tell when the core's products pass 128 bits
   * (it then computes in 256), so that the streams can be required to go there. */
  #coreUnits(price: bigint): [bigint, bigint] {
    const c = this.#config;
    const shift = c.quoteDecimals - c.priceDecimals - c.baseDecimals;
    return shift >= 0 ? [1n, price * pow10(shift)] : [pow10(-shift), price];
  }

  /** Counts `kind` where one of the core's products (all non-negative, each bounding the partial
   * products it is made of) would pass 128 bits. */
  #countPast128Bits(kind: string, products: bigint[]): void {
    if (products.some((product) => product > INT128_MAX)) this.#count(kind);
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
    // No more than one order's volume limit.
    if (base > MAX_VOLUME) this.#count("quote to base capped");
    return this.#toLot(min(base, MAX_VOLUME));
  }

  #toLot(volume: bigint): bigint {
    return volume - volume % this.#lot;
  }

  /** Matchable volume of an own volume at leverage L: trunc_v(own * (1 + L)). */
  #totalOf(own: bigint, leverageE9: bigint): bigint {
    return leverageE9 === 0n ? own : this.#toLot((own * (E9 + leverageE9)) / E9);
  }

  /** Own volume of a matchable volume at leverage L: trunc_v(total / (1 + L)). */
  #ownOf(total: bigint, leverageE9: bigint): bigint {
    return leverageE9 === 0n ? total : this.#toLot((total * E9) / (E9 + leverageE9));
  }

  /** ceil_q(price * base). */
  #quoteCeil(price: bigint, base: bigint): bigint {
    const c = this.#config;
    return ceilDiv(price * base * pow10(c.quoteDecimals), pow10(c.priceDecimals + c.baseDecimals));
  }

  /** ceil_b(quote / price). */
  #baseCeil(quote: bigint, price: bigint): bigint {
    const c = this.#config;
    return ceilDiv(quote * pow10(c.priceDecimals + c.baseDecimals), price * pow10(c.quoteDecimals));
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
   * last roll applies from now on (a policy added since that roll included). */
  setFeePolicy(agentId: number, policy: number): void {
    this.#policyOf[agentId] = policy;
    for (const account of this.#accounts[agentId]) {
      account.tiers[policy] = this.#tierFor(this.#policies[policy], account.rolled);
    }
  }

  /** The highest tier whose threshold `volume` reaches; the first applies below the second,
   * whatever its own threshold. */
  #tierFor(tiers: FeeTier[], volume: bigint): number {
    let tier = 0;
    for (let i = 1; i < tiers.length; i++) if (tiers[i].volumeRequired <= volume) tier = i;
    return tier;
  }

  /** Traded volume has no bound: it saturates at the int64 limit. */
  #recordVolume(agentId: number, bookId: number, quote: bigint): void {
    const account = this.#accounts[agentId][bookId];
    account.slots ??= Array.from({ length: this.#config.feeHistorySlots }, () => 0n);
    const last = account.slots.length - 1;
    if (account.slots[last] + quote > INT64_MAX) this.#count("fee volume saturated");
    account.slots[last] = min(account.slots[last] + quote, INT64_MAX);
  }

  #roll(): void {
    for (const row of this.#accounts) {
      for (const account of row) {
        if (account.slots === null) continue;
        const sum = min(account.slots.reduce((a, b) => a + b, 0n), INT64_MAX);
        account.rolled = sum;
        account.tiers = this.#policies.map((tiers) => this.#tierFor(tiers, sum));
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
    this.#marginCalls();
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
    if (order.leverageE9 > 0n) return { base: order.resBase, quote: order.resQuote };
    return order.direction === "sell"
      ? { base: order.volume, quote: 0n }
      : { base: 0n, quote: this.#quoteOf(order.price, order.volume, order.makerE9) };
  }

  // ---- instructions ----

  /** Advances the clock to `now` and runs the instructions in order; returns their events. */
  submit(now: bigint, instructions: readonly Instruction[]): ModelEvent[] {
    this.#events = [];
    this.#instruction = null;
    this.#resetInCall.clear();
    this.#dropping = false;
    this.#advance(now);
    instructions.forEach((instruction, index) => {
      this.#instruction = index;
      if (instruction.kind === "raw") return this.#raw(instruction.record);
      this.#dropping = false;
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

  /** Agents reset in the current call: TX_IF_AFTER_RESET instructions they sent after it are
   * dropped. */
  #resetInCall = new Set<number>();
  /** Whether the record before was dropped after a reset: a TX_IF_JOINED record shares its fate. */
  #dropping = false;

  #emit(event: ModelEvent): void {
    this.#events.push({
      timestamp: this.#now,
      bookId: this.#bookId,
      instruction: this.#instruction,
      ...event,
    });
  }

  /** The book is looked up before the account in it (the core's order; the specification names
   * neither check). */
  #known(agentId: number, bookId: number): string | null {
    if (!Number.isInteger(bookId) || bookId < 0 || bookId >= this.#config.books) {
      return "INVALID_BOOK";
    }
    if (!Number.isInteger(agentId) || agentId < 0 || agentId >= this.#config.agents) {
      return "NONEXISTENT_ACCOUNT";
    }
    return null;
  }

  /**
   * A record as the core reads it: one flagged TX_IF_AFTER_RESET after a reset of its sender
   * (`senderId` with TX_IF_SENDER, else its agent) in this call is AGENT_RESET, and so is one
   * flagged TX_IF_JOINED after a record dropped so; an unknown kind, an enum field out of range, an
   * unknown flag bit, nonzero padding or a sender without TX_IF_SENDER is INVALID_INSTRUCTION (the
   * header's rule); anything else is the instruction it spells, fields that do not apply to its
   * kind ignored.
   */
  #raw(r: RawRecord): void {
    const clientOrderId = r.clientOrderId === NONE ? null : r.clientOrderId;
    this.#bookId = r.bookId;
    // A refusal of the record as it stands (its own kind, side, price and volume).
    const refuse = (reason: string) =>
      this.#emit({
        type: "rejected",
        agentId: r.agentId,
        orderId: r.kind === 3 && r.orderId !== NONE ? r.orderId : null,
        clientOrderId,
        direction: r.direction === 1 ? "sell" : "buy",
        price: r.price,
        volume: r.volume,
        reason,
      });
    // TX_IF_AFTER_RESET and TX_IF_JOINED, judged before anything else: of any kind, well formed
    // or not.
    if ((r.flags & JOINED) === 0) {
      const sender = (r.flags & SENDER) !== 0 ? r.senderId : r.agentId;
      this.#dropping = (r.flags & AFTER_RESET) !== 0 && this.#resetInCall.has(sender);
    }
    if (this.#dropping) return refuse("AGENT_RESET");
    if (r.kind < 1 || r.kind > 4) {
      return this.#emit({
        type: "rejected",
        agentId: r.agentId,
        orderId: null,
        clientOrderId,
        direction: "buy",
        price: 0n,
        volume: 0n,
        reason: "INVALID_INSTRUCTION",
      });
    }
    const wellFormed = r.direction <= 1 && r.currency <= 1 && r.timeInForce <= 3 && r.stp <= 4 &&
      r.postOnly <= 1 && r.pad0 === 0 && r.reserved === 0 &&
      (r.senderId === 0 || (r.flags & SENDER) !== 0) && (r.flags & ~15) === 0;
    if (!wellFormed) return refuse("INVALID_INSTRUCTION");
    if (r.kind === 4) return this.#reset(r.agentId);
    if (r.kind === 3) {
      return this.#cancel({
        agentId: r.agentId,
        bookId: r.bookId,
        orderId: r.orderId,
        volume: (r.flags & 1) === 1 ? r.volume : null,
      });
    }
    const placement = {
      agentId: r.agentId,
      bookId: r.bookId,
      direction: (["buy", "sell"] as const)[r.direction],
      currency: (["base", "quote"] as const)[r.currency],
      stp: (["NONE", "CO", "CN", "CB", "DC"] as const)[r.stp],
      clientOrderId,
      volume: r.volume,
      leverageE9: r.leverageE9,
      price: r.price,
    };
    if (r.kind === 2) return this.#place({ kind: "market", ...placement });
    const timeInForce = (["GTC", "GTT", "IOC", "FOK"] as const)[r.timeInForce];
    this.#place({
      kind: "limit",
      ...placement,
      timeInForce,
      postOnly: r.postOnly === 1,
      expiryNs: timeInForce === "GTT" ? r.expiryNs : undefined,
    });
  }

  /** Section 5.7: the agent's orders cancelled book by book (by id), its balances and fee
   * history as when it was created. */
  #reset(agentId: number): void {
    if (this.#known(agentId, 0) !== null) {
      return this.#emit({ type: "rejected", agentId, reason: "NONEXISTENT_ACCOUNT" });
    }
    // Refused where the balances given back would take a book's holdings past the bound.
    const over = this.#books.some((book, bookId) => {
      const held = this.balances(agentId, bookId);
      return book.heldBase + this.#config.initialBase - held.baseFree - held.baseReserved >
          MAX_HELD ||
        book.heldQuote + this.#config.initialQuote - held.quoteFree - held.quoteReserved >
          MAX_HELD;
    });
    if (over) return this.#emit({ type: "rejected", agentId, reason: "HOLDINGS_LIMIT" });
    this.#books.forEach((book, bookId) => {
      this.#bookId = bookId;
      const orders = [...book.bids, ...book.asks].filter((o) => o.agentId === agentId)
        .sort((a, b) => a.id - b.id);
      for (const order of orders) {
        this.#takeFromResting(bookId, order, order.volume, "reset", false);
      }
      // Loans vanish with the account (5.7).
      for (const loan of this.#loansOf(agentId, bookId)) this.#freeLoan(loan);
      const account = this.#accounts[agentId][bookId];
      // The account gets back what it lost: the book's holdings grow by as much.
      book.heldBase += this.#config.initialBase - account.baseFree;
      book.heldQuote += this.#config.initialQuote - account.quoteFree;
      account.baseFree = this.#config.initialBase;
      account.quoteFree = this.#config.initialQuote;
      account.slots = null;
      account.tiers = this.#policies.map(() => 0);
      account.rolled = 0n;
    });
    // A reset spans every book: its event names none.
    this.#bookId = 0xFFFF_FFFF;
    this.#resetInCall.add(agentId);
    this.#emit({ type: "reset", agentId });
  }

  #cancel(c: Cancellation): void {
    const reject = (reason: string) =>
      this.#emit({
        type: "rejected",
        agentId: c.agentId,
        orderId: c.orderId === NONE ? null : c.orderId,
        reason,
      });
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
    if (order.leverageE9 > 0n && volume < order.volume) {
      // A leveraged order gives back its reservation in proportion to the own volume removed
      // (Q8); its matchable volume follows from the own volume left.
      const base = (order.resBase * volume) / order.volume;
      const quote = (order.resQuote * volume) / order.volume;
      order.resBase -= base;
      order.resQuote -= quote;
    }
    order.volume -= volume;
    order.total = this.#totalOf(order.volume, order.leverageE9);
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

  /** A placement; a market order's rejection echoes the price field of the record it came in
   * (`price`, from a raw record), as the core does. */
  #place(p: (Instruction & { kind: "limit" | "market" }) & { price?: bigint }): void {
    const limit = p.kind === "limit" ? p : null;
    const reject = (reason: string) =>
      this.#emit({
        type: "rejected",
        agentId: p.agentId,
        clientOrderId: p.clientOrderId ?? null,
        direction: p.direction,
        price: p.price ?? 0n,
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
    const requestedLeverage = p.leverageE9 ?? 0n;
    if (requestedLeverage < 0n || requestedLeverage > (this.#config.maxLeverageE9 ?? 0n)) {
      return reject("INVALID_LEVERAGE");
    }
    // Leverage is truncated to the lot's decimals (section 1.3).
    const leverageUnit = pow10(Math.max(0, 9 - this.#config.volumeDecimals));
    const leverage = requestedLeverage - requestedLeverage % leverageUnit;
    if (p.volume <= 0n || p.volume > MAX_VOLUME) return reject("INVALID_VOLUME");
    if (limit !== null && (limit.price <= 0n || limit.price > MAX_PRICE)) {
      return reject("INVALID_PRICE");
    }
    // Volumes in base are cut to the lot on arrival; one that truncates to 0 is invalid (Q2).
    // `requested` is the amount asked for in the order's currency, leverage included: a quote
    // amount walks trunc_q(volume * (1 + L)) and owns the base that buys divided by 1 + L (3.4).
    let own = currency === "base" ? this.#toLot(p.volume) : 0n;
    const requested = currency === "base"
      ? this.#totalOf(own, leverage)
      : (p.volume * (E9 + leverage)) / E9;
    if (requested === 0n) return reject("INVALID_VOLUME");
    // A GTT expiry must fall within the clock.
    if (tif === "GTT" && limit?.expiryNs !== undefined && limit.expiryNs > UINT64_MAX - this.#now) {
      return reject("INVALID_EXPIRY");
    }
    // 3.5: post-only with IOC or FOK is refused before the book is looked at.
    if (limit?.postOnly && (tif === "IOC" || tif === "FOK")) return reject("CONTRACT_VIOLATION");
    const opposite = this.#opposite(book, p.direction);
    const rates = this.#rates(p.agentId, p.bookId);
    const mine = (o: Order) => o.agentId === p.agentId;
    const skipsOwn = stp === "CO" || stp === "CN" || stp === "CB";

    // `size`: the matchable volume; `amount`: what it costs (quote, buys) or holds (base, sells)
    // before leverage divides it (3.4).
    let size: bigint;
    let amount: bigint;
    if (limit !== null) {
      // Sized in quote: what the walk within the limit buys, the rest at the limit price (3.4).
      const byQuote = currency === "quote"
        ? this.#quoteWalk(opposite, p.direction, skipsOwn && p.agentId, limit.price, requested)
        : null;
      const makerQuote = byQuote === null ? 0n : requested - byQuote.quote;
      const bought = byQuote === null
        ? 0n
        : byQuote.volume + this.#baseFor(makerQuote, limit.price);
      if (byQuote !== null) own = this.#ownOf(bought, leverage);
      size = byQuote === null ? requested : this.#totalOf(own, leverage);
      if (size === 0n) return reject("INVALID_VOLUME");
      let reduced = false;
      if (tif === "IOC") {
        const executable = this.#executable(opposite, limit, size, stp);
        if (executable === 0n) return reject("CONTRACT_VIOLATION");
        reduced = executable < size;
        if (reduced) {
          // The own volume is cut first, and the matchable volume follows (README).
          own = this.#ownOf(executable, leverage);
          size = this.#totalOf(own, leverage);
        }
      } else if (tif === "FOK") {
        if (!this.#fillable(opposite, limit, size, stp)) return reject("CONTRACT_VIOLATION");
        if (this.#fokMayStop(book, opposite, p.direction, limit.price, size)) {
          this.#count("fill-or-kill refused near the bound");
          return reject("HOLDINGS_LIMIT");
        }
      }
      if (limit.postOnly && !this.#postOnlyAccepts(opposite, p.agentId, limit, size, stp)) {
        return reject("CONTRACT_VIOLATION");
      }
      if (p.direction === "buy") {
        // A quote-sized buy is priced from its quote amounts, unless IOC cut it to a base size.
        amount = byQuote !== null && !reduced
          ? (byQuote.quote * (E9 + rates.takerE9) + makerQuote * (E9 + rates.makerE9)) / E9
          : this.#limitBuyCost(opposite, p.agentId, skipsOwn, limit.price, size, rates);
      } else amount = byQuote !== null && !reduced ? bought : size;
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
          if (skipsOwn && mine(o)) continue;
          const piece = min(o.total, requested - walked);
          cost += this.#quoteOf(o.price, piece, rates.takerE9);
          walked += piece;
        }
      }
      // Priced against nothing but the agent's own orders (Q13): nothing to execute. A quote
      // amount the book takes in full that trades less than one lot is too small.
      if (priced && walked === 0n) {
        return reject(
          currency === "quote" && quoteSum === requested ? "INVALID_VOLUME" : "EMPTY_BOOK",
        );
      }
      if (currency === "quote") own = this.#ownOf(walked, leverage);
      size = currency === "base" ? requested : this.#totalOf(own, leverage);
      amount = p.direction === "sell"
        ? (currency === "base" ? size : walked)
        : currency === "base"
        ? cost
        : this.#withRate(quoteSum, rates.takerE9);
    }
    // A leveraged order's own volume can truncate to nothing once cut (IOC) or divided by 1 + L
    // (sized in quote).
    if (own === 0n) return reject("INVALID_VOLUME");
    let reservation = { base: 0n, quote: 0n };
    if (leverage > 0n) {
      const refPrice = limit?.price ?? opposite[0].price;
      // A crossing order's first fills are at the opposite best: its collateral in the other
      // currency is valued there (README "Margin").
      const best = opposite[0]?.price;
      const crosses = best !== undefined &&
        (p.direction === "buy" ? best <= refPrice : best >= refPrice);
      const held = this.#marginReservation(
        p.agentId,
        p.bookId,
        p.direction,
        leverage,
        amount,
        refPrice,
        crosses ? best : refPrice,
      );
      if (held === null) return reject("EXCEEDING_LOAN");
      reservation = held;
    } else if (p.direction === "buy") {
      if (amount <= 0n || amount > account.quoteFree) return reject("INSUFFICIENT_QUOTE");
    } else if (amount <= 0n || amount > account.baseFree) return reject("INSUFFICIENT_BASE");
    // A cash buy must not owe a seller more than the book's accounts may hold (at a rebate rate
    // its reservation is less than its notional).
    if (leverage === 0n && p.direction === "buy") {
      const none = { volumeRequired: 0n, makerE9: 0n, takerE9: 0n };
      const notional = this.#limitBuyCost(
        opposite,
        p.agentId,
        skipsOwn,
        limit?.price ?? null,
        size,
        none,
      );
      if (notional > MAX_HELD) return reject("HOLDINGS_LIMIT");
    }
    // An order that may rest must not take its side's volume past the holdings bound.
    if (limit !== null && tif !== "IOC" && tif !== "FOK") {
      const side = this.#side(book, p.direction).reduce((sum, o) => sum + o.total, 0n);
      if (side > MAX_HELD - size) return reject("BOOK_VOLUME_LIMIT");
    }

    // Accepted: the id is taken, the order matches, then rests or ends.
    if (leverage > 0n && currency === "quote") this.#count(`leveraged quote ${p.kind}`);
    const order: Order = {
      id: book.nextOrderId++,
      agentId: p.agentId,
      clientOrderId: p.clientOrderId ?? null,
      direction: p.direction,
      price: limit?.price ?? 0n,
      volume: own,
      total: size,
      leverageE9: leverage,
      resBase: reservation.base,
      resQuote: reservation.quote,
      timestamp: this.#now,
      makerE9: rates.makerE9,
      ...(leverage === 0n && p.direction === "buy" && rates.takerE9 < 0n
        ? { setAside: amount }
        : {}),
    };
    // A leveraged order's collateral leaves the free balances now; a cash aggressor pays its
    // fills from them directly.
    account.baseFree -= reservation.base;
    account.quoteFree -= reservation.quote;
    const market = limit === null;
    const halted = !this.#match(p.bookId, order, limit?.price ?? null, stp, market);
    if (order.volume > 0n && (halted || market || tif === "IOC" || tif === "FOK")) {
      this.#emit({
        type: "remainderDropped",
        agentId: order.agentId,
        orderId: order.id,
        direction: order.direction,
        volume: order.volume,
        market,
      });
      order.volume = 0n;
      order.total = 0n;
    }
    if (order.volume > 0n) {
      this.#rest(p.bookId, order);
      if (leverage === 0n) {
        const held = this.#reservation(order);
        account.baseFree -= held.base;
        account.quoteFree -= held.quote;
      }
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
    } else {
      // What a leveraged order still holds goes back once it ends.
      account.baseFree += order.resBase;
      account.quoteFree += order.resQuote;
      order.resBase = order.resQuote = 0n;
    }
    this.#emit({
      type: "accepted",
      agentId: order.agentId,
      orderId: order.id,
      clientOrderId: order.clientOrderId,
      direction: order.direction,
      price: order.price,
      volume: own,
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

  // ---- margin (section 7) ----

  #loansOf(agentId: number, bookId: number): Loan[] {
    return this.#loans.filter((l) => l.agentId === agentId && l.bookId === bookId)
      .sort((a, b) => a.orderId - b.orderId);
  }

  /** An account's loans and collateral: the sums of its loans (README, Q9). */
  #loanTotals(agentId: number, bookId: number) {
    const totals = { baseLoan: 0n, quoteLoan: 0n, baseCollateral: 0n, quoteCollateral: 0n };
    for (const loan of this.#loansOf(agentId, bookId)) {
      if (loan.direction === "buy") totals.quoteLoan += loan.amount;
      else totals.baseLoan += loan.amount;
      totals.baseCollateral += loan.collateralBase;
      totals.quoteCollateral += loan.collateralQuote;
    }
    return totals;
  }

  /**
   * 3.4 and 7.2: a leveraged order's collateral `amount / (1 + L)` must fit the account's wealth
   * at the reference price, and the new borrowing its loan limit; the collateral is held in the
   * order's own currency, the shortfall in the other at the reference price (rounded up).
   * Null: EXCEEDING_LOAN.
   */
  #marginReservation(
    agentId: number,
    bookId: number,
    direction: Direction,
    leverageE9: bigint,
    amount: bigint,
    price: bigint,
    collateralPrice: bigint,
  ): { base: bigint; quote: bigint } | null {
    const account = this.#accounts[agentId][bookId];
    const collateral = (amount * E9) / (E9 + leverageE9);
    // The core's amounts are int64: one that reaches 2^63 - 1 is refused, and values of base in
    // quote saturate there.
    if (collateral <= 0n || amount >= INT64_MAX) return null;
    const saturated = (value: bigint) => (value > INT64_MAX ? INT64_MAX : value);
    const wealth = saturated(saturated(this.#quoteOf(price, account.baseFree)) + account.quoteFree);
    const inQuote = direction === "buy" ? collateral : saturated(this.#quoteOf(price, collateral));
    const loans = this.#loanTotals(agentId, bookId);
    // The loan limit in exact quote (times 10^(price + base decimals) and 10^9): the new
    // borrowing `collateral * L` (a sell's collateral valued at the price) plus the loans held.
    const c = this.#config;
    const perBase = price * pow10(c.quoteDecimals);
    const unit = pow10(c.priceDecimals + c.baseDecimals);
    const borrowed = (direction === "buy" ? collateral * unit : collateral * perBase) * leverageE9;
    const owed = (loans.baseLoan * perBase + loans.quoteLoan * unit) * E9;
    const [coreUnit, corePerBase] = this.#coreUnits(price);
    const coreBorrowed = (direction === "buy" ? coreUnit : corePerBase) * collateral * leverageE9;
    const coreOwed = (loans.baseLoan * corePerBase + loans.quoteLoan * coreUnit) * E9;
    this.#countPast128Bits("loan limit past 128 bits", [
      coreBorrowed + coreOwed,
      coreUnit * E9 * (c.maxLoan ?? 0n),
    ]);
    if (inQuote > wealth || borrowed + owed > (c.maxLoan ?? 0n) * unit * E9) return null;
    if (direction === "buy") {
      const quote = min(collateral, account.quoteFree);
      const base = collateral > quote ? this.#baseCeil(collateral - quote, collateralPrice) : 0n;
      return base > account.baseFree ? null : { base, quote };
    }
    const base = min(collateral, account.baseFree);
    const quote = collateral > base ? this.#quoteCeil(collateralPrice, collateral - base) : 0n;
    return quote > account.quoteFree ? null : { base, quote };
  }

  /** The loan a leveraged order's fills grow, opened at its first fill (or its first since a
   * repayment closed the last). 7.6 registers a margin-call price at every fill and calls the loan
   * when any is breached: the loan keeps its strictest fill's price (a long's highest, a short's
   * lowest). */
  #loanOf(bookId: number, order: Order, price: bigint): Loan {
    const open = this.#loans.find((l) =>
      l.bookId === bookId && l.agentId === order.agentId && l.orderId === order.id
    );
    if (open) {
      if (order.direction === "buy" ? price > open.price : price < open.price) {
        open.price = price;
        this.#count("call price made stricter by a later fill");
      }
      return open;
    }
    const loan: Loan = {
      seq: this.#loanSeq++,
      agentId: order.agentId,
      bookId,
      orderId: order.id,
      direction: order.direction,
      leverageE9: order.leverageE9,
      price,
      amount: 0n,
      collateralBase: 0n,
      collateralQuote: 0n,
    };
    this.#loans.push(loan);
    return loan;
  }

  #freeLoan(loan: Loan): void {
    this.#loans.splice(this.#loans.indexOf(loan), 1);
  }

  /** 7.3: a leveraged leg moves its collateral share out of the order's reservation (the other
   * currency at `other`, the best price on that side) and borrows the whole leg. */
  #borrow(bookId: number, order: Order, price: bigint, other: bigint, leg: bigint): void {
    const loan = this.#loanOf(bookId, order, price);
    const target = ceilDiv(leg * E9, E9 + order.leverageE9);
    let base: bigint;
    let quote: bigint;
    if (order.direction === "buy") {
      quote = min(target, order.resQuote);
      base = target > quote ? min(this.#baseCeil(target - quote, other), order.resBase) : 0n;
    } else {
      base = min(target, order.resBase);
      quote = target > base ? min(this.#quoteCeil(other, target - base), order.resQuote) : 0n;
    }
    order.resBase -= base;
    order.resQuote -= quote;
    loan.collateralBase += base;
    loan.collateralQuote += quote;
    loan.amount += leg;
    if (order.direction === "buy") this.#books[bookId].lentQuote += leg;
    else this.#books[bookId].lentBase += leg;
  }

  /**
   * 7.4: what a leg brings in (`incoming`, in the loans' currency) repays the account's loans of
   * `direction` oldest order first; a partly repaid loan gives back that share of its collateral,
   * valued at `price` exactly (Q17), the other currency first.
   */
  #repay(agentId: number, bookId: number, direction: Direction, incoming: bigint, price: bigint) {
    const account = this.#accounts[agentId][bookId];
    const c = this.#config;
    const scale = pow10(c.priceDecimals + c.baseDecimals);
    for (const loan of this.#loansOf(agentId, bookId)) {
      if (incoming <= 0n) break;
      if (loan.direction !== direction || loan.amount <= 0n) continue;
      const s = min(loan.amount, incoming);
      let base = loan.collateralBase;
      let quote = loan.collateralQuote;
      if (s < loan.amount) {
        const [unit, perBase] = this.#coreUnits(price);
        const vbCore = perBase * loan.collateralBase;
        const vqCore = unit * loan.collateralQuote;
        const a = loan.amount;
        this.#countPast128Bits("collateral split past 128 bits", [
          (vbCore + vqCore) * s,
          vbCore * a,
          vqCore * a,
          perBase * a,
          unit * a,
        ]);
        // Collateral value in quote units times `scale`: base part, quote part, repaid share.
        const vb = loan.collateralBase * price * pow10(c.quoteDecimals);
        const vq = loan.collateralQuote * scale;
        const share = s * (vb + vq); // over loan.amount
        if (direction === "buy") {
          if (share < a * vb) {
            base = (share * loan.collateralBase) / (a * vb);
            quote = 0n;
          } else quote = min((share - a * vb) / (a * scale), loan.collateralQuote);
        } else if (share < a * vq) {
          quote = share / (a * scale);
          base = 0n;
        } else {
          base = vb > 0n ? min(((share - a * vq) * loan.collateralBase) / (a * vb), base) : 0n;
        }
      }
      loan.collateralBase -= base;
      loan.collateralQuote -= quote;
      account.baseFree += base;
      account.quoteFree += quote;
      loan.amount -= s;
      incoming -= s;
      if (direction === "buy") {
        account.quoteFree -= s;
        this.#books[bookId].lentQuote -= s;
      } else {
        account.baseFree -= s;
        this.#books[bookId].lentBase -= s;
      }
      if (loan.amount === 0n) {
        account.baseFree += loan.collateralBase;
        account.quoteFree += loan.collateralQuote;
        this.#freeLoan(loan);
      }
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
      const whole = this.#quoteOf(o.price, o.total);
      if (quote + whole >= target) {
        volume += this.#baseFor(target - quote, o.price);
        quote = target;
      } else {
        volume += o.total;
        quote += whole;
      }
    }
    return { volume, quote };
  }

  /** A limit buy's reservation (3.4): the crossing part at the resting prices with the taker
   * fee, the rest at the limit with the maker fee (a null limit: a market buy, nothing rests). */
  #limitBuyCost(
    opposite: Order[],
    agentId: number,
    skipsOwn: boolean,
    limit: bigint | null,
    size: bigint,
    rates: FeeTier,
  ): bigint {
    let cost = 0n;
    let volume = 0n;
    for (const o of opposite) {
      if (volume >= size || !this.#within("buy", o.price, limit)) break;
      if (skipsOwn && o.agentId === agentId) continue;
      const piece = min(o.total, size - volume);
      cost += this.#quoteOf(o.price, piece, rates.takerE9);
      volume += piece;
    }
    return limit === null ? cost : cost + this.#quoteOf(limit, size - volume, rates.makerE9);
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
      volume += o.total;
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
      left -= o.total;
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
        left -= o.total;
        if (left <= 0n) return false;
      }
      return true;
    }
    return crossed.length === 0;
  }

  /** Section 4.2 with 3.8: fills the aggressor against the opposite side within `limit`. False
   * when the aggressor was halted, at a fill a cash buy cannot pay or at the lending limit (its
   * remainder must not rest). */
  #match(
    bookId: number,
    aggressor: Order,
    limit: bigint | null,
    stp: SelfTradePrevention,
    market: boolean,
  ): boolean {
    const book = this.#books[bookId];
    const opposite = this.#opposite(book, aggressor.direction);
    // Self-trade prevention takes `total` matchable units from the aggressor: its own volume
    // drops by trunc_v(total / (1 + L)), its matchable volume follows (README).
    const reduce = (total: bigint) => {
      const before = aggressor.volume;
      if (total >= aggressor.total) aggressor.volume = 0n;
      else {
        aggressor.volume -= this.#ownOf(total, aggressor.leverageE9);
        if (aggressor.volume < 0n) aggressor.volume = 0n;
      }
      aggressor.total = this.#totalOf(aggressor.volume, aggressor.leverageE9);
      this.#emit({
        type: "stpReduced",
        agentId: aggressor.agentId,
        orderId: aggressor.id,
        direction: aggressor.direction,
        price: aggressor.price,
        volume: before - aggressor.volume,
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
          reduce(aggressor.total);
          break;
        }
        if (stp === "CB") {
          this.#takeFromResting(bookId, resting, resting.volume, "stp", false);
          reduce(aggressor.total);
          break;
        }
        // DC: the smaller of the two matchable volumes is removed from both.
        const rest = resting.total;
        const aggressing = aggressor.total;
        if (rest <= aggressing) {
          this.#takeFromResting(bookId, resting, resting.volume, "stp", true);
          reduce(rest);
          continue;
        }
        const taken = this.#ownOf(aggressing, resting.leverageE9);
        this.#takeFromResting(bookId, resting, taken, "stp", true);
        reduce(aggressing);
        break;
      }
      const fill = this.#fill(bookId, aggressor, resting, market);
      if (fill === "pastLimit") {
        this.#count("halted at the lending limit");
        return false;
      }
      if (fill === "unpayable") {
        // A resting buy that cannot pay is cancelled; an aggressing one stops there.
        if (resting.direction === "sell") {
          this.#count("aggressing buy halted");
          return false;
        }
        this.#takeFromResting(bookId, resting, resting.volume, "unfunded", false);
      }
    }
    return true;
  }

  /** What a fill of `volume` frees of a resting cash order's reservation. */
  #freedQuote(order: Order, volume: bigint): bigint {
    const left = order.volume - volume;
    const after = left === 0n ? 0n : this.#reservation({ ...order, volume: left }).quote;
    return this.#reservation(order).quote - after;
  }

  /** One trade at the resting order's price, settled as in 5.4 (7.3 and 7.4 for margin) with
   * fees as in 6.3. Refused, changing nothing, when the cash buyer cannot pay it without a rebate
   * past the holdings bound (`unpayable`) or when its loans would pass the lending limit
   * (`pastLimit`). */
  #fill(
    bookId: number,
    aggressor: Order,
    resting: Order,
    market: boolean,
  ): "done" | "unpayable" | "pastLimit" {
    const book = this.#books[bookId];
    const volume = min(aggressor.total, resting.total);
    const price = resting.price;
    // Margin legs value the other currency at the best ask (buyer) and bid (seller) as the fill
    // happens: the resting order's side shows the trade price, the other its best, or the trade
    // price when empty.
    const bestAsk = book.asks[0]?.price ?? price;
    const bestBid = book.bids[0]?.price ?? price;
    const notional = this.#quoteOf(price, volume);
    let makerFee = this.#fee(price, volume, this.#rates(resting.agentId, bookId).makerE9);
    let takerFee = this.#fee(price, volume, this.#rates(aggressor.agentId, bookId).takerE9);
    if (makerFee < 0n || takerFee < 0n) {
      [makerFee, takerFee] = this.#limitRebates(book, makerFee, takerFee);
    }
    const buyerIsAggressor = aggressor.direction === "buy";
    const buyer = buyerIsAggressor ? aggressor : resting;
    const seller = buyerIsAggressor ? resting : aggressor;
    const buyerAccount = this.#accounts[buyer.agentId][bookId];
    const sellerAccount = this.#accounts[seller.agentId][bookId];
    // Loans create what they lend: a fill whose loan would take what the book has lent past the
    // limit is refused (README, "Holdings bound").
    if (
      (buyer.leverageE9 > 0n &&
        book.lentQuote + notional + (buyerIsAggressor ? takerFee : makerFee) > LENT_LIMIT) ||
      (seller.leverageE9 > 0n && book.lentBase + volume > LENT_LIMIT)
    ) {
      this.#count("fill refused at the lending limit");
      return "pastLimit";
    }

    // What a cash buyer can pay with: its free quote, and for a resting buy what the fill frees
    // of its reservation. An aggressing buy at a taker rebate takes at most the fill's cost at
    // the rebate from what its reservation set aside (README, "Holdings bound").
    const setAside = buyerIsAggressor ? buyer.setAside : undefined;
    const share = setAside === undefined
      ? 0n
      : min(setAside, this.#quoteOf(price, volume, this.#rates(buyer.agentId, bookId).takerE9));
    const buyerFunds = buyerAccount.quoteFree +
      (buyerIsAggressor || buyer.leverageE9 > 0n ? 0n : this.#freedQuote(buyer, volume)) -
      (setAside === undefined ? 0n : setAside - share);
    const owed = notional + (buyerIsAggressor ? takerFee : makerFee);
    if (!buyerIsAggressor && buyer.leverageE9 === 0n && notional + makerFee > buyerFunds) {
      // A maker tier raised since the buy was placed (or, by a unit, a rebate's rounding): the
      // fee is cut to what the buyer can pay from what the fill frees and its free quote, never
      // touching what the rest of the order holds (README, Q6). Below zero it is the rebate the
      // reservation counted on, the seller's rebate getting only the room left.
      makerFee = buyerFunds - notional;
      this.#count("maker fee cut");
      if (makerFee < 0n) takerFee = this.#limitRebates(book, makerFee, takerFee)[1];
    }
    if (buyerIsAggressor && buyer.leverageE9 === 0n && notional + takerFee > buyerFunds) {
      // A taker rebate the bound refused, or a unit of rounding: the fee absorbs what the
      // aggressor cannot pay.
      takerFee = buyerFunds - notional;
      this.#count("taker fee cut");
    }
    // A rebate the buyer had to be paid may pass the bound's room by one unit of rounding, no
    // more: otherwise the fill is refused (README, "Holdings bound").
    if (
      (makerFee < 0n || takerFee < 0n) &&
      -(makerFee + takerFee) > this.#rebateRoom(book) + 1n
    ) {
      this.#count("fill refused at the holdings bound");
      return "unpayable";
    }

    if (setAside !== undefined) {
      if (owed > share && setAside > share) this.#count("fill kept off the rest's reservation");
      buyer.setAside = setAside - min(owed, share);
    }
    // A cash resting order's reservation shrinks with its volume; what it no longer holds is
    // freed. A leveraged one's shrinks by the collateral its fills take.
    if (resting.leverageE9 === 0n) this.#shrinkResting(bookId, resting, volume);

    const buyerFee = buyerIsAggressor ? takerFee : makerFee;
    const sellerFee = buyerIsAggressor ? makerFee : takerFee;
    if (buyer.leverageE9 > 0n) {
      // A fill worth less than a quote unit borrows nothing.
      if (notional + buyerFee > 0n) {
        this.#borrow(bookId, buyer, price, bestAsk, notional + buyerFee);
      }
    } else buyerAccount.quoteFree -= notional + buyerFee;
    buyerAccount.baseFree += volume;
    this.#repay(buyer.agentId, bookId, "sell", volume, bestAsk);
    if (seller.leverageE9 > 0n) this.#borrow(bookId, seller, price, bestBid, volume);
    else sellerAccount.baseFree -= volume;
    sellerAccount.quoteFree += notional - sellerFee;
    this.#repay(seller.agentId, bookId, "buy", notional - sellerFee, bestBid);
    this.#recordVolume(buyer.agentId, bookId, notional);
    this.#recordVolume(seller.agentId, bookId, notional);
    book.fees += makerFee + takerFee;

    aggressor.total -= volume;
    aggressor.volume = this.#ownOf(aggressor.total, aggressor.leverageE9);
    if (resting.leverageE9 > 0n) {
      resting.total -= volume;
      resting.volume = this.#ownOf(resting.total, resting.leverageE9);
      if (resting.volume === 0n) {
        // Filled: it leaves the book and what it still holds goes back.
        this.#remove(bookId, resting);
        const account = this.#accounts[resting.agentId][bookId];
        account.baseFree += resting.resBase;
        account.quoteFree += resting.resQuote;
        resting.resBase = resting.resQuote = 0n;
      }
    }

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
      leverageE9: aggressor.leverageE9,
      restingAgentId: resting.agentId,
      restingOrderId: resting.id,
      restingClientOrderId: resting.clientOrderId,
      tradeId: book.nextTradeId++,
      market,
      amount: resting.volume > 0n ? resting.total : 0n,
    });
    return "done";
  }

  /** What rebates may still create in the book: its quote holdings (what it was given, less net
   * fees) stay within the holdings bound. */
  #rebateRoom(book: Book): bigint {
    return MAX_HELD - (book.heldQuote - book.fees);
  }

  /**
   * Rebates create quote: they are paid only as far as the book's accounts stay within the
   * holdings bound, the fill's positive fee making room first, the maker's rebate before the
   * taker's (README, "Holdings bound").
   */
  #limitRebates(book: Book, makerFee: bigint, takerFee: bigint): [bigint, bigint] {
    let room = this.#rebateRoom(book);
    if (makerFee > 0n) room += makerFee;
    if (takerFee > 0n) room += takerFee;
    if (room < 0n) room = 0n;
    const asked = makerFee + takerFee;
    if (makerFee < 0n) {
      if (-makerFee > room) makerFee = -room;
      room += makerFee;
    }
    if (takerFee < 0n && -takerFee > room) takerFee = -room;
    if (makerFee + takerFee !== asked) this.#count("rebate limited");
    return [makerFee, takerFee];
  }

  // ---- margin calls (7.6, 7.7, README) ----

  /** Margin-call price, truncated to the tick: p L / ((1 + L)(1 - mm)) for a long,
   * p (2 + L) / ((1 + L)(1 + mm)) for a short. */
  #callPrice(loan: Loan): bigint {
    const mm = this.#config.maintenanceMarginE9 ?? 0n;
    const lev = loan.leverageE9;
    return loan.direction === "buy"
      ? (loan.price * lev * E9) / ((E9 + lev) * (E9 - mm))
      : (loan.price * (2n * E9 + lev) * E9) / ((E9 + lev) * (E9 + mm));
  }

  /** Whether the best price has crossed the loan's exact margin-call price (strictly). */
  #breached(loan: Loan): boolean {
    const mm = this.#config.maintenanceMarginE9 ?? 0n;
    const lev = loan.leverageE9;
    const book = this.#books[loan.bookId];
    if (loan.direction === "buy") {
      const bid = book.bids[0]?.price;
      return bid !== undefined && loan.price * lev * E9 > bid * (E9 + lev) * (E9 - mm);
    }
    const ask = book.asks[0]?.price;
    return ask !== undefined && loan.price * (2n * E9 + lev) * E9 < ask * (E9 + lev) * (E9 + mm);
  }

  /** Can the account buy one lot at the best ask, taker fee included (true with no asks)? */
  #affordsLot(agentId: number, bookId: number): boolean {
    const ask = this.#books[bookId].asks[0]?.price;
    if (ask === undefined) return true;
    const cost = this.#quoteOf(ask, this.#lot, this.#rates(agentId, bookId).takerE9);
    return this.#accounts[agentId][bookId].quoteFree >= cost;
  }

  /** Before each call's instructions the breached loans are liquidated as 7.7 orders them: book
   * by book, longs before shorts, each by ascending margin-call price (then the older loan
   * first); each only if still open and breached when its turn comes (README: re-checked). One
   * whose liquidation repaid only the owner's other loans is called once more at the end. */
  #marginCalls(): void {
    for (let bookId = 0; bookId < this.#books.length; bookId++) {
      for (const direction of ["buy", "sell"] as const) {
        const due = this.#loans.filter((l) =>
          l.bookId === bookId && l.direction === direction && l.amount > 0n && this.#breached(l)
        ).sort((a, b) => this.#compareCallPrices(a, b) || a.seq - b.seq);
        const firstPass = due.length;
        const owed = (loan: Loan) =>
          this.#loansOf(loan.agentId, bookId).filter((l) => l.direction === direction)
            .reduce((sum, l) => sum + l.amount, 0n);
        for (let i = 0; i < due.length; i++) {
          const loan = due[i];
          if (!this.#loans.includes(loan) || loan.amount <= 0n || !this.#breached(loan)) continue;
          const amount = loan.amount;
          const before = owed(loan);
          this.#liquidate(loan);
          if (
            i < firstPass && this.#loans.includes(loan) && loan.amount === amount &&
            owed(loan) < before
          ) {
            due.push(loan);
            this.#count("called again after repaying older loans");
          }
        }
      }
    }
  }

  /** Sign of the difference of two same-side loans' exact margin-call prices. */
  #compareCallPrices(a: Loan, b: Loan): number {
    const factor = (l: Loan) => l.direction === "buy" ? l.leverageE9 : 2n * E9 + l.leverageE9;
    const pa = a.price * factor(a) * (E9 + b.leverageE9);
    const pb = b.price * factor(b) * (E9 + a.leverageE9);
    return pa < pb ? -1 : pa > pb ? 1 : 0;
  }

  /**
   * README "Margin": the owner's orders in the book are cancelled, then a market order closes the
   * position (sells base for the loan's quote, or buys the borrowed base); if that is refused,
   * one for what the account holds. A loan the account can no longer trade for is closed against
   * its collateral and its free balance in the loan's currency, and the rest written off.
   */
  #liquidate(loan: Loan): void {
    const { agentId, bookId } = loan;
    this.#bookId = bookId;
    const book = this.#books[bookId];
    const account = this.#accounts[agentId][bookId];
    const alive = () => this.#loans.includes(loan);
    const event = {
      agentId,
      orderId: loan.orderId,
      direction: loan.direction,
      clientOrderId: null,
    };
    this.#emit({
      type: "marginCall",
      ...event,
      price: (loan.direction === "buy" ? book.bids[0] : book.asks[0]).price,
      amount: loan.amount,
      leverageE9: loan.leverageE9,
    });
    const orders = [...book.bids, ...book.asks].filter((o) => o.agentId === agentId)
      .sort((a, b) => a.id - b.id);
    for (const order of orders) {
      this.#takeFromResting(bookId, order, order.volume, "marginCall", false);
    }
    const long = loan.direction === "buy";
    const close = (volume: bigint, currency: "base" | "quote") =>
      this.#place({
        kind: "market",
        agentId,
        bookId,
        direction: long ? "sell" : "buy",
        volume,
        currency,
        stp: "CO",
      });
    const refused = () => this.#events.at(-1)?.type === "rejected" && alive();
    close(loan.amount, long ? "quote" : "base");
    if (refused()) {
      // Worth less than a lot (what a taker fee left of an earlier call): one lot closes it. More
      // than the account can cover: what it holds, the loan's collateral in the currency traded
      // included, when there is something to trade it against (the owner's own bids, cancelled
      // above, may have been the whole side).
      const bid = book.bids[0]?.price;
      const belowLot = long
        ? bid !== undefined && loan.amount < this.#quoteOf(bid, this.#lot, 0n)
        : loan.amount < this.#lot;
      let freed = 0n;
      if (long && book.bids.length > 0) {
        freed = loan.collateralBase;
        account.baseFree += freed;
        loan.collateralBase = 0n;
      } else if (!long && book.asks.length > 0) {
        freed = loan.collateralQuote;
        account.quoteFree += freed;
        loan.collateralQuote = 0n;
      }
      // Refused only for the collateral it could not touch: with that freed, the loan-sized order
      // is tried once more before everything the account holds goes.
      const canTrade = long ? account.baseFree >= this.#lot : this.#affordsLot(agentId, bookId);
      let placed = false;
      if (freed > 0n && !belowLot && canTrade) {
        close(loan.amount, long ? "quote" : "base");
        placed = !refused();
        this.#count(placed ? "liquidation retried" : "liquidation retried and refused again");
      }
      if (!placed && long) {
        const volume = !belowLot
          ? this.#toLot(account.baseFree)
          : account.baseFree >= this.#lot
          ? this.#lot
          : 0n;
        if (volume > 0n) close(volume, "base");
      } else if (!placed && this.#affordsLot(agentId, bookId)) {
        const quote = (account.quoteFree * E9) / (E9 + this.#rates(agentId, bookId).takerE9);
        if (belowLot) close(this.#lot, "base");
        else if (quote > 0n) close(quote, "quote");
      }
    }
    if (!alive()) return;
    const exhausted = long ? account.baseFree < this.#lot : !this.#affordsLot(agentId, bookId);
    if (!exhausted) return;
    // The collateral in the loan's currency repays what it can, then the free balance in that
    // currency; the rest of the collateral goes back and only the remainder is written off.
    let paid: bigint;
    // What is written off stays lent.
    if (long) {
      paid = min(loan.collateralQuote, loan.amount);
      loan.collateralQuote -= paid;
      const fromFree = min(account.quoteFree, loan.amount - paid);
      account.quoteFree -= fromFree;
      paid += fromFree;
      this.#books[bookId].lentQuote -= paid;
    } else {
      paid = min(loan.collateralBase, loan.amount);
      loan.collateralBase -= paid;
      const fromFree = min(account.baseFree, loan.amount - paid);
      account.baseFree -= fromFree;
      paid += fromFree;
      this.#books[bookId].lentBase -= paid;
    }
    const writtenOff = loan.amount - paid;
    account.baseFree += loan.collateralBase;
    account.quoteFree += loan.collateralQuote;
    this.#freeLoan(loan);
    this.#emit({
      type: "loanSettled",
      ...event,
      price: 0n,
      amount: writtenOff,
      leverageE9: loan.leverageE9,
      writeOff: writtenOff > 0n,
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
      ...this.#loanTotals(agentId, bookId),
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
      volume: min((account.slots ?? []).reduce((a, b) => a + b, 0n), INT64_MAX),
      tier: account.tiers[this.#policyOf[agentId]],
    };
  }

  /** Orders of one side, best first, as `[orderId, agentId, price, volume, timestamp,
   * leverage, reserved base, reserved quote]`. */
  orders(bookId: number, side: "bids" | "asks"): bigint[][] {
    return this.#books[bookId][side].map((o) => {
      const held = this.#reservation(o);
      return [o.id, o.agentId, o.price, o.volume, o.timestamp, o.leverageE9, held.base, held.quote]
        .map(BigInt);
    });
  }

  /** An account's open loans in one book, by ascending order id, in the core's `Loan` shape. */
  loans(agentId: number, bookId: number) {
    return this.#loansOf(agentId, bookId).map((l) => ({
      amount: l.amount,
      collateralBase: l.collateralBase,
      collateralQuote: l.collateralQuote,
      leverageE9: l.leverageE9,
      price: l.price,
      callPrice: this.#callPrice(l),
      orderId: l.orderId,
      direction: l.direction,
    }));
  }

  /** Levels of one side, best first. */
  levels(bookId: number, side: "bids" | "asks"): { price: bigint; volume: bigint }[] {
    const levels: { price: bigint; volume: bigint }[] = [];
    for (const o of this.#books[bookId][side]) {
      const last = levels.at(-1);
      if (last !== undefined && last.price === o.price) last.volume += o.total;
      else levels.push({ price: o.price, volume: o.total });
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
