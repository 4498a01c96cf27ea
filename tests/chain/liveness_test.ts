/**
 * A connection to the node that stops answering without closing (every packet lost, no FIN or
 * RST) is found by the client's liveness check and reopened, through a real TCP relay on loopback
 * that stops passing bytes on while keeping both sockets open.
 */
import assert from "node:assert/strict";
import { type ConnectOptions, SubtensorClient } from "../../chain/mod.ts";
import { type FakeSubtensor, serveClosingEndpoint } from "./fake_subtensor.ts";
import { alice, NETUID, startNode } from "./subnet_fixture.ts";
import { TcpRelay } from "./tcp_relay.ts";

const testOptions = { sanitizeOps: false, sanitizeResources: false };

/** Short bounds, so that a dead connection is found in well under a second. */
const LIVENESS = { idleMs: 200, timeoutMs: 300 };

interface Setup {
  client: SubtensorClient;
  node: FakeSubtensor;
  relay: TcpRelay;
  lines: string[];
}

/** A client connected to a fake node through a relay, its log lines recorded. */
async function withRelayedClient(
  fn: (setup: Setup) => Promise<void>,
  options: Partial<ConnectOptions> = {},
): Promise<void> {
  const { node } = startNode();
  const relay = TcpRelay.start(node.url);
  const lines: string[] = [];
  const client = await SubtensorClient.connect({
    network: relay.url,
    retryDelayMs: 50,
    maxRetryDelayMs: 200,
    connectTimeoutMs: 10_000,
    liveness: LIVENESS,
    log: (line) => void lines.push(line),
    // The library's own lines about the failed calls stay off the console.
    libraryLog: () => {},
    ...options,
  });
  try {
    await fn({ client, node, relay, lines });
  } finally {
    await client.close();
    await relay.close();
    await node.close();
  }
}

/** Polls `done` every 25 ms until it holds or `ms` have passed. */
async function until(done: () => boolean, ms = 5_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!done() && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** `promise`'s outcome, or "pending" if it has none after `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | "pending"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<"pending">((resolve) => timer = setTimeout(() => resolve("pending"), ms)),
  ]).finally(() => clearTimeout(timer));
}

Deno.test(
  "a connection that stops answering without closing is dropped and reopened",
  testOptions,
  async () => {
    await withRelayedClient(async ({ client, node, relay, lines }) => {
      assert.equal(await client.bestBlock(), node.best);
      relay.blackhole = true;
      const started = performance.now();
      // Without the check this call would wait for the library's 60 s timeout, and every call
      // after it too, until TCP gave up.
      const call = client.bestBlock().then(() => "answered", (error: Error) => error.message);
      const outcome = await within(call, 3_000);
      assert.notEqual(outcome, "pending", "the call in flight fails once the check gives up");
      assert.match(String(outcome), /disconnected from/);
      assert.ok(performance.now() - started < 3_000);
      const dead =
        /^ws:\/\/127\.0\.0\.1:\d+: no answer within 300 ms to a check sent after 200 ms without a message; reconnecting$/;
      assert.ok(lines.some((l) => dead.test(l)), lines.join("\n"));
      assert.ok(lines.some((l) => l.startsWith("no connection")), lines.join("\n"));
      // A connection attempt through the dead path does not open either: it is given up after the
      // same bound and tried again, rather than waited on for good.
      await until(() => relay.accepted >= 4);
      assert.ok(relay.accepted >= 4, `connections opened: ${relay.accepted}`);
      assert.equal(client.isConnected, false);
      relay.blackhole = false;
      await until(() => client.isConnected && lines.some((l) => l.startsWith("reconnected")));
      assert.ok(lines.some((l) => l.startsWith("reconnected")), lines.join("\n"));
      await client.api.isReady;
      node.best = 2024;
      assert.equal(await client.bestBlock(), 2024);
    });
  },
);

Deno.test("a connection that keeps answering is kept open", testOptions, async () => {
  // The answer's bound is loose enough for a loaded machine: only the answers are under test.
  await withRelayedClient(async ({ client, node, relay, lines }) => {
    // Idle for several check periods: the checks are answered, nothing is reopened.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    assert.ok(node.calls.filter((c) => c === "system_health").length >= 2, node.calls.join(","));
    assert.equal(relay.accepted, 1);
    assert.ok(!lines.some((l) => l.includes("reconnecting")), lines.join("\n"));
    assert.equal(await client.bestBlock(), node.best);
  }, { liveness: { idleMs: 200, timeoutMs: 1_000 } });
});

