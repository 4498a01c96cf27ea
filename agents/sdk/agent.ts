/**
 * What a trading agent is, and the lifecycle a miner (or a backtest) drives it through.
 *
 * An agent is a class constructed as `new Agent(uid, params)`; at the first update of a
 * simulation it gets `onStart(config, validator)`, then `onUpdate(state)` at every publish instant
 * returns its instructions, and `onEnd(state)` follows the update that ends a simulation. Each
 * validator runs its own simulation, so the lifecycle runs per validator (`state.validator`).
 * Subclasses of {@linkcode Agent} also get hooks for their own order events and instruction
 * builders that round to the book's ticks and lots.
 *
 * ```ts
 * import { Agent } from "./agent.ts";
 * import type { StateUpdate } from "./state.ts";
 *
 * export class JoinTheBest extends Agent {
 *   onUpdate(state: StateUpdate) {
 *     const book = state.books[0];
 *     const bid = this.bestBid(book);
 *     return bid === null ? [] : [this.limitOrder(0, 0, 1, bid)];
 *   }
 * }
 * ```
 * @module
 */
import type { z } from "zod";
import * as books from "./book.ts";
import { runHook } from "./failure_site.ts";
import {
  type CancelOrders,
  cancelOrders,
  type Instruction,
  type InstructionInput,
  type LimitOrder,
  limitOrder,
  type LimitOrderOptions,
  type MarketOrder,
  marketOrder,
  type MarketOrderOptions,
} from "./instructions.ts";
import {
  type Account,
  type Book,
  type CancellationEvent,
  type Event,
  type PlacementEvent,
  type SimulationConfig,
  type StateUpdate,
  type TradeEvent,
  truncateTo,
} from "./state.ts";

/**
 * `value` on the grid of `decimals` places, truncated as the exchange would. A positive value
 * below one unit is left as given: the exchange then rejects that order alone (`INVALID_VOLUME`,
 * `INVALID_PRICE`), as the reference's would, where 0 would void the agent's whole response.
 */
function onGrid(value: number, decimals: number): number {
  const truncated = truncateTo(value, decimals);
  return truncated > 0 || !(value > 0) ? truncated : value;
}

/** Agent parameters after coercion: numbers, booleans and strings. */
export type AgentParams = Record<string, number | boolean | string>;

/** Instructions as an agent may return them (defaults not yet applied). */
export type AgentInstructions = InstructionInput[] | Instruction[];

/** The contract a miner drives. Any class with `onUpdate` qualifies; the rest is optional. */
export interface TradingAgent {
  /** Called first with every update, before `onStart` (the base class keeps accounts and config). */
  record?(state: StateUpdate): void;
  /**
   * Called once at the first update of each validator's simulation; `validator` is the sender's
   * hotkey (`state.validator`, null in backtests).
   */
  onStart?(config: SimulationConfig | null, validator: string | null): void | Promise<void>;
  /** Called before `onUpdate` with the same state (the base class dispatches the event hooks). */
  observe?(state: StateUpdate): void;
  /** Called with every state update; returns the instructions to send. */
  onUpdate(state: StateUpdate): AgentInstructions | Promise<AgentInstructions>;
  /** Called after the update that ends a simulation. */
  onEnd?(state: StateUpdate): void | Promise<void>;
}

/** A loadable agent class. `paramsSchema`, when present, validates and defaults the params. */
export interface AgentClass {
  new (uid: number, params: AgentParams): TradingAgent;
  /** Validates the `k=v` parameters; errors name the parameter. */
  paramsSchema?: z.ZodType<AgentParams>;
  readonly name: string;
}

/** Base class with state bookkeeping, event hooks, book readers and instruction builders. */
export abstract class Agent<P extends AgentParams = AgentParams> implements TradingAgent {
  /** The agent's uid (= its account id in the simulation). */
  readonly uid: number;
  /** Parameters as given to the miner (`k=v`), coerced and validated. */
  readonly params: P;
  /** Simulation config of the latest update (null until the first). */
  config: SimulationConfig | null = null;
  /** This agent's accounts in the latest update, keyed by book id. */
  accounts: Record<string, Account> = {};
  /** Notices for this agent in the latest update. */
  events: Event[] = [];

  /** Creates the agent; keep heavy set-up for `onStart`. */
  constructor(uid: number, params: AgentParams) {
    this.uid = uid;
    this.params = params as P;
  }

