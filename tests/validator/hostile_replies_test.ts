/**
 * The validator's loop under replies a hostile miner sends, one kind at a time, without network:
 * what reaches the simulation, what the check costs and what the log says.
 */
import assert from "node:assert/strict";
import { smallPreset } from "../../sim/config.ts";
import { type Instruction, SimEngine } from "../../sim/engine.ts";
import type { StateUpdate } from "../../agents/sdk/state.ts";
import type {
  CheckedResponse,
  MinerClient,
  MinerReply,
  MinerRequest,
} from "../../validator/miner_client.ts";
import { parseValidatorArgs } from "../../validator/options.ts";
import { ValidatorStore } from "../../validator/store.ts";
import { FORWARDED_FOREIGN_CANCELLATIONS } from "../../validator/own_cancellations.ts";
import { type Market, Validator, watchedMarket } from "../../validator/validator.ts";
import { quietParts } from "./quiet_parts.ts";
import { answering } from "./answering_client.ts";
import { EditableDirectory } from "./editable_directory.ts";

type Log = { level: string; message: string }[];

/** uid 0's buy of 1 at 1 on book 0, far below the market: it rests. */
function bidAtOne(clientOrderId: number) {
  const order = { type: "PLACE_ORDER_LIMIT", agentId: 0, bookId: 0, direction: 0 };
  return { ...order, quantity: 1, price: 1, clientOrderId };
}

/** A validator of the small preset over `client`, its injections and log collected; `shared`, a
 * store another validator ran on (left open), or one of its own. */
function validatorWith(
  client: MinerClient,
  injected: [number, Instruction[]][],
  logged: Log,
  shared?: ValidatorStore,
) {
  const store = shared ?? ValidatorStore.open(":memory:");
  const validator = new Validator({
    options: { ...parseValidatorArgs(["--local"]), saveIntervalSeconds: 3600 },
    config: { ...smallPreset(), duration: 600e9 },
    createMarket: (c, seed): Market =>
      watchedMarket(SimEngine.create({ config: c, seed, threads: 1 }), {
        injected: (agentId, instructions) => injected.push([agentId, instructions]),
      }),
    directory: new EditableDirectory(["5Miner0", "5Miner1", "5Miner2", "5Miner3"]),
    client,
    store,
    ...quietParts(),
    log: (level, message) => logged.push({ level, message }),
  });
  return {
    validator,
    close: () => {
      validator.close();
      if (shared === undefined) store.close();
    },
  };
}

/** Ids of `uid`'s resting orders on book 0 in its state. */
function restingIds(state: StateUpdate, uid: number): number[] {
  const accounts = state.accounts as Record<string, Record<string, { orders: { id: number }[] }>>;
  return accounts[String(uid)]?.["0"]?.orders.map((o) => o.id) ?? [];
}

Deno.test("of the cancellations of orders a miner does not hold, or repeated, only a reply's first few reach the simulation", async () => {
  const injected: [number, Instruction[]][] = [];
  const logged: Log = [];
  const heldAtPublish: number[][] = [];
  const refusedIds: number[] = [];
  // uid 0 rests a bid far below the market, then cancels it among 28 000 ids it never had (one
  // id given 10 000 times in a reply of a few kilobytes once compressed).
  const client = answering(({ uid, state }: MinerRequest) => {
    if (uid !== 0) return { agent_id: uid, instructions: [] };
    for (const notice of state.notices?.["0"] ?? []) {
      if (notice.type === "ERROR_RESPONSE_DISTRIBUTED_CANCEL_ORDERS") {
        refusedIds.push(...notice.cancellations.map((c) => c.orderId));
      }
    }
    const own = restingIds(state, 0);
    heldAtPublish.push(own);
    if (own.length === 0) {
      return {
        agent_id: 0,
        instructions: [bidAtOne(7)],
      };
    }
    const foreign = (n: number) => Array.from({ length: n }, (_, i) => 10 ** 12 + i);
    const cancel = (ids: number[]) => ({
      type: "CANCEL_ORDERS",
      agentId: 0,
      bookId: 0,
      cancellations: ids.map((orderId) => ({ orderId, volume: null })),
    });
    return {
      agent_id: 0,
      instructions: [
        cancel([...foreign(4000), ...own, ...own, ...foreign(4000)]),
        cancel(Array.from({ length: 10_000 }, () => 10 ** 12)),
        cancel(foreign(10_000)),
      ],
    };
  }, 0.05);
  const { validator, close } = validatorWith(client, injected, logged);
  try {
    await validator.start();
    for (let i = 0; i < 3; i++) await validator.round();
  } finally {
    close();
  }
  const own = heldAtPublish.find((ids) => ids.length > 0);
  assert.ok(own !== undefined, "the resting bid never showed in uid 0's state");
  const cancels = injected.filter(([uid]) => uid === 0).flatMap(([, list]) => list)
    .filter((i) => i.type === "CANCEL_ORDERS");
  // Per reply: the first few foreign ids, so the miner hears of them as the reference tells it,
  // and its own bid, once.
  const firstForeign = Array.from(
    { length: FORWARDED_FOREIGN_CANCELLATIONS },
    (_, i) => 10 ** 12 + i,
  );
  assert.deepEqual(
    cancels.map((c) => c.type === "CANCEL_ORDERS" && c.cancellations.map((x) => x.orderId)),
    [[...firstForeign, ...own]],
  );
  // They come back to the miner as the reference's refusals.
  assert.deepEqual(refusedIds.sort((a, b) => a - b), firstForeign);
  const warnings = logged.filter((l) => l.message.startsWith("uid 0: ") && l.level === "warning");
  assert.deepEqual(warnings.map((l) => l.message), [
    `uid 0: ${
      28001 - FORWARDED_FOREIGN_CANCELLATIONS
    } cancellations of orders it does not hold (or repeated) left out ` +
    "(later ones of this uid are logged at debug level)",
  ]);
});

