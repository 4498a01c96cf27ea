/**
 * Reads back the files `taos sim --out` wrote and checks that they agree with each other and with
 * the README's schema, for the tests of complete and interrupted runs.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { smallPreset } from "../../sim/config.ts";

const STEP_NS = 5e9;

const HEADERS = {
  events:
    "timestamp,event,order_id,agent_id,direction,price,volume,client_order_id,reason,leverage",
  trades: "timestamp,trade_id,direction,price,volume,aggressing_order_id,resting_order_id," +
    "aggressing_agent_id,resting_agent_id,maker_fee,taker_fee",
  balances: "timestamp,agent_id,book_id,base_free,base_reserved,quote_free,quote_reserved," +
    "base_loan,quote_loan,base_collateral,quote_collateral",
};

/** The header of `l2-<book>.csv` with `depth` levels per side. */
function l2Header(depth: number): string {
  const levelColumns: string[] = [];
  for (const side of ["bid", "ask"]) {
    for (let i = 1; i <= depth; i++) levelColumns.push(`${side}_price_${i}`, `${side}_volume_${i}`);
  }
  return ["timestamp", "fundamental", "external", ...levelColumns].join(",");
}

/** A CSV file's rows as cells, after checking the header and that every row has its width. */
function rows(dir: string, name: string, header: string): string[][] {
  const text = readFileSync(join(dir, name), "utf8");
  assert.ok(text.endsWith("\n"), `${name} ends with a complete line`);
  const [first, ...lines] = text.slice(0, -1).split("\n");
  assert.equal(first, header, `${name} header`);
  const width = header.split(",").length;
  return lines.map((line, i) => {
    const cells = line.split(",");
    assert.equal(cells.length, width, `${name} line ${i + 2} has ${cells.length} cells: ${line}`);
    return cells;
  });
}

/**
 * Asserts `cell` is written at exactly `decimals` decimals, with one digit or more before the
 * point and no leading zero: `Number()` alone would also take `.0000` or `5`.
 */
function assertDecimal(cell: string, decimals: number, what: string): void {
  assert.match(cell, new RegExp(`^-?(0|[1-9]\\d*)\\.\\d{${decimals}}$`), what);
}

function assertOrdered(values: number[], what: string, strictly = false): void {
  for (let i = 1; i < values.length; i++) {
    const ok = strictly ? values[i] > values[i - 1] : values[i] >= values[i - 1];
    assert.ok(ok, `${what}: ${values[i]} after ${values[i - 1]} (row ${i + 1})`);
  }
}

/** What the files add up to, for comparison with the run's summary. */
export interface OutputTotals {
  trades: number;
  volume: number;
  notional: number;
  /** Timestamp of the last L2 row of every book. */
  lastStep: number;
  /** Cancel and drop rows of margin orders. */
  marginRemovals: number;
}

/**
 * Checks every file of a run in `dir` against the schema and each other, and returns the totals.
 * `depth` = L2 levels per side.
 */
