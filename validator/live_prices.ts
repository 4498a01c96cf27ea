/**
 * Live price seeding, as the reference validator does it: trade streams of a real market seed the
 * simulation's processes. The fundamental price follows every trade of `BTC-USD`; the external
 * (futures) signal takes one sample of `TAO-PERP-INTX` per sampling period that brought a trade.
 * Each stream reads Coinbase Advanced Trade's `market_trades` channel and turns to Binance's spot
 * trade stream when Coinbase fails or falls silent, and back again the same way.
 *
 * ```ts
 * const seeds = new LiveSeeds({ ...DEFAULT_SEEDING, log: console.log });
 * seeds.start();
 * seeds.latestFundamental();   // null until the first trade
 * seeds.takeExternalSamples(); // samples since the last call
 * seeds.close();
 * ```
 * @module
 */
import { cutChars } from "../cli/code_points.ts";
import { issuesText, valueMessage, z } from "../cli/zod_messages.ts";

/** The two venues, in the order they are tried. */
const VENUES = ["coinbase", "binance"] as const;
export type Venue = (typeof VENUES)[number];

/** A stream's symbol on each venue. */
export type VenueSymbols = Record<Venue, string>;

export type SeedLog = (level: "info" | "warning", message: string) => void;

/**
 * Told when every venue has failed since the last trade (`message`), and with null when trades
 * flow again after that.
 */
export type SeedOutage = (message: string | null) => void;

/** The reference's symbols, endpoints and periods. */
export const DEFAULT_SEEDING = {
  fundamental: { coinbase: "BTC-USD", binance: "btcusdt" },
  external: { coinbase: "TAO-PERP-INTX", binance: "taousdt" },
  urls: {
    coinbase: "wss://advanced-trade-ws.coinbase.com",
    binance: "wss://stream.binance.com:9443/ws",
  },
  samplingSeconds: 60,
} as const;

/** A price as the venues send it: decimal text (no hex, white space or `Infinity`), positive. */
const price = z.string().regex(/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/, {
  error: (issue) => `must be a decimal number in a string, got ${JSON.stringify(issue.input)}`,
})
  // Decimal text past the largest double (`1e400`) reads as Infinity: told as the text it was.
  .refine((text) => Number(text) !== Infinity, {
    error: (issue) => `out of range, got ${JSON.stringify(issue.input)}`,
  })
  .transform(Number).pipe(z.number().positive());

const coinbaseMessage = z.object({
  channel: z.literal("market_trades"),
  events: z.array(z.object({ type: z.string(), trades: z.array(z.unknown()).optional() })),
});

const coinbaseTrade = z.object({ product_id: z.string(), price });

const binanceMessage = z.object({ e: z.literal("trade"), s: z.string(), p: price });

/**
 * What a venue's message holds: the price of its newest trade of `symbol`; why a message meant as
 * trades cannot be read (`unreadable`); the venue's error in answer to the subscription
 * (`refused`); or null for the rest (subscription confirmations, heartbeats, snapshots of past
 * trades, another symbol's trades).
 */
export type VenueMessage = { price: number } | { unreadable: string } | { refused: string } | null;

/** Reads one message of `venue` (parsed JSON) for `symbol`'s trades; see {@linkcode VenueMessage}. */
export function readVenueMessage(venue: Venue, symbol: string, data: unknown): VenueMessage {
  const record = typeof data === "object" && data !== null ? data as Record<string, unknown> : {};
  if (venue === "coinbase") {
    // Coinbase answers a subscription it refuses with `{"type": "error", "message": ...}`.
    if (record.type === "error") {
      return { refused: [record.message, record.reason].filter((t) => t).join(": ") || "error" };
    }
    if (record.channel !== "market_trades") return null;
    const parsed = coinbaseMessage.safeParse(data, { error: valueMessage });
    if (!parsed.success) return { unreadable: firstIssue(parsed.error) };
    // As the reference reads a message: its first update event alone, and of that event's trades
    // (newest first) the first alone, so a bad older one hides nothing.
    const index = parsed.data.events.findIndex((event) => event.type === "update");
    if (index < 0) return null;
    const newest = coinbaseTrade.safeParse(parsed.data.events[index].trades?.[0], {
      error: valueMessage,
    });
    if (!newest.success) {
      return { unreadable: firstIssue(newest.error, "trades.0") };
    }
    return newest.data.product_id === symbol ? { price: newest.data.price } : null;
  }
  // Binance answers a request it refuses with `{"error": {"code": 2, "msg": ...}, "id": 1}`.
  if (record.error !== undefined && record.error !== null) {
    const error = record.error as { msg?: unknown };
    return { refused: typeof error.msg === "string" ? error.msg : JSON.stringify(record.error) };
  }
  if (record.e !== "trade") return null;
  const parsed = binanceMessage.safeParse(data, { error: valueMessage });
  if (!parsed.success) return { unreadable: firstIssue(parsed.error) };
  return parsed.data.s.toLowerCase() === symbol.toLowerCase() ? { price: parsed.data.p } : null;
}

