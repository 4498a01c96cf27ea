/** `taos replay` as users run it: the bundled example, help, and clear errors for bad input. */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { parseReplayScript } from "../../sim/replay.ts";
import {
  mainPath,
  replayFile,
  type ReplayRun,
  replayScript,
  replayText,
  taosReplay,
} from "./replay_helpers.ts";

const example = fileURLToPath(new URL("../../sim/examples/replay_example.json", import.meta.url));

const minimal = {
  exchange: { agents: 2, balances: { base: "10", quote: "1000" } },
  batches: [{
    timestamp: 5,
    responses: [{
      agentId: 0,
      type: "PLACE_ORDER_LIMIT",
      payload: { direction: 0, volume: 1, price: 10.5, bookId: 0 },
    }],
  }],
};

/** Replays `responses` as the responses of one time on one book, `agents` agents holding 10 base
 * and 1000 quote each. */
function atOneTime(agents: number, responses: unknown[]) {
  return replayScript({
    exchange: { agents, balances: { base: "10", quote: "1000" } },
    batches: [{ timestamp: 5, responses }],
  });
}

/** Each event of `run` as its kind, its agent and its reject reason (null where it has none). */
function outcomesOf(run: ReplayRun) {
  return run.events.map((e) => [e.event, e.agentId ?? null, e.reason ?? null]);
}

Deno.test("taos replay runs the bundled example: every event line, then the final state", async () => {
  const run = await replayFile(example);
  assert.equal(run.code, 0, run.stderr);
  const trades = run.events.filter((e) => e.event === "trade");
  assert.equal(trades.length, 2);
  assert.deepEqual(
    [trades[0].price, trades[0].volume, trades[0].restingAgentId, trades[0].aggressingAgentId],
    ["100.50", "1.5000", 1, 2],
  );
  // quoteDecimals 8 in the example: fees and quote balances carry exactly 8 places.
  assert.equal(trades[0].takerFee, "0.30150000");
  assert.ok(run.events.some((e) => e.event === "cancel" && e.volume === "0.5000"));
  assert.ok(run.events.some((e) => e.event === "reject" && e.reason === "INSUFFICIENT_QUOTE"));
  assert.ok(run.final !== null);
  assert.deepEqual(run.final.books, [{
    bookId: 0,
    bids: [["99.00", "1.0000"]],
    asks: [["101.00", "1.0000"]],
  }]);
  const agent2 = run.final.accounts.find((a) => a.agentId === 2);
  assert.deepEqual(agent2?.quote, {
    free: "9699.24850000",
    reserved: "99.09900000",
    loan: "0.00000000",
    collateral: "0.00000000",
  });
});

Deno.test("reference defaults apply to what the script leaves out (2 decimals, zero fees)", async () => {
  const run = await replayScript(minimal);
  assert.equal(run.code, 0, run.stderr);
  const place = run.events.find((e) => e.event === "place");
  assert.equal(place?.price, "10.50");
  assert.equal(place?.volume, "1.00");
  assert.deepEqual(run.final?.accounts[0].quote, {
    free: "989.50",
    reserved: "10.50",
    loan: "0.00",
    collateral: "0.00",
  });
});

Deno.test("the final state shows each account's loans and collateral", async () => {
  // Agent 1 buys 1 with leverage 1: it trades 2, borrowing quote for the whole leveraged leg (200)
  // against 100 of its own quote as collateral (exchange specification, section 7.3).
  const run = await replayScript({
    exchange: {
      agents: 2,
      maxLeverage: 4,
      maxLoan: 10000,
      maintenanceMargin: 0.1,
      balances: { base: "10", quote: "1000" },
    },
    batches: [{
      timestamp: 5,
      responses: [
        {
          agentId: 0,
          type: "PLACE_ORDER_LIMIT",
          payload: { direction: 1, volume: 2, price: 100, bookId: 0 },
        },
        {
          agentId: 1,
          type: "PLACE_ORDER_LIMIT",
          payload: { direction: 0, volume: 1, price: 100, bookId: 0, leverage: 1 },
        },
      ],
    }],
  });
  assert.equal(run.code, 0, run.stderr);
  const [seller, buyer] = run.final?.accounts ?? [];
  assert.deepEqual(buyer.quote, {
    free: "900.00",
    reserved: "0.00",
    loan: "200.00",
    collateral: "100.00",
  });
  assert.deepEqual(buyer.base, {
    free: "12.00",
    reserved: "0.00",
    loan: "0.00",
    collateral: "0.00",
  });
  assert.deepEqual(seller.quote, {
    free: "1200.00",
    reserved: "0.00",
    loan: "0.00",
    collateral: "0.00",
  });
});

Deno.test("the final state shows each account's fee volume, tier and rates", async () => {
  // Exchange specification 9 #28: A buys 12 @ 100 at 1000 s, taking both A and C past the 1000
  // threshold at the 3600 s roll; A's second buy (1 @ 100 at 4000 s) pays the second tier's
  // rates. Just before the 7200 s roll A's published volume is 1200 + 100.
  const sell = { direction: 1, volume: 14, price: 100, bookId: 0 };
  const run = await replayScript({
    exchange: {
      quoteDecimals: 4,
      agents: 3,
      balances: { base: "100", quote: "10000" },
      feePolicy: {
        historySlots: 2,
        slotPeriod: 3_600_000_000_000,
        tiers: [
          { volumeRequired: "0", makerFee: "0.001", takerFee: "0.002" },
          { volumeRequired: "1000", makerFee: "0.0005", takerFee: "-0.001" },
        ],
      },
    },
    batches: [
      {
        timestamp: 1_000_000_000_000,
        responses: [
          { agentId: 2, type: "PLACE_ORDER_LIMIT", payload: sell },
          {
            agentId: 0,
            type: "PLACE_ORDER_MARKET",
            payload: { direction: 0, volume: 12, bookId: 0 },
          },
        ],
      },
      {
        timestamp: 4_000_000_000_000,
        responses: [
          {
            agentId: 0,
            type: "PLACE_ORDER_MARKET",
            payload: { direction: 0, volume: 1, bookId: 0 },
          },
        ],
      },
    ],
  });
  assert.equal(run.code, 0, run.stderr);
  const fees = (agentId: number) => run.final?.accounts.find((a) => a.agentId === agentId)?.fees;
  // Rates at the 9 decimals the core keeps them in.
  const second = { tier: 1, makerFeeRate: "0.000500000", takerFeeRate: "-0.001000000" };
  assert.deepEqual(fees(0), { volume: "1300.0000", ...second });
  assert.deepEqual(fees(2), { volume: "1300.0000", ...second });
  assert.deepEqual(fees(1), {
    volume: "0.0000",
    tier: 0,
    makerFeeRate: "0.001000000",
    takerFeeRate: "0.002000000",
  });
});