  /** Returns the instructions for this update. */
  abstract onUpdate(state: StateUpdate): AgentInstructions | Promise<AgentInstructions>;

  /**
   * Start of a validator's simulation (`validator` null in backtests); `config`, `accounts` and
   * `events` already hold the update's. The default does nothing.
   */
  onStart(_config: SimulationConfig | null, _validator: string | null): void | Promise<void> {}

  /** Simulation end; the default does nothing. */
  onEnd(_state: StateUpdate): void | Promise<void> {}

  /** A placement (limit or market) of this agent was accepted. */
  onOrderAccepted(_event: PlacementEvent): void {}
  /** A placement of this agent was rejected; `message` names the reason. */
  onOrderRejected(_event: PlacementEvent): void {}
  /** An order of this agent was cancelled on request (once per order of a cancel notice). */
  onOrderCancelled(_event: CancellationEvent): void {}
  /** A cancellation failed (once per order of a failed cancel notice). */
  onOrderCancellationFailed(_event: CancellationEvent): void {}
  /** One of this agent's orders traded. */
  onTrade(_event: TradeEvent): void {}

  /**
   * Keeps the accounts, config and notices of `state`. Notices naming another agent are left out:
   * a reference validator sends agent 0's to every miner.
   */
  record(state: StateUpdate): void {
    if (state.config !== null) this.config = state.config;
    this.accounts = state.accounts[this.uid] ?? {};
    this.events = (state.notices?.[this.uid] ?? []).filter((event) =>
      event.agentId === null || event.agentId === this.uid
    );
  }

  /**
   * Dispatches the event hooks for the notices of the update last recorded: acceptances first,
   * then the rest in order, so an order is known as accepted before any fill of it in the update
   * is handled, whatever order the notices came in.
   */
  observe(_state: StateUpdate): void {
    for (const event of this.events) {
      if (
        event.type === "RESPONSE_DISTRIBUTED_PLACE_ORDER_LIMIT" ||
        event.type === "RESPONSE_DISTRIBUTED_PLACE_ORDER_MARKET"
      ) {
        runHook("onOrderAccepted", () => this.onOrderAccepted(event));
      }
    }
    for (const event of this.events) {
      switch (event.type) {
        case "ERROR_RESPONSE_DISTRIBUTED_PLACE_ORDER_LIMIT":
        case "ERROR_RESPONSE_DISTRIBUTED_PLACE_ORDER_MARKET":
          runHook("onOrderRejected", () => this.onOrderRejected(event));
          break;
        case "RESPONSE_DISTRIBUTED_CANCEL_ORDERS":
          // A reference validator sends one notice per cancel instruction, for all its orders.
          for (const cancellation of event.cancellations) {
            runHook("onOrderCancelled", () => this.onOrderCancelled(cancellation));
          }
          break;
        case "ERROR_RESPONSE_DISTRIBUTED_CANCEL_ORDERS":
          for (const cancellation of event.cancellations) {
            runHook(
              "onOrderCancellationFailed",
              () => this.onOrderCancellationFailed(cancellation),
            );
          }
          break;
        case "EVENT_TRADE":
          runHook("onTrade", () => this.onTrade(event));
          break;
      }
    }
  }

  /** Price tick of the current config (0.01 until a config arrives). */
  get tick(): number {
    return 10 ** -(this.config?.priceDecimals ?? 2);
  }

  /** A price truncated to the book's tick, as the exchange truncates it. */
  roundPrice(price: number): number {
    return truncateTo(price, this.config?.priceDecimals ?? 2);
  }

  /** A quantity truncated to the book's lot, as the exchange truncates it. */
  roundQuantity(quantity: number): number {
    return truncateTo(quantity, this.config?.volumeDecimals ?? 4);
  }

  /** Best bid, or null. */
  bestBid(book: Book): number | null {
    return books.bestBid(book);
  }
  /** Best ask, or null. */
  bestAsk(book: Book): number | null {
    return books.bestAsk(book);
  }
  /** Mid, or null unless both sides have orders. */
  mid(book: Book): number | null {
    return books.mid(book);
  }
  /** Quantity on the first `levels` levels of a side. */
  depth(book: Book, side: 0 | 1, levels?: number): number {
    return books.depth(book, side, levels);
  }
  /** This agent's resting orders on a book. */
  openOrders(bookId: number, side?: 0 | 1): ReturnType<typeof books.openOrders> {
    return books.openOrders(this.accounts[bookId], side);
  }
  /** This agent's inventory value on a book (quote + mid × base). */
  inventoryValue(book: Book): number {
    return books.inventoryValue(this.accounts[book.id], book);
  }

