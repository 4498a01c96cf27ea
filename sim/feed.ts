/**
 * Recorded price feeds: the CSV files the reference's validator records from live trades
 * (`count,price[,time]`), read from a file or an http(s) URL, for `taos sim` and `taos validator`.
 * @module
 */
import { createHash } from "node:crypto";
import { counted } from "../cli/counted.ts";
import { quotedChars } from "../cli/code_points.ts";
import { UsageError } from "../cli/command.ts";
import type { SimConfig } from "./config.ts";
import { clock } from "./progress.ts";

/** How long a feed URL may take to arrive. */
const FETCH_TIMEOUT_MS = 60_000;

/**
 * Largest feed price: the fundamental's seed is round(100 × price), exact only below 2^53 (a
 * price of 9 × 10^13), and an external price is written as a plain decimal. Far above any market.
 */
const MAX_FEED_PRICE = 1e13;

/**
 * Largest feed: 256 MiB is some 15 million lines, years of the reference's 10 s updates, where a
 * device or a stream that never ends would otherwise be read until memory runs out.
 */
export const MAX_FEED_BYTES = 256 << 20;

/** Reads `stream` whole, or throws once it passes `MAX_FEED_BYTES`. */
async function readCapped(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.length;
    if (size > MAX_FEED_BYTES) {
      await stream.cancel().catch(() => {});
      throw new Error(`larger than the ${MAX_FEED_BYTES >> 20} MiB a feed may hold`);
    }
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}

/** The bytes of a feed file (or pipe) or http(s) URL; a URL whose whole answer has not arrived
 * within `timeoutMs` is an error. */
async function readFeedBytes(path: string, timeoutMs: number): Promise<Uint8Array> {
  if (/^https?:\/\//.test(path)) {
    // A server that never answers must not hang the run.
    const response = await fetch(path, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`HTTP ${response.status}`);
    }
    if (response.body === null) return new Uint8Array();
    try {
      return await readCapped(response.body);
    } catch (error) {
      // The answer began: the clock ran out on its body.
      if ((error as Error).name !== "TimeoutError") throw error;
      throw new Error(`not all of it arrived within ${timeoutMs / 1000} s`);
    }
  }
  const file = await Deno.open(path);
  if ((await file.stat()).isDirectory) {
    file.close();
    throw new Error("a directory");
  }
  return await readCapped(file.readable);
}

/** A whole number, as the reference's recorder counts its lines. */
const COUNT = /^\d+$/;
/** A decimal number (no hex, no `NaN` or `Infinity`). */
const PRICE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Reads a feed CSV (a file, a pipe or an http(s) URL): one price per line in the second column,
 * as the reference's seed files (`count,price[,time]`), used in line order; a first non-blank line
 * whose count and price hold no digits (`count,price`) is a header. A URL whose whole answer has
 * not arrived within `timeoutMs` (default a minute) is an error, and so is a line that is not
 * `count,price[,time]` with a whole count and a positive price, named by file, line and column.
 * The time is the exchange's own text (an ISO date or milliseconds, as the reference's recorder
 * copies it) and is not read.
 */
export async function readFeed(
  flag: string,
  path: string | undefined,
  timeoutMs = FETCH_TIMEOUT_MS,
): Promise<number[] | undefined> {
  if (path === undefined) return undefined;
  let text: string;
  try {
    const bytes = await readFeedBytes(path, timeoutMs);
    try {
      // A UTF-8 byte-order mark is dropped; other bytes that are not UTF-8 are refused.
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw new Error("not UTF-8 text");
    }
  } catch (error) {
    const reason = (error as Error).name === "TimeoutError"
      ? `no answer within ${timeoutMs / 1000} s`
      : (error as Error).message;
    throw new UsageError(`--${flag}: cannot read ${path} (${reason})`);
  }
  const prices: number[] = [];
  let first = true;
  text.split(/\r\n|\r|\n/).forEach((line, i) => {
    if (line.trim() === "") return;
    const fields = line.split(",").map((field) => field.trim());
    const header = first && !/\d/.test(fields[0]) && !/\d/.test(fields[1] ?? "");
    first = false;
    if (header) return;
    const problem = (what: string) => new UsageError(`--${flag}: ${path} line ${i + 1}${what}`);
    if (fields.length < 2 || fields.length > 3) {
      const n = fields.length;
      throw problem(`: ${counted(n, "field")} where count,price[,time] was expected`);
    }
    const [count, field] = fields;
    if (!COUNT.test(count)) {
      throw problem(`, count: ${quotedChars(count, 40)} is not a whole number`);
    }
    const price = PRICE.test(field) ? Number(field) : NaN;
    if (!(Number.isFinite(price) && price > 0)) {
      throw problem(`, price: ${quotedChars(field, 40)} is not a positive number`);
    }
    if (price > MAX_FEED_PRICE) {
      throw problem(
        `, price: ${field} is above the largest a feed may hold (${MAX_FEED_PRICE})`,
      );
    }
    prices.push(price);
  });
  if (prices.length === 0) throw new UsageError(`--${flag}: ${path} holds no prices`);
  return prices;
}

