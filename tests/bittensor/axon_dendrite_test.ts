import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { deflateSync } from "node:zlib";
import { z } from "zod";
import { Axon } from "../../bittensor/axon.ts";
import { Dendrite } from "../../bittensor/dendrite.ts";
import {
  decodeResponse,
  MarketSimulationStateUpdate,
  type StateUpdateWire,
} from "../../bittensor/market_synapse.ts";
import { cryptoReady, Keypair } from "../../bittensor/keypair.ts";
import { RequestVerifier } from "../../bittensor/request_verifier.ts";
import {
  bodyHash,
  checkJsonDepth,
  emptyTerminal,
  parseSynapseHeaders,
  parseWireJson,
  requestSignatureMessage,
  synapseFromBody,
  type SynapseKind,
  timeNs,
} from "../../bittensor/synapse.ts";
import { rawServer, readRequest, writeAll } from "./raw_server.ts";
import { signedSynapse, type Tampering } from "./signed_request.ts";

await cryptoReady();

interface Echo {
  text: string;
  count: number;
}

const EchoSynapse: SynapseKind<Echo> = {
  name: "Echo",
  fields: z.object({ text: z.string(), count: z.number().int().default(0) }),
  requiredFields: ["text"],
  hashFields: ["text"],
};

/** The built-in `/Synapse` ping, as a dendrite sees it: the base synapse alone. */
const Ping: SynapseKind<Record<string, never>> = {
  name: "Synapse",
  fields: z.object({}),
  requiredFields: [],
  hashFields: [],
};

const alice = Keypair.fromUri("//Alice"); // registered validator
const bob = Keypair.fromUri("//Bob"); // the miner serving the axon
const charlie = Keypair.fromUri("//Charlie"); // not registered

/** Causes of the 500 replies, as the axon reports them. */
const internalErrors: string[] = [];

/** Starts Bob's axon answering Echo, trusting only Alice. */
async function startAxon(maxBodyBytes = 64 * 1024) {
  const axon = new Axon({
    keypair: bob,
    port: 0,
    host: "127.0.0.1",
    maxBodyBytes,
    onError: (message) => internalErrors.push(message),
  });
  axon.attach(EchoSynapse, {
    forward: (synapse) => ({
      text: synapse.fields.text.toUpperCase(),
      count: synapse.fields.count + 1,
    }),
    blacklist: (synapse) =>
      synapse.dendrite.hotkey === alice.ss58Address
        ? { blacklisted: false, reason: "" }
        : { blacklisted: true, reason: "Unrecognized hotkey" },
    priority: () => 1,
  });
  const port = await axon.start();
  return { axon, port, url: `http://127.0.0.1:${port}/Echo` };
}

/** An `Echo` request, signed for Bob's axon unless `axonHotkey` says otherwise. */
function signedRequest(
  options: Omit<Tampering, "axonHotkey"> & { axonHotkey?: string; fields?: Echo },
) {
  const fields = options.fields ?? { text: "hello", count: 1 };
  const axonHotkey = options.axonHotkey ?? bob.ss58Address;
  return signedSynapse(EchoSynapse, fields, { ...options, axonHotkey });
}

/** A `/Synapse` ping from `signer` whose body carries `extra` keys besides the base fields. */
function signedPing(signer: Keypair, extra: Record<string, unknown> = {}) {
  return signedSynapse(Ping, {}, { signer, axonHotkey: bob.ss58Address, extra });
}

async function post(url: string, request: { headers: Record<string, string>; body: string }) {
  const response = await fetch(url, { method: "POST", ...request });
  const json = await response.json();
  return { status: response.status, json, headers: response.headers };
}

Deno.test("dendrite → axon over loopback with real keys", async () => {
  const { axon, port } = await startAxon();
  try {
    const dendrite = new Dendrite(alice);
    const [result] = await dendrite.query(
      [{ ip: "127.0.0.1", port, hotkey: bob.ss58Address }],
      EchoSynapse,
      { text: "hi", count: 41 },
      5,
    );
    assert.equal(result.statusCode, 200, result.statusMessage);
    assert.ok(result.ok);
    assert.deepEqual(result.fields, { text: "HI", count: 42 });
    assert.equal(result.statusMessage, "Success");
    assert.ok(result.processTime > 0);
    assert.equal(result.synapse.axon.hotkey, bob.ss58Address);
    assert.equal(typeof result.synapse.axon.signature, "string");
    // A second call with the same dendrite uses a larger nonce and is accepted too.
    const again = await dendrite.call(
      { ip: "127.0.0.1", port, hotkey: bob.ss58Address },
      EchoSynapse,
      { text: "x", count: 0 },
      5,
    );
    assert.equal(again.statusCode, 200);
  } finally {
    await axon.stop();
  }
});

Deno.test("success reply carries the Python axon's headers and a complete synapse body", async () => {
  const { axon, url } = await startAxon();
  try {
    const { status, json, headers } = await post(url, signedRequest({ signer: alice }));
    assert.equal(status, 200);
    assert.equal(headers.get("bt_header_axon_status_code"), "200");
    assert.equal(headers.get("bt_header_axon_status_message"), "Success");
    assert.match(headers.get("bt_header_axon_process_time") ?? "", /^\d+\.\d+(e-\d+)?$/);
    assert.equal(headers.get("bt_header_axon_hotkey"), bob.ss58Address);
    assert.equal(headers.get("bt_header_input_obj_text"), "IiI=");
    assert.equal(headers.get("name"), "Echo");
    assert.equal(headers.get("timeout"), "12.0");
    assert.equal(json.name, "Echo");
    assert.equal(json.text, "HELLO");
    assert.equal(json.axon.status_code, 200);
    assert.equal(json.dendrite.hotkey, alice.ss58Address);
  } finally {
    await axon.stop();
  }
});