export function checkRunFiles(dir: string, depth: number): OutputTotals {
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  const books: number = config.books;
  const { priceDecimals, volumeDecimals, baseDecimals, quoteDecimals } = config.exchange;
  const expected = ["balances.csv", "config.json"];
  for (let b = 0; b < books; b++) {
    expected.push(`events-${b}.csv`, `l2-${b}.csv`, `trades-${b}.csv`);
  }
  const present = readdirSync(dir).filter((name) => name !== "summary.json").sort();
  assert.deepEqual(present, expected.sort(), "the files of the run");

  const totals: OutputTotals = {
    trades: 0,
    volume: 0,
    notional: 0,
    lastStep: -1,
    marginRemovals: 0,
  };
  for (let book = 0; book < books; book++) {
    /** Each placed order's leverage column. */
    const placed = new Map<string, string>();
    const events = rows(dir, `events-${book}.csv`, HEADERS.events);
    assertOrdered(events.map((e) => Number(e[0])), `events-${book}.csv timestamps`);
    for (const e of events) {
      assert.match(e[1], /^(place_limit|place_market|cancel|drop|reject|cancel_failed)$/);
      if (e[1].startsWith("place_")) {
        assert.ok(!placed.has(e[2]), `events-${book}.csv: order ${e[2]} placed twice`);
        placed.set(e[2], e[9]);
      } else if (e[1] === "cancel" || e[1] === "drop") {
        assert.ok(placed.has(e[2]), `events-${book}.csv: ${e[1]} of unplaced order ${e[2]}`);
        // A margin order's removals carry its leverage (their volume is its own), a cash one's none.
        const leverage = placed.get(e[2]) === "0" ? "" : placed.get(e[2]);
        assert.equal(e[9], leverage, `events-${book}.csv: ${e.join(",")}`);
        if (leverage !== "") totals.marginRemovals++;
      }
    }

    const trades = rows(dir, `trades-${book}.csv`, HEADERS.trades);
    assertOrdered(trades.map((t) => Number(t[0])), `trades-${book}.csv timestamps`);
    trades.forEach((t, i) => {
      assert.equal(t[1], String(i), `trades-${book}.csv trade ids count from 0`);
      assert.match(t[2], /^(buy|sell)$/);
      const [price, volume] = [Number(t[3]), Number(t[4])];
      assert.ok(price > 0 && volume > 0, `trades-${book}.csv row ${i + 2}: ${t.join(",")}`);
      const row = `trades-${book}.csv row ${i + 2}`;
      assertDecimal(t[3], priceDecimals, `${row} price`);
      assertDecimal(t[4], volumeDecimals, `${row} volume`);
      assertDecimal(t[9], quoteDecimals, `${row} maker fee`);
      assertDecimal(t[10], quoteDecimals, `${row} taker fee`);
      for (const order of [t[5], t[6]]) {
        assert.ok(placed.has(order), `trades-${book}.csv: order ${order} was never placed`);
      }
      totals.trades++;
      totals.volume += volume;
      totals.notional += price * volume;
    });

    const l2 = rows(dir, `l2-${book}.csv`, l2Header(depth));
    const times = l2.map((r) => Number(r[0]));
    assertOrdered(times, `l2-${book}.csv timestamps`, true);
    times.slice(0, -1).forEach((t, i) => assert.equal(t, config.start + (i + 1) * STEP_NS));
    if (totals.lastStep >= 0) assert.equal(times.at(-1), totals.lastStep, "books end together");
    totals.lastStep = times.at(-1) ?? -1;
    for (const r of l2) {
      assert.ok(Number(r[1]) > 0 && Number(r[2]) > 0, `l2-${book}.csv processes: ${r.join(",")}`);
      const side = (s: number) => {
        const cells = r.slice(3 + 2 * depth * s, 3 + 2 * depth * (s + 1));
        const levels: number[] = [];
        for (let i = 0; i < depth; i++) {
          const [p, v] = [cells[2 * i], cells[2 * i + 1]];
          if (p === "") {
            assert.ok(cells.slice(2 * i).every((c) => c === ""), `levels after a gap: ${r}`);
            break;
          }
          assert.ok(Number(v) > 0, `l2-${book}.csv at ${r[0]}: empty level ${p}`);
          assertDecimal(p, priceDecimals, `l2-${book}.csv at ${r[0]} price`);
          assertDecimal(v, volumeDecimals, `l2-${book}.csv at ${r[0]} volume`);
          levels.push(Number(p));
        }
        return levels;
      };
      const [bids, asks] = [side(0), side(1)];
      assertOrdered(bids.map((p) => -p), `l2-${book}.csv bids at ${r[0]}`, true);
      assertOrdered(asks, `l2-${book}.csv asks at ${r[0]}`, true);
      if (bids.length > 0 && asks.length > 0) {
        assert.ok(bids[0] < asks[0], `l2-${book}.csv at ${r[0]}: crossed ${bids[0]} ${asks[0]}`);
      }
    }
  }

  const balances = rows(dir, "balances.csv", HEADERS.balances);
  assertOrdered(balances.map((b) => Number(b[0])), "balances.csv timestamps");
  for (const b of balances) {
    assert.ok(Number(b[1]) >= 0 && Number(b[1]) < config.remoteAgentCount, `agent ${b[1]}`);
    assert.ok(Number(b[2]) >= 0 && Number(b[2]) < books, `book ${b[2]}`);
    for (const cell of b.slice(3)) assert.ok(Number(cell) >= 0, `balances.csv: ${b.join(",")}`);
    // Columns by asset: base_free, base_reserved, quote_free, quote_reserved, base_loan,
    // quote_loan, base_collateral, quote_collateral.
    const assets = ["base", "base", "quote", "quote", "base", "quote", "base", "quote"];
    b.slice(3).forEach((cell, k) =>
      assertDecimal(
        cell,
        assets[k] === "base" ? baseDecimals : quoteDecimals,
        `balances.csv ${HEADERS.balances.split(",")[3 + k]}: ${b.join(",")}`,
      )
    );
  }
  return totals;
}

/** An order on the rebuilt book: its own volume and its matchable volume (the two differ only for
 * a margin order), in lots. */
interface RebuiltOrder {
  side: 0 | 1;
  price: bigint;
  leverageE9: bigint;
  own: bigint;
  matchable: bigint;
}

/** A decimal cell in integer units (it has the file's fixed decimals). */
const units = (cell: string) => BigInt(cell.replace(".", ""));
const ONE_E9 = 1_000_000_000n;

/** What the rebuild of a run's books went through, for the tests to check it saw enough. */
export interface RebuildTotals {
  /** L2 rows compared. */
  rows: number;
  /** Fills of limit orders placed on margin. */
  marginFills: number;
}

