/**
 * The round's reply budget over real loopback servers: large replies past the budget fail (the
 * largest first, read or not), small ones are always read and parsed, and the bytes held at once
 * never pass the budget.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { Dendrite } from "../../bittensor/dendrite.ts";
import { HttpClient } from "../../bittensor/http_client.ts";
import { cryptoReady, Keypair } from "../../bittensor/keypair.ts";
import { OverBudget, ReplyBudget } from "../../bittensor/reply_budget.ts";
import type { SynapseKind } from "../../bittensor/synapse.ts";
import { rawServer, readRequest, writeAll } from "./raw_server.ts";

await cryptoReady();

const KiB = 1024;
const MiB = 1024 * KiB;
const utf8 = new TextEncoder();

const Echo: SynapseKind<{ text: string }> = {
  name: "Echo",
  fields: z.object({ text: z.string() }),
  requiredFields: ["text"],
  hashFields: ["text"],
};

/** An Echo reply body of exactly `bytes` bytes: valid JSON padded with spaces. */
function echoBody(text: string, bytes: number): Uint8Array {
  return utf8.encode(JSON.stringify({ text }).padEnd(bytes, " "));
}

/**
 * A loopback server answering each request on a connection with `answer`; `served` counts the
 * connections the client closed (while the server is open, only those it gave up).
 */
function server(answer: (conn: Deno.Conn) => Promise<void>) {
  return rawServer(async (conn) => {
    while (await readRequest(conn) !== null) await answer(conn);
  });
}

/** A reply with Content-Length; resolves once the client has read it or hung up. */
function contentLengthReply(body: Uint8Array) {
  const head = utf8.encode(
    `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.byteLength}\r\n\r\n`,
  );
  return async (conn: Deno.Conn) => {
    await writeAll(conn, head);
    await writeAll(conn, body);
  };
}

/** Resolves when `done()` holds, checking every 10 ms (a wait, not a timed assertion). */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 10));
}

Deno.test("a round's large replies past its budget fail, the largest first; small ones are read", async () => {
  // 12 replies of 1 MiB against a 4 MiB budget: 4 fit, the 8 others are refused as they announce
  // themselves. The small replies come once those 8 were refused: the first of them evicts one of
  // the 4 held, unread; the others fit.
  const large = Array.from(
    { length: 12 },
    (_, i) => server(contentLengthReply(echoBody(`large ${i}`, MiB))),
  );
  const refused = () => large.reduce((n, s) => n + s.served, 0);
  const small = Array.from({ length: 6 }, (_, i) => {
    const reply = contentLengthReply(echoBody(`small ${i}`, 200));
    return server(async (conn) => {
      await until(() => refused() >= 8);
      await reply(conn);
    });
  });
  const dendrite = new Dendrite(Keypair.fromUri("//Alice"), {
    maxResponseBytes: MiB,
    maxRoundResponseBytes: 4 * MiB,
  });
  try {
    const targets = [...large, ...small].map((s) => ({
      ip: "127.0.0.1",
      port: s.port,
      hotkey: Keypair.fromUri("//Bob").ss58Address,
    }));
    const results = await dendrite.query(targets, Echo, { text: "hi" }, 10);
    const message =
      "Failed to parse response: dropped, the round's replies reached its 4 MiB budget and this was the largest";
    for (const [i, r] of results.slice(12).entries()) {
      assert.equal(r.statusCode, 200, r.statusMessage);
      assert.equal(r.fields?.text, `small ${i}`);
    }
    const largeOk = results.slice(0, 12).filter((r) => r.ok);
    const largeDropped = results.slice(0, 12).filter((r) => !r.ok);
    assert.equal(largeOk.length, 3);
    for (const r of largeDropped) assert.deepEqual([r.statusCode, r.statusMessage], [422, message]);
    // The bytes held or being read at once never passed the budget.
    assert.equal(dendrite.lastRoundPeakBytes, 4 * MiB);

    // Connections of refused replies were closed, not reused: the next round reads every reply.
    const again = await new Dendrite(Keypair.fromUri("//Alice"), { maxResponseBytes: MiB })
      .query(targets.slice(0, 3), Echo, { text: "hi" }, 10);
    assert.deepEqual(again.map((r) => r.statusCode), [200, 200, 200]);
  } finally {
    for (const s of [...large, ...small]) await s.close();
  }
});