Deno.test("taos replay --help describes the script format and exits 0", async () => {
  const { code, stdout: text } = await taosReplay(["--help"]);
  assert.equal(code, 0);
  assert.match(text, /Usage: taos replay/);
  assert.match(text, /PLACE_ORDER_LIMIT/);
});

Deno.test("a missing script file exits 2 naming the file", async () => {
  const run = await replayFile("/nonexistent/script.json");
  assert.equal(run.code, 2);
  assert.match(run.stderr, /cannot read \/nonexistent\/script\.json/);
  assert.equal(run.stdout, "");
});

Deno.test("no script, or two, exits 2 asking for exactly one", async () => {
  for (const args of [[], ["a.json", "b.json"]]) {
    const output = await taosReplay(args);
    assert.equal(output.code, 2, args.join(" "));
    assert.equal(
      output.stderr,
      "taos replay: expected exactly one script file (see taos replay --help)\n",
    );
    assert.equal(output.stdout.length, 0);
  }
});

Deno.test("an empty script path exits 2 saying so", async () => {
  // Said as such, not as a file of no name that cannot be read
  // (`cannot read : No such file or directory`).
  const run = await replayFile("");
  assert.equal(run.code, 2);
  assert.equal(
    run.stderr,
    "taos replay: <script.json>: must not be empty (- reads standard input)\n",
  );
});

Deno.test("a script that is not JSON exits 2", async () => {
  const run = await replayText("{not json");
  assert.equal(run.code, 2);
  assert.match(run.stderr, /not valid JSON/);
});

Deno.test("a script with a trailing comma exits 2 with one line placing it", async () => {
  const run = await replayText(
    '{"exchange": {},\n "batches": [\n  {"timestamp": 1, "responses": []},\n]}',
  );
  assert.equal(run.code, 2);
  assert.match(
    run.stderr,
    /^taos replay: \S+\.json is not valid JSON: Unexpected token '\]' in JSON at position 68 \(line 4 column 1\)\n$/,
  );
});

Deno.test("a key given twice in one object exits 2 naming it, and runs nothing", async () => {
  // An error, not settled in silence by the last one (here a volume of 5).
  const run = await replayText(
    '{"exchange": {"books": 1}, "batches": [{"timestamp": 1, "responses": [{"agentId": 0, ' +
      '"delay": 0, "type": "PLACE_ORDER_LIMIT", "payload": {"direction": 1, "volume": 1, ' +
      '"volume": 5, "price": 101, "bookId": 0}}]}]}',
  );
  assert.equal(run.code, 2);
  assert.match(run.stderr, /: batches\.0\.responses\.0\.payload\.volume: key given twice$/m);
  assert.equal(run.stdout, "");
});

Deno.test("a key given twice deep in nested data names a shortened path", async () => {
  const depth = 10_000;
  const run = await replayText(
    `{"exchange": {}, "batches": [], "x": ${"[".repeat(depth)}{"a": 1, "a": 2}${
      "]".repeat(depth)
    }}`,
  );
  assert.equal(run.code, 2);
  // Shortened: the line does not hold all 10 000 segments.
  assert.match(
    run.stderr,
    /: x\.0\.0\.0\.0\.0\.\(9990 more\)\.0\.0\.0\.0\.0\.a: key given twice$/m,
  );
});

Deno.test("an exchange quantity that is not a number gets one error line", async () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ balances: { base: "NaN", quote: "1" } }, "exchange.balances.base"],
    [{ maxLeverage: "abc" }, "exchange.maxLeverage"],
    [{ maxLeverage: "1e400" }, "exchange.maxLeverage"],
  ];
  for (const [exchange, field] of cases) {
    const run = await replayScript({ exchange, batches: [] });
    assert.equal(run.code, 2, field);
    // One line: no "is too large" (and for the leverage its bound) after it, about the same value.
    const lines = run.stderr.trim().split("\n").filter((line) => line.startsWith("  "));
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0], new RegExp(`^  ${field.replaceAll(".", "\\.")}: `));
  }
});

Deno.test("the maintenance margin is checked against the leverage the core takes", async () => {
  /** Asserts that a script of no batches and these two is taken, or refused over the margin. */
  const assertMargin = async (
    maxLeverage: string,
    maintenanceMargin: string,
    taken: boolean,
  ) => {
    const run = await replayScript({ exchange: { maxLeverage, maintenanceMargin }, batches: [] });
    assert.equal(run.code, taken ? 0 : 2, run.stderr);
    if (!taken) {
      assert.match(
        run.stderr,
        /exchange\.maintenanceMargin: must be <= 1\/\(2\(1\+maxLeverage\)\)/,
      );
    }
  };
  // 4.0000000001 is 4 at the core's 9 decimals, for which 0.1 = 1/(2(1+4)) is allowed.
  await assertMargin("4.0000000001", "0.1", true);
  await assertMargin("4.0000000001", "0.1001", false);
  // The margin is read to 9 decimals too: 0.1000000001 is 0.1.
  await assertMargin("4", "0.1000000001", true);
  // Over the bound by 1e-18 (560811 x 891565964291 = 5e17 + 1): named as the script's field, not
  // refused later by the core under its own.
  await assertMargin("890.565964291", "0.000560811", false);
});

Deno.test("a malformed script exits 2, naming each offending field, and prints no event", async () => {
  const cases: [unknown, RegExp][] = [
    [{ batches: [] }, /exchange: required/],
    [
      { exchange: { priceDecimals: 1 }, batches: [] },
      /exchange\.priceDecimals: must be at least 2/,
    ],
    [{ exchange: { books: "two" }, batches: [] }, /exchange\.books: .*expected number/],
    // Checks across fields wait for valid fields: 2.5 agents once crashed the balance check.
    [{ exchange: { agents: 2.5 }, batches: [] }, /exchange\.agents: .*expected int/],
    [{ exchange: {}, batches: {} }, /batches: .*expected array/],
    [{ exchange: {} }, /batches: required/],
    [{ exchange: {}, batches: [7] }, /batches\.0: .*expected object/],
    [{ exchange: {}, batches: [{ responses: [] }] }, /batches\.0\.timestamp: required/],
    [
      { exchange: {}, batches: [{ timestamp: 1, responses: {} }] },
      /batches\.0\.responses: .*array/,
    ],
    [{ exchange: {}, batches: [{ timestamp: 1, reponses: [] }] }, /batches\.0: .*"reponses"/],
    // The delay is the validator's, not the agent's: without it the response has no time.
    [
      {
        exchange: {},
        batches: [{
          timestamp: 1,
          responses: [{ ...minimal.batches[0].responses[0], delay: "soon" }],
        }],
      },
      /batches\.0\.responses\.0\.delay: .*expected number/,
    ],
    [[], /\(script\): .*expected object/],
  ];
  for (const [script, message] of cases) {
    const run = await replayScript(script);
    const where = JSON.stringify(script);
    assert.equal(run.code, 2, where);
    assert.match(run.stderr, message, where);
    assert.equal(run.stdout, "", where);
  }
});

