/**
 * Random instruction streams through the FFI batch path (seeded), checking after every batch what
 * must always hold: the core's own invariant check passes, no book is crossed, no balance is
 * negative, every account's reservations equal what its open orders hold, and base and quote
 * are conserved across all accounts (quote counting the fees the exchange collected; with
 * leverage, holdings are balances plus collateral less loans, and a loan written off in a margin
 * call is counted apart). Resets are left out: they restore initial balances, which is not a
 * conserving operation.
 */
import assert from "node:assert/strict";
import {
  Exchange,
  InstructionBatch,
  type SelfTradePrevention,
  toUnits,
} from "../../native/exchange.ts";
import { seededRandom } from "./seeded_random.ts";

const AGENTS = 6;
const BOOKS = 2;

for (
  const [seed, leveraged] of [[1, false], [2, false], [3, false], [4, true], [5, true]] as const
) {
  const kind = leveraged ? "leveraged " : "";
  Deno.test(`random ${kind}instruction stream (seed ${seed}): invariants hold after every batch`, () => {
    const rand = seededRandom(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)];
    const initialBase = toUnits("50", 4);
    const initialQuote = toUnits("20000", 8);
    const exchange = Exchange.open({
      books: BOOKS,
      agents: AGENTS,
      priceDecimals: 2,
      volumeDecimals: 4,
      baseDecimals: 4,
      quoteDecimals: 8,
      initialBase,
      initialQuote,
      maxLeverageE9: leveraged ? 3_000_000_000n : 0n,
      maxLoan: toUnits("50000", 8),
      maintenanceMarginE9: 100_000_000n,
      feeHistorySlots: 2,
      feeSlotPeriodNs: 50_000n,
      feeTiers: [
        { volumeRequired: 0n, makerE9: 1_000_000n, takerE9: 2_000_000n },
        { volumeRequired: toUnits("5000", 8), makerE9: -100_000n, takerE9: 1_000_000n },
      ],
    });
    const stps: SelfTradePrevention[] = ["NONE", "CO", "CN", "CB", "DC"];
    const tifs = ["GTC", "GTT", "IOC", "FOK"] as const;
    const batch = new InstructionBatch();
    // A third of a leveraged stream's placements borrow, up to 2x; some are out of bounds.
    const leverage = () =>
      leveraged && rand() < 0.33 ? BigInt(Math.floor(rand() * 3.5 * 1e9) - 0.2e9) : 0n;
    let trades = 0;
    let marginCalls = 0;
    // Leveraged orders sized in quote that were accepted, and the batch indexes of this batch's.
    let leveragedQuoteAccepted = 0;
    const leveragedQuote = new Set<number>();
    // Loans the exchange wrote off: the borrowers keep what they bought with them.
    let writtenOffBase = 0n;
    let writtenOffQuote = 0n;
    try {
      let center = 10_000;
      for (let step = 1; step <= 400; step++) {
        // Leveraged streams get price shocks, so that margin calls happen.
        if (leveraged && step % 40 === 0) {
          center = Math.max(
            3_000,
            center + pick([-3_000, 3_000, 0]),
          );
        }
        batch.clear();
        leveragedQuote.clear();
        for (let i = 0; i < 50; i++) {
          const agentId = rand() < 0.02 ? 99 : Math.floor(rand() * AGENTS);
          const bookId = rand() < 0.02 ? 7 : Math.floor(rand() * BOOKS);
          const direction = rand() < 0.5 ? "buy" as const : "sell" as const;
          const volume = rand() < 0.02 ? -1n : BigInt(1 + Math.floor(rand() * 40_000));
          const roll = rand();
          if (roll < 0.55) {
            const order = {
              agentId,
              bookId,
              direction,
              volume,
              price: rand() < 0.02 ? 0n : BigInt(center - 50 + Math.floor(rand() * 100)),
              currency: rand() < 0.1 ? "quote" as const : "base" as const,
              stp: pick(stps),
              timeInForce: pick(tifs),
              postOnly: rand() < 0.1,
              expiryNs: BigInt(Math.floor(rand() * 3_000)),
              leverageE9: leverage(),
            };
            if (order.currency === "quote" && order.leverageE9 > 0n) leveragedQuote.add(i);
            batch.limit(order);
          } else if (roll < 0.75) {
            const order = {
              agentId,
              bookId,
              direction,
              volume: rand() < 0.1 ? volume * 100n : volume,
              currency: rand() < 0.1 ? "quote" as const : "base" as const,
              stp: pick(stps),
              leverageE9: leverage(),
            };
            if (order.currency === "quote" && order.leverageE9 > 0n) leveragedQuote.add(i);
            batch.market(order);
          } else {
            batch.cancel({
              agentId,
              bookId,
              orderId: Math.floor(rand() * (step * 30 + 10)),
              volume: rand() < 0.4 ? BigInt(Math.floor(rand() * 20_000)) : null,
            });
          }
        }
        exchange.submit(BigInt(step) * 1_000n, batch);
        const events = exchange.drainEvents();
        trades += events.filter((e) => e.type === "trade").length;
        marginCalls += events.filter((e) => e.type === "marginCall").length;
        leveragedQuoteAccepted += events.filter((e) =>
          e.type === "accepted" && e.instruction !== null && leveragedQuote.has(e.instruction)
        ).length;
        for (const e of events) {
          if (e.type !== "loanSettled") {
            continue;
          }
          if (e.direction === "buy") {
            writtenOffQuote += e.amount;
          } else writtenOffBase += e.amount;
        }
        exchange.check();

        let base = 0n;
        let quote = 0n;
        for (let bookId = 0; bookId < BOOKS; bookId++) {
          const info = exchange.bookInfo(bookId);
          if (info.bestBid > 0n && info.bestAsk > 0n) {
            assert.ok(info.bestBid < info.bestAsk, `book ${bookId} crossed at step ${step}`);
          }
          quote += info.feesCollected;
          for (let agentId = 0; agentId < AGENTS; agentId++) {
            const b = exchange.balances(agentId, bookId);
            for (const [name, value] of Object.entries(b)) {
              assert.ok(value >= 0n, `agent ${agentId} book ${bookId} ${name} < 0 at ${step}`);
            }
            const orders = exchange.agentOrders(agentId, bookId);
            const reservedBase = orders.reduce((sum, o) =>
              sum + o.reservedBase, 0n);
            const reservedQuote = orders.reduce((sum, o) => sum + o.reservedQuote, 0n);
            assert.equal(b.baseReserved, reservedBase, `base reserved, agent ${agentId}`);
            assert.equal(b.quoteReserved, reservedQuote, `quote reserved, agent ${agentId}`);
            base += b.baseFree + b.baseReserved + b.baseCollateral - b.baseLoan;
            quote += b.quoteFree + b.quoteReserved + b.quoteCollateral - b.quoteLoan;
          }
        }
        assert.equal(
          base - writtenOffBase,
          initialBase * BigInt(AGENTS * BOOKS),
          `base not conserved at ${step}`,
        );
        assert.equal(
          quote - writtenOffQuote,
          initialQuote * BigInt(AGENTS * BOOKS),
          `quote (with fees collected) not conserved at ${step}`,
        );
      }
      assert.ok(trades > 1_000, `the stream should trade (got ${trades} trades)`);
      if (leveraged) {
        assert.ok(
          marginCalls > 0,
          "a leveraged stream with shocks should see margin calls",
        );
        assert.ok(
          leveragedQuoteAccepted > 0,
          "a leveraged stream should place leveraged orders sized in quote",
        );
      }
    } finally {
      exchange.close();
    }
  });
}
