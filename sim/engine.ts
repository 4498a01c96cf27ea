/**
 * The market simulation as a TypeScript object: owns one native simulation handle (books, event
 * loops, background agents, remote accounts) and steps it one publish interval at a time.
 *
 * ```ts
 * const engine = SimEngine.create({ config: smallPreset(), seed: 42, threads: 2 });
 * for (let state = engine.advance(); state !== null; state = engine.advance()) {
 *   engine.inject(0, [{ type: "PLACE_ORDER_MARKET", bookId: 0, direction: 0, volume: 1 }], 10e6);
 * }
 * engine.close();
 * ```
 * @module
 */
import type { SimConfig } from "./config.ts";

/** Order side: 0 = BUY, 1 = SELL (the reference's enum values). */
export type Direction = 0 | 1;

/** Self-trade prevention flag: 0 NONE, 1 CO, 2 CN, 3 CB, 4 DC. */
export type StpFlag = 0 | 1 | 2 | 3 | 4;

/** One resting order as published inside a detailed level. */
export interface LevelOrder {
  orderId: number;
  /** Simulated ns at which the order was accepted. */
  timestamp: number;
  volume: number;
  leverage: number;
  direction: Direction;
}

/** One price level of a book side; `orders` only for the first `detailedDepth` levels. */
export interface Level {
  price: number;
  volume: number;
  orders?: LevelOrder[];
}

/** An L3 event recorded on a book since the previous publish. */
export type BookEvent =
  | {
    event: "place";
    orderId: number;
    timestamp: number;
    volume: number;
    leverage: number;
    direction: Direction;
    /** null for market orders. */
    price: number | null;
    agentId: number;
    clientOrderId: number | null;
  }
  | {
    event: "trade";
    tradeId: number;
    timestamp: number;
    /** Aggressor side. */
    direction: Direction;
    aggressingOrderId: number;
    restingOrderId: number;
    volume: number;
    price: number;
    aggressingAgentId: number;
    restingAgentId: number;
    fees: { maker: number; taker: number };
  }
  | {
    event: "cancel";
    orderId: number;
    timestamp: number;
    /** Cancelled volume. */
    volume: number;
    agentId: number;
  };

/** One book in a published state. */
export interface BookState {
  bookId: number;
  /** L3 events since the previous publish, in processing order. */
  record: BookEvent[];
  /** Best first (descending price); empty when the side is empty. */
  bid: Level[];
  /** Best first (ascending price). */
  ask: Level[];
  /** Value of the fundamental price process for this book at publish time. */
  fundamental: number;
}

/** One balance (base or quote) of a remote account on one book. */
export interface Balance {
  free: number;
  reserved: number;
  total: number;
}

/** A resting limit order of a remote account. */
export interface AccountOrder extends LevelOrder {
  price: number;
  clientOrderId: number | null;
}

/** A remote (miner) account across all books. */
export interface RemoteAccount {
  agentId: number;
  /** Indexed by book id. */
  holdings: { base: Balance; quote: Balance }[];
  /** Resting limit orders, indexed by book id. */
  orders: AccountOrder[][];
  /** Per book: rolling traded quote volume and the current fee rates. */
  fees: { volume: number; makerFeeRate: number; takerFeeRate: number }[];
}

/** A message addressed to one remote agent (response to its instruction, or a trade it took part in). */
export interface Notice {
  /** Simulated ns at which the notice reaches the agent. */
  timestamp: number;
  agentId: number;
  bookId: number;
  type:
    | "RESPONSE_DISTRIBUTED_PLACE_ORDER_LIMIT"
    | "ERROR_RESPONSE_DISTRIBUTED_PLACE_ORDER_LIMIT"
    | "RESPONSE_DISTRIBUTED_PLACE_ORDER_MARKET"
    | "ERROR_RESPONSE_DISTRIBUTED_PLACE_ORDER_MARKET"
    | "RESPONSE_DISTRIBUTED_CANCEL_ORDERS"
    | "ERROR_RESPONSE_DISTRIBUTED_CANCEL_ORDERS"
    | "RESPONSE_DISTRIBUTED_RESET_AGENT"
    | "EVENT_TRADE";
  /** Order concerned (placement, cancel or the agent's side of a trade); -1 when none. */
  orderId: number;
  clientOrderId: number | null;
  /** Error text for ERROR_RESPONSE_* notices. */
  message?: string;
  /** For EVENT_TRADE: the fill. */
  trade?: { tradeId: number; price: number; volume: number; direction: Direction; fee: number };
}

/** What one `advance()` returns: the state to publish at `timestamp`. */
export interface PublishState {
  /** Simulated ns of this publish instant. */
  timestamp: number;
  /** True for the final publish (the clock reached start + duration). */
  final: boolean;
  books: BookState[];
  /** Remote accounts 0..remoteAgentCount-1. */
  accounts: RemoteAccount[];
  notices: Notice[];
  /** Background events processed since the previous publish (all books). */
  eventsProcessed: number;
}

/** An instruction from a remote agent, as in the `/orderbook` response body. */
export type Instruction =
  | {
    type: "PLACE_ORDER_LIMIT";
    bookId: number;
    direction: Direction;
    volume: number;
    price: number;
    clientOrderId?: number | null;
    postOnly?: boolean;
    /** 0 GTC, 1 GTT, 2 IOC, 3 FOK. */
    timeInForce?: 0 | 1 | 2 | 3;
    /** ns, GTT only. */
    expiryPeriod?: number | null;
    stpFlag?: StpFlag;
  }
  | {
    type: "PLACE_ORDER_MARKET";
    bookId: number;
    direction: Direction;
    volume: number;
    clientOrderId?: number | null;
    stpFlag?: StpFlag;
    /** 0 = volume in base units, 1 = volume in quote units. */
    currency?: 0 | 1;
  }
  | {
    type: "CANCEL_ORDERS";
    bookId: number;
    cancellations: { orderId: number; volume?: number | null }[];
  }
  | { type: "RESET_AGENT" };

/** How to create an engine. */
export interface SimEngineOptions {
  config: SimConfig;
  /** Master seed; every random stream derives from it. Default: `config.seed`. */
  seed?: number;
  /** Worker threads for the books; default = number of cores. Output does not depend on it. */
  threads?: number;
}

/** A running simulation: see the module doc. */
export class SimEngine {
  private constructor() {}

  /** Creates the native simulation. Throws on an invalid configuration. */
  static create(_options: SimEngineOptions): SimEngine {
    throw new Error("SimEngine is not available yet in this build");
  }

  /** Runs every book to the next publish instant and returns the state, or null once ended. */
  advance(): PublishState | null {
    throw new Error("not available yet");
  }

  /** Queues a remote agent's instructions to arrive `delayNs` after the last publish instant. */
  inject(_agentId: number, _instructions: Instruction[], _delayNs: number): void {
    throw new Error("not available yet");
  }

  /** Frees the native handle; the engine is unusable afterwards. */
  close(): void {}
}