/** Agent `agentId`'s limit order on book 0, with `extra` payload fields. */
function limitOrder(agentId: number, direction: number, volume: number, price: number, extra = {}) {
  return {
    agentId,
    type: "PLACE_ORDER_LIMIT",
    payload: { direction, volume, price, bookId: 0, ...extra },
  };
}

/** A response of agent 0 whose payload is `payload` over a valid limit buy's. */
function limitWith(payload: Record<string, unknown>, type = "PLACE_ORDER_LIMIT"): unknown {
  return {
    agentId: 0,
    type,
    payload: { direction: 0, volume: 1, price: 10, bookId: 0, clientOrderId: 3, ...payload },
  };
}

Deno.test("garbage in a response rejects that instruction alone, naming the field and the problem", async () => {
  const garbage: [unknown, string, RegExp][] = [
    [limitWith({ direction: 5 }), "payload.direction", /must be 0 \(buy\) or 1 \(sell\), got 5/],
    // One past the last name, where a bound of <= instead of < would let it through.
    [
      limitWith({ timeInForce: 4 }),
      "payload.timeInForce",
      /expected 0\.\.3 or one of GTC, GTT, IOC, FOK, got 4/,
    ],
    [limitWith({ timeInForce: "DAY" }), "payload.timeInForce", /got "DAY"/],
    [
      limitWith({ stpFlag: "XX" }),
      "payload.stpFlag",
      /expected 0\.\.4 or one of NONE, CO, CN, CB, DC, got "XX"/,
    ],
    [
      limitWith({ currency: 2 }),
      "payload.currency",
      /expected 0\.\.1 or one of BASE, QUOTE, got 2/,
    ],
    [limitWith({ postOnly: "yes" }), "payload.postOnly", /expected boolean, received string/],
    [
      limitWith({ volume: true }),
      "payload.volume",
      /must be a finite decimal number or string like "12\.5", got true/,
    ],
    [limitWith({ price: undefined }), "payload.price", /^required$/],
    [limitWith({ bookId: "0" }), "payload.bookId", /expected number, received string/],
    [limitWith({ pirce: 10 }), "payload.pirce", /^unknown field$/],
    [
      limitWith({}, "PLACE_ORDER_STOP"),
      "type",
      /must be one of PLACE_ORDER_LIMIT, PLACE_ORDER_MARKET, CANCEL_ORDERS, RESET_AGENT, got "PLACE_ORDER_STOP"/,
    ],
    [
      { agentId: 0, type: "PLACE_ORDER_MARKET", payload: [] },
      "payload",
      /expected object, received array/,
    ],
    [{ ...(limitWith({}) as object), agentId: 1.5 }, "agentId", /expected int/],
    ["BUY", "(response)", /expected object, received string/],
  ];
  const seller = {
    agentId: 1,
    type: "PLACE_ORDER_LIMIT",
    payload: { direction: 1, volume: 2, price: 10, bookId: 0 },
  };
  const buyer = limitWith({ volume: 2 });
  const run = await atOneTime(2, [seller, ...garbage.map(([response]) => response), buyer]);
  assert.equal(run.code, 0, run.stderr);
  // In script order: the seller rests, each piece of garbage is refused, the buyer trades.
  assert.deepEqual(run.events.map((e) => e.event), [
    "place",
    "accepted",
    ...garbage.map(() => "reject"),
    "trade",
    "accepted",
  ]);
  garbage.forEach(([, field, problem], i) => {
    const reject = run.events[2 + i];
    assert.equal(reject.reason, "INVALID_INSTRUCTION", field);
    assert.equal(reject.field, field);
    assert.match(String(reject.problem), problem, field);
    assert.equal(reject.timestamp, 5);
  });
  // What could be read of the garbage names it, as in every reject line.
  const first = run.events[2];
  assert.deepEqual(
    [first.type, first.agentId, first.bookId, first.clientOrderId, first.orderId],
    ["PLACE_ORDER_LIMIT", 0, 0, 3, null],
  );
  assert.equal(run.events.at(-4)?.agentId, null, "agentId 1.5 is not shown as an id");
  assert.equal(run.events.at(-3)?.type, null, "a response that is not an object has no type");
  // The trade's order is the second one accepted: no garbage consumed an order id.
  assert.equal(run.events.at(-1)?.orderId, 1);
  assert.deepEqual(run.final?.accounts.map((a) => [a.base.free, a.quote.free]), [
    ["12.00", "980.00"],
    ["8.00", "1020.00"],
  ]);
});

Deno.test("a garbage cancellation or reset entry is refused alone; its siblings run", async () => {
  const run = await atOneTime(2, [
    limitWith({ volume: 2 }),
    {
      agentId: 0,
      type: "CANCEL_ORDERS",
      payload: {
        bookId: 0,
        cancellations: [{ orderId: "0" }, { orderId: 0, volume: 0.5 }, 3, {
          orderId: 0,
          volume: [],
        }],
      },
    },
    { agentId: 0, type: "RESET_AGENT", payload: { agentIds: ["one", 1] } },
  ]);
  assert.equal(run.code, 0, run.stderr);
  const lines = run.events.map((e) =>
    e.event === "reject" ? `reject ${e.type} ${e.orderId} ${e.field}: ${e.problem}` : e.event
  );
  assert.deepEqual(lines, [
    "place",
    "accepted",
    "reject CANCEL_ORDERS null payload.cancellations.0.orderId: " +
    "Invalid input: expected number, received string",
    "cancel",
    "reject CANCEL_ORDERS null payload.cancellations.2: Invalid input: expected object, received number",
    "reject CANCEL_ORDERS 0 payload.cancellations.3.volume: " +
    'must be a finite decimal number or string like "12.5", got []',
    "reject RESET_AGENT null payload.agentIds.0: Invalid input: expected number, received string",
    "reset",
  ]);
  assert.equal(run.events.find((e) => e.event === "cancel")?.volume, "0.50");
  assert.deepEqual(run.final?.books[0].bids, [["10.00", "1.50"]]);
});

Deno.test('a placement quantity past double range is rejected as "Infinity" is; a huge value is quoted cut short', async () => {
  const huge = "[".repeat(10_000) + "]".repeat(10_000);
  // Four responses: volume 1e309, volume "Infinity", price -1e309, and a price of deep brackets.
  const script = JSON.parse(JSON.stringify(minimal));
  const response = script.batches[0].responses[0];
  script.batches[0].responses.push(
    { ...response, payload: { ...response.payload, volume: "Infinity" } },
    { ...response, payload: { ...response.payload, price: 7 } },
    { ...response, payload: { ...response.payload, price: 0 } },
  );
  const raw = JSON.stringify(script)
    .replace('"volume":1,', '"volume":1e309,')
    .replace('"price":7', '"price":-1e309')
    .replace('"price":0', `"price":${huge}`);
  const run = await replayText(raw);
  assert.equal(run.code, 0, run.stderr);
  const rejects = run.events.filter((e) => e.event === "reject");
  assert.deepEqual(rejects.map((e) => e.reason), [
    "INVALID_VOLUME",
    "INVALID_VOLUME",
    "INVALID_PRICE",
    "INVALID_INSTRUCTION",
  ]);
  const problem = String(rejects[3].problem);
  // The value is cut to its first 40 characters (40 brackets), then how many more it had: its
  // JSON is the 20,000 brackets written, so exactly 19,960 more.
  assert.match(problem, /, got \[{40}… \(19960 more characters\)$/);
  // In the exchange, where no garbage is admitted, the number is quoted as JSON read it.
  const exchange = JSON.stringify({ ...minimal, exchange: { balances: { base: 7, quote: 1 } } })
    .replace('"base":7', '"base":1e309');
  const refused = await replayText(exchange);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /exchange\.balances\.base: .*got Infinity/);
});