Deno.test("each rejection gets the Python axon's status and message", async () => {
  const { axon, url, port } = await startAxon(4096);
  try {
    // Forged signature: Charlie signs but claims to be Alice.
    const forged = signedRequest({ signer: charlie, claimedHotkey: alice.ss58Address });
    let r = await post(url, forged);
    assert.equal(r.status, 401);
    assert.match(r.json.message, /^Not Verified with error: Signature mismatch with /);
    assert.equal(r.headers.get("bt_header_axon_status_code"), "401");
    // A real signature is repeated whole; a 60 KB one is cut, so the refusal stays small.
    const forgedSignature = forged.headers.bt_header_dendrite_signature;
    assert.ok(r.json.message.endsWith(` and ${forgedSignature}`), r.json.message);
    const huge = signedRequest({ signer: charlie, claimedHotkey: alice.ss58Address });
    huge.headers.bt_header_dendrite_signature = "0x" + "ab".repeat(30_000);
    r = await post(url, huge);
    assert.equal(r.status, 401);
    assert.ok(
      r.json.message.endsWith(` and 0x${"ab".repeat(149)}... (59702 more characters)`),
      r.json.message.slice(-80),
    );
    assert.ok(JSON.stringify(r.json).length < 2000, `${JSON.stringify(r.json).length} bytes`);
    // So is the signed text, which holds the caller's uuid header.
    const longUuid = signedRequest({ signer: charlie, claimedHotkey: alice.ss58Address });
    longUuid.headers.bt_header_dendrite_uuid = "u".repeat(30_000);
    r = await post(url, longUuid);
    assert.equal(r.status, 401);
    assert.match(
      r.json.message,
      /^Not Verified with error: Signature mismatch with .{300}\.\.\. \(\d+ more characters\) and 0x/,
    );
    assert.ok(JSON.stringify(r.json).length < 2000, `${JSON.stringify(r.json).length} bytes`);

    // Replayed nonce: the very same request twice.
    const request = signedRequest({ signer: alice });
    assert.equal((await post(url, request)).status, 200);
    r = await post(url, request);
    assert.equal(r.status, 401);
    assert.equal(
      r.json.message,
      "Not Verified with error: Nonce is too old, a newer one was last processed",
    );

    // Stale nonce on first contact: 60 s old with a 12 s timeout (allowed 16 s).
    r = await post(url, signedRequest({ signer: alice, nonce: timeNs() - 60_000_000_000n }));
    assert.equal(r.status, 401);
    assert.match(
      r.json.message,
      /^Not Verified with error: Nonce is too old: acceptable delta is 16\.00 seconds but request was 6\d\.\d\d seconds old$/,
    );

    // Signed for another axon's hotkey: said plainly, not as a bare "Signature mismatch with
    // <the signed text> and <the signature>".
    r = await post(url, signedRequest({ signer: alice, axonHotkey: charlie.ss58Address }));
    assert.equal(r.status, 401);
    assert.equal(
      r.json.message,
      `Not Verified with error: Request is addressed to hotkey ${charlie.ss58Address}, but this ` +
        `axon's hotkey is ${bob.ss58Address}`,
    );
    // Naming another hotkey than the one signed for is no such request: a plain mismatch.
    const misnamed = signedRequest({ signer: alice, axonHotkey: charlie.ss58Address });
    misnamed.headers.bt_header_axon_hotkey = alice.ss58Address;
    r = await post(url, misnamed);
    assert.equal(r.status, 401);
    assert.match(r.json.message, /^Not Verified with error: Signature mismatch with /);

    // Unsigned request: refused (we are stricter than the Python axon).
    const unsigned = signedRequest({ signer: alice });
    delete unsigned.headers.bt_header_dendrite_signature;
    r = await post(url, unsigned);
    assert.equal(r.status, 401);
    assert.equal(r.json.message, "Not Verified with error: Missing Signature");

    // Unregistered caller.
    r = await post(url, signedRequest({ signer: charlie }));
    assert.equal(r.status, 403);
    assert.equal(r.json.message, "Forbidden. Key is blacklisted: Unrecognized hotkey.");

    // Oversized body.
    r = await post(
      url,
      signedRequest({ signer: alice, fields: { text: "x".repeat(5000), count: 0 } }),
    );
    assert.equal(r.status, 413);
    assert.equal(r.json.message, "Request body exceeds 4096 bytes");

    // Malformed JSON: refused naming the problem (the Python axon answers a bare
    // `Internal Server Error #<uuid>`), since the caller was verified.
    r = await post(url, signedRequest({ signer: alice, body: "{not json" }));
    assert.equal(r.status, 500);
    assert.match(
      r.json.message,
      /^Improperly formatted request body for synapse of type \w+: not JSON: /,
    );

    // Malformed UTF-8 (a 0xff byte inside a string): refused as such.
    const badText = signedRequest({ signer: alice });
    const badBytes = new TextEncoder().encode(badText.body);
    badBytes[badText.body.indexOf('"hello"') + 1] = 0xff;
    const badUtf8 = await fetch(url, { method: "POST", headers: badText.headers, body: badBytes });
    assert.equal(badUtf8.status, 500);
    assert.match((await badUtf8.json()).message, /: not UTF-8 text$/);

    // HEAD: the status and headers of the same request as GET, no body.
    const head = await fetch(`http://127.0.0.1:${port}/Synapse`, { method: "HEAD" });
    assert.equal(head.status, 401);
    assert.equal(head.headers.get("bt_header_axon_status_code"), "401");
    assert.equal(await head.text(), "");
    // A signed HEAD passes the caller's checks and then gets the Python axon's 405 (its routes
    // take GET and POST only), not a 500 from reading the empty body.
    const signedHead = await fetch(url, {
      method: "HEAD",
      headers: signedRequest({ signer: alice }).headers,
    });
    assert.equal(signedHead.status, 405);
    assert.equal(signedHead.headers.get("bt_header_axon_status_code"), "405");
    assert.equal(await signedHead.text(), "");

    // Other methods never reach the handler, even signed, as in the Python axon.
    for (const method of ["PUT", "DELETE", "PATCH", "OPTIONS"]) {
      const signed = signedRequest({ signer: alice });
      const other = await fetch(url, { method, headers: signed.headers, body: signed.body });
      assert.equal(other.status, 405, method);
      assert.equal((await other.json()).message, "Method Not Allowed");
    }

    // Body tampered after signing: the hash no longer matches → 500.
    const tampered = signedRequest({ signer: alice });
    tampered.body = tampered.body.replace('"hello"', '"HELLO"');
    r = await post(url, tampered);
    assert.equal(r.status, 500);

    // Unknown synapse name.
    r = await post(`http://127.0.0.1:${port}/Nope`, signedRequest({ signer: alice }));
    assert.equal(r.status, 404);
    assert.equal(
      r.json.message,
      "Synapse name 'Nope' not found. Available synapses ['Synapse', 'Echo']",
    );

    // Unparsable header value.
    const badHeader = signedRequest({ signer: alice });
    badHeader.headers.bt_header_dendrite_nonce = "soon";
    r = await post(url, badHeader);
    assert.equal(r.status, 500);
    assert.match(r.json.message, /^Improperly formatted request/);
    const negative = signedRequest({ signer: alice });
    negative.headers.timeout = "-5";
    r = await post(url, negative);
    assert.equal(r.status, 500);
    assert.match(r.json.message, /header timeout: '-5' must be a positive number of seconds/);
  } finally {
    await axon.stop();
  }
});