Deno.test("a reply of 200 000 invalid instructions is voided at the first, not described whole", async () => {
  const instructions = (valid: boolean) =>
    Array.from({ length: 200_000 }, (_, i) => ({
      type: "PLACE_ORDER_LIMIT",
      agentId: 1,
      bookId: valid ? i % 2 : 99,
      direction: valid ? 0 : 7,
      quantity: valid ? 1 : -1,
      price: valid ? 1 : "NaN",
      clientOrderId: null,
    }));
  const replies = { valid: instructions(true), invalid: instructions(false) };
  const spent = { valid: 0, invalid: 0 };
  let checked: CheckedResponse | null = null;
  // uid 1 alternates a valid and an invalid reply of the schema's limit; the check of each is
  // timed. Describing each of 200 000 invalid instructions took ten times a valid reply's check.
  const client: MinerClient = {
    query: (requests, _timeout, check) =>
      Promise.resolve(requests.map((r): MinerReply => {
        const kind = r.state.timestamp % 10e9 === 0 ? "valid" : "invalid";
        const started = performance.now();
        const result = check(r.uid, {
          agent_id: r.uid,
          instructions: r.uid === 1 ? replies[kind] : [],
        });
        if (r.uid === 1) {
          spent[kind] += performance.now() - started;
          if (kind === "invalid") checked = result;
        }
        return { uid: r.uid, outcome: "ok", processTime: 0.05, message: "", checked: result };
      })),
  };
  const logged: Log = [];
  const { validator, close } = validatorWith(client, [], logged);
  try {
    await validator.start();
    for (let i = 0; i < 4; i++) await validator.round();
  } finally {
    close();
  }
  assert.match(checked!.discarded ?? "", /^instruction 0 invalid: /);
  assert.ok(spent.invalid < 2 * spent.valid, JSON.stringify(spent));
});

Deno.test("a miner failing every round is named once above debug level, per kind of failure", async () => {
  const logged: Log = [];
  const outcomes: Record<number, MinerReply["outcome"]> = { 1: "failure", 2: "timeout" };
  const client: MinerClient = {
    query: (requests, _timeout, check) =>
      Promise.resolve(requests.map((r): MinerReply => {
        const outcome = outcomes[r.uid] ?? "ok";
        return outcome === "ok"
          ? {
            uid: r.uid,
            outcome,
            processTime: 0.05,
            message: "",
            checked: check(r.uid, { agent_id: r.uid, instructions: [] }),
          }
          : {
            uid: r.uid,
            outcome,
            processTime: 3,
            message: outcome === "failure" ? "response: cannot decompress" : "Timeout",
            checked: null,
          };
      })),
  };
  const { validator, close } = validatorWith(client, [], logged);
  try {
    await validator.start();
    for (let i = 0; i < 3; i++) await validator.round();
  } finally {
    close();
  }
  const about = (uid: number) => logged.filter((l) => l.message.startsWith(`uid ${uid}: `));
  assert.deepEqual(about(1).map((l) => l.level), ["warning", "debug", "debug"]);
  assert.equal(
    about(1)[0].message,
    "uid 1: failure (response: cannot decompress) (later failures of this uid are logged at " +
      "debug level)",
  );
  assert.deepEqual(about(2).map((l) => l.level), ["info", "debug", "debug"]);
  assert.deepEqual(about(0), []);
});