Deno.test("decreasing batch timestamps are rejected", async () => {
  const run = await replayScript({
    exchange: {},
    batches: [{ timestamp: 10, responses: [] }, { timestamp: 9, responses: [] }],
  });
  assert.equal(run.code, 2);
  assert.match(
    run.stderr,
    /batches\.1\.timestamp: 9 is before batch 0's 10: batch timestamps must not decrease/,
  );
});

Deno.test("the reference's remoteAgentCount stands for agents", async () => {
  let run = await replayScript({ exchange: { remoteAgentCount: 3 }, batches: [] });
  assert.equal(run.code, 0, run.stderr);
  const final = JSON.parse(run.stdout.trim().split("\n").at(-1)!).final;
  assert.deepEqual(final.accounts.map((a: { agentId: number }) => a.agentId), [0, 1, 2]);
  run = await replayScript({ exchange: { remoteAgentCount: 3, agents: 2 }, batches: [] });
  assert.equal(run.code, 2);
  assert.match(run.stderr, /exchange\.remoteAgentCount: 3 contradicts agents 2/);
});

Deno.test("fee attributes on the exchange that contradict feePolicy, and tiers equal once scaled, are named", async () => {
  let run = await replayScript({
    exchange: { historySlots: 3, feePolicy: { historySlots: 4 } },
    batches: [],
  });
  assert.equal(run.code, 2);
  assert.match(run.stderr, /exchange\.historySlots: 3 contradicts feePolicy\.historySlots 4/);
  const tier = (volumeRequired: string) => ({ volumeRequired, makerFee: "0", takerFee: "0" });
  run = await replayScript({
    exchange: { quoteDecimals: 2, feePolicy: { tiers: [tier("0.001"), tier("0")] } },
    batches: [],
  });
  assert.equal(run.code, 2);
  assert.match(
    run.stderr,
    /exchange\.feePolicy\.tiers\.1\.volumeRequired: equals tier 0's \(0 units at quoteDecimals 2\)/,
  );
});

Deno.test("a timestamp + delay beyond 2^53 ns is rejected: the sum would not be exact", async () => {
  const late = structuredClone(minimal);
  late.batches[0].timestamp = Number.MAX_SAFE_INTEGER - 1;
  (late.batches[0].responses[0] as Record<string, unknown>).delay = 2;
  const run = await replayScript(late);
  assert.equal(run.code, 2);
  assert.match(
    run.stderr,
    /batches\.0\.responses\.0\.delay: timestamp \+ delay must stay within 2\^53 - 1 ns/,
  );
});