Deno.test("a timeout header is read as Python's float() reads it: decimal only", () => {
  const timeoutOf = (value: string) => parseSynapseHeaders(new Headers({ timeout: value })).timeout;
  assert.equal(timeoutOf("12"), 12);
  assert.equal(timeoutOf(" 12.5 "), 12.5);
  assert.equal(timeoutOf("1e1"), 10);
  assert.equal(timeoutOf(".5"), 0.5);
  assert.equal(timeoutOf("5."), 5);
  assert.equal(timeoutOf("1_0"), 10); // float("1_0") == 10.0
  // JavaScript's Number() takes hexadecimal, binary and octal (16, 3, 7), which Python's float()
  // refuses: a Python axon answers such a request 500, so they are refused here too.
  for (
    const bad of ["0x10", "0b11", "0o7", "1__0", "_1", "1_", ".", "1e", "twelve", "Infinity", "nan"]
  ) {
    assert.throws(
      () => timeoutOf(bad),
      new RegExp(`header timeout: '${bad.replace(".", "\\.")}' is not a number`),
      bad,
    );
  }
  assert.throws(() => timeoutOf("-5"), /must be a positive number of seconds/);
  assert.throws(() => timeoutOf("0"), /must be a positive number of seconds/);
});

Deno.test("a stale first request is refused whatever version it announces, or with none", async () => {
  const { axon, url } = await startAxon();
  try {
    const hourOld = timeNs() - 3_600_000_000_000n;
    for (const version of [null, "1", "7001999"]) {
      const request = signedRequest({ signer: alice, nonce: hourOld });
      if (version === null) delete request.headers.bt_header_dendrite_version;
      else request.headers.bt_header_dendrite_version = version;
      const r = await post(url, request);
      assert.equal(r.status, 401, `version ${version}: ${r.json.message}`);
      assert.match(
        r.json.message,
        /^Not Verified with error: Nonce is too old: acceptable delta is 16\.00 seconds but request was 3600\.\d\d seconds old$/,
      );
    }
    // A fresh request without a version header is served.
    const fresh = signedRequest({ signer: alice });
    delete fresh.headers.bt_header_dendrite_version;
    const r = await post(url, fresh);
    assert.equal(r.status, 200, r.json.message);
  } finally {
    await axon.stop();
  }
});

Deno.test("a first request may be 4 s plus its timeout old, and not one nanosecond more", () => {
  const now = 1_750_000_000_000_000_000n;
  const windowNs = 4_000_000_000n + 12_000_000_000n;
  const uuid = "2f1e6a4c-0000-4000-8000-000000000001";
  const dendriteWith = (nonce: bigint) => ({
    ...emptyTerminal(),
    hotkey: alice.ss58Address,
    uuid,
    nonce,
    signature: alice.signHex(
      requestSignatureMessage(nonce, alice.ss58Address, bob.ss58Address, uuid, ""),
    ),
  });
  // A new verifier each time: the age rule applies to a caller's first request only.
  const verify = (nonce: bigint) =>
    new RequestVerifier(bob.ss58Address, { now: () => now })
      .verify(dendriteWith(nonce), "", 12, bob.ss58Address);
  assert.throws(
    () => verify(now - windowNs),
    /^VerificationError: Nonce is too old: acceptable delta is 16\.00 seconds but request was 16\.00 seconds old$/,
  );
  verify(now - windowNs + 1n);
  // The window grows with the request's timeout: 4 s + 60 s.
  const longWindow = new RequestVerifier(bob.ss58Address, { now: () => now });
  longWindow.verify(dendriteWith(now - 63_000_000_000n), "", 60, bob.ss58Address);
});

Deno.test("the size limit is checked before the caller's: a body of exactly the limit is served", async () => {
  const limit = 4096;
  const { axon, url } = await startAxon(limit);
  try {
    // Pads the text until the signed body is exactly `bytes` long.
    const requestOfSize = (bytes: number) => {
      let text = "";
      for (;;) {
        const request = signedRequest({ signer: alice, fields: { text, count: 0 } });
        const size = new TextEncoder().encode(request.body).length;
        if (size === bytes) return request;
        text = "x".repeat(text.length + bytes - size);
      }
    };
    const exact = await post(url, requestOfSize(limit));
    assert.equal(exact.status, 200, exact.json.message);
    const over = await post(url, requestOfSize(limit + 1));
    assert.equal(over.status, 413);
    assert.equal(over.json.message, `Request body exceeds ${limit} bytes`);
    // One byte over from an unsigned caller is still a 413, not a 401: its size is known first.
    const unsigned = requestOfSize(limit + 1);
    delete unsigned.headers.bt_header_dendrite_signature;
    const refused = await post(url, unsigned);
    assert.equal(refused.status, 413, refused.json.message);
  } finally {
    await axon.stop();
  }
});

Deno.test("a dendrite's nonces keep increasing while the clock stands still", async () => {
  const nonces: bigint[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, (request) => {
    nonces.push(BigInt(request.headers.get("bt_header_dendrite_nonce") ?? "-1"));
    return new Response("{}");
  });
  const dendrite = new Dendrite(alice);
  const targets = Array.from(
    { length: 8 },
    () => ({ ip: "127.0.0.1", port: server.addr.port, hotkey: bob.ss58Address }),
  );
  // Every request of a batch is signed before the first await: with both clocks frozen over
  // that span, each nonce must still be one more than the last.
  const wallMs = Date.now();
  const monotonicMs = performance.now();
  const realDateNow = Date.now;
  const realPerformanceNow = performance.now;
  Date.now = () => wallMs;
  performance.now = () => monotonicMs;
  let round: Promise<unknown>;
  try {
    round = dendrite.query(targets, EchoSynapse, { text: "t", count: 0 }, 5);
  } finally {
    Date.now = realDateNow;
    performance.now = realPerformanceNow;
  }
  try {
    await round;
    assert.equal(nonces.length, 8);
    const sorted = [...nonces].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    assert.deepEqual(sorted, Array.from({ length: 8 }, (_, i) => sorted[0] + BigInt(i)));
  } finally {
    await server.shutdown();
  }
});

Deno.test("queryEach digests the smallest reply first, ties in target order", async () => {
  const sizes = [3000, 30, 300, 30];
  const servers = sizes.map((size) =>
    Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen() {} },
      () => new Response("x".repeat(size)),
    )
  );
  try {
    const order: number[] = [];
    const results = await new Dendrite(alice).queryEach(
      servers.map((s) => ({ ip: "127.0.0.1", port: s.addr.port, hotkey: bob.ss58Address })),
      EchoSynapse,
      { text: "t", count: 0 },
      5,
      (result, index) => {
        order.push(index);
        return result.statusCode;
      },
    );
    assert.deepEqual(order, [1, 3, 2, 0]);
    // Results stay in target order whatever the digest order.
    assert.deepEqual(results, [422, 422, 422, 422]);
  } finally {
    for (const server of servers) await server.shutdown();
  }
});

