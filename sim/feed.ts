/**
 * Recorded price feeds: the CSV files the reference's validator records from live trades
 * (`count,price[,time]`), read from a file or an http(s) URL, for `taos sim` and `taos validator`.
 * @module
 */
import { createHash } from "node:crypto";
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
 * Reads a feed CSV (a file or an http(s) URL): one price per line in the second column, as the
 * reference's seed files (`count,price[,time]`); a non-numeric header is skipped. A URL that has
 * not answered within `timeoutMs` (default a minute) is an error.
 */
export async function readFeed(
  flag: string,
  path: string | undefined,
  timeoutMs = FETCH_TIMEOUT_MS,
): Promise<number[] | undefined> {
  if (path === undefined) return undefined;
  let text: string;
  try {
    if (/^https?:\/\//.test(path)) {
      // A server that never answers must not hang the run.
      const response = await fetch(path, { signal: AbortSignal.timeout(timeoutMs) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      text = await response.text();
    } else {
      text = await Deno.readTextFile(path);
    }
  } catch (error) {
    const reason = (error as Error).name === "TimeoutError"
      ? `no answer within ${timeoutMs / 1000} s`
      : (error as Error).message;
    throw new UsageError(`--${flag}: cannot read ${path} (${reason})`);
  }
  const prices: number[] = [];
  text.split(/\r\n|\r|\n/).forEach((line, i) => {
    if (line.trim() === "") return;
    const field = (line.split(",")[1] ?? "").trim();
    // Only a first line whose price column holds no number is a header.
    if (i === 0 && !/\d/.test(field)) return;
    const price = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(field) ? Number(field) : NaN;
    if (!(Number.isFinite(price) && price > 0)) {
      throw new UsageError(`--${flag}: ${path} line ${i + 1}: no positive price`);
    }
    if (price > MAX_FEED_PRICE) {
      throw new UsageError(
        `--${flag}: ${path} line ${i + 1}: price ${field} is above the largest a feed may hold ` +
          `(${MAX_FEED_PRICE})`,
      );
    }
    prices.push(price);
  });
  if (prices.length === 0) throw new UsageError(`--${flag}: ${path} holds no prices`);
  return prices;
}

/**
 * A warning when a feed of `count` prices, one per `interval` ns, ends before a run of `duration`
 * ns does (its last price is then held for the rest), or null.
 */
function feedShortfall(
  flag: string,
  count: number,
  interval: number,
  duration: number,
): string | null {
  const needed = Math.ceil(duration / interval);
  if (count >= needed) return null;
  return `--${flag}: ${count} prices cover ${clock(count * interval)} of the ` +
    `${clock(duration)} run (one per ${clock(interval)}); the last price is held for the rest`;
}

/** Reads the recorded feeds given, warning when one ends before the run does. */
export async function readFeeds(
  values: Record<string, unknown>,
  config: SimConfig,
): Promise<{ fundamental?: number[]; external?: number[] }> {
  const feed = {
    fundamental: await readFeed(
      "fundamental-feed",
      values["fundamental-feed"] as string | undefined,
    ),
    external: await readFeed("external-feed", values["external-feed"] as string | undefined),
  };
  const intervals = {
    fundamental: config.processes.updatePeriod,
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
    );
    if (short !== null) console.error(`warning: ${short}`);
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