/** Submits a `set_weights` the node keeps in its pool; `outcome` once the connection went dead. */
async function submitIntoBlackhole(
  { client, node, relay }: Setup,
  when: "request sent" | "watch open",
) {
  node.onSubmit = () => {
    // The node's answer (the watch's id) is lost too.
    if (when === "request sent") relay.blackhole = true;
    return { kind: "pool" };
  };
  const outcome = client.submit(
    client.api.tx.subtensorModule.setWeights(NETUID, [1], [65535], 19),
    alice,
    { timeoutMs: 30_000 },
  );
  await until(() => node.submissions.length === 1);
  if (when === "watch open") {
    // The node's first status reached the client: the watch is open.
    await new Promise((resolve) => setTimeout(resolve, 100));
    relay.blackhole = true;
  }
  const result = await within(outcome, 3_000);
  assert.notEqual(result, "pending", "told when the check gave up, not at the 30 s timeout");
  assert.ok(result !== "pending" && !result.ok && result.unconfirmed, JSON.stringify(result));
  assert.match(
    !result.ok ? result.message : "",
    /^the connection to the node dropped before the extrinsic was seen in a block: it may still land$/,
  );
  assert.equal(result.extrinsicHash?.length, 66);
}

Deno.test(
  "an extrinsic watched when the connection stops answering is reported as unconfirmed",
  testOptions,
  async () => {
    await withRelayedClient((setup) => submitIntoBlackhole(setup, "watch open"));
  },
);

Deno.test(
  "an extrinsic whose submission got no answer before the connection went dead is unconfirmed",
  testOptions,
  async () => {
    // It reached the node (which may include it): reporting it as failed would drop, say, the
    // salt of a weight commit that then lands.
    await withRelayedClient((setup) => submitIntoBlackhole(setup, "request sent"));
  },
);

Deno.test(
  "closing is not held up by a check waiting for its answer, and no check follows it",
  testOptions,
  async () => {
    const liveness = { idleMs: 100, timeoutMs: 2_000 };
    await withRelayedClient(async ({ client, relay }) => {
      relay.blackhole = true;
      // A check is sent within 125 ms of the last message, and waits 2 s for an answer.
      await new Promise((resolve) => setTimeout(resolve, 400));
      const started = performance.now();
      await client.close();
      assert.ok(performance.now() - started < 1_000, `closed in ${performance.now() - started} ms`);
      const accepted = relay.accepted;
      // Past the check's bound: a check left running would now reopen the connection.
      await new Promise((resolve) => setTimeout(resolve, liveness.timeoutMs + 500));
      assert.equal(relay.accepted, accepted, "no connection opened after close");
    }, { liveness });
  },
);

Deno.test(
  "a first connection over a path that answers nothing names the unanswered opening",
  testOptions,
  async () => {
    const { node } = startNode();
    const relay = TcpRelay.start(node.url);
    relay.blackhole = true;
    try {
      await assert.rejects(
        () =>
          SubtensorClient.connect({
            network: relay.url,
            retryDelayMs: 50,
            connectTimeoutMs: 1_500,
            liveness: LIVENESS,
          }),
        /^ChainError: no connection to ws:\/\/127\.0\.0\.1:\d+ within 1500 ms \(the node did not answer the connection within 300 ms\)$/,
      );
      // Each opening was given up after its bound and tried again.
      assert.ok(relay.accepted >= 3, `connections opened: ${relay.accepted}`);
    } finally {
      await relay.close();
      await node.close();
    }
  },
);

Deno.test("liveness bounds that are not positive are refused, naming the field", async () => {
  for (
    const [liveness, field] of [[{ idleMs: 0 }, "idleMs"], [{ timeoutMs: -5 }, "timeoutMs"], [
      { idleMs: Number.NaN },
      "idleMs",
    ], [{ timeoutMs: Number.POSITIVE_INFINITY }, "timeoutMs"]] as const
  ) {
    await assert.rejects(
      () => SubtensorClient.connect({ network: "ws://127.0.0.1:1", liveness }),
      new RegExp(`^RangeError: liveness\\.${field}: .* must be a positive number of milliseconds`),
    );
  }
});

Deno.test(
  "bounds left out wait 20 s of quiet before a check and 10 s for its answer",
  testOptions,
  async () => {
    // The idle bound: a quiet connection with only the answer's bound given is not checked within
    // a few seconds.
    const quiet = withRelayedClient(async ({ node, relay }) => {
      await new Promise((resolve) => setTimeout(resolve, 2_600));
      assert.ok(!node.calls.includes("system_health"), node.calls.join(","));
      assert.equal(relay.accepted, 1);
    }, { liveness: { timeoutMs: 300 } });
    // The answer's bound: a check sent over a dead path is waited on for more than a few seconds.
    const waiting = withRelayedClient(async ({ relay, lines }) => {
      relay.blackhole = true;
      await new Promise((resolve) => setTimeout(resolve, 2_600));
      assert.ok(relay.dropped > 0, "a check was sent");
      assert.equal(relay.accepted, 1);
      assert.ok(!lines.some((l) => l.includes("reconnecting")), lines.join("\n"));
    }, { liveness: { idleMs: 100 } });
    await Promise.all([quiet, waiting]);
  },
);

