/**
 * PagerDuty delivery against a real HTTP server on loopback standing in for the Events API v2: a
 * routing key PagerDuty refuses stops sending with one error line; transient failures are retried.
 */
import assert from "node:assert/strict";
import { Alerter } from "../../validator/pagerduty.ts";

const KEY = "R0UTINGKEY0123456789abcdefABCDEF";

/** An Events API stand-in answering each request with the next of `replies` (the last repeats). */
function eventsEndpoint(replies: { status: number; body: string }[]) {
  const endpoint = {
    requests: 0,
    url: "",
    /** Resolves once `count` requests have come in. */
    reached(count: number): Promise<void> {
      return new Promise((resolve) => {
        const check = () => endpoint.requests >= count ? resolve() : setTimeout(check, 5);
        check();
      });
    },
    close: () => server.shutdown(),
  };
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    await req.json();
    const reply = replies[Math.min(endpoint.requests, replies.length - 1)];
    endpoint.requests++;
    return new Response(reply.body, { status: reply.status });
  });
  endpoint.url = `http://127.0.0.1:${server.addr.port}/v2/enqueue`;
  return endpoint;
}

function alerterFor(url: string, lines: string[]) {
  return new Alerter({
    routingKey: KEY,
    source: "w:h",
    url,
    retryMs: 1,
    log: (line, level) => void lines.push(`${level} ${line}`),
  });
}

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

Deno.test("PagerDuty: a reply whose read stops inside the key has that part masked too", async () => {
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    await req.json();
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        const bytes = (text: string) => new TextEncoder().encode(text);
        controller.enqueue(bytes(`${" ".repeat(1000)}bad key=${KEY.slice(0, 16)}`));
        await new Promise((resolve) => setTimeout(resolve, 50));
        controller.enqueue(bytes(`${KEY.slice(16)} rest`));
        controller.close();
      },
    });
    return new Response(body, { status: 500 });
  });
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
  const alerts = alerterFor(url, lines);
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