  /**
   * A limit order of this agent; price and quantity truncated to tick and lot (see `onGrid`).
   * Throws a RangeError naming the field for a value the validator would refuse (not a positive
   * finite number, a bad book id, a GTT order without expiry, ...).
   */
  limitOrder(
    bookId: number,
    direction: 0 | 1,
    quantity: number,
    price: number,
    options?: LimitOrderOptions,
  ): LimitOrder {
    return limitOrder(
      this.uid,
      bookId,
      direction,
      onGrid(quantity, this.config?.volumeDecimals ?? 4),
      onGrid(price, this.config?.priceDecimals ?? 2),
      options,
    );
  }

  /**
   * A market order of this agent; quantity truncated to the lot (in base) or the quote unit (in
   * quote). Throws a RangeError as `limitOrder` does.
   */
  marketOrder(
    bookId: number,
    direction: 0 | 1,
    quantity: number,
    options?: MarketOrderOptions,
  ): MarketOrder {
    const rounded = options?.currency === 1
      ? onGrid(quantity, this.config?.quoteDecimals ?? 2)
      : onGrid(quantity, this.config?.volumeDecimals ?? 4);
    return marketOrder(this.uid, bookId, direction, rounded, options);
  }

  /**
   * Cancels whole orders (ids) or parts (`{orderId, volume}`) on a book, `delay` ns later than the
   * instruction would arrive otherwise. Throws a RangeError as `limitOrder` does.
   */
  cancelOrders(
    bookId: number,
    orders: (number | { orderId: number; volume: number | null })[],
    delay = 0,
  ): CancelOrders {
    return cancelOrders(this.uid, bookId, orders, delay);
  }
}

/** Per agent, the validators whose simulation it has started (`""` stands for no validator). */
const started = new WeakMap<TradingAgent, Set<string>>();

/**
 * Runs one lifecycle step: `record`, then `onStart` at the first update from the sending
 * validator (and at each of its new simulations; again at the next update if it threw), then
 * `observe` and `onUpdate`, then `onEnd` if the update ends that validator's simulation (even when
 * `onUpdate` threw). Returns the response body `{agent_id, instructions}`.
 */
export async function runAgentStep(
  agent: TradingAgent,
  uid: number,
  state: StateUpdate,
): Promise<{ agent_id: number; instructions: AgentInstructions }> {
  // Read before the agent runs: it is handed this state and may change it.
  const notices = state.notices?.[uid] ?? [];
  const starting = notices.some((e) => e.type === "EVENT_SIMULATION_START");
  const stopping = notices.some((e) => e.type === "EVENT_SIMULATION_STOP");
  const validator = state.validator ?? null;
  const key = validator ?? "";
  let running = started.get(agent);
  if (running === undefined) started.set(agent, running = new Set());
  agent.record?.(state);
  if (!running.has(key) || starting) {
    // Started only once set up: a failed onStart is tried again rather than skipped.
    running.delete(key);
    await agent.onStart?.(state.config, validator);
    running.add(key);
  }
  let instructions: unknown;
  try {
    agent.observe?.(state);
    instructions = await agent.onUpdate(state);
  } finally {
    if (stopping) {
      running.delete(key);
      await agent.onEnd?.(state);
    }
  }
  return { agent_id: uid, instructions: instructionList(instructions) };
}

/** `onUpdate`'s result as a list: nothing is no instructions, anything else but an array an error
 * (a lone instruction returned unwrapped would otherwise look like an agent that never trades),
 * worded as the miner's other invalid responses so that it is counted with them. */
function instructionList(result: unknown): AgentInstructions {
  if (Array.isArray(result)) return result;
  if (result === undefined || result === null) return [];
  const what = typeof result === "object" && "type" in result
    ? "a single instruction (wrap it in [ ])"
    : typeof result === "object"
    ? "an object"
    : `a ${typeof result}`;
  throw new TypeError(
    `invalid agent response: onUpdate returned ${what}, not an array of instructions`,
  );
}