Deno.test(
  "a connection that answers its check is checked again only after another quiet period",
  testOptions,
  async () => {
    await withRelayedClient(async ({ node }) => {
      // Checks at about 1 s and 2.1 s; one sent every check period after the first answer would
      // make about a dozen.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      const checks = node.calls.filter((c) => c === "system_health").length;
      assert.ok(checks >= 1 && checks <= 3, `checks sent: ${checks}`);
    }, { liveness: { idleMs: 1_000, timeoutMs: 100 } });
  },
);

Deno.test(
  "a connection the node closes while a check waits is not reported as unanswered",
  testOptions,
  async () => {
    await withRelayedClient(async ({ node, relay, lines }) => {
      relay.blackhole = true;
      // A check is sent within 125 ms of the last message, and waits 600 ms for an answer.
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.ok(relay.dropped > 0, "a check was sent");
      // The check is lost; the node's close then reaches the client, long before the check's
      // bound and the next connection attempt.
      relay.blackhole = false;
      node.dropConnections();
      await until(() => lines.some((l) => l.startsWith("no connection")));
      await new Promise((resolve) => setTimeout(resolve, 900));
      assert.ok(lines.some((l) => l.startsWith("no connection")), lines.join("\n"));
      assert.ok(!lines.some((l) => l.includes("no answer within")), lines.join("\n"));
    }, { retryDelayMs: 2_000, liveness: { idleMs: 100, timeoutMs: 600 } });
  },
);

Deno.test(
  "a first connection whose node stops answering before giving its runtime names the silence",
  testOptions,
  async () => {
    const { node } = startNode();
    const relay = TcpRelay.start(node.url);
    // The answer to the client's first request is lost, and everything after it.
    node.onRequest = () => void (relay.blackhole = true);
    try {
      await assert.rejects(
        () =>
          SubtensorClient.connect({
            network: relay.url,
            retryDelayMs: 5_000,
            connectTimeoutMs: 1_500,
            liveness: LIVENESS,
            libraryLog: () => {},
          }),
        /^ChainError: no connection to ws:\/\/127\.0\.0\.1:\d+ within 1500 ms \(the node stopped answering \(no answer within 300 ms\)\)$/,
      );
      assert.equal(relay.accepted, 1);
    } finally {
      await relay.close();
      await node.close();
    }
  },
);

Deno.test(
  "a node that closes the connection it opened is named as the reason, not the opening's bound",
  async () => {
    // Opened, then closed at once; the next attempt comes after the connection timeout.
    const closing = serveClosingEndpoint();
    try {
      await assert.rejects(
        () =>
          SubtensorClient.connect({
            network: `ws://127.0.0.1:${closing.addr.port}`,
            retryDelayMs: 5_000,
            connectTimeoutMs: 800,
            liveness: { timeoutMs: 100 },
            libraryLog: () => {},
          }),
        /within 800 ms \(the node closed the connection with code 4000: going away\)$/,
      );
    } finally {
      await closing.shutdown();
    }
  },
);

Deno.test(
  "closing with a check waiting sends the library's lines about it to the sink, not the console",
  testOptions,
  async () => {
    const printed: string[] = [];
    const original = { log: console.log, warn: console.warn, error: console.error };
    for (const method of ["log", "warn", "error"] as const) {
      console[method] = (...args: unknown[]) => void printed.push(args.join(" "));
    }
    const routed: string[] = [];
    try {
      await withRelayedClient(async ({ client, relay }) => {
        relay.blackhole = true;
        // A check is sent within 125 ms of the last message, and waits 2 s for an answer.
        await new Promise((resolve) => setTimeout(resolve, 400));
        await client.close();
        await new Promise((resolve) => setTimeout(resolve, 200));
      }, { liveness: { idleMs: 100, timeoutMs: 2_000 }, libraryLog: (line) => routed.push(line) });
    } finally {
      Object.assign(console, original);
    }
    assert.deepEqual(printed, []);
    assert.ok(routed.some((l) => l.includes("closed by the client")), routed.join("\n"));
  },
);

Deno.test("a program that closes its client exits without waiting on it", testOptions, async () => {
  const { node } = startNode();
  const program = `
    import { SubtensorClient } from ${
    JSON.stringify(new URL("../../chain/mod.ts", import.meta.url).href)
  };
    const client = await SubtensorClient.connect({ network: Deno.args[0], connectTimeoutMs: 10_000 });
    await client.close();
    console.log("closed");
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", program, node.url],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let closedAt: number | undefined;
  const output = (async () => {
    for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
      if (text.includes("closed")) closedAt ??= performance.now();
    }
  })();
  const errors = new Response(child.stderr).text();
  // Its liveness check, left running, would keep it alive for good.
  const timer = setTimeout(() => child.kill(), 30_000);
  try {
    const status = await child.status;
    await output;
    assert.equal(status.code, 0, await errors);
    assert.ok(closedAt !== undefined);
    const lingered = performance.now() - closedAt;
    assert.ok(lingered < 10_000, `exited ${lingered} ms after closing`);
  } finally {
    clearTimeout(timer);
    await node.close();
  }
});
