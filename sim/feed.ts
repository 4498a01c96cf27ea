/**
 * Recorded price feeds: the CSV files the reference's validator records from live trades
 * (`count,price[,time]`), read from a file or an http(s) URL, for `taos sim` and `taos validator`.
 * @module
 */
import { UsageError } from "../cli/command.ts";

/**
 * Reads a feed CSV (a file or an http(s) URL): one price per line in the second column, as the
 * reference's seed files (`count,price[,time]`); a non-numeric header is skipped.
 */
export async function readFeed(
  flag: string,
  path: string | undefined,
): Promise<number[] | undefined> {
  if (path === undefined) return undefined;
  let text: string;
  try {
    if (/^https?:\/\//.test(path)) {
      const response = await fetch(path);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      text = await response.text();
    } else {
      text = await Deno.readTextFile(path);
    }
  } catch (error) {
    throw new UsageError(`--${flag}: cannot read ${path} (${(error as Error).message})`);
  }
  const prices: number[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === "") return;
    const price = Number(line.split(",")[1]);
    if (Number.isFinite(price) && price > 0) prices.push(price);
    else if (i > 0) throw new UsageError(`--${flag}: ${path} line ${i + 1}: no positive price`);
  });
  if (prices.length === 0) throw new UsageError(`--${flag}: ${path} holds no prices`);
  return prices;
}
