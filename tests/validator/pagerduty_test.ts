/**
 * PagerDuty delivery against a real HTTP server on loopback standing in for the Events API v2: a
 * routing key PagerDuty refuses stops sending with one error line; an invalid event is dropped;
 * transient failures are retried after their own waits (all events wait while PagerDuty
 * throttles), and once more within `close`'s deadline.
 */
import assert from "node:assert/strict";
import { Alerter } from "../../validator/pagerduty.ts";
import { startOnForeignState } from "./processes.ts";
import { until } from "../until.ts";

const KEY = "R0UTINGKEY0123456789abcdefABCDEF";

/** An Events API stand-in answering each request with the next of `replies` (the last repeats). */
function eventsEndpoint(replies: { status: number; body: string }[]) {
  const endpoint = {
    requests: 0,
    /** The events received, in order, with when each came (`performance.now()`). */
    events: [] as { at: number; kind: string; action: string; summary?: string }[],
    url: "",
    /** Resolves once `count` requests have come in. */
    reached: (count: number) =>
      until(() => endpoint.requests >= count, `${count} requests`, 30_000),
    /** Resolves once `count` events of `kind` have come in. */
    receivedOf: (kind: string, count: number) =>
      until(
        () => endpoint.events.filter((e) => e.kind === kind).length >= count,
        `${count} ${kind} events`,
        30_000,
      ),
    close: () => server.shutdown(),
  };
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    const event = await req.json();
    endpoint.events.push({
      at: performance.now(),
      kind: event.dedup_key.split(":").at(-1),
      action: event.event_action,
      summary: event.payload?.summary,
    });
    const reply = replies[Math.min(endpoint.requests, replies.length - 1)];
    endpoint.requests++;
    return new Response(reply.body, { status: reply.status });
  });
  endpoint.url = `http://127.0.0.1:${server.addr.port}/v2/enqueue`;
  return endpoint;
}

