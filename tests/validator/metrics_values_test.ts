/**
 * The figures `/metrics` derives from a report, each at the edge where a slip would show: the 21st
 * book level, the cumulative volumes, a day's wrap in `timestamp_str`, the three-observation
 * threshold, an odd number of books' median Sharpe, a miner with no answered query, and the host's
 * CPU use read from a `/proc/stat` written by the test.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { CpuUsage, ValidatorMetrics } from "../../validator/metrics.ts";
import {
  familySeries,
  labelValue,
  minerGaugeValue,
  reportBooks,
  sharpeDetail,
} from "./metrics_reports.ts";

Deno.test("book_gauges show 21 levels a side with their cumulative volume; books the top five", async () => {
  const metrics = new ValidatorMetrics({ wallet: "5V", netuid: 79, info: {} });
  // 22 levels a side: bid i at 100 - i with volume i + 1, ask i at 101 + i with volume 2.
  const bid = Array.from({ length: 22 }, (_, i) => ({ price: 100 - i, volume: i + 1 }));
  const ask = Array.from({ length: 22 }, (_, i) => ({ price: 101 + i, volume: 2 }));
  reportBooks(metrics, 60e9, [{ bookId: 0, record: [], bid, ask, fundamental: 100 }]);
  const text = await metrics.registry.metrics();
  const levels = (name: string) =>
    familySeries(text, "book_gauges")
      .filter((line) => labelValue(line, "book_gauge_name") === name)
      .map((line) => [Number(labelValue(line, "level")), Number(line.split(" ").at(-1))]);
  // Levels 0 to 20: the 22nd level (level 21) is left out.
  assert.deepEqual(levels("bid").map(([level]) => level), Array.from({ length: 21 }, (_, i) => i));
  assert.deepEqual(levels("ask").at(-1), [20, 121]);
  // The sum includes the level's own volume: 1 + 2 + ... + (i + 1) on the bid side.
  assert.deepEqual(levels("bid_vol_sum").slice(0, 3), [[0, 1], [1, 3], [2, 6]]);
  assert.deepEqual(levels("bid_vol_sum").at(-1), [20, 231]);
  assert.deepEqual(levels("ask_vol_sum").at(-1), [20, 42]);
  const books = familySeries(text, "books");
  assert.equal(books.length, 1);
  // The fifth level is the last one named; the sixth is not.
  assert.deepEqual(
    ["bid_5", "bid_vol_5", "ask_5", "ask_vol_5"].map((name) => labelValue(books[0], name)),
    ["96.0", "5.0", "105.0", "2.0"],
  );
  assert.equal(labelValue(books[0], "bid_6"), undefined);
});

Deno.test("timestamp_str counts whole days apart and the clock within the day", async () => {
  const metrics = new ValidatorMetrics({ wallet: "5V", netuid: 79, info: {} });
  const book = { bookId: 0, record: [], bid: [{ price: 99, volume: 1 }], fundamental: 100 };
  // A day, an hour, a minute, a second and half a second.
  reportBooks(metrics, 90_061.5e9, [{ ...book, ask: [{ price: 101, volume: 1 }] }]);
  const books = familySeries(await metrics.registry.metrics(), "books");
  assert.equal(labelValue(books[0], "timestamp_str"), "1d 01:01:01.500000000");
  assert.equal(labelValue(books[0], "timestamp"), "90061500000000");
});

Deno.test("a miner enters agent_gauges, miner_gauges and miners at its third observation", async () => {
  const metrics = new ValidatorMetrics({ wallet: "5V", netuid: 79, info: {} });
  const book = {
    bookId: 0,
    record: [],
    bid: [{ price: 99, volume: 1 }],
    ask: [{ price: 101, volume: 1 }],
    fundamental: 100,
  };
  reportBooks(metrics, 60e9, [book], {
    scores: new Map([[1, 0.5], [2, 0.25]]),
    details: [sharpeDetail(1, [1], { observations: 2 }), sharpeDetail(2, [1], { observations: 3 })],
    // Both were queried in the report period: uid 1's counts wait for its third observation too.
    queryStats: new Map([1, 2].map((uid) => [uid, {
      requests: 1,
      timeouts: 0,
      failures: 0,
      rejections: 0,
      callTime: 0.1,
      successes: 1,
    }])),
  });
  const text = await metrics.registry.metrics();
  for (const family of ["agent_gauges", "miner_gauges", "miners"]) {
    const uids = new Set(familySeries(text, family).map((line) => labelValue(line, "agent_id")));
    assert.deepEqual([...uids], ["2"], family);
  }
});

Deno.test("a miner's Sharpe is the median of its books' as numbers: an odd count's middle one", async () => {
  const metrics = new ValidatorMetrics({ wallet: "5V", netuid: 79, info: {} });
  // Sorted as numbers: -1, 2, 10 (as text they would sort -1, 10, 2). One book: its own.
  reportBooks(metrics, 60e9, [], {
    scores: new Map([[1, 0.5], [2, 0.25]]),
    details: [sharpeDetail(1, [10, -1, 2]), sharpeDetail(2, [-3])],
  });
  const text = await metrics.registry.metrics();
  const sharpe = (uid: number) => minerGaugeValue(text, uid, "sharpe");
  assert.deepEqual([sharpe(1), sharpe(2)], ["2", "-3"]);
  const row = familySeries(text, "miners").find((line) => labelValue(line, "agent_id") === "1") ??
    "";
  assert.equal(labelValue(row, "sharpe"), "2.0");
});

Deno.test("a miner none of whose queries succeeded has a call_time of 0", async () => {
  const metrics = new ValidatorMetrics({ wallet: "5V", netuid: 79, info: {} });
  reportBooks(metrics, 60e9, [], {
    details: [sharpeDetail(4, [0])],
    queryStats: new Map([[4, {
      requests: 5,
      timeouts: 5,
      failures: 0,
      rejections: 0,
      callTime: 0,
      successes: 0,
    }]]),
  });
  const text = await metrics.registry.metrics();
  const gauge = (name: string) => minerGaugeValue(text, 4, name);
  // No success to average over: 0, not the NaN of 0 / 0.
  assert.deepEqual(["success", "timeouts", "call_time"].map(gauge), ["0", "5", "0"]);
});

Deno.test("cpu_usage_percent is busy over total /proc/stat ticks, iowait idle, guest time not twice", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const stat = join(dir, "stat");
    // cpu user nice system idle iowait irq softirq steal guest guest_nice
    const write = (ticks: number[]) =>
      Deno.writeTextFileSync(stat, `cpu  ${ticks.join(" ")}\ncpu0 ${ticks.join(" ")}\nintr 0\n`);
    write([100, 0, 100, 700, 100, 0, 0, 0, 0, 0]);
    const usage = new CpuUsage(stat);
    // Since then: 300 user (250 of it guest), 100 system, 100 idle, 100 iowait: 400 of 600 busy.
    write([400, 0, 200, 800, 200, 0, 0, 0, 250, 0]);
    // 66.666...% to 0.1, rounded to the nearest: iowait counted busy would read 83.3, guest
    // counted again 76.5, and a cut rather than a rounding 66.6.
    assert.equal(usage.percent(), 66.7);
    // Nothing elapsed since the last reading: 0.
    assert.equal(usage.percent(), 0);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