Deno.test("header integers longer than their type are refused before parsing, naming the header", async () => {
  const { axon, url } = await startAxon();
  try {
    const refusal = async (header: string, value: string) => {
      const request = signedRequest({ signer: alice });
      request.headers[header] = value;
      const r = await post(url, request);
      assert.equal(r.status, 500, `${header}: ${r.json.message}`);
      assert.ok(r.json.message.length < 400, "the value is not echoed whole");
      return r.json.message as string;
    };
    assert.match(
      await refusal("bt_header_dendrite_nonce", "9".repeat(60_000)),
      /header bt_header_dendrite_nonce: 60000 digits, but a nonce is a 64-bit unsigned integer \(at most 20 digits\)$/,
    );
    assert.match(
      await refusal("bt_header_dendrite_nonce", String(2n ** 64n)),
      /header bt_header_dendrite_nonce: 18446744073709551616 is above the largest 64-bit nonce, 18446744073709551615$/,
    );
    assert.match(
      await refusal("bt_header_dendrite_version", "1".repeat(11)),
      /header bt_header_dendrite_version: 11 digits, at most 10 are accepted$/,
    );
    assert.match(
      await refusal("bt_header_axon_status_code", "-" + "2".repeat(5000)),
      /header bt_header_axon_status_code: 5000 digits, at most 10 are accepted$/,
    );
    assert.match(
      await refusal("bt_header_dendrite_port", "x".repeat(5000)),
      /header bt_header_dendrite_port: 'x{40}\.\.\.' \(4960 more characters\) is not an integer$/,
    );
    // The largest u64 is a nonce like any other.
    const largest = await post(url, signedRequest({ signer: alice, nonce: 2n ** 64n - 1n }));
    assert.equal(largest.status, 200, largest.json.message);
  } finally {
    await axon.stop();
  }
});

Deno.test("one slow, one dead and one hostile axon do not stall the others", async () => {
  const { axon, port } = await startAxon();
  // An axon that accepts the request and never answers.
  const late: (() => void)[] = [];
  const hang = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    () => new Promise<Response>((resolve) => late.push(() => resolve(new Response("late")))),
  );
  // An axon that answers with a body far over the dendrite's cap.
  const huge = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    () => new Response(JSON.stringify({ text: "x".repeat(2_000_000) })),
  );
  // A port nobody listens on.
  const probe = Deno.listen({ port: 0, hostname: "127.0.0.1" });
  const deadPort = (probe.addr as Deno.NetAddr).port;
  probe.close();
  try {
    const dendrite = new Dendrite(alice, { maxResponseBytes: 1_000_000 });
    const results = await dendrite.query(
      [
        { ip: "127.0.0.1", port: hang.addr.port, hotkey: bob.ss58Address },
        { ip: "127.0.0.1", port, hotkey: bob.ss58Address },
        { ip: "127.0.0.1", port: deadPort, hotkey: bob.ss58Address },
        { ip: "127.0.0.1", port: huge.addr.port, hotkey: bob.ss58Address },
      ],
      EchoSynapse,
      (target) => ({ text: `to ${target.port}`, count: 0 }),
      1,
    );
    assert.deepEqual(results.map((r) => r.statusCode), [408, 200, 503, 422]);
    assert.equal(results[1].fields?.text, `TO ${port}`);
    // The timed-out call waited out its whole second (a `>= 0` bound would hold for any result);
    // its clock starts before the request's timer is set.
    assert.ok(results[0].processTime >= 0.99, `${results[0].processTime} s`);
    assert.deepEqual(results.map((r) => r.ok), [false, true, false, false]);
    assert.equal(results[0].statusMessage, "Timeout: request to Echo timed out after 1 seconds");
    assert.match(
      results[2].statusMessage,
      new RegExp(`^Service unavailable at 127\\.0\\.0\\.1:${deadPort}/Echo: `),
    );
    assert.equal(results[3].statusMessage, "Failed to parse response: larger than 1000000 bytes");
    assert.deepEqual(results.map((r) => r.synapse.dendrite.status_code), [408, 200, 503, 422]);
  } finally {
    await axon.stop();
    for (const answer of late) answer();
    await hang.shutdown();
    await huge.shutdown();
  }
});

Deno.test("a request laid out exactly as the Python dendrite sends it is served", async () => {
  const { axon, port } = await startAxon();
  try {
    const nonce = timeNs();
    const uuid = "5ecbd69c-1cec-11ee-b0dc-e29ce36fec1a";
    const hash = bodyHash(EchoSynapse, { text: "hello", count: 0 });
    const signature = alice.signHex(
      requestSignatureMessage(nonce, alice.ss58Address, bob.ss58Address, uuid, hash),
    );
    // json.dumps(model_dump()) with Python's default separators, field order and null fields.
    const body = `{"name": "Echo", "timeout": 12.0, "total_size": 0, "header_size": 0, ` +
      `"dendrite": {"status_code": null, "status_message": null, "process_time": null, ` +
      `"ip": "203.0.113.9", "port": null, "version": 10002000, "nonce": ${nonce}, ` +
      `"uuid": "${uuid}", "hotkey": "${alice.ss58Address}", "signature": "${signature}"}, ` +
      `"axon": {"status_code": null, "status_message": null, "process_time": null, ` +
      `"ip": "127.0.0.1", "port": ${port}, "version": null, "nonce": null, "uuid": null, ` +
      `"hotkey": "${bob.ss58Address}", "signature": null}, "computed_body_hash": "", ` +
      `"text": "hello", "count": 0}`;
    const headers = {
      name: "Echo",
      timeout: "12.0",
      bt_header_axon_ip: "127.0.0.1",
      bt_header_axon_port: String(port),
      bt_header_axon_hotkey: bob.ss58Address,
      bt_header_dendrite_ip: "203.0.113.9",
      bt_header_dendrite_version: "10002000",
      bt_header_dendrite_nonce: String(nonce),
      bt_header_dendrite_uuid: uuid,
      bt_header_dendrite_hotkey: alice.ss58Address,
      bt_header_dendrite_signature: signature,
      bt_header_input_obj_text: "IiI=",
      header_size: "640",
      total_size: "4242",
      computed_body_hash: hash,
      "content-type": "application/json",
    };
    const response = await fetch(`http://127.0.0.1:${port}/Echo`, {
      method: "POST",
      headers,
      body,
    });
    assert.equal(response.status, 200);
    const json = await response.json();
    // What the Python dendrite needs to rebuild the synapse: every field, typed as declared.
    assert.equal(json.text, "HELLO");
    assert.equal(json.count, 1);
    assert.equal(json.axon.status_code, 200);
    assert.equal(json.axon.status_message, "Success");
    assert.equal(typeof json.axon.process_time, "number");
    assert.equal(json.dendrite.uuid, uuid);
    assert.equal(response.headers.get("bt_header_axon_status_code"), "200");
    assert.equal(response.headers.get("bt_header_dendrite_uuid"), uuid);
    assert.equal(response.headers.get("computed_body_hash"), bodyHash(EchoSynapse, json));

    // The built-in /Synapse ping answers a signed base synapse.
    const ping = await new Dendrite(alice).call(
      { ip: "127.0.0.1", port, hotkey: bob.ss58Address },
      Ping,
      {},
      5,
    );
    assert.equal(ping.statusCode, 200, ping.statusMessage);
  } finally {
    await axon.stop();
  }
});