/**
 * A warning when a feed of `count` prices, one per `interval` ns, ends before a run of `duration`
 * ns does (its last price is then held for the rest), or null. Prices are taken at process
 * updates, one per `updatePeriod` ns: the run needs one for each whole `interval` up to its last
 * update, and none for an interval it ends inside.
 */
export function feedShortfall(
  flag: string,
  count: number,
  interval: number,
  duration: number,
  updatePeriod = interval,
): string | null {
  const lastUpdate = Math.floor(duration / updatePeriod) * updatePeriod;
  const needed = Math.floor(lastUpdate / interval);
  if (count >= needed) return null;
  return `--${flag}: ${count} price${count === 1 ? "" : "s"} cover${count === 1 ? "s" : ""} ${
    clock(count * interval)
  } of the ` +
    `${clock(duration)} run (one per ${clock(interval)}); the last price is held for the rest`;
}

/** The feed sources among a command's parsed flags (`--fundamental-feed`, `--external-feed`). */
export function feedSources(values: Record<string, unknown>): FeedSources {
  return {
    fundamental: values["fundamental-feed"] as string | undefined,
    external: values["external-feed"] as string | undefined,
  };
}

/** Where the recorded feeds come from: a file, a pipe or a URL each, or none. */
export interface FeedSources {
  fundamental?: string;
  external?: string;
}

/**
 * Reads the recorded feeds given (the `--fundamental-feed` and `--external-feed` sources), telling
 * `warn` when one ends before a run of `config` does.
 */
export async function readFeeds(
  sources: FeedSources,
  config: SimConfig,
  warn: (message: string) => void,
): Promise<{ fundamental?: number[]; external?: number[] }> {
  const feed = {
    fundamental: await readFeed("fundamental-feed", sources.fundamental),
    external: await readFeed("external-feed", sources.external),
  };
  // The fundamental takes a seed price at the first process update a whole seed interval after
  // the last one; the futures signal one sample per sample interval.
  const update = config.processes.updatePeriod;
  const intervals = {
    fundamental: Math.max(1, Math.ceil(config.processes.fundamental.seedInterval / update)) *
      update,
    external: config.processes.external.sampleInterval,
  };
  for (const series of ["fundamental", "external"] as const) {
    const prices = feed[series];
    if (prices === undefined) continue;
    const short = feedShortfall(
      `${series}-feed`,
      prices.length,
      intervals[series],
      config.duration,
      update,
    );
    if (short !== null) warn(short);
  }
  return feed;
}

/** What a run's `summary.json` says of a feed: where it came from and a digest of its prices. */
export interface FeedRecord {
  source: string;
  prices: number;
  /** SHA-256 of the prices as little-endian float64s: tells two versions of one URL apart. */
  sha256: string;
}

/** The feeds given by `--fundamental-feed`/`--external-feed`, for the run's record. */
export function describeFeeds(
  values: Record<string, unknown>,
  feed: { fundamental?: number[]; external?: number[] },
): Partial<Record<"fundamental" | "external", FeedRecord>> {
  const out: Partial<Record<"fundamental" | "external", FeedRecord>> = {};
  for (const series of ["fundamental", "external"] as const) {
    const prices = feed[series];
    if (prices === undefined) continue;
    const bytes = new Uint8Array(Float64Array.from(prices).buffer);
    out[series] = {
      source: String(values[`${series}-feed`]),
      prices: prices.length,
      sha256: createHash("sha256").update(bytes).digest("hex"),
    };
  }
  return out;
}
