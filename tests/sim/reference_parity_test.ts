/**
 * The reference simulator's own unit tests of decimal rounding and of the ALGO trader's volume
 * statistics, carried over to what does the same job here: the exchange's collateral rounding,
 * the scaling of decimal text to whole units, and the XML importer.
 */
import assert from "node:assert/strict";
import { Exchange, formatUnits, InstructionBatch, toUnits } from "../../native/exchange.ts";
import { importXmlConfig } from "../../sim/xml_config.ts";

const fixture = new URL("./fixtures/simulation_0.xml", import.meta.url);
const reference = () => Deno.readTextFileSync(fixture);

/**
 * The quote a leveraged sell at 1.00 of `collateral` base of its own (leverage 1: it trades twice
 * that) sets aside when the account holds `base` base: the shortfall valued at 1.00, which
 * the exchange rounds up to `quoteDecimals` (the reference's roundUp at the quote's decimals).
 */
function quoteDrawnForCollateral(
  collateral: string,
  base: string,
  baseDecimals: number,
  quoteDecimals: number,
): string {
  const exchange = Exchange.open({
    books: 1,
    agents: 1,
    priceDecimals: 2,
    volumeDecimals: baseDecimals,
    baseDecimals,
    quoteDecimals,
    initialBase: toUnits(base, baseDecimals),
    initialQuote: toUnits("1000000", quoteDecimals),
    feeTiers: [{ volumeRequired: 0n, makerE9: 0n, takerE9: 0n }],
    maxLeverageE9: 1_000_000_000n,
    maxLoan: toUnits("1000000", quoteDecimals),
    maintenanceMarginE9: 100_000_000n,
  });
  try {
    const batch = new InstructionBatch();
    batch.limit({
      agentId: 0,
      bookId: 0,
      direction: "sell",
      volume: toUnits(collateral, baseDecimals),
      price: 100n,
      leverageE9: 1_000_000_000n,
    });
    exchange.submit(1n, batch);
    assert.deepEqual(exchange.drainEvents().filter((e) => e.type === "rejected"), []);
    return formatUnits(exchange.balances(0, 0).quoteReserved, quoteDecimals);
  } finally {
    exchange.close();
  }
}

// reference decimal/DecimalTests.cpp RoundUpTest: roundUp(value, places) is the ceiling at
// `places`. The exchange rounds up only collateral drawn from the other currency, always a
// non-negative amount, so the negative case (-29358.2416619814 at 7 places) has no counterpart;
// every other case is a shortfall of that many base at 1.00 and quote of that many decimals.
Deno.test("collateral drawn in quote rounds up at the quote's decimals, as the reference's roundUp", () => {
  assert.equal(quoteDrawnForCollateral("42.32125839", "0", 8, 3), "42.322");
  assert.equal(quoteDrawnForCollateral("0.000051", "0", 6, 4), "0.0001");
  assert.equal(quoteDrawnForCollateral("420.6921", "0", 4, 2), "420.70");
  assert.equal(quoteDrawnForCollateral("10000.1", "0", 1, 0), "10001");
  // Nothing short (0 in the reference's case list): the base covers it and no quote is drawn.
  assert.equal(quoteDrawnForCollateral("5", "5", 4, 10), "0.0000000000");
  // A shortfall on the grid is not rounded further.
  assert.equal(quoteDrawnForCollateral("42.322", "0", 8, 3), "42.322");
});

// reference DecimalTests.cpp and decimal/DecimalTests.cpp PackUnpackTest: a decimal survives its
// storage form unchanged. Here amounts are whole units of their configured decimals; a value on
// that grid comes back exactly, and one finer than it (1.234567890123456e-42) is truncated to 0,
// where the reference's decimal64 keeps it.
Deno.test("decimal text scaled to whole units and printed again comes back unchanged", () => {
  for (const decimals of [4, 10, 12]) {
    for (const text of ["0", "1.337", "32.2", "-32.2", "42", "69420", "-69420"]) {
      const units = toUnits(text, decimals);
      assert.equal(Number(formatUnits(units, decimals)), Number(text), `${text} at ${decimals}`);
      assert.equal(toUnits(formatUnits(units, decimals), decimals), units);
    }
    assert.equal(toUnits("1.234567890123456e-42", decimals), 0n);
  }
});

// reference ALGOTraderTests.cpp (also agent/) ThrowsCorrectly: the rolling volume statistics
// refuse a period of 0, and the reference's ALGO trader builds them from volumeStatsPeriod, so a
// file with volumeStatsPeriod 0 or none does not start there. The statistics are never fed there
// (specification, simulation section 9, items 12 and 22), so the attribute is inert here and such
// a file runs as the production file does. The rolling sums of VolumeStatsTest (1, 13.75, 26.2)
// have no counterpart, for the same reason.
Deno.test("an ALGO volumeStatsPeriod of 0 or none, which the reference refuses, is inert", () => {
  const given = 'volumeStatsPeriod="120000000000"';
  assert.ok(reference().includes(given));
  const production = importXmlConfig(reference(), 1);
  for (const changed of ['volumeStatsPeriod="0"', ""]) {
    const { config, warnings } = importXmlConfig(reference().replace(given, changed), 1);
    assert.deepEqual(config, production.config);
    assert.deepEqual(warnings, production.warnings);
  }
});