Deno.test("the ping takes bodies up to 4 KiB and answers with the base fields alone", async () => {
  const { axon, port } = await startAxon();
  const url = `http://127.0.0.1:${port}/Synapse`;
  try {
    const small = await post(url, signedPing(alice, { note: "kept to myself" }));
    assert.equal(small.status, 200, small.json.message);
    assert.equal(small.json.name, "Synapse");
    assert.equal(small.json.axon.status_code, 200);
    assert.equal("note" in small.json, false, "an extra key is not echoed");

    const large = await post(url, signedPing(alice, { pad: "x".repeat(5000) }));
    assert.equal(large.status, 413);
    assert.equal(large.json.message, "Request body exceeds 4096 bytes");
  } finally {
    await axon.stop();
  }
});

Deno.test("the axon's caller rules apply to every route without its own, the ping included", async () => {
  const order: string[] = [];
  const axon = new Axon({
    keypair: bob,
    port: 0,
    host: "127.0.0.1",
    callers: {
      blacklist: (synapse) =>
        synapse.dendrite.hotkey === alice.ss58Address
          ? { blacklisted: false, reason: "" }
          : { blacklisted: true, reason: "Unrecognized hotkey" },
      priority: (synapse) => {
        order.push(synapse.name);
        return 1;
      },
    },
  });
  axon.attach(EchoSynapse, {
    forward: (synapse) => ({ text: synapse.fields.text, count: synapse.fields.count }),
  });
  const port = await axon.start();
  try {
    for (const name of ["Synapse", "Echo"]) {
      const url = `http://127.0.0.1:${port}/${name}`;
      const stranger = name === "Synapse"
        ? signedPing(charlie)
        : signedRequest({ signer: charlie });
      const refused = await post(url, stranger);
      assert.equal(refused.status, 403, name);
      assert.equal(refused.json.message, "Forbidden. Key is blacklisted: Unrecognized hotkey.");
      const known = name === "Synapse" ? signedPing(alice) : signedRequest({ signer: alice });
      const served = await post(url, known);
      assert.equal(served.status, 200, `${name}: ${served.json.message}`);
    }
    assert.deepEqual(order, ["Synapse", "Echo"], "both were ranked by the axon's rules");
  } finally {
    await axon.stop();
  }
});

Deno.test("paths naming no synapse share one label; a huge timeout header is cut to 60 s", async () => {
  const labels: string[] = [];
  const axon = new Axon({
    keypair: bob,
    port: 0,
    host: "127.0.0.1",
    onRequest: (record) => labels.push(record.synapse),
  });
  axon.attach(EchoSynapse, {
    forward: (synapse) => ({ text: synapse.fields.text, count: synapse.fields.count }),
  });
  const port = await axon.start();
  try {
    for (const path of ["x".repeat(2000), "y".repeat(2000)]) {
      const r = await post(`http://127.0.0.1:${port}/${path}`, signedRequest({ signer: alice }));
      assert.equal(r.status, 404);
      // The name is cut to its first 64 characters; a bound like `< 200` would also pass a cut
      // at 150, so the whole message is compared.
      assert.equal(
        r.json.message,
        `Synapse name '${path.slice(0, 64)}...' not found. Available synapses ['Synapse', 'Echo']`,
      );
    }
    const huge = signedRequest({ signer: alice });
    huge.headers.timeout = "1e300";
    const r = await post(`http://127.0.0.1:${port}/Echo`, huge);
    assert.equal(r.status, 200, r.json.message);
    assert.equal(r.headers.get("timeout"), "60.0");
    assert.deepEqual(labels, ["unknown", "unknown", "Echo"]);
  } finally {
    await axon.stop();
  }
});

Deno.test("callers that never send their body hold no forward slot: others are still served", async () => {
  const { axon, port, url } = await startAxon();
  const stalled: Deno.TcpConn[] = [];
  try {
    for (let i = 0; i < 6; i++) {
      const request = signedRequest({ signer: alice });
      request.headers.timeout = "30";
      const head = [
        "POST /Echo HTTP/1.1",
        `host: 127.0.0.1:${port}`,
        ...Object.entries(request.headers).map(([k, v]) => `${k}: ${v}`),
        `content-length: ${request.body.length}`,
        "",
        "",
      ].join("\r\n");
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(new TextEncoder().encode(head));
      stalled.push(conn);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = performance.now();
    const served = await post(url, signedRequest({ signer: alice }));
    assert.equal(served.status, 200, served.json.message);
    assert.ok(performance.now() - started < 5000);
  } finally {
    for (const conn of stalled) conn.close();
    await axon.stop();
  }
});

Deno.test("a reply nested too deep is refused alone; another axon's reply is read on time", async () => {
  const { axon, port } = await startAxon();
  // 20 M open brackets (20 MB): JSON.parse would build that many nested arrays.
  const deep = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    () => new Response("[".repeat(20_000_000)),
  );
  // 3 M numbers (6 MB) arriving at once, before the honest axon answers.
  const wide = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    () => new Response(`{"text":"x","count":0,"pad":[${"1,".repeat(3_000_000)}1]}`),
  );
  try {
    const dendrite = new Dendrite(alice, { maxResponseBytes: 64 * 1024 * 1024 });
    const results = await dendrite.query(
      [
        { ip: "127.0.0.1", port: deep.addr.port, hotkey: bob.ss58Address },
        { ip: "127.0.0.1", port: wide.addr.port, hotkey: bob.ss58Address },
        { ip: "127.0.0.1", port, hotkey: bob.ss58Address },
      ],
      EchoSynapse,
      (target) => ({ text: `to ${target.port}`, count: 0 }),
      10,
    );
    assert.equal(results[0].statusCode, 422);
    assert.equal(
      results[0].statusMessage,
      "Failed to parse response: JSON nested deeper than 64 levels",
    );
    assert.equal(results[2].statusCode, 200, results[2].statusMessage);
    assert.equal(results[2].fields?.text, `TO ${port}`);
  } finally {
    await axon.stop();
    await deep.shutdown();
    await wide.shutdown();
  }
});