Deno.test("the reply budget evicts the largest reply, even one still being read, and closes its connection", async () => {
  const client = new HttpClient();
  const budget = new ReplyBudget(2 * MiB);
  const sized = (bytes: number) => server(contentLengthReply(new Uint8Array(bytes)));
  // A chunked reply that sends 700 KiB in 100 KiB chunks, then stalls until the client hangs up.
  const streaming = server(async (conn) => {
    await writeAll(conn, utf8.encode("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"));
    for (let i = 0; i < 7; i++) {
      await writeAll(conn, utf8.encode(`${(100 * KiB).toString(16)}\r\n`));
      await writeAll(conn, new Uint8Array(100 * KiB));
      await writeAll(conn, utf8.encode("\r\n"));
    }
    // Until the client hangs up.
    await conn.read(new Uint8Array(1));
  });
  const servers = [sized(300 * KiB), sized(600 * KiB), sized(900 * KiB), sized(400 * KiB)];
  const [a, b, c, d] = servers;
  const e = sized(MiB), g = sized(100 * KiB);
  const post = (port: number) => {
    const claim = budget.claim();
    const reply = client.post("127.0.0.1", port, "/", {}, new Uint8Array(0), {
      timeoutMs: 10_000,
      maxResponseBytes: MiB,
      claim,
    });
    return { claim, reply };
  };
  try {
    const held = [post(a.port), post(b.port), post(c.port)];
    for (const h of held) await h.reply;
    assert.equal(budget.heldBytes, 1800 * KiB);
    // 400 KiB more would pass 2 MiB: the 900 KiB reply, the largest, goes; the newcomer stays.
    const dHeld = post(d.port);
    await dHeld.reply;
    assert.ok(held[2].claim.dropped instanceof OverBudget);
    assert.equal(budget.heldBytes, 1300 * KiB);
    // 1 MiB is larger than any held: the newcomer is refused before its body is read, and its
    // connection is closed.
    await assert.rejects(post(e.port).reply, OverBudget);
    await until(() => e.served === 1);
    assert.equal(budget.heldBytes, 1300 * KiB);

    // A stream takes 700 KiB more and stalls, 48 KiB short of the budget.
    const stream = post(streaming.port);
    await until(() => budget.heldBytes === 2000 * KiB);
    // 100 KiB more would pass the budget: the stream, larger, is cut off where it stands.
    const gHeld = post(g.port);
    await gHeld.reply;
    await assert.rejects(stream.reply, OverBudget);
    await until(() => streaming.served === 1);
    assert.equal(budget.heldBytes, 1400 * KiB);
    // Exactly the 2000 KiB held while the stream stalled: `<= 2 MiB` could not fail, the budget
    // never lets more be held, and would pass a peak that was never recorded.
    assert.equal(budget.peakBytes, 2000 * KiB);

    // The servers whose replies were refused answer again on new connections.
    assert.equal(
      (await client.post("127.0.0.1", e.port, "/", {}, new Uint8Array(0), {
        timeoutMs: 10_000,
        maxResponseBytes: MiB,
      })).body.byteLength,
      MiB,
    );
    assert.equal(e.accepted, 2);
    for (const h of [held[0], held[1], dHeld, gHeld]) h.claim.release();
    assert.equal(budget.heldBytes, 0);
  } finally {
    client.close();
    for (const s of [...servers, e, g, streaming]) await s.close();
  }
});

Deno.test("between replies of equal size the claimant is the one given up", () => {
  // Only a strictly larger reply is evicted for another: the one already held keeps its bytes.
  const budget = new ReplyBudget(10);
  // Read through a call, so an earlier assertion does not narrow the later reads' type.
  const dropped = (claim: { dropped: OverBudget | null }) => claim.dropped;
  const held = budget.claim();
  held.reserve(6);
  const late = budget.claim();
  assert.throws(() => late.reserve(6), OverBudget);
  assert.ok(dropped(late) instanceof OverBudget);
  assert.equal(dropped(held), null);
  assert.equal(budget.heldBytes, 6);
  // One byte smaller than the held reply, a claimant evicts it instead.
  const smaller = budget.claim();
  smaller.reserve(5);
  assert.ok(dropped(held) instanceof OverBudget);
  assert.equal(dropped(smaller), null);
  assert.equal(budget.heldBytes, 5);
});