Deno.test("a leverage past the core's 1000 is refused by field path", async () => {
  const run = await replayScript({ exchange: { maxLeverage: "2000" }, batches: [] });
  assert.equal(run.code, 2);
  assert.match(run.stderr, /exchange\.maxLeverage: must be at most 1000 \(the core's largest/);
  // The largest is taken, digits past the core's 9 decimals truncated as the core does.
  const largest = await replayScript({ exchange: { maxLeverage: "1000.0000000009" }, batches: [] });
  assert.equal(largest.code, 0, largest.stderr);
  const past = await replayScript({ exchange: { maxLeverage: "1000.000000001" }, batches: [] });
  assert.match(past.stderr, /exchange\.maxLeverage: must be at most 1000 /);
});

Deno.test("a leverage past maxLeverage or below 0 by less than 10^-9 is rejected, not truncated into range", async () => {
  const run = await replayScript({
    exchange: {
      agents: 1,
      maxLeverage: "4",
      maxLoan: "100000",
      balances: { base: "10", quote: "1000" },
    },
    batches: [{
      timestamp: 5,
      responses: [
        "4.0000000001",
        "-0.0000000001",
        "4e-10",
        4.0000000001,
        "3.9999999999",
        // 4.0000000001 written with an exponent: the digit past 10^-9 is found all the same.
        "40000000001e-10",
      ].map((leverage) => limitWith({ leverage, clientOrderId: null })),
    }],
  });
  assert.equal(run.code, 0, run.stderr);
  const outcomes = run.stdout.trim().split("\n").map((line) => JSON.parse(line))
    .filter((e) => e.event === "reject" || e.event === "accepted")
    .map((e) => e.event === "reject" ? e.reason : "accepted");
  // 4e-10 and 3.9999999999 lie within [0, 4]: accepted at their leverage truncated.
  assert.deepEqual(outcomes, [
    "INVALID_LEVERAGE",
    "INVALID_LEVERAGE",
    "accepted",
    "INVALID_LEVERAGE",
    "accepted",
    "INVALID_LEVERAGE",
  ]);
  // A maxLeverage with digits past 10^-9 is truncated too: a leverage within it, truncated to the
  // same unit, is accepted.
  const finer = await replayScript({
    exchange: {
      agents: 1,
      maxLeverage: "4.00000000005",
      maxLoan: "100000",
      balances: { base: "10", quote: "1000" },
    },
    batches: [{
      timestamp: 5,
      responses: [limitWith({ leverage: "4.00000000001", clientOrderId: null })],
    }],
  });
  assert.equal(finer.code, 0, finer.stderr);
  assert.deepEqual(
    finer.stdout.trim().split("\n").map((line) => JSON.parse(line).event)
      .filter((event) => event === "reject" || event === "accepted"),
    ["accepted"],
  );
});

Deno.test("extra arguments are a usage error", async () => {
  const run = await replayFile(example, ["--bogus"]);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /taos replay: /);
});

Deno.test("historySlots and slotPeriod given on the exchange drive the fee tiers", async () => {
  const order = (agentId: number, direction: number) => ({
    agentId,
    type: "PLACE_ORDER_LIMIT",
    payload: { direction, volume: 2, price: 100, bookId: 0 },
  });
  const run = await replayScript({
    exchange: {
      agents: 2,
      balances: { base: "100", quote: "10000" },
      historySlots: 1,
      slotPeriod: 1000,
      feePolicy: {
        tiers: [
          { volumeRequired: "0", makerFee: "0.01", takerFee: "0.02" },
          { volumeRequired: "100", makerFee: "0", takerFee: "0" },
        ],
      },
    },
    batches: [
      { timestamp: 1, responses: [order(0, 1), order(1, 0)] },
      { timestamp: 1500, responses: [order(0, 1), order(1, 0)] },
    ],
  });
  assert.equal(run.code, 0, run.stderr);
  const fees = run.events.filter((e) => e.event === "trade").map((e) => [e.makerFee, e.takerFee]);
  // 200 quote traded in the first slot lifts both agents to the zero-fee tier at t = 1000.
  assert.deepEqual(fees, [["2.00", "4.00"], ["0.00", "0.00"]]);
});

Deno.test("balances the core cannot keep within 2^62 units per book are a schema error", async () => {
  const run = await replayScript({
    exchange: { agents: 2, balances: { base: "1000000", quote: "90000000000000000" } },
    batches: [],
  });
  assert.equal(run.code, 2);
  assert.match(
    run.stderr,
    /exchange\.balances\.quote: 2 accounts of 90000000000000000 exceed the 2\^62 units of quote/,
  );
  const huge = await replayScript({ exchange: { books: 4096, agents: 800 }, batches: [] });
  assert.equal(huge.code, 2);
  assert.match(huge.stderr, /exchange\.agents: books x agents must be at most 1000000/);
  assert.doesNotMatch(huge.stderr, /Uncaught/);
});

Deno.test("clock events carry their own time and name their cause; a reset line has a null bookId", async () => {
  const gtt = await replayScript({
    exchange: { agents: 1, balances: { base: "0", quote: "1000" } },
    batches: [
      {
        timestamp: 10e9,
        responses: [limitOrder(0, 0, 1, 99, { timeInForce: "GTT", expiryPeriod: 60e9 })],
      },
      {
        timestamp: 100e9,
        responses: [{ agentId: 0, type: "RESET_AGENT", payload: { agentIds: [0] } }],
      },
    ],
  });
  assert.equal(gtt.code, 0, gtt.stderr);
  const expired = gtt.events.find((e) => e.event === "expire");
  assert.equal(expired?.timestamp, 70e9, "at placement + expiryPeriod, not at the next batch");
  const reset = gtt.events.find((e) => e.event === "reset");
  assert.ok(reset !== undefined && "bookId" in reset && reset.bookId === null);

  // A long position falls through its margin-call price; the liquidation's first order (selling
  // the loan's quote worth) is refused for want of base, and says so.
  const call = await replayScript({
    exchange: {
      volumeDecimals: 4,
      baseDecimals: 4,
      quoteDecimals: 10,
      maxLeverage: "4",
      maxLoan: "10000",
      maintenanceMargin: "0.1",
      agents: 3,
      balances: { base: "100", quote: "10000" },
    },
    batches: [
      {
        timestamp: 1e9,
        responses: [
          limitOrder(2, 1, 10, 100),
          limitOrder(0, 0, 2, 100, { leverage: 1 }),
          limitOrder(2, 0, 110, 1),
        ],
      },
      { timestamp: 2e9, responses: [] },
    ],
  });
  assert.equal(call.code, 0, call.stderr);
  const refused = call.events.find((e) => e.event === "reject" && e.timestamp === 2e9);
  assert.equal(refused?.type, "PLACE_ORDER_MARKET");
  assert.equal(refused?.cause, "margin_call");
  assert.equal(refused?.reason, "INSUFFICIENT_BASE");
});

Deno.test("a cancel of more than int64 can hold cancels the whole order", async () => {
  const run = await replayScript({
    exchange: { agents: 1, balances: { base: "10", quote: "1000" } },
    batches: [{
      timestamp: 1,
      responses: [
        {
          agentId: 0,
          type: "PLACE_ORDER_LIMIT",
          payload: { direction: 0, volume: 2, price: 10, bookId: 0 },
        },
        {
          agentId: 0,
          type: "CANCEL_ORDERS",
          payload: { bookId: 0, cancellations: [{ orderId: 0, volume: "1e15" }] },
        },
      ],
    }],
  });
  assert.equal(run.code, 0, run.stderr);
  const cancel = run.events.find((e) => e.event === "cancel");
  assert.equal(cancel?.volume, "2.00");
  assert.deepEqual(run.final?.books[0].bids, []);
});

Deno.test("a cancel volume past double range written as a number cancels all, as the same decimal as a string does", async () => {
  // Four resting buys; cancels of 1e400 as a number, -1e400 as a number, "Infinity" and 1e400
  // as a string.
  const place = (price: number) => ({
    agentId: 0,
    type: "PLACE_ORDER_LIMIT",
    payload: { direction: 0, volume: 2, price, bookId: 0 },
  });
  const cancel = (orderId: number, volume: unknown) => ({
    agentId: 0,
    type: "CANCEL_ORDERS",
    payload: { bookId: 0, cancellations: [{ orderId, volume }] },
  });
  const script = {
    exchange: { agents: 1, balances: { base: "10", quote: "1000" } },
    batches: [{
      timestamp: 1,
      responses: [
        place(10),
        place(11),
        place(12),
        place(13),
        cancel(0, 7),
        cancel(1, 8),
        cancel(2, "Infinity"),
        cancel(3, "1e400"),
      ],
    }],
  };
  const raw = JSON.stringify(script).replace('"volume":7', '"volume":1e400')
    .replace('"volume":8', '"volume":-1e400');
  const run = await replayText(raw);
  assert.equal(run.code, 0, run.stderr);
  const cancels = run.events.filter((e) => e.event === "cancel");
  assert.deepEqual(cancels.map((e) => [e.orderId, e.volume]), [[0, "2.00"], [3, "2.00"]]);
  const rejects = run.events.filter((e) => e.event === "reject");
  assert.deepEqual(rejects.map((e) => e.reason), ["INVALID_VOLUME", "INVALID_VOLUME"]);
  assert.deepEqual(run.final?.books[0].bids, [["12.00", "2.00"], ["11.00", "2.00"]]);
});

Deno.test("a script with a byte-order mark reads; endless standard input is cut off with a message", async () => {
  const bom = await replayText(`\uFEFF${JSON.stringify(minimal)}`);
  assert.equal(bom.code, 0, bom.stderr);
  const endless = await new Deno.Command("sh", {
    args: ["-c", `"$0" run -A "$1" replay - < /dev/zero`, Deno.execPath(), mainPath],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(endless.code, 2);
  assert.match(
    new TextDecoder().decode(endless.stderr),
    /cannot read standard input: more than 512 MiB/,
  );
  // A device named as the script is read through the same cap (it has no size to check first).
  const device = await replayFile("/dev/zero");
  assert.equal(device.code, 2);
  assert.match(device.stderr, /cannot read \/dev\/zero: more than 512 MiB/);
});

Deno.test("a script in UTF-16 or with bytes that are not UTF-8 is refused as such, and runs nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const text = JSON.stringify(minimal);
    const little = [..."\uFEFF" + text].flatMap((
      c,
    ) => [c.charCodeAt(0) & 0xFF, c.charCodeAt(0) >> 8]);
    const big = [..."\uFEFF" + text].flatMap((c) => [c.charCodeAt(0) >> 8, c.charCodeAt(0) & 0xFF]);
    // A Latin-1 é in a response's type, which would otherwise be read as U+FFFD.
    const latin1 = [...new TextEncoder().encode(text.replace("LIMIT", "LIMIT\u0000"))]
      .map((byte) => byte === 0 ? 0xE9 : byte);
    for (
      const [name, bytes, problem] of [
        ["utf16le.json", little, "UTF-16 text; save it as UTF-8"],
        ["utf16be.json", big, "UTF-16 text; save it as UTF-8"],
        ["latin1.json", latin1, "not UTF-8 text"],
      ] as const
    ) {
      const path = `${dir}/${name}`;
      Deno.writeFileSync(path, new Uint8Array(bytes));
      const run = await replayFile(path);
      assert.equal(run.code, 2, name);
      assert.equal(run.stdout, "", name);
      assert.equal(run.stderr, `taos replay: cannot read ${path}: ${problem}\n`);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("fee tiers beyond the core's 16 or a double are refused", async () => {
  const tier = (volumeRequired: string) => ({ volumeRequired, makerFee: "0", takerFee: "0" });
  let run = await replayScript({
    exchange: { feePolicy: { tiers: Array.from({ length: 17 }, (_, i) => tier(String(i))) } },
    batches: [],
  });
  assert.equal(run.code, 2);
  assert.match(run.stderr, /exchange\.feePolicy\.tiers: at most 16 tiers/);
  run = await replayScript({
    exchange: { feePolicy: { tiers: [tier("0"), tier("1e400")] } },
    batches: [],
  });
  assert.equal(run.code, 2);
  assert.match(run.stderr, /exchange\.feePolicy\.tiers\.1\.volumeRequired: is too large/);
});

Deno.test("fee tiers listed out of order are ordered by their exact thresholds and named by their place in the script", async () => {
  const tier = (volumeRequired: string, takerFee = "0") => ({
    volumeRequired,
    makerFee: "0",
    takerFee,
  });
  // Past 2^53 the two thresholds are one double apart: only their decimal text tells them apart.
  let run = await replayScript({
    exchange: {
      agents: 2,
      balances: { base: "10", quote: "1000" },
      feePolicy: {
        tiers: [
          tier("0", "0.01"),
          tier("9007199254740993", "0.03"),
          tier("9007199254740992", "0.02"),
        ],
      },
    },
    batches: [{
      timestamp: 1,
      responses: [
        {
          agentId: 0,
          type: "PLACE_ORDER_LIMIT",
          payload: { direction: 1, volume: 1, price: 10, bookId: 0 },
        },
        { agentId: 1, type: "PLACE_ORDER_MARKET", payload: { direction: 0, volume: 1, bookId: 0 } },
      ],
    }],
  });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.events.find((e) => e.event === "trade")?.takerFee, "0.10");
  run = await replayScript({
    exchange: { feePolicy: { tiers: [tier("1e300"), tier("0")] } },
    batches: [],
  });
  assert.equal(run.code, 2);
  assert.match(run.stderr, /exchange\.feePolicy\.tiers\.0\.volumeRequired: out of range/);
});

Deno.test("a reader that goes away early (`taos replay x.json | head -1`) ends the run quietly", async () => {
  // 4000 resting orders: about 8000 event lines, over a megabyte, written in 64 KiB chunks.
  const responses = Array.from({ length: 4000 }, (_, i) => ({
    agentId: i % 2,
    type: "PLACE_ORDER_LIMIT",
    payload: { direction: i % 2, volume: 0.01, price: i % 2 === 0 ? 10 : 20, bookId: 0 },
  }));
  const path = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(
      path,
      JSON.stringify({
        exchange: { agents: 2, balances: { base: "100", quote: "10000" } },
        batches: [{ timestamp: 1, responses }],
      }),
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", mainPath, "replay", path],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.getReader();
    const first = await reader.read();
    assert.ok(first.value !== undefined && first.value.length > 0);
    await reader.cancel();
    const [status, stderr] = await Promise.all([
      child.status,
      new Response(child.stderr).text(),
    ]);
    assert.equal(status.code, 0, stderr);
    assert.equal(stderr, "");
  } finally {
    await Deno.remove(path);
  }
});

/**
 * Two accounts holding 2^61 units of each asset: the book is at its 2^62 bound, so once agent 0
 * has sold a unit of base (at timestamp 1), giving it back by a reset is refused (HOLDINGS_LIMIT).
 * `batches` follow that sale.
 */
function atHoldingsBound(batches: unknown[]) {
  return replayScript({
    exchange: {
      agents: 2,
      balances: { base: "23058430092136939.52", quote: "23058430092136939.52" },
    },
    batches: [
      {
        timestamp: 1,
        responses: [
          {
            agentId: 0,
            type: "PLACE_ORDER_LIMIT",
            payload: { direction: 1, volume: 1, price: 1, bookId: 0 },
          },
          {
            agentId: 1,
            type: "PLACE_ORDER_MARKET",
            payload: { direction: 0, volume: 1, bookId: 0 },
          },
        ],
      },
      ...batches,
    ],
  });
}

Deno.test("a reset the exchange refuses drops none of the agent's responses on their way", async () => {
  const limit = (agentId: number, clientOrderId: number) => ({
    agentId,
    delay: 5,
    type: "PLACE_ORDER_LIMIT",
    payload: { direction: 0, volume: "0.5", price: "0.5", bookId: 0, clientOrderId },
  });
  const reset = (agentIds: number[]) => ({
    agentId: 1,
    type: "RESET_AGENT",
    payload: { agentIds },
  });
  const run = await atHoldingsBound([
    { timestamp: 2, responses: [limit(0, 7), limit(5, 8)] },
    { timestamp: 3, responses: [reset([0, 5])] },
  ]);
  assert.equal(run.code, 0, run.stderr);
  const outcomes = run.events.filter((e) => e.timestamp !== 1)
    .map((e) => [e.event, e.type ?? null, e.agentId, e.clientOrderId ?? null, e.reason ?? null]);
  assert.deepEqual(outcomes, [
    ["reject", "RESET_AGENT", 0, null, "HOLDINGS_LIMIT"],
    ["reject", "RESET_AGENT", 5, null, "NONEXISTENT_ACCOUNT"],
    ["place", null, 0, 7, null],
    ["accepted", null, 0, 7, null],
    ["reject", "PLACE_ORDER_LIMIT", 5, 8, "NONEXISTENT_ACCOUNT"],
  ]);
});

Deno.test("a reset refused for holdings drops none of the agent's responses later at that time", async () => {
  // Agent 0's reset is refused, so its order sent at that time and processed after the reset goes
  // through.
  const run = await atHoldingsBound([
    {
      timestamp: 3,
      responses: [
        { agentId: 1, type: "RESET_AGENT", payload: { agentIds: [0] } },
        {
          agentId: 0,
          type: "PLACE_ORDER_LIMIT",
          payload: { direction: 0, volume: "0.5", price: "0.5", bookId: 0, clientOrderId: 7 },
        },
      ],
    },
  ]);
  assert.equal(run.code, 0, run.stderr);
  const outcomes = run.events.filter((e) => e.timestamp !== 1)
    .map((e) => [e.timestamp, e.event, e.type ?? null, e.agentId, e.clientOrderId ?? null]);
  assert.deepEqual(outcomes, [
    [3, "reject", "RESET_AGENT", 0, null],
    [3, "place", null, 0, 7],
    [3, "accepted", null, 0, 7],
  ]);
});

Deno.test("two resets of an agent refused for holdings at one time drop none of its responses then or later", async () => {
  // The second reset must not take the first one's time as the agent's reset before the call:
  // both are refused, so the agent's order sent at that time runs, and so does the one on its way.
  const reset = { agentId: 1, type: "RESET_AGENT", payload: { agentIds: [0] } };
  const limit = (clientOrderId: number, delay?: number) => ({
    agentId: 0,
    ...(delay === undefined ? {} : { delay }),
    type: "PLACE_ORDER_LIMIT",
    payload: { direction: 0, volume: "0.5", price: "0.5", bookId: 0, clientOrderId },
  });
  const run = await atHoldingsBound([
    { timestamp: 3, responses: [reset, reset, limit(7), limit(8, 2)] },
  ]);
  assert.equal(run.code, 0, run.stderr);
  const outcomes = run.events.filter((e) => e.timestamp !== 1)
    .map((e) => [e.timestamp, e.event, e.type ?? null, e.agentId, e.clientOrderId ?? null]);
  assert.deepEqual(outcomes, [
    [3, "reject", "RESET_AGENT", 0, null],
    [3, "reject", "RESET_AGENT", 0, null],
    [3, "place", null, 0, 7],
    [3, "accepted", null, 0, 7],
    [5, "place", null, 0, 8],
    [5, "accepted", null, 0, 8],
  ]);
});

Deno.test("a reset drops the agent's responses sent at the very time it takes effect", async () => {
  const limit = (timestamp: number, clientOrderId: number) => ({
    timestamp,
    responses: [{
      agentId: 0,
      delay: 5,
      type: "PLACE_ORDER_LIMIT",
      payload: { direction: 0, volume: "0.5", price: "0.5", bookId: 0, clientOrderId },
    }],
  });
  const run = await replayScript({
    exchange: { agents: 2, balances: { base: "10", quote: "10" } },
    batches: [
      {
        timestamp: 1,
        responses: [{ agentId: 1, delay: 1, type: "RESET_AGENT", payload: { agentIds: [0] } }],
      },
      // The reset takes effect at 2: what agent 0 sent then is dropped, what it sent at 3 is not.
      limit(2, 7),
      limit(3, 8),
    ],
  });
  assert.equal(run.code, 0, run.stderr);
  const outcomes = run.events.map((e) => [e.event, e.timestamp, e.clientOrderId ?? null]);
  assert.deepEqual(outcomes, [
    ["reset", 2, null],
    ["place", 8, 8],
    ["accepted", 8, 8],
  ]);
});

Deno.test("batches at the same timestamp both run, in script order", async () => {
  const order = (agentId: number, direction: number) => ({
    agentId,
    type: "PLACE_ORDER_LIMIT",
    payload: { direction, volume: 1, price: 10, bookId: 0 },
  });
  const run = await replayScript({
    exchange: minimal.exchange,
    batches: [{ timestamp: 7, responses: [order(1, 1)] }, {
      timestamp: 7,
      responses: [order(0, 0)],
    }],
  });
  assert.equal(run.code, 0, run.stderr);
  const trade = run.events.find((event) => event.event === "trade");
  assert.equal(trade?.restingAgentId, 1);
  assert.equal(trade?.aggressingAgentId, 0);
});

Deno.test("a fee rate of exactly 1 or -1 is refused; one just inside is taken", async () => {
  const tiers = (rate: string) => [{ volumeRequired: "0", makerFee: rate, takerFee: "0" }];
  for (const rate of ["1", "-1"]) {
    const run = await replayScript({
      exchange: { feePolicy: { tiers: tiers(rate) } },
      batches: [],
    });
    assert.equal(run.code, 2, rate);
    assert.match(run.stderr, /exchange\.feePolicy\.tiers\.0\.makerFee: must be in \(-1, 1\)/);
  }
  for (const rate of ["0.999999999", "-0.999999999"]) {
    const run = await replayScript({
      exchange: { feePolicy: { tiers: tiers(rate) } },
      batches: [],
    });
    assert.equal(run.code, 0, `${rate}: ${run.stderr}`);
  }
});

Deno.test("books x agents may reach 1 000 000 accounts, not one more", () => {
  // Parsed only: a run would print every account on its final line.
  const script = parseReplayScript({ exchange: { books: 16, agents: 62_500 }, batches: [] });
  assert.equal(script.exchange.books * script.exchange.agents, 1_000_000);
  assert.throws(
    () => parseReplayScript({ exchange: { books: 16, agents: 62_501 }, batches: [] }),
    /exchange\.agents: books x agents must be at most 1000000 .*got 16 x 62501/,
  );
});

Deno.test("a partly filled limit order's place line shows the volume that rests, its accepted line the volume asked", async () => {
  const run = await replayScript({
    exchange: minimal.exchange,
    batches: [{
      timestamp: 5,
      responses: [
        { ...(limitWith({ direction: 1, volume: 1, clientOrderId: 1 }) as object), agentId: 1 },
        limitWith({ volume: 3, clientOrderId: 2 }),
      ],
    }],
  });
  assert.equal(run.code, 0, run.stderr);
  const of = (event: string) =>
    run.events.find((line) => line.event === event && line.clientOrderId === 2);
  assert.equal(of("place")?.volume, "2.00");
  assert.equal(of("accepted")?.volume, "3.00");
  assert.deepEqual(run.final?.books[0].bids, [["10.00", "2.00"]]);
});

Deno.test("an expiry period on an order that is not GTT is ignored: it rests past it", async () => {
  const run = await replayScript({
    exchange: minimal.exchange,
    batches: [
      { timestamp: 5, responses: [limitWith({ timeInForce: "GTC", expiryPeriod: 5 })] },
      { timestamp: 100, responses: [] },
    ],
  });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(run.events.filter((line) => line.event === "expire"), []);
  assert.deepEqual(run.final?.books[0].bids, [["10.00", "1.00"]]);
});

Deno.test("a reset of an agent the exchange does not have drops none of that id's responses", async () => {
  // Agent 2 does not exist (agents: 2): its order is rejected, not dropped as a reset agent's.
  const run = await replayScript({
    exchange: minimal.exchange,
    batches: [{
      timestamp: 5,
      responses: [
        { agentId: 0, delay: 10, type: "RESET_AGENT", payload: { agentIds: [2] } },
        { ...(limitWith({ clientOrderId: 4 }) as object), agentId: 2, delay: 10 },
      ],
    }],
  });
  assert.equal(run.code, 0, run.stderr);
  const rejected = run.events.filter((line) => line.event === "reject" && line.agentId === 2);
  assert.deepEqual(rejected.map((line) => [line.type, line.clientOrderId]), [
    ["RESET_AGENT", null],
    ["PLACE_ORDER_LIMIT", 4],
  ]);
});

Deno.test("a clientOrderId of 4294967294 and a timestamp + delay of exactly 2^53 - 1 ns are taken", async () => {
  const run = await replayScript({
    exchange: minimal.exchange,
    batches: [{
      timestamp: Number.MAX_SAFE_INTEGER - 1,
      responses: [
        { ...(limitWith({ clientOrderId: 0xFFFF_FFFE }) as object), delay: 1 },
        limitWith({ clientOrderId: 0xFFFF_FFFF }),
      ],
    }],
  });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(
    run.events.map((line) => [line.event, line.timestamp, line.clientOrderId, line.field]),
    [
      ["reject", Number.MAX_SAFE_INTEGER - 1, null, "payload.clientOrderId"],
      ["place", Number.MAX_SAFE_INTEGER, 0xFFFF_FFFE, undefined],
      ["accepted", Number.MAX_SAFE_INTEGER, 0xFFFF_FFFE, undefined],
    ],
  );
});

Deno.test("a reset keeps its time one call: an expiryPeriod 0 order still fills, the reset agent's later responses are dropped", async () => {
  const run = await atOneTime(3, [
    {
      agentId: 0,
      type: "PLACE_ORDER_LIMIT",
      payload: {
        direction: 0,
        volume: 1,
        price: 10,
        bookId: 0,
        timeInForce: "GTT",
        expiryPeriod: 0,
      },
    },
    { agentId: 2, type: "RESET_AGENT", payload: { agentIds: [2] } },
    // Sent by the time the reset takes effect: dropped, garbage and all.
    limitOrder(2, 1, 1, 9),
    { agentId: 2, type: "PLACE_ORDER_MARKET", payload: { direction: 7 } },
    {
      agentId: 1,
      type: "PLACE_ORDER_MARKET",
      payload: { direction: 1, volume: 1, bookId: 0 },
    },
  ]);
  assert.equal(run.code, 0, run.stderr);
  const outcomes = outcomesOf(run);
  assert.deepEqual(outcomes, [
    ["place", 0, null],
    ["accepted", 0, null],
    ["reset", 2, null],
    ["trade", null, null],
    ["accepted", 1, null],
    ["reject", 0, "ORDER_NOT_FOUND"],
  ]);
  assert.deepEqual(run.final?.books[0].asks, []);
});

Deno.test("a reset sent by an agent reset earlier at that time is dropped with its other responses", async () => {
  const run = await atOneTime(3, [
    limitOrder(1, 0, 1, 10),
    { agentId: 2, type: "RESET_AGENT", payload: { agentIds: [2, 7] } },
    { agentId: 2, type: "RESET_AGENT", payload: { agentIds: [1] } },
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(run.events.map((e) => [e.event, e.agentId ?? null]), [
    ["place", 1],
    ["accepted", 1],
    ["reset", 2],
    ["reject", 7],
  ]);
});

/** A limit buy of 1 at 10 by `agentId` that expires after its time's responses (expiryPeriod 0). */
function bidForOneCall(agentId: number) {
  return limitOrder(agentId, 0, 1, 10, { timeInForce: "GTT", expiryPeriod: 0 });
}

Deno.test("a reset of another agent sent by an agent reset earlier at that time is dropped in the same call", async () => {
  const run = await atOneTime(3, [
    bidForOneCall(0),
    { agentId: 2, type: "RESET_AGENT", payload: { agentIds: [2] } },
    { agentId: 2, type: "RESET_AGENT", payload: { agentIds: [1] } },
    // Still the same call: the expiryPeriod 0 bid is there to sell to.
    { agentId: 1, type: "PLACE_ORDER_MARKET", payload: { direction: 1, volume: 1, bookId: 0 } },
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(outcomesOf(run), [
    ["place", 0, null],
    ["accepted", 0, null],
    ["reset", 2, null],
    ["trade", null, null],
    ["accepted", 1, null],
    ["reject", 0, "ORDER_NOT_FOUND"],
  ]);
});

Deno.test("a reset of its sender and others runs whole when the sender's earlier reset at that time was dropped", async () => {
  const run = await atOneTime(5, [
    bidForOneCall(3),
    { agentId: 1, type: "RESET_AGENT", payload: { agentIds: [1] } },
    // Sent before agent 1's reset took effect: dropped, so agent 2 is not reset by it.
    { agentId: 1, type: "RESET_AGENT", payload: { agentIds: [2] } },
    // Agent 2 resets itself first; agent 0 is reset all the same.
    { agentId: 2, type: "RESET_AGENT", payload: { agentIds: [2, 0] } },
    { agentId: 4, type: "PLACE_ORDER_MARKET", payload: { direction: 1, volume: 1, bookId: 0 } },
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(outcomesOf(run), [
    ["place", 3, null],
    ["accepted", 3, null],
    ["reset", 1, null],
    ["reset", 2, null],
    ["reset", 0, null],
    ["trade", null, null],
    ["accepted", 4, null],
    ["reject", 3, "ORDER_NOT_FOUND"],
  ]);
});

Deno.test("a loan crossed at a time is called at the next time even when a reset comes between", async () => {
  const run = await replayScript({
    exchange: {
      maxLeverage: "1",
      maxLoan: "10000",
      maintenanceMargin: "0.1",
      agents: 4,
      balances: { base: "100", quote: "10000" },
    },
    batches: [
      {
        timestamp: 1,
        responses: [limitOrder(2, 1, 10, 90), limitOrder(0, 0, 2, 90, { leverage: 1 })],
      },
      // The bid at 49 crosses the long's call price (50); the order after the reset still comes
      // before the call, as it does without the reset, and the reset agent's order is dropped.
      {
        timestamp: 2,
        responses: [
          limitOrder(2, 0, 10, 49),
          { agentId: 3, type: "RESET_AGENT", payload: { agentIds: [3] } },
          limitOrder(3, 0, 1, 49.8),
          limitOrder(1, 0, 1, 49.5),
        ],
      },
      { timestamp: 3, responses: [] },
    ],
  });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(run.events.filter((e) => e.agentId === 3).map((e) => e.event), ["reset"]);
  const call = run.events.find((e) => e.event === "margin_call");
  assert.equal(call?.timestamp, 3);
  const trade = run.events.find((e) => e.event === "trade" && e.timestamp === 3);
  assert.equal(trade?.price, "49.50", "the liquidation sells to the best bid, placed at 2");
});