Deno.test("a reply holding more JSON values than its size limit allows is refused unparsed; an error page keeps its status", async () => {
  // 1 MiB of `{},` is 700 000 values: a limit of 4 MiB allows 524 288 (one per 8 bytes).
  const bomb = `{"text":"x","count":0,"junk":[${"{},".repeat(350_000)}{}]}`;
  // Nearly as many values as the limit allows, as dense as a valid list of cancellations (one per
  // 8.3 bytes): 3.8 MB holding 450 000.
  const cancellation = '{"orderId":1,"volume":1},';
  const spread = `{"text":"x","count":0,"pad":[${cancellation.repeat(150_000)}{}]}`;
  const servers = [
    () => new Response(bomb),
    () => new Response(spread),
    () =>
      new Response("<html>Forbidden</html>", {
        status: 403,
        headers: { "content-type": "text/html" },
      }),
    () => new Response("", { status: 302, headers: { location: "http://example.invalid/" } }),
  ].map((handler) => Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, handler));
  try {
    const dendrite = new Dendrite(alice, { maxResponseBytes: 4 * 1024 * 1024 });
    const results = await dendrite.query(
      servers.map((server) => ({
        ip: "127.0.0.1",
        port: server.addr.port,
        hotkey: bob.ss58Address,
      })),
      EchoSynapse,
      () => ({ text: "x", count: 0 }),
      10,
    );
    assert.equal(results[0].statusCode, 422);
    assert.equal(
      results[0].statusMessage,
      "Failed to parse response: more than 524288 JSON values (arrays, objects and elements)",
    );
    assert.equal(results[1].statusCode, 200, results[1].statusMessage);
    assert.equal(results[2].statusCode, 403);
    assert.equal(results[2].statusMessage, "HTTP 403 Forbidden (body is not JSON)");
    assert.equal(results[3].statusCode, 302);
    assert.equal(results[3].statusMessage, "HTTP 302 Found (body is not JSON)");
  } finally {
    for (const server of servers) await server.shutdown();
  }
});

Deno.test("a compressed response holding more JSON values than its size limit allows is refused", () => {
  const wire = (json: string) =>
    ({
      response: Buffer.from(deflateSync(new TextEncoder().encode(json))).toString("base64"),
      compressed: true,
    }) as unknown as StateUpdateWire;
  const junk = `{"agent_id":1,"instructions":[],"junk":[${"{},".repeat(400_000)}{}]}`;
  assert.throws(
    () => decodeResponse(wire(junk), 4 * 1024 * 1024),
    /^Error: response: cannot decompress \(more than 524288 JSON values \(arrays, objects and elements\)\)$/,
  );
  assert.deepEqual(decodeResponse(wire('{"agent_id":1,"instructions":[]}'), 4 * 1024 * 1024), {
    agent_id: 1,
    instructions: [],
  });
});

Deno.test("checkJsonDepth counts brackets outside strings only", () => {
  checkJsonDepth(`{"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\"[["}`, 2);
  assert.throws(() => checkJsonDepth("[[[1]]]", 2), /nested deeper than 2 levels/);
  checkJsonDepth("[[1],[2],[3]]", 2);
  assert.throws(() => parseWireJson("[".repeat(100) + "]".repeat(100)), /deeper than 64/);
});

Deno.test("a forged request with a far nonce leaves the genuine caller's nonce where it was", async () => {
  const { axon, url } = await startAxon();
  try {
    const uuid = "5b0f3c1e-0000-4000-8000-00000000f0e1";
    // Charlie claims Alice's hotkey and dendrite uuid, with a nonce an hour ahead: were it
    // recorded before the signature is checked, every real request of Alice's would be refused
    // as older for that hour.
    const forged = signedRequest({
      signer: charlie,
      claimedHotkey: alice.ss58Address,
      uuid,
      nonce: timeNs() + 3_600_000_000_000n,
    });
    const refused = await post(url, forged);
    assert.equal(refused.status, 401);
    assert.match(refused.json.message, /^Not Verified with error: Signature mismatch with /);
    const genuine = await post(url, signedRequest({ signer: alice, uuid }));
    assert.equal(genuine.status, 200, genuine.json.message);
  } finally {
    await axon.stop();
  }
});

Deno.test("a blacklisted caller gets 403 before its signature is looked at, as in the Python axon", async () => {
  const { axon, url } = await startAxon();
  try {
    // Unsigned and forged requests from a stranger: the blacklist answers first, so the caller
    // learns nothing about its signature and no signature is verified for it.
    const unsigned = signedRequest({ signer: charlie });
    delete unsigned.headers.bt_header_dendrite_signature;
    const forged = signedRequest({ signer: alice, claimedHotkey: charlie.ss58Address });
    for (const request of [unsigned, forged]) {
      const r = await post(url, request);
      assert.equal(r.status, 403, r.json.message);
      assert.equal(r.json.message, "Forbidden. Key is blacklisted: Unrecognized hotkey.");
    }
  } finally {
    await axon.stop();
  }
});

Deno.test("a request without a timeout header is given 12 s, and a first nonce window of 16 s", async () => {
  const { axon, url } = await startAxon();
  try {
    const served = signedRequest({ signer: alice });
    delete served.headers.timeout;
    const ok = await post(url, served);
    assert.equal(ok.status, 200, ok.json.message);
    assert.equal(ok.headers.get("timeout"), "12.0");
    const stale = signedRequest({ signer: alice, nonce: timeNs() - 60_000_000_000n });
    delete stale.headers.timeout;
    const r = await post(url, stale);
    assert.equal(r.status, 401);
    assert.match(r.json.message, /acceptable delta is 16\.00 seconds but request was 6\d\.\d\d/);
  } finally {
    await axon.stop();
  }
});

Deno.test("a verifier refuses unsigned requests unless told not to", () => {
  const uuid = "2f1e6a4c-0000-4000-8000-000000000002";
  const unsigned = { ...emptyTerminal(), hotkey: alice.ss58Address, uuid, nonce: timeNs() };
  assert.throws(
    () => new RequestVerifier(bob.ss58Address).verify(unsigned, "", 12, bob.ss58Address),
    /^VerificationError: Missing Signature$/,
  );
  new RequestVerifier(bob.ss58Address, { requireSignature: false })
    .verify(unsigned, "", 12, bob.ss58Address);
});

/** Sends a request head declaring `contentLength` body bytes and none of them; the status line. */
async function statusOfDeclared(port: number, contentLength: number): Promise<string> {
  const request = signedRequest({ signer: alice });
  delete request.headers.bt_header_dendrite_signature;
  const head = [
    "POST /Echo HTTP/1.1",
    `host: 127.0.0.1:${port}`,
    ...Object.entries(request.headers).map(([k, v]) => `${k}: ${v}`),
    `content-length: ${contentLength}`,
    "",
    "",
  ].join("\r\n");
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(head));
    const buffer = new Uint8Array(4096);
    let text = "";
    while (!text.includes("\r\n\r\n")) {
      const n = await conn.read(buffer);
      if (n === null) break;
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    const body = text.slice(text.indexOf("\r\n\r\n") + 4);
    return `${text.split("\r\n")[0]} ${body}`;
  } finally {
    conn.close();
  }
}

Deno.test("without maxBodyBytes the limit is 32 MiB: one byte more is refused before the body", async () => {
  const axon = new Axon({ keypair: bob, port: 0, host: "127.0.0.1" });
  axon.attach(EchoSynapse, { forward: (synapse) => synapse.fields });
  const port = await axon.start();
  try {
    // Unsigned, so that a request within the limit stops at the signature (401) and its body is
    // never waited for; one byte over stops at the size (413).
    const limit = 32 * 1024 * 1024;
    assert.match(await statusOfDeclared(port, limit), /^HTTP\/1\.1 401 .*Missing Signature/);
    assert.match(
      await statusOfDeclared(port, limit + 1),
      new RegExp(`^HTTP/1\\.1 413 .*"Request body exceeds ${limit} bytes"`),
    );
  } finally {
    await axon.stop();
  }
});