/** The lengths of uid 0's cancellations among `injected`, injection by injection. */
function cancellationsOf0(injected: [number, Instruction[]][]): number[] {
  return injected.filter(([uid]) => uid === 0)
    .flatMap(([, list]) => list)
    .filter((i) => i.type === "CANCEL_ORDERS")
    .map((c) => c.type === "CANCEL_ORDERS" ? c.cancellations.length : 0);
}

/**
 * uid 0 rests 20 bids far below the market, then cancels all it holds in every reply, each
 * cancellation asking to arrive `delayNs` later; returns how many cancellations of uid 0 reached
 * the simulation, injection by injection, over 6 publishes.
 */
async function cancellationsSent(delayNs: number): Promise<number[]> {
  const injected: [number, Instruction[]][] = [];
  const { validator, close } = validatorWith(cancelAll(delayNs), injected, []);
  try {
    await validator.start();
    for (let i = 0; i < 6; i++) await validator.round();
  } finally {
    close();
  }
  return cancellationsOf0(injected);
}

/** uid 0 rests 20 bids at 1 when it holds none, else cancels all it holds, `delayNs` later. */
function cancelAll(delayNs: number): MinerClient {
  return answering(({ uid, state }: MinerRequest) => {
    const own = uid === 0 ? restingIds(state, 0) : [];
    if (uid !== 0 || own.length === 0) {
      return {
        agent_id: uid,
        instructions: uid !== 0 ? [] : Array.from({ length: 20 }, (_, i) => bidAtOne(i)),
      };
    }
    return {
      agent_id: 0,
      instructions: [{
        type: "CANCEL_ORDERS",
        agentId: 0,
        bookId: 0,
        delay: delayNs,
        cancellations: own.map((orderId) => ({ orderId, volume: null })),
      }],
    };
  }, 0.05);
}

Deno.test("an order whose cancellation is still on its way is not the miner's to cancel again", async () => {
  // An hour away: the orders rest meanwhile, and without a limit the same 20 cancellations would
  // pile up once more per publish, 14 400 an hour. The first reply cancels its 20 bids; the later
  // ones hold none the validator has not already sent a cancellation for, so each sends on only
  // the few any reply may (the exchange refuses them).
  assert.deepEqual(
    await cancellationsSent(3_600_000_000_000),
    [20, ...Array(4).fill(FORWARDED_FOREIGN_CANCELLATIONS)],
  );
});

Deno.test("a cancellation arriving just after the next publish still holds its orders there", async () => {
  // Publishes 5 s apart; 5.5 s plus the 10 ms execution delay lands 0.51 s after the next one,
  // where the orders still rest but are not the miner's to cancel; by the publish after, they
  // are gone and the miner rests 20 bids again: place, cancel, refused, twice over.
  assert.deepEqual(
    await cancellationsSent(5_500_000_000),
    [20, FORWARDED_FOREIGN_CANCELLATIONS, 20, FORWARDED_FOREIGN_CANCELLATIONS],
  );
});

Deno.test("cancellations still on their way at a restart hold their orders after it", async () => {
  // An hour away, sent at publish 2: at the stop after publish 3 they are still on their way, so
  // the replies after the restart may send on only the few cancellations any reply may, as the
  // replies before it did, not the 20 once more.
  const hour = 3_600_000_000_000;
  const store = ValidatorStore.open(":memory:");
  try {
    const before: [number, Instruction[]][] = [];
    const first = validatorWith(cancelAll(hour), before, [], store);
    await first.validator.start();
    for (let i = 0; i < 3; i++) await first.validator.round();
    first.validator.save();
    first.close();
    assert.deepEqual(cancellationsOf0(before), [20, FORWARDED_FOREIGN_CANCELLATIONS]);

    const after: [number, Instruction[]][] = [];
    const second = validatorWith(cancelAll(hour), after, [], store);
    await second.validator.start();
    assert.deepEqual(cancellationsOf0(after), cancellationsOf0(before), "the replay");
    after.length = 0;
    for (let i = 0; i < 2; i++) await second.validator.round();
    second.close();
    assert.deepEqual(cancellationsOf0(after), Array(2).fill(FORWARDED_FOREIGN_CANCELLATIONS));
  } finally {
    store.close();
  }
});