/**
 * Rebuilds every book of a run in `dir` from `events-<book>.csv` and `trades-<book>.csv` alone, as
 * the README describes the rows, and asserts that every row of `l2-<book>.csv` has the levels the
 * rebuilt orders add up to, after every row stamped before its timestamp (one stamped at it is in
 * the next row). Rows of one timestamp are applied as the two files together allow: placements,
 * then fills, then cancels and drops. `depth` = L2 levels per side.
 */
export function checkRebuiltBooks(dir: string, depth: number): RebuildTotals {
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  const totals: RebuildTotals = { rows: 0, marginFills: 0 };
  // A margin order's matchable volume from its own: trunc_v(own x (1 + leverage)), in lots.
  const matchableOf = (own: bigint, leverageE9: bigint) => own * (ONE_E9 + leverageE9) / ONE_E9;
  for (let book = 0; book < config.books; book++) {
    const events = rows(dir, `events-${book}.csv`, HEADERS.events);
    const trades = rows(dir, `trades-${book}.csv`, HEADERS.trades);
    const resting = new Map<string, RebuiltOrder>();
    const fill = (orderId: string, lots: bigint) => {
      const order = resting.get(orderId);
      if (order === undefined) return; // a market order: it never rests
      if (order.leverageE9 > 0n) totals.marginFills++;
      order.matchable -= lots;
      order.own = order.matchable * ONE_E9 / (ONE_E9 + order.leverageE9);
      assert.ok(order.matchable >= 0n, `book ${book}: order ${orderId} filled past its volume`);
      if (order.own === 0n) resting.delete(orderId);
    };
    let nextEvent = 0;
    let nextTrade = 0;
    /** Applies every row stamped before `time`, a timestamp's rows in the order above. */
    const applyBefore = (time: bigint) => {
      for (;;) {
        const stamps = [events[nextEvent]?.[0], trades[nextTrade]?.[0]]
          .filter((cell) => cell !== undefined).map(BigInt).filter((t) => t < time);
        if (stamps.length === 0) return;
        const now = stamps.reduce((a, b) => (a < b ? a : b));
        const ofNow: string[][] = [];
        while (nextEvent < events.length && BigInt(events[nextEvent][0]) === now) {
          ofNow.push(events[nextEvent++]);
        }
        for (const [, kind, id, , direction, price, volume, , , leverage] of ofNow) {
          if (kind !== "place_limit") continue;
          const [own, leverageE9] = [units(volume), units(leverage)];
          resting.set(id, {
            side: direction === "buy" ? 0 : 1,
            price: units(price),
            leverageE9,
            own,
            matchable: matchableOf(own, leverageE9),
          });
        }
        while (nextTrade < trades.length && BigInt(trades[nextTrade][0]) === now) {
          const t = trades[nextTrade++];
          fill(t[5], units(t[4]));
          fill(t[6], units(t[4]));
        }
        for (const [, kind, id, , , , volume] of ofNow) {
          if (kind !== "cancel" && kind !== "drop") continue;
          const order = resting.get(id);
          if (order === undefined) continue; // a market order's dropped remainder
          order.own -= units(volume);
          assert.ok(order.own >= 0n, `book ${book}: ${kind} of ${id} past its volume at ${now}`);
          order.matchable = matchableOf(order.own, order.leverageE9);
          if (order.own === 0n) resting.delete(id);
        }
      }
    };
    for (const row of rows(dir, `l2-${book}.csv`, l2Header(depth))) {
      applyBefore(BigInt(row[0]));
      const cells: string[] = [];
      for (const side of [0, 1] as const) {
        const levels = new Map<bigint, bigint>();
        for (const order of resting.values()) {
          if (order.side === side) {
            levels.set(order.price, (levels.get(order.price) ?? 0n) + order.matchable);
          }
        }
        const best = [...levels].sort(([a], [b]) => (side === 0 ? Number(b - a) : Number(a - b)));
        for (let i = 0; i < depth; i++) {
          cells.push(best[i] ? String(best[i][0]) : "", best[i] ? String(best[i][1]) : "");
        }
      }
      const written = row.slice(3).map((cell) => (cell === "" ? "" : String(units(cell))));
      assert.deepEqual(cells, written, `l2-${book}.csv at ${row[0]}: levels rebuilt from the rows`);
      totals.rows++;
    }
  }
  return totals;
}

/**
 * Writes into `dir` the small preset with HFT agents worth less than their quotes, so that they
 * trade on margin and margin calls show up; returns the file's path.
 */
export async function writeMarginConfig(dir: string): Promise<string> {
  const config = structuredClone(smallPreset()) as unknown as {
    agents: { hft: { balances: unknown } };
  };
  config.agents.hft.balances = { type: "fixed", base: 2, quote: 600 };
  const margin = join(dir, "margin.json");
  await Deno.writeTextFile(margin, JSON.stringify(config));
  return margin;
}