Deno.test("four forwards run at once by default; a fifth waits for a slot", async () => {
  let running = 0;
  let most = 0;
  let unblock = () => {};
  const blocked = new Promise<void>((resolve) => unblock = resolve);
  let fourIn = () => {};
  const fourRunning = new Promise<void>((resolve) => fourIn = resolve);
  const axon = new Axon({ keypair: bob, port: 0, host: "127.0.0.1" });
  axon.attach(EchoSynapse, {
    forward: async (synapse) => {
      most = Math.max(most, ++running);
      if (running === 4) fourIn();
      await blocked;
      running--;
      return synapse.fields;
    },
  });
  const port = await axon.start();
  try {
    const target = { ip: "127.0.0.1", port, hotkey: bob.ss58Address };
    const dendrite = new Dendrite(alice);
    const calls = Array.from(
      { length: 5 },
      (_, i) => dendrite.call(target, EchoSynapse, { text: `${i}`, count: 0 }, 10),
    );
    // With fewer slots the calls time out instead, and the count below tells.
    await Promise.race([fourRunning, Promise.all(calls)]);
    // A wait that can only let a fifth in: it cannot make this assertion fail on a slow machine.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(most, 4);
    unblock();
    const statuses = (await Promise.all(calls)).map((r) => r.statusCode);
    assert.deepEqual(statuses, Array(5).fill(200));
    assert.equal(most, 4);
  } finally {
    unblock();
    await axon.stop();
  }
});

Deno.test("a route's own blacklist and priority take precedence over the axon's caller rules", async () => {
  const called: string[] = [];
  const axon = new Axon({
    keypair: bob,
    port: 0,
    host: "127.0.0.1",
    callers: {
      blacklist: () => (called.push("axon blacklist"), { blacklisted: true, reason: "nobody" }),
      priority: () => (called.push("axon priority"), 0),
    },
  });
  axon.attach(EchoSynapse, {
    forward: (synapse) => synapse.fields,
    blacklist: () => (called.push("route blacklist"), { blacklisted: false, reason: "" }),
    priority: () => (called.push("route priority"), 1),
  });
  const port = await axon.start();
  try {
    const r = await post(`http://127.0.0.1:${port}/Echo`, signedRequest({ signer: charlie }));
    assert.equal(r.status, 200, r.json.message);
    assert.deepEqual(called, ["route blacklist", "route priority"]);
  } finally {
    await axon.stop();
  }
});

Deno.test("a forward's deadline counts from the request's arrival, not from the end of its wait", async () => {
  let unblock = () => {};
  const blocked = new Promise<void>((resolve) => unblock = resolve);
  let queued = () => {};
  const secondQueued = new Promise<void>((resolve) => queued = resolve);
  let held = () => {};
  const slotHeld = new Promise<void>((resolve) => held = resolve);
  let leftMs = Number.NaN;
  const axon = new Axon({
    keypair: bob,
    port: 0,
    host: "127.0.0.1",
    maxConcurrentForwards: 1,
    // Called just before a request queues for the only slot.
    callers: {
      priority: (synapse) => {
        if ((synapse.fields as Echo).count === 2) queued();
        return 0;
      },
    },
  });
  axon.attach(EchoSynapse, {
    forward: async (synapse, _signal, deadline) => {
      if (synapse.fields.count === 1) {
        held();
        await blocked;
      } else leftMs = deadline - performance.now();
      return synapse.fields;
    },
  });
  const port = await axon.start();
  try {
    const target = { ip: "127.0.0.1", port, hotkey: bob.ss58Address };
    const dendrite = new Dendrite(alice);
    // A request that ends before its step (refused, say) fails the test rather than hanging it.
    const reached = (step: Promise<void>, call: Promise<{ statusCode: number | null }>) =>
      Promise.race([
        step,
        call.then((r) => {
          throw new Error(`the request ended with ${r.statusCode} before reaching its step`);
        }),
      ]);
    const holder = dendrite.call(target, EchoSynapse, { text: "a", count: 1 }, 30);
    await reached(slotHeld, holder);
    const waiter = dendrite.call(target, EchoSynapse, { text: "b", count: 2 }, 10);
    await reached(secondQueued, waiter);
    // The second request waits at least this long for the slot; a slower machine only makes
    // the wait longer and what is left of its 10 s smaller.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    unblock();
    assert.equal((await waiter).statusCode, 200);
    assert.equal((await holder).statusCode, 200);
    assert.ok(leftMs <= 9000, `${leftMs} ms left of 10 s after waiting 1 s`);
  } finally {
    unblock();
    await axon.stop();
  }
});

Deno.test("a dendrite's request carries the headers the Python dendrite sends, signed nonce.caller.target.uuid.hash", async () => {
  const requests: { head: string; body: string }[] = [];
  // Takes the request, then answers with the head of a 100-byte body and hangs up after 10.
  const server = rawServer(async (conn) => {
    const request = await readRequest(conn);
    if (request === null) return;
    requests.push(request);
    await writeAll(
      conn,
      new TextEncoder().encode('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"name": "E'),
    );
  });
  try {
    const dendrite = new Dendrite(alice);
    const target = { ip: "127.0.0.1", port: server.port, hotkey: bob.ss58Address };
    const result = await dendrite.call(target, EchoSynapse, { text: "hi", count: 3 }, 5);
    // A reply cut off in its body is the axon's failure (503), not a bad reply (422).
    assert.equal(result.statusCode, 503, result.statusMessage);
    assert.equal(result.ok, false);

    assert.equal(requests.length, 1);
    const [requestLine, ...lines] = requests[0].head.split("\r\n");
    assert.equal(requestLine, "POST /Echo HTTP/1.1");
    const headers = Object.fromEntries(lines.map((l) => {
      const colon = l.indexOf(":");
      return [l.slice(0, colon).toLowerCase(), l.slice(colon + 1).trim()];
    }));
    const nonce = headers.bt_header_dendrite_nonce;
    assert.match(nonce, /^\d{19}$/);
    const hash = bodyHash(EchoSynapse, { text: "hi", count: 3 });
    // Python's Synapse.to_headers(): str(timeout) is "5.0", only fields that are set, an empty
    // value of each required field's type, and the body hash the signature covers.
    assert.deepEqual(
      { ...headers, bt_header_dendrite_nonce: "", bt_header_dendrite_signature: "" },
      {
        host: `127.0.0.1:${server.port}`,
        "content-length": String(new TextEncoder().encode(requests[0].body).byteLength),
        name: "Echo",
        timeout: "5.0",
        bt_header_axon_ip: "127.0.0.1",
        bt_header_axon_port: String(server.port),
        bt_header_axon_hotkey: bob.ss58Address,
        bt_header_dendrite_ip: "127.0.0.1",
        bt_header_dendrite_version: "10002000",
        bt_header_dendrite_nonce: "",
        bt_header_dendrite_uuid: dendrite.uuid,
        bt_header_dendrite_hotkey: alice.ss58Address,
        bt_header_dendrite_signature: "",
        bt_header_input_obj_text: "IiI=",
        header_size: "0",
        total_size: String(requests[0].body.length),
        computed_body_hash: hash,
        "content-type": "application/json",
      },
    );
    // The message is spelt out here rather than built by the code under test.
    const message = `${nonce}.${alice.ss58Address}.${bob.ss58Address}.${dendrite.uuid}.${hash}`;
    assert.ok(Keypair.verify(message, headers.bt_header_dendrite_signature, alice.ss58Address));
    const body = parseWireJson(requests[0].body) as Record<string, Record<string, unknown>>;
    assert.equal(body.dendrite.nonce, BigInt(nonce));
    assert.equal(body.dendrite.version, 10002000);
    assert.equal(body.dendrite.signature, headers.bt_header_dendrite_signature);
    assert.equal(body.axon.port, server.port);
  } finally {
    await server.close();
  }
});

