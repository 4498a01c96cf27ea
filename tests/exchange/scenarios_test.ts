/**
 * Conformance: every scenario of the exchange specification (section 9) plus our own, each a data
 * file in `scenarios/` (script in, expected events and final state out, derived by hand from the
 * specification), run through the real `taos replay` command.
 *
 * Expected events list, in order, the fields that matter; every actual event must match the
 * expected one at the same position on those fields. Accounts not listed in the expected final
 * state must still hold their initial balances, without loans or collateral; a listed account's
 * loans, collateral and fee state are compared where the scenario states them.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { type FinalState, normalize, replayScript } from "./replay_helpers.ts";

interface Scenario {
  title: string;
  spec: string;
  config: "T" | "Z";
  exchange?: Record<string, unknown>;
  ignore?: string;
  batches: unknown[];
  events: Record<string, unknown>[];
  final: FinalState;
}

type Exchange = {
  priceDecimals: number;
  baseDecimals: number;
  quoteDecimals: number;
  books: number;
  agents: number;
  balances: { base: string; quote: string };
};

const directory = new URL("./scenarios/", import.meta.url);
const configs = JSON.parse(
  readFileSync(new URL("./scenario_configs.json", import.meta.url), "utf8"),
) as Record<string, Exchange>;

/** Asserts that every decimal string in the replay output has its configured number of places. */
function assertFormatted(value: unknown, key: string, exchange: Exchange, where: string): void {
  const places: Record<string, number> = {
    price: exchange.priceDecimals,
    volume: exchange.baseDecimals,
    remaining: exchange.baseDecimals,
    makerFee: exchange.quoteDecimals,
    takerFee: exchange.quoteDecimals,
  };
  if (typeof value === "string" && key in places) {
    const decimals = value.split(".")[1]?.length ?? 0;
    assert.equal(decimals, places[key], `${where}.${key} = ${value}: wrong number of decimals`);
  }
}

function compareEvents(
  actual: Record<string, unknown>[],
  expected: Record<string, unknown>[],
  exchange: Exchange,
): void {
  const shown = actual.map((e) => JSON.stringify(e)).join("\n  ");
  assert.equal(
    actual.length,
    expected.length,
    `expected ${expected.length} events, got ${actual.length}:\n  ${shown}`,
  );
  expected.forEach((want, i) => {
    const got = actual[i];
    for (const [key, value] of Object.entries(got)) {
      assertFormatted(value, key, exchange, `event ${i}`);
    }
    for (const [key, value] of Object.entries(want)) {
      assert.deepEqual(
        normalize(got[key]),
        normalize(value),
        `event ${i} field ${key}: expected ${JSON.stringify(value)}, got ${
          JSON.stringify(got[key])
        }` +
          `\n  expected event: ${JSON.stringify(want)}\n  all events:\n  ${shown}`,
      );
    }
  });
}

function compareFinal(actual: FinalState | null, expected: FinalState, exchange: Exchange): void {
  assert.ok(actual !== null, "no final line");
  const levels = (side: [string, string][]) => side.map(([p, v]) => [normalize(p), normalize(v)]);
  for (const book of actual.books) {
    for (const [price, volume] of [...book.bids, ...book.asks]) {
      assert.equal(price.split(".")[1]?.length ?? 0, exchange.priceDecimals, `price ${price}`);
      assert.equal(volume.split(".")[1]?.length ?? 0, exchange.baseDecimals, `volume ${volume}`);
    }
  }
  assert.deepEqual(
    actual.books.map((b) => ({ bookId: b.bookId, bids: levels(b.bids), asks: levels(b.asks) })),
    expected.books.map((b) => ({ bookId: b.bookId, bids: levels(b.bids), asks: levels(b.asks) })),
    "final books",
  );
  assert.equal(
    actual.accounts.length,
    exchange.agents * exchange.books,
    "one account per agent per book",
  );
  for (const account of actual.accounts) {
    const want = expected.accounts.find((a) =>
      a.agentId === account.agentId && a.bookId === account.bookId
    ) ?? {
      agentId: account.agentId,
      bookId: account.bookId,
      base: { free: exchange.balances.base, reserved: "0", loan: "0", collateral: "0" },
      quote: { free: exchange.balances.quote, reserved: "0", loan: "0", collateral: "0" },
    };
    for (
      const [currency, decimals] of [["base", exchange.baseDecimals], [
        "quote",
        exchange.quoteDecimals,
      ]] as const
    ) {
      for (const part of ["free", "reserved", "loan", "collateral"] as const) {
        // Loans and collateral are compared where the scenario states them.
        if (want[currency][part] === undefined) continue;
        const got = account[currency][part];
        const where = `agent ${account.agentId} book ${account.bookId} ${currency}.${part}`;
        assert.ok(got !== undefined, `${where}: missing from the final line`);
        assert.equal(got.split(".")[1]?.length ?? 0, decimals, `${where} = ${got}: wrong decimals`);
        assert.equal(normalize(got), normalize(want[currency][part]), where);
      }
    }
    // The fee state (volume, tier, rates) is compared where the scenario states it.
    if (want.fees !== undefined) {
      const where = `agent ${account.agentId} book ${account.bookId} fees`;
      assert.ok(account.fees !== undefined, `${where}: missing from the final line`);
      assert.deepEqual(
        Object.fromEntries(Object.entries(account.fees).map(([k, v]) => [k, normalize(v)])),
        Object.fromEntries(Object.entries(want.fees).map(([k, v]) => [k, normalize(v)])),
        where,
      );
    }
  }
}

for (const file of readdirSync(directory).filter((name) => name.endsWith(".json")).sort()) {
  const scenario = JSON.parse(readFileSync(new URL(file, directory), "utf8")) as Scenario;
  const exchange = { ...configs[scenario.config], ...scenario.exchange } as Exchange;
  Deno.test({
    name: `exchange scenario ${
      file.replace(/\.json$/, "")
    } (spec ${scenario.spec}): ${scenario.title}`,
    // A scenario carries `ignore` with the reason when the core does not implement it yet.
    ignore: scenario.ignore !== undefined,
    fn: async () => {
      const run = await replayScript({ exchange, batches: scenario.batches });
      assert.equal(run.code, 0, `taos replay failed:\n${run.stderr}`);
      compareEvents(run.events, scenario.events, exchange);
      compareFinal(run.final, scenario.final, exchange);
    },
  });
}
