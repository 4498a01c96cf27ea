import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { smallPreset } from "../../sim/config.ts";
import { SimEngine } from "../../sim/engine.ts";
import { SimOutputs, type StepState } from "../../sim/outputs.ts";
import { UsageError } from "../../cli/command.ts";

Deno.test("balances.csv has a row per account at the start, then only for accounts that changed", async () => {
  const dir = await Deno.makeTempDir();
  const config = { ...smallPreset(), books: 2, duration: 60e9, remoteAgentCount: 3 };
  const engine = SimEngine.create({ config, seed: 2, threads: 1 });
  const outputs = new SimOutputs(dir, engine, 2);
  try {
    const steps: number[] = [];
    for (let step = engine.step(); step !== null; step = engine.step()) {
      steps.push(step.timestamp);
      if (steps.length === 2) {
        // agent 1 buys on book 1 between the second and third step
        engine.inject(1, [{ type: "PLACE_ORDER_MARKET", bookId: 1, direction: 0, volume: 1 }], 1e9);
      }
      outputs.writeStep(step.timestamp);
    }
    outputs.close();
    const rows = readFileSync(join(dir, "balances.csv"), "utf8").trim().split("\n").slice(1)
      .map((line) => line.split(","));
    const first = rows.filter((row) => row[0] === String(steps[0]));
    assert.equal(first.length, 3 * 2, "every account on every book at the first step");
    const later = rows.filter((row) => row[0] !== String(steps[0]));
    assert.deepEqual(later.map((row) => [row[0], row[1], row[2]]), [[String(steps[2]), "1", "1"]]);
    const [before] = first.filter((row) => row[1] === "1" && row[2] === "1");
    assert.ok(Number(later[0][3]) > Number(before[3]), "more base after the buy");
    assert.ok(Number(later[0][5]) < Number(before[5]), "less quote after the buy");
    assert.match(later[0][3], /^\d+\.\d{4}$/);
  } finally {
    engine.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("balances.csv puts each amount in its column at its decimals: a margin buy's loan is in quote", async () => {
  const dir = await Deno.makeTempDir();
  const config = { ...smallPreset(), books: 1, duration: 30e9, remoteAgentCount: 2 };
  const { baseDecimals, quoteDecimals } = config.exchange;
  const engine = SimEngine.create({ config, seed: 4, threads: 1 });
  const outputs = new SimOutputs(dir, engine, 1);
  try {
    for (let step = engine.step(); step !== null; step = engine.step()) {
      if (step.timestamp === 10e9) {
        // Agent 1 buys on margin: 0.5 of its own, traded as 1.5, the rest borrowed in quote.
        engine.inject(1, [
          { type: "PLACE_ORDER_MARKET", bookId: 0, direction: 0, volume: 0.5, leverage: 2 },
        ], 1e9);
      }
      outputs.writeStep(step.timestamp);
    }
    outputs.close();
    const [header, ...lines] = readFileSync(join(dir, "balances.csv"), "utf8").trim().split("\n");
    const names = header.split(",");
    const rows = lines.map((line) =>
      Object.fromEntries(line.split(",").map((cell, i) => [names[i], cell]))
    );
    for (const row of rows) {
      for (const name of names.slice(3)) {
        // Whole digits always, 0 too: 0.0000, never .0000.
        const decimals = name.startsWith("base_") ? baseDecimals : quoteDecimals;
        assert.match(row[name], new RegExp(`^\\d+\\.\\d{${decimals}}$`), `${name} ${row[name]}`);
      }
    }
    const last = rows.filter((row) => row.agent_id === "1").at(-1)!;
    assert.ok(Number(last.quote_loan) > 0, `quote_loan ${last.quote_loan}`);
    assert.ok(Number(last.quote_collateral) > 0, `quote_collateral ${last.quote_collateral}`);
    assert.equal(Number(last.base_loan), 0);
    assert.equal(Number(last.base_collateral), 0);
    // Agent 0 did nothing: its one row is the start, with no loan.
    const idle = rows.filter((row) => row.agent_id === "0");
    assert.equal(idle.length, 1);
    assert.equal(idle[0].quote_loan, `0.${"0".repeat(quoteDecimals)}`);
  } finally {
    engine.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("l2 process values: a huge one is written with 6 decimals, Infinity or NaN is refused", async () => {
  const dir = await Deno.makeTempDir();
  const config = { ...smallPreset(), books: 1, duration: 60e9, remoteAgentCount: 1 };
  const engine = SimEngine.create({ config, threads: 1 });
  const outputs = new SimOutputs(dir, engine, 1);
  const state = (fundamental: number, external: number): StepState => ({
    rawLevels: () => [],
    processValues: () => ({ fundamental, external }),
  });
  try {
    outputs.writeStep(5e9, state(300.25, 1e22));
    // 1e21 itself is where toFixed turns to exponent notation ("1e+21").
    outputs.writeStep(6e9, state(1e21, 0.5));
    assert.throws(
      () => outputs.writeStep(10e9, state(Infinity, 300)),
      (e: Error) =>
        e instanceof UsageError &&
        /^cannot write l2-0\.csv: the fundamental price of book 0 at 10000000000 ns is Infinity;/
          .test(e.message),
    );
    assert.throws(
      () => outputs.writeStep(15e9, state(300, NaN)),
      /the external price of book 0 at 15000000000 ns is NaN; the process \(processes\.external\)/,
    );
    outputs.close();
    const rows = readFileSync(join(dir, "l2-0.csv"), "utf8").trim().split("\n").slice(1);
    assert.deepEqual(rows, [
      "5000000000,300.250000,10000000000000000000000.000000,,,,",
      "6000000000,1000000000000000000000.000000,0.500000,,,,",
    ]);
  } finally {
    engine.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** A decimal cell written at fixed decimals, in integer units. */
const units = (cell: string) => BigInt(cell.replace(".", ""));

Deno.test("l2 volumes are the exact sums of the orders resting at each level, also at 9e15 lots", async () => {
  const dir = await Deno.makeTempDir();
  const small = smallPreset();
  // Initialization agents rich enough in base that their ladder's levels hold about 9e15 lots at
  // 8 volume decimals: 9e7 base, where a double's steps are wider than a lot (1e-8).
  const config = {
    ...small,
    duration: 60e9,
    exchange: { ...small.exchange, volumeDecimals: 8, baseDecimals: 8, quoteDecimals: 2 },
    agents: {
      ...small.agents,
      initialization: {
        ...small.agents.initialization!,
        balances: { type: "fixed" as const, base: 8e8, quote: 3e10 },
      },
    },
  };
  const engine = SimEngine.create({ config, threads: 1 });
  const outputs = new SimOutputs(dir, engine, 5);
  try {
    for (let step = engine.step(); step !== null; step = engine.step()) {
      for (let book = 0; book < config.books; book++) {
        outputs.writeEvents(book, engine.rawEvents(book));
      }
      outputs.writeStep(step.timestamp);
    }
    outputs.close();
    const rows = (name: string) =>
      readFileSync(join(dir, name), "utf8").trim().split("\n").slice(1).map((line) =>
        line.split(",")
      );
    let largest = 0n;
    for (let book = 0; book < config.books; book++) {
      // Replays the book's record: what each level holds after every event up to a step's end.
      const records = [
        ...rows(`events-${book}.csv`).map((cells) => ({ trade: false, cells })),
        ...rows(`trades-${book}.csv`).map((cells) => ({ trade: true, cells })),
      ].sort((a, b) => Number(BigInt(a.cells[0]) - BigInt(b.cells[0])));
      const orders = new Map<string, { side: string; price: string }>();
      const resting = new Map<string, bigint>();
      const take = (order: { side: string; price: string } | undefined, lots: bigint) => {
        if (order === undefined) return;
        const key = `${order.side} ${order.price}`;
        resting.set(key, (resting.get(key) ?? 0n) - lots);
      };
      let next = 0;
      for (const l2 of rows(`l2-${book}.csv`)) {
        const time = BigInt(l2[0]);
        for (; next < records.length && BigInt(records[next].cells[0]) <= time; next++) {
          const { trade, cells } = records[next];
          if (trade) {
            take(orders.get(cells[5]), units(cells[4]));
            take(orders.get(cells[6]), units(cells[4]));
          } else if (cells[1] === "place_limit") {
            orders.set(cells[2], { side: cells[4], price: cells[5] });
            take(orders.get(cells[2]), -units(cells[6]));
          } else if (cells[1] === "cancel" || cells[1] === "drop") {
            take(orders.get(cells[2]), units(cells[6]));
          }
        }
        const bids = l2.slice(3, 13), asks = l2.slice(13, 23);
        for (const [side, cells] of [["buy", bids], ["sell", asks]] as const) {
          for (let i = 0; i < cells.length && cells[i] !== ""; i += 2) {
            const lots = units(cells[i + 1]);
            if (lots > largest) largest = lots;
            assert.equal(lots, resting.get(`${side} ${cells[i]}`), `book ${book} at ${time}`);
          }
        }
      }
    }
    assert.ok(largest > 9n * 10n ** 15n, `the largest level held only ${largest} lots`);
  } finally {
    engine.close();
    await Deno.remove(dir, { recursive: true });
  }
});