Deno.test("a dendrite's round budget may equal its reply cap", () => {
  const dendrite = new Dendrite(alice, { maxResponseBytes: 1000, maxRoundResponseBytes: 1000 });
  assert.equal(dendrite.maxResponseBytes, 1000);
  assert.throws(
    () => new Dendrite(alice, { maxResponseBytes: 1000, maxRoundResponseBytes: 999 }),
    /maxRoundResponseBytes \(999\) is below maxResponseBytes \(1000\)/,
  );
});

Deno.test("a state update needs timestamp, books and accounts; the timestamp is a whole number of ns, not negative", () => {
  const body = { timestamp: 5, books: {}, accounts: {} };
  const parsed = synapseFromBody(MarketSimulationStateUpdate, body);
  assert.deepEqual(parsed.fields, {
    model: "im",
    timestamp: 5,
    config: null,
    books: {},
    accounts: {},
    notices: null,
    response: null,
    compressed: false,
  });
  for (const field of ["timestamp", "books", "accounts"]) {
    const without: Record<string, unknown> = { ...body };
    delete without[field];
    assert.throws(
      () => synapseFromBody(MarketSimulationStateUpdate, without),
      new RegExp(`^Error: MarketSimulationStateUpdate body: ${field}: `),
    );
  }
  for (const timestamp of [-1, 1.5]) {
    assert.throws(
      () => synapseFromBody(MarketSimulationStateUpdate, { ...body, timestamp }),
      /MarketSimulationStateUpdate body: timestamp: /,
    );
  }
});

Deno.test("a terminal's nonce that is no integer is told so, each accepted form named once", () => {
  const body = { timestamp: 5, books: {}, accounts: {}, dendrite: { nonce: true } };
  assert.throws(
    () => synapseFromBody(MarketSimulationStateUpdate, body),
    /^Error: synapse body: dendrite\.nonce: is true: must be an integer or a string$/,
  );
  const letters = { ...body, dendrite: { nonce: "12a" } };
  assert.throws(
    () => synapseFromBody(MarketSimulationStateUpdate, letters),
    /^Error: synapse body: dendrite\.nonce: must be digits only$/,
  );
});

Deno.test("a body problem is cut between characters, and the note counts characters", async () => {
  const { axon, url } = await startAxon(4096);
  try {
    // Each emoji is two UTF-16 units: a cut by units would end in half of one. Each field's value
    // is quoted to 40 characters, so it takes several to pass the 300 a refusal repeats.
    const faces = "😀".repeat(60);
    const fields = ["timeout", "total_size", "header_size"];
    const wrong = Object.fromEntries(fields.map((field) => [field, faces]));
    const r = await post(url, signedRequest({ signer: alice, extra: wrong }));
    assert.equal(r.status, 500);
    // zod's ellipsis is three dots here: the message also goes in an ASCII-only header.
    const quoted = `"${"😀".repeat(40)}..." (20 more characters)`;
    const problem = [
      ...`synapse body: ${fields.map((f) => `${f}: must be a number, got ${quoted}`).join("; ")}`,
    ];
    assert.ok(problem.length > 300);
    assert.equal(
      r.json.message,
      "Improperly formatted request body for synapse of type Echo: " +
        `${problem.slice(0, 300).join("")}... (${problem.length - 300} more characters)`,
    );
  } finally {
    await axon.stop();
  }
});

Deno.test("of the refusals, only a verified caller's unreadable body is reported to the axon's owner", async () => {
  const { axon, url } = await startAxon(4096);
  internalErrors.length = 0;
  try {
    // A stranger's forged signature, a blacklisted caller and an oversized body are the caller's
    // business: reported, they would let anyone fill the miner's log.
    let r = await post(url, signedRequest({ signer: charlie, claimedHotkey: alice.ss58Address }));
    assert.equal(r.status, 401);
    r = await post(url, signedRequest({ signer: charlie }));
    assert.equal(r.status, 403);
    r = await post(
      url,
      signedRequest({ signer: alice, fields: { text: "x".repeat(5000), count: 0 } }),
    );
    assert.equal(r.status, 413);
    assert.deepEqual(internalErrors, []);
    r = await post(url, signedRequest({ signer: alice, body: "{not json" }));
    assert.equal(r.status, 500);
    assert.equal(internalErrors.length, 1, internalErrors.join("\n"));
    // The problem leads the line, so that a log keyed on its start tells kinds of problem apart.
    const prefix = "Improperly formatted request body for synapse of type Echo: ";
    assert.ok(r.json.message.startsWith(prefix));
    assert.equal(
      internalErrors[0],
      `axon: Echo body refused: ${r.json.message.slice(prefix.length)}`,
    );
  } finally {
    await axon.stop();
  }
});

Deno.test("the owner's report of an unreadable body carries the problem as cut for the caller, not whole", async () => {
  const { axon, url } = await startAxon(4096);
  internalErrors.length = 0;
  try {
    // Three fields each quoted to 40 characters make a problem past the 300 a refusal repeats.
    const fields = ["timeout", "total_size", "header_size"];
    const wrong = Object.fromEntries(fields.map((field) => [field, "z".repeat(60)]));
    const r = await post(url, signedRequest({ signer: alice, extra: wrong }));
    assert.equal(r.status, 500);
    const prefix = "Improperly formatted request body for synapse of type Echo: ";
    const told = r.json.message.slice(prefix.length);
    assert.match(told, /\.\.\. \(\d+ more characters\)$/);
    assert.deepEqual(internalErrors, [`axon: Echo body refused: ${told}`]);
  } finally {
    await axon.stop();
  }
});
