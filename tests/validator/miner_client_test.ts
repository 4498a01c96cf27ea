import assert from "node:assert/strict";
import { DendriteMinerClient, minerText } from "../../validator/miner_client.ts";
import { Dendrite } from "../../bittensor/dendrite.ts";
import { cryptoReady, Keypair } from "../../bittensor/keypair.ts";
import type { StateUpdate } from "../../agents/sdk/state.ts";
import { fileURLToPath } from "node:url";

Deno.test("a miner's message is cut and its control characters escaped before it is logged", () => {
  assert.equal(minerText("Timeout: no reply"), "Timeout: no reply");
  const forged = minerText("bad\nERROR taos: forged line\r\u0000");
  assert.equal(forged, "bad\\u000aERROR taos: forged line\\u000d\\u0000");
  assert.ok(!forged.includes("\n"));
  const huge = minerText("x".repeat(2_000_000));
  assert.equal(huge, `${"x".repeat(300)}… (1999700 more characters)`);
});

Deno.test("a round's replies are checked one at a time: five 120 000-instruction replies fit a 128 MB heap", async () => {
  // Each reply inflates to about 28 MB of JSON and takes about 40 MB of heap once parsed; a
  // client that parsed every reply before checking any ran out of this heap (V8 aborts).
  const fixture = fileURLToPath(new URL("./fixtures/large_replies.ts", import.meta.url));
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--max-old-space-size=128", fixture, "5", "120000"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const errors = new TextDecoder().decode(stderr);
  assert.equal(code, 0, errors.slice(-2000));
  const replies = JSON.parse(new TextDecoder().decode(stdout));
  assert.deepEqual(
    replies,
    Array.from({ length: 5 }, () => ({ outcome: "ok", accepted: 400, message: "" })),
  );
});

Deno.test({
  name:
    "a query's outcome follows the axon: no answer in time, a refusal, an answer without a response",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  await cryptoReady();
  const late: (() => void)[] = [];
  const bodies: string[] = [];
  const serve = (answer: (body: string) => Response | Promise<Response>) =>
    Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (req) => {
      const body = await req.text();
      bodies.push(body);
      return await answer(body);
    });
  const hang = serve(() => new Promise((resolve) => late.push(() => resolve(new Response("")))));
  const busy = serve(() => new Response("{}", { status: 429, statusText: "Too Many Requests" }));
  // A miner that echoes the request and fills in no response.
  const empty = serve((body) => Response.json({ ...JSON.parse(body), response: null }));
  const target = (server: Deno.HttpServer<Deno.NetAddr>) => ({
    ip: "127.0.0.1",
    port: server.addr.port,
    hotkey: "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
  });
  const state = (cash: number) =>
    ({
      model: "m",
      timestamp: 1,
      config: {},
      books: { "0": { bids: [], asks: [] } },
      accounts: { "0": { cash } },
      notices: {},
    }) as unknown as StateUpdate;
  const client = new DendriteMinerClient(new Dendrite(Keypair.fromUri("//Alice")));
  const check = () => ({
    accepted: [],
    dropped: 0,
    firstDrop: null,
    foreignCancellations: 0,
    discarded: null,
    refused: false,
  });
  try {
    const servers = [hang, busy, empty];
    const replies = await client.query(
      servers.map((s, uid) => ({ uid, target: target(s), state: state(uid) })),
      // Long enough for the two that answer at once on a loaded machine.
      3,
      check,
    );
    assert.deepEqual(
      replies.map((r) => [r.uid, r.outcome, r.outcome === "failure" ? r.message : ""]),
      [[0, "timeout", ""], [1, "rejected", ""], [2, "failure", "no response"]],
    );
    // A miner's accounts change between rounds: the second request carries the new ones.
    bodies.length = 0;
    await client.query([{ uid: 2, target: target(empty), state: state(7) }], 3, check);
    const accounts = (body: string) => JSON.parse(body).accounts as string;
    const second = await client.query(
      [{ uid: 2, target: target(empty), state: state(8) }],
      3,
      check,
    );
    assert.equal(second[0].outcome, "failure");
    assert.equal(bodies.length, 2);
    assert.notEqual(accounts(bodies[0]), accounts(bodies[1]));
  } finally {
    for (const answer of late) answer();
    await Promise.all([hang.shutdown(), busy.shutdown(), empty.shutdown()]);
  }
});