/** The price of the newest trade in a venue's message, null for anything else, malformed data
 * included (see {@linkcode readVenueMessage}). */
export function tradePrice(venue: Venue, symbol: string, data: unknown): number | null {
  const read = readVenueMessage(venue, symbol, data);
  return read !== null && "price" in read ? read.price : null;
}

/** The first issue of `error` as `field: problem`, under `prefix`. */
function firstIssue(error: z.ZodError, prefix = ""): string {
  return issuesText(error.issues.slice(0, 1), "", prefix);
}

/** The most of a venue's text a log line repeats. */
const MAX_VENUE_TEXT = 200;

/** A venue's text as a log line repeats it: on one line, cut short. */
function venueText(text: string): string {
  // deno-lint-ignore no-control-regex -- control characters are what is replaced
  return cutChars(text.replace(/[\x00-\x1f\x7f]/g, "?"), MAX_VENUE_TEXT);
}

function subscription(venue: Venue, symbol: string): string {
  return JSON.stringify(
    venue === "coinbase"
      ? { type: "subscribe", product_ids: [symbol], channel: "market_trades" }
      : { method: "SUBSCRIBE", params: [`${symbol.toLowerCase()}@trade`], id: 1 },
  );
}

export interface LiveTradesOptions {
  symbols: VenueSymbols;
  urls: Record<Venue, string>;
  /** Seconds without a trade (or, before the first, since connecting) before switching venue. */
  inactivitySeconds: number;
  /** Seconds before the next venue is tried after a connection failed (default 1); doubled after
   * each further failure without a trade in between, up to a minute. */
  retrySeconds?: number;
  log: SeedLog;
  onOutage?: SeedOutage;
}

/** One symbol's trade stream: the latest price, from whichever venue currently delivers. */
export class LiveTrades {
  readonly #options: LiveTradesOptions;
  #venue = 0;
  #socket: WebSocket | null = null;
  #latest: number | null = null;
  #trades = 0;
  /** Wall ms of the last trade on the current connection, or of connecting before the first. */
  #heardAt = 0;
  /** Connections lost since the last trade. */
  #failures = 0;
  /** Messages since the last trade (or, before the first, since connecting) that held no trade,
   * and why the last of them that was meant as trades could not be read: what the switch for
   * silence tells, over the same span as its silence. */
  #untraded = 0;
  #unreadable: string | null = null;
  #watchdog: ReturnType<typeof setInterval> | null = null;
  #retry: ReturnType<typeof setTimeout> | null = null;
  #closed = false;

  constructor(options: LiveTradesOptions) {
    this.#options = options;
  }

  /** The latest trade price, null before the first. */
  get latest(): number | null {
    return this.#latest;
  }

  /** Trades taken so far: tells whether one came since an earlier look. */
  get trades(): number {
    return this.#trades;
  }