function alerterFor(url: string, lines: string[], retryMs = 1) {
  return new Alerter({
    routingKey: KEY,
    source: "w:h",
    url,
    retryMs,
    log: (line, level) => void lines.push(`${level} ${line}`),
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Timers fire no earlier than asked; this allows for the two clocks' rounding. */
const CLOCK_SLACK_MS = 5;

const invalidKey = JSON.stringify({
  status: "invalid event",
  message: "Event object is invalid",
  errors: ["Invalid routing key"],
});

for (
  const [status, why, body] of [
    [400, "invalid", invalidKey],
    [
      400,
      "wrong length",
      '{"errors":["Length of \'routing_key\' is incorrect (should be 32 characters)"]}',
    ],
    [401, "unauthorized", ""],
    [403, "forbidden", '{"message":"Forbidden"}'],
  ] as const
) {
  Deno.test(`PagerDuty: a routing key refused with HTTP ${status} (${why}) is reported once; nothing more is sent`, async () => {
    const endpoint = eventsEndpoint([{ status, body }]);
    const lines: string[] = [];
    const alerts = alerterFor(endpoint.url, lines);
    try {
      alerts.trigger("state-save", "disk full");
      alerts.trigger("metrics", "port taken");
      await alerts.settled();
      assert.equal(endpoint.requests, 1);
      assert.ok(alerts.keyRejected);
      assert.deepEqual(alerts.undelivered, []);
      const refused = lines.filter((line) => line.includes("rejected the routing key"));
      assert.equal(refused.length, 1, lines.join("\n"));
      assert.match(
        refused[0],
        new RegExp(`^error PagerDuty rejected the routing key \\(HTTP ${status}`),
      );
      assert.match(refused[0], /TAOS_PAGERDUTY_KEY/);
      // With a 1 ms retry wait, a retry would long have come by now.
      await new Promise((resolve) => setTimeout(resolve, 100));
      alerts.trigger("weights", "no weights set");
      alerts.resolve("state-save");
      await alerts.settled();
      assert.equal(endpoint.requests, 1);
      // Alerts are still logged, and nothing else is (no retry lines).
      assert.deepEqual(lines.filter((line) => line !== refused[0]), [
        "error ALERT state-save: disk full",
        "error ALERT metrics: port taken",
        "error ALERT weights: no weights set",
        "info RESOLVED state-save",
      ]);
      assert.ok(lines.every((line) => !line.includes(KEY)));
    } finally {
      await alerts.close();
      await endpoint.close();
    }
  });
}

Deno.test("PagerDuty: a reply quoting the routing key is logged with the key masked", async () => {
  const endpoint = eventsEndpoint([{
    status: 400,
    body: `{"errors":["Invalid routing key ${KEY}"]}`,
  }]);
  const lines: string[] = [];
  const alerts = alerterFor(endpoint.url, lines);
  try {
    alerts.trigger("state-save", "disk full");
    await alerts.settled();
    assert.ok(alerts.keyRejected);
    assert.ok(lines.every((line) => !line.includes(KEY)), lines.join("\n"));
    assert.match(lines.join("\n"), /Invalid routing key <routing key>/);
  } finally {
    await alerts.close();
    await endpoint.close();
  }
});

Deno.test("PagerDuty: a key quoted where the reply is cut to 200 characters is masked whole", async () => {
  const endpoint = eventsEndpoint([{ status: 500, body: `${"x".repeat(185)} key=${KEY} rest` }]);
  const lines: string[] = [];
  const alerts = alerterFor(endpoint.url, lines);
  try {
    alerts.trigger("state-save", "disk full");
    await alerts.settled();
    const failure = lines.find((line) => line.includes("not delivered")) ?? "";
    assert.match(
      failure,
      /\(HTTP 500: x{185} key=<routing k\); it will be sent again$/,
    );
    assert.ok(!failure.includes(KEY.slice(0, 6)), failure);
  } finally {
    await alerts.close(100);
    await endpoint.close();
  }
});

// 4 characters are the shortest start of the key that is masked.
for (const cut of [16, 4]) {
  Deno.test(`PagerDuty: a reply whose read stops ${cut} characters inside the key has that part masked too`, async () => {
    const server = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen: () => {} },
      async (req) => {
        await req.json();
        const body = new ReadableStream<Uint8Array>({
          async start(controller) {
            const bytes = (text: string) => new TextEncoder().encode(text);
            // The read stops at 1024 bytes, `cut` characters into the key.
            controller.enqueue(bytes(`${" ".repeat(1016 - cut)}bad key=${KEY.slice(0, cut)}`));
            await new Promise((resolve) => setTimeout(resolve, 50));
            controller.enqueue(bytes(`${KEY.slice(cut)} rest`));
            controller.close();
          },
        });
        return new Response(body, { status: 500 });
      },
    );
    const lines: string[] = [];
    const alerts = alerterFor(`http://127.0.0.1:${server.addr.port}/v2/enqueue`, lines);
    try {
      alerts.trigger("state-save", "disk full");
      await alerts.settled();
      const failure = lines.find((line) => line.includes("not delivered")) ?? "";
      assert.match(failure, /\(HTTP 500: bad key=<routing key>\)/);
      assert.ok(!failure.includes(KEY.slice(0, 4)), failure);
    } finally {
      await alerts.close(100);
      await server.shutdown();
    }
  });
}

for (const status of [429, 500, 503]) {
  Deno.test(`PagerDuty: HTTP ${status} is retried until the event is accepted`, async () => {
    const endpoint = eventsEndpoint([
      { status, body: "busy" },
      { status, body: "busy" },
      { status: 202, body: '{"status":"success"}' },
    ]);
    const lines: string[] = [];
    const alerts = alerterFor(endpoint.url, lines);
    try {
      alerts.trigger("state-save", "disk full");
      await endpoint.reached(3);
      await alerts.settled();
      assert.equal(alerts.keyRejected, false);
      assert.deepEqual(alerts.undelivered, []);
      assert.equal(alerts.deliveryFailures, 2);
      assert.ok(lines.includes("info PagerDuty trigger of state-save delivered at attempt 3"));
    } finally {
      await alerts.close();
      await endpoint.close();
    }
  });
}

Deno.test("PagerDuty: an unreachable endpoint is retried, not taken for a refused key", async () => {
  const closed = eventsEndpoint([{ status: 202, body: "" }]);
  const url = closed.url;
  await closed.close();
  const lines: string[] = [];
  // A retry wait longer than the close's deadline: the attempt made at close is the last one
  // whatever the machine's load (with 1 ms waits a timer firing late past the deadline could end
  // the close after an attempt that still expected another).
  const alerts = alerterFor(url, lines, 2000);
  try {
    alerts.trigger("state-save", "disk full");
    await alerts.settled();
    assert.equal(alerts.keyRejected, false);
    assert.deepEqual(alerts.undelivered, ["state-save"]);
    // Why, not only fetch's "fetch failed".
    assert.match(
      lines.join("\n"),
      /^error PagerDuty trigger of state-save not delivered \(fetch failed: .*[Cc]onnection refused.*\); it will be sent again$/m,
    );
    // The last attempt, at close, does not promise another, and what was never delivered is
    // said at warning level (later attempts are logged at debug level only).
    await alerts.close(1000);
    assert.match(lines.at(-2) ?? "", /not delivered .*; it was the last attempt \(stopping\)$/);
    assert.equal(
      lines.at(-1),
      "warning PagerDuty never received: trigger of state-save (the validator stopped)",
    );
  } finally {
    await alerts.close(1000);
  }
});

Deno.test("PagerDuty: new alerts go out at once while an event waits for its retry; that one keeps waiting, the wait doubling", async () => {
  const endpoint = eventsEndpoint([{ status: 503, body: "busy" }]);
  const lines: string[] = [];
  const alerts = alerterFor(endpoint.url, lines, 300);
  try {
    alerts.trigger("state-save", "disk full");
    await alerts.settled();
    // A burst of alerts: each is sent once, and the failed trigger waits for its retry, not sent
    // again with each new alert.
    alerts.trigger("metrics", "port taken");
    alerts.trigger("weights", "refused");
    alerts.trigger("config", "bad file");
    await alerts.settled();
    assert.deepEqual(endpoint.events.map((e) => e.kind), [
      "state-save",
      "metrics",
      "weights",
      "config",
    ]);
    await endpoint.receivedOf("state-save", 3);
    const times = endpoint.events.filter((e) => e.kind === "state-save").map((e) => e.at);
    assert.ok(times[1] - times[0] >= 300 - CLOCK_SLACK_MS, `first wait ${times[1] - times[0]} ms`);
    assert.ok(times[2] - times[1] >= 600 - CLOCK_SLACK_MS, `second wait ${times[2] - times[1]} ms`);
  } finally {
    await alerts.close(0);
    await endpoint.close();
  }
});

Deno.test("PagerDuty: while it throttles (HTTP 429), new events wait for the back-off too", async () => {
  const endpoint = eventsEndpoint([
    { status: 429, body: "" },
    { status: 429, body: "" },
    { status: 202, body: '{"status":"success"}' },
  ]);
  const lines: string[] = [];
  const alerts = alerterFor(endpoint.url, lines, 500);
  try {
    alerts.trigger("state-save", "disk full");
    await alerts.settled();
    alerts.trigger("metrics", "port taken");
    await alerts.settled();
    await sleep(200);
    assert.equal(endpoint.requests, 1, "the new trigger waits for the back-off");
    // The retry is throttled again: the new trigger waits for the doubled back-off.
    await endpoint.reached(2);
    await sleep(200);
    assert.equal(endpoint.requests, 2);
    await endpoint.reached(4);
    await alerts.settled();
    assert.deepEqual(endpoint.events.map((e) => e.kind), [
      "state-save",
      "state-save",
      "state-save",
      "metrics",
    ]);
    const [first, second, third] = endpoint.events.map((e) => e.at);
    assert.ok(second - first >= 500 - CLOCK_SLACK_MS, `first back-off ${second - first} ms`);
    assert.ok(third - second >= 1000 - CLOCK_SLACK_MS, `second back-off ${third - second} ms`);
    assert.deepEqual(alerts.undelivered, []);
  } finally {
    await alerts.close(0);
    await endpoint.close();
  }
});

Deno.test("PagerDuty: a resolve raised while its trigger waits for a retry goes at once, and the trigger never follows it", async () => {
  const endpoint = eventsEndpoint([
    { status: 503, body: "busy" },
    { status: 202, body: '{"status":"success"}' },
  ]);
  const alerts = alerterFor(endpoint.url, [], 100);
  try {
    alerts.trigger("state-save", "disk full");
    await alerts.settled();
    alerts.resolve("state-save");
    await alerts.settled();
    // Past the trigger's retry time: the resolve replaced it.
    await sleep(300);
    assert.deepEqual(endpoint.events.map((e) => `${e.action} ${e.kind}`), [
      "trigger state-save",
      "resolve state-save",
    ]);
    assert.deepEqual(alerts.undelivered, []);
  } finally {
    await alerts.close(0);
    await endpoint.close();
  }
});

for (
  const [why, body, errors] of [
    [
      "PagerDuty's errors",
      JSON.stringify({
        status: "invalid event",
        message: "Event object is invalid",
        errors: ["'payload.summary' is missing or blank", "'payload.source' is missing or blank"],
      }),
      "'payload.summary' is missing or blank; 'payload.source' is missing or blank",
    ],
    ["a reply that is not JSON", "Bad Request", "Bad Request"],
  ] as const
) {
  Deno.test(`PagerDuty: an invalid event (HTTP 400) is logged once with ${why}, counted and dropped`, async () => {
    const endpoint = eventsEndpoint([
      { status: 400, body },
      { status: 202, body: '{"status":"success"}' },
    ]);
    const lines: string[] = [];
    const alerts = alerterFor(endpoint.url, lines);
    try {
      alerts.trigger("metrics", "port taken");
      await alerts.settled();
      // With a 1 ms retry wait, a retry would long have come by now.
      await sleep(100);
      assert.equal(endpoint.requests, 1);
      assert.deepEqual(alerts.undelivered, []);
      assert.equal(alerts.deliveryFailures, 1);
      assert.equal(alerts.keyRejected, false);
      assert.deepEqual(lines, [
        "error ALERT metrics: port taken",
        `error PagerDuty refused the trigger of metrics as an invalid event (HTTP 400: ${errors}); ` +
        "it is dropped, not sent again",
      ]);
      // Only that event: the next one is sent.
      alerts.trigger("state-save", "disk full");
      await alerts.settled();
      assert.equal(endpoint.requests, 2);
      assert.deepEqual(alerts.undelivered, []);
    } finally {
      await alerts.close();
      await endpoint.close();
    }
  });
}

Deno.test("PagerDuty: a summary is cut at 1024 characters, never inside a character", async () => {
  const endpoint = eventsEndpoint([{ status: 202, body: '{"status":"success"}' }]);
  const alerts = alerterFor(endpoint.url, []);
  try {
    const prefix = "τaos w:h - metrics : ";
    // The 1024th character is the first emoji: its two UTF-16 halves straddle unit 1024.
    const xs = "x".repeat(1023 - prefix.length);
    alerts.trigger("metrics", `${xs}${"😀".repeat(10)}`);
    await alerts.settled();
    assert.equal(endpoint.events[0].summary, `${prefix}${xs}😀`);
  } finally {
    await alerts.close();
    await endpoint.close();
  }
});

Deno.test("PagerDuty: an event not delivered when closing is sent again within the deadline", async () => {
  const endpoint = eventsEndpoint([
    { status: 503, body: "busy" },
    { status: 503, body: "busy" },
    { status: 202, body: '{"status":"success"}' },
  ]);
  const lines: string[] = [];
  const alerts = alerterFor(endpoint.url, lines, 50);
  try {
    const started = performance.now();
    alerts.trigger("state-load", "unreadable state file");
    await alerts.close(5000);
    assert.ok(performance.now() - started < 2000, "close returns once it is delivered");
    assert.equal(endpoint.requests, 3);
    assert.deepEqual(alerts.undelivered, []);
    assert.deepEqual(lines.filter((line) => !line.startsWith("debug")), [
      "error ALERT state-load: unreadable state file",
      "error PagerDuty trigger of state-load not delivered (HTTP 503: busy); it will be sent again",
      "info PagerDuty trigger of state-load delivered at attempt 3",
    ]);
  } finally {
    await endpoint.close();
  }
});

Deno.test("PagerDuty: closing gives up at its deadline, and only the attempt that was the last says so", async () => {
  const endpoint = eventsEndpoint([{ status: 503, body: "busy" }]);
  const lines: string[] = [];
  const alerts = alerterFor(endpoint.url, lines, 50);
  try {
    const started = performance.now();
    alerts.trigger("state-load", "unreadable state file");
    await alerts.close(400);
    const took = performance.now() - started;
    assert.ok(took < 1500, `close took ${took} ms`);
    // Sent at 0, 50, 150 and 350 ms (fewer on a slow machine); the next would come after the
    // deadline.
    assert.ok(endpoint.requests >= 3, `${endpoint.requests} attempts`);
    const failures = lines.filter((line) => line.includes("not delivered"));
    assert.equal(failures.length, endpoint.requests);
    assert.ok(failures.slice(0, -1).every((line) => line.endsWith("; it will be sent again")));
    assert.match(failures.at(-1)!, /^debug .*; it was the last attempt \(stopping\)$/);
    assert.equal(
      lines.at(-1),
      "warning PagerDuty never received: trigger of state-load (the validator stopped)",
    );
  } finally {
    await endpoint.close();
  }
});

Deno.test({
  name:
    "PagerDuty: the state-load page of a validator that cannot start is sent again before it exits",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const endpoint = eventsEndpoint([
    { status: 503, body: "busy" },
    { status: 202, body: '{"status":"success"}' },
  ]);
  const dir = Deno.makeTempDirSync();
  try {
    const started = performance.now();
    // Another program's database: the validator refuses it and pages state-load.
    const validator = startOnForeignState(dir, endpoint.url, KEY);
    assert.equal((await validator.done).code, 2, validator.stderr.join("\n"));
    // The retry comes 5 s after the failure; closing waits 10 s at most.
    assert.ok(performance.now() - started < 30_000);
    assert.deepEqual(endpoint.events.map((e) => `${e.action} ${e.kind}`), [
      "trigger state-load",
      "trigger state-load",
    ]);
    const log = validator.stderr.join("\n");
    assert.match(log, /PagerDuty trigger of state-load delivered at attempt 2/);
    assert.doesNotMatch(log, /last attempt|never received/);
  } finally {
    await endpoint.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("PagerDuty: closing sends an event PagerDuty throttled at once, not after the back-off", async () => {
  const endpoint = eventsEndpoint([
    { status: 429, body: "" },
    { status: 202, body: '{"status":"success"}' },
  ]);
  const lines: string[] = [];
  // A back-off far past the close's deadline: only the throttle's reset lets the last attempt go.
  const alerts = alerterFor(endpoint.url, lines, 60_000);
  try {
    alerts.trigger("state-load", "unreadable state file");
    await alerts.settled();
    assert.equal(endpoint.requests, 1);
    await alerts.close(5000);
    assert.equal(endpoint.requests, 2);
    assert.deepEqual(alerts.undelivered, []);
    assert.equal(lines.at(-1), "info PagerDuty trigger of state-load delivered at attempt 2");
  } finally {
    await endpoint.close();
  }
});

Deno.test("PagerDuty: alerts raised after closing are logged, never sent", async () => {
  const endpoint = eventsEndpoint([{ status: 202, body: '{"status":"success"}' }]);
  const lines: string[] = [];
  const alerts = alerterFor(endpoint.url, lines);
  try {
    // Nothing pending: the close ends at once, long before its 10 s deadline.
    await alerts.close();
    alerts.trigger("simulation", "round failed");
    alerts.resolve("weights");
    await alerts.settled();
    await sleep(100);
    assert.equal(endpoint.requests, 0);
    assert.deepEqual(alerts.undelivered, []);
    assert.deepEqual(lines, ["error ALERT simulation: round failed"]);
  } finally {
    await endpoint.close();
  }
});

Deno.test("PagerDuty: a newer event of a kind waits behind the kinds that failed before it", async () => {
  const endpoint = eventsEndpoint([
    { status: 503, body: "busy" },
    { status: 503, body: "busy" },
    { status: 503, body: "busy" },
    { status: 202, body: '{"status":"success"}' },
  ]);
  // No retry comes before the close: what it sends is in queue order.
  const alerts = alerterFor(endpoint.url, [], 60_000);
  try {
    alerts.trigger("state-save", "disk full");
    alerts.trigger("metrics", "port taken");
    await alerts.settled();
    alerts.resolve("state-save");
    await alerts.settled();
    assert.equal(endpoint.requests, 3);
    await alerts.close(5000);
    assert.deepEqual(endpoint.events.map((e) => `${e.action} ${e.kind}`), [
      "trigger state-save",
      "trigger metrics",
      "resolve state-save",
      "trigger metrics",
      "resolve state-save",
    ]);
    assert.deepEqual(alerts.undelivered, []);
  } finally {
    await endpoint.close();
  }
});