  /** The venue now connected or being tried. */
  get venue(): Venue {
    return VENUES[this.#venue];
  }

  start(): void {
    this.#connect();
    this.#watchdog = setInterval(() => this.#watch(), 250);
  }

  close(): void {
    this.#closed = true;
    if (this.#watchdog !== null) clearInterval(this.#watchdog);
    if (this.#retry !== null) clearTimeout(this.#retry);
    this.#drop();
  }

  #connect(): void {
    if (this.#closed) return;
    const venue = VENUES[this.#venue];
    const symbol = this.#options.symbols[venue];
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.#options.urls[venue]);
    } catch (error) {
      this.#failed(`${venue}: ${(error as Error).message}`);
      return;
    }
    this.#socket = socket;
    this.#heardAt = Date.now();
    this.#untraded = 0;
    this.#unreadable = null;
    let opened = false;
    let refused = false;
    socket.onopen = () => {
      opened = true;
      socket.send(subscription(venue, symbol));
      this.#options.log("info", `price seeding: ${symbol} trades from ${venue}`);
    };
    socket.onmessage = (message) => {
      // A connection closed or left for another venue may still deliver what was in flight.
      if (this.#socket !== socket) return;
      let read: VenueMessage;
      if (typeof message.data !== "string") read = { unreadable: "a binary message, not text" };
      else {
        try {
          read = readVenueMessage(venue, symbol, JSON.parse(message.data));
        } catch {
          read = { unreadable: "not JSON" };
        }
      }
      if (read === null || !("price" in read)) {
        this.#untraded++;
        if (read !== null && "unreadable" in read) this.#unreadable = venueText(read.unreadable);
        if (read !== null && "refused" in read && !refused) {
          refused = true;
          this.#options.log(
            "warning",
            `price seeding: ${venue} answered the ${symbol} subscription with an error: ` +
              venueText(read.refused),
          );
        }
        return;
      }
      this.#latest = read.price;
      this.#trades++;
      this.#heardAt = Date.now();
      this.#untraded = 0;
      this.#unreadable = null;
      if (this.#failures >= VENUES.length) this.#options.onOutage?.(null);
      this.#failures = 0;
    };
    socket.onclose = () => {
      if (this.#socket !== socket) return;
      this.#failed(
        opened
          ? `${venue} closed the ${symbol} stream`
          : `cannot connect to ${venue} at ${this.#options.urls[venue]} for ${symbol}`,
      );
    };
  }

  /** Closes the current connection without reacting to its close event. */
  #drop(): void {
    const socket = this.#socket;
    this.#socket = null;
    if (socket !== null && socket.readyState !== WebSocket.CLOSED) socket.close();
  }

  /** The current venue failed: try the next one after a pause. */
  #failed(reason: string): void {
    this.#drop();
    if (this.#closed) return;
    this.#venue = (this.#venue + 1) % VENUES.length;
    const pause = Math.min(60, (this.#options.retrySeconds ?? 1) * 2 ** this.#failures++);
    this.#options.log("warning", `price seeding: ${reason}; trying ${this.venue} in ${pause} s`);
    if (this.#failures === VENUES.length) {
      const symbols = VENUES.map((v) => `${this.#options.symbols[v]} on ${v}`).join(", ");
      this.#options.onOutage?.(`no venue delivers trades (${symbols}); last: ${reason}`);
    }
    this.#retry = setTimeout(() => {
      this.#retry = null;
      this.#connect();
    }, 1000 * pause);
  }

  #watch(): void {
    if (this.#socket === null) return;
    const silentMs = Date.now() - this.#heardAt;
    if (silentMs > this.#options.inactivitySeconds * 1000) {
      const symbol = this.#options.symbols[this.venue];
      const count = this.#untraded;
      const sent = count === 0 ? "" : `, though it sent ${count} message${count === 1 ? "" : "s"}` +
        (this.#unreadable === null ? "" : ` (the last it could not read: ${this.#unreadable})`);
      this.#failed(
        `no ${symbol} trade from ${this.venue} for ${Math.round(silentMs / 1000)} s${sent}`,
      );
    }
  }
}

export interface LiveSeedsOptions {
  fundamental: VenueSymbols;
  external: VenueSymbols;
  urls: Record<Venue, string>;
  /** Wall seconds between two external samples (aligned to multiples of it); a period without
   * an external trade adds no sample. */
  samplingSeconds: number;
  retrySeconds?: number;
  log: SeedLog;
  /** Outages of either stream (see {@linkcode SeedOutage}); `stream` names which. */
  onOutage?: (stream: "fundamental" | "external", message: string | null) => void;
}

/** The two streams the simulation is seeded from. */
export class LiveSeeds {
  readonly #fundamental: LiveTrades;
  readonly #external: LiveTrades;
  readonly #samplingMs: number;
  #samples: number[] = [];
  #sampler: ReturnType<typeof setTimeout> | null = null;

  constructor(options: LiveSeedsOptions) {
    const { urls, retrySeconds, log, onOutage } = options;
    // As the reference: a silent BTC stream is replaced after 10 s, a silent TAO one after 60 s.
    this.#fundamental = new LiveTrades({
      symbols: options.fundamental,
      urls,
      inactivitySeconds: 10,
      retrySeconds,
      log,
      onOutage: (message) => onOutage?.("fundamental", message),
    });
    this.#external = new LiveTrades({
      symbols: options.external,
      urls,
      inactivitySeconds: 60,
      retrySeconds,
      log,
      onOutage: (message) => onOutage?.("external", message),
    });
    this.#samplingMs = options.samplingSeconds * 1000;
  }

  start(): void {
    this.#fundamental.start();
    this.#external.start();
    // As the reference's sampled file: a sample only when the stream traded since the last one,
    // so a stream that stopped holds the signal instead of repeating its old price as news.
    let sampledTrades = 0;
    const tick = () => {
      const latest = this.#external.latest;
      if (latest !== null && this.#external.trades !== sampledTrades) {
        this.#samples.push(latest);
        sampledTrades = this.#external.trades;
      }
      this.#sampler = setTimeout(tick, this.#untilNextSample());
    };
    this.#sampler = setTimeout(tick, this.#untilNextSample());
  }

  close(): void {
    if (this.#sampler !== null) clearTimeout(this.#sampler);
    this.#fundamental.close();
    this.#external.close();
  }

  /** The latest fundamental (BTC) price, null before the first trade. */
  latestFundamental(): number | null {
    return this.#fundamental.latest;
  }

  /** External samples taken since the last call, oldest first. */
  takeExternalSamples(): number[] {
    const samples = this.#samples;
    this.#samples = [];
    return samples;
  }

  /** Samples fall on wall-clock multiples of the sampling period (the minute, by default). */
  #untilNextSample(): number {
    return this.#samplingMs - (Date.now() % this.#samplingMs);
  }
}
