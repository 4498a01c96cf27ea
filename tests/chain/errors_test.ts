/**
 * Chain failures other than a pallet's error are told as what they mean and what to do, with the
 * node's own words kept after them: through the loopback node (the pool's refusals and RPC errors
 * as `@polkadot/api` reports them), and for the texts a real node words differently.
 */
import assert from "node:assert/strict";
import { WsProvider } from "@polkadot/api";
import { serveAxon, SubtensorClient } from "../../chain/mod.ts";
import { describeRpcError, describeSubmitError } from "../../chain/errors.ts";
import { bob, NETUID, startNode } from "./subnet_fixture.ts";

const testOptions = { sanitizeOps: false, sanitizeResources: false };

/** Node replies to a submission, and what the message must say before the node's words. */
const REJECTIONS: [number, string, string | undefined, RegExp][] = [
  [
    1010,
    "Invalid Transaction",
    "Transaction has a bad signature",
    /^rejected by the transaction pool: the signature does not verify; check that the hotkey file/,
  ],
  [
    1010,
    "Invalid Transaction",
    "Inability to pay some fees (e.g. account balance too low)",
    /^rejected by the transaction pool: the signing account cannot pay the transaction fee; add TAO/,
  ],
  [
    1010,
    "Invalid Transaction",
    "Transaction is outdated",
    /^rejected by the transaction pool: the nonce is already used .*no other process signs/,
  ],
  [
    1010,
    "Invalid Transaction",
    "Transaction will be valid in the future",
    /^rejected by the transaction pool: the nonce is ahead of the account's/,
  ],
  [
    1010,
    "Invalid Transaction",
    "Transaction has an ancient birth block",
    /^rejected by the transaction pool: the transaction's validity period has passed/,
  ],
  [
    1014,
    "Priority is too low: (1 vs 1)",
    "The transaction has too low priority to replace another transaction already in the pool.",
    /^rejected by the transaction pool: a transaction of this key with the same nonce is already pending; wait/,
  ],
  [
    1012,
    "Transaction is temporarily banned",
    undefined,
    /^rejected by the transaction pool: the node has temporarily banned this exact transaction/,
  ],
  [
    1016,
    "Immediately Dropped",
    "The transaction couldn't enter the pool because of the limit",
    /^rejected by the transaction pool: the node's transaction pool is full; try again later/,
  ],
  [
    -32603,
    "Internal error",
    undefined,
    /^submission failed: the node failed internally; try again/,
  ],
];

Deno.test(
  "pool and RPC refusals of a submission read as meaning and remedy, the node's words kept",
  testOptions,
  async () => {
    const { node } = startNode({});
    const client = await SubtensorClient.connect({ network: node.url, connectTimeoutMs: 10_000 });
    try {
      let port = 8000;
      for (const [code, message, data, readable] of REJECTIONS) {
        node.onSubmit = () => ({ kind: "reject", code, message, data: data as string });
        const outcome = await serveAxon(client, bob, {
          netuid: NETUID,
          ip: "1.2.3.4",
          port: port++,
        });
        assert.equal(outcome.ok, false);
        const text = outcome.ok ? "" : outcome.message;
        const said = text.slice(text.indexOf(": ") + 2);
        assert.match(said, readable, text);
        // The node's own words stay, as the detail at the end of the one line.
        assert.match(said, new RegExp(`\\(node said: ${code}: [^\n]*\\)$`), text);
        assert.doesNotMatch(text, /\n/);
      }
    } finally {
      await client.close();
      await node.close();
    }
  },
);

Deno.test("an RPC error from a chain query reads as meaning and remedy", testOptions, async () => {
  const { node } = startNode({});
  // @polkadot/api's own RPC client, as SubtensorClient uses it, with its own error wording.
  const provider = new WsProvider(node.url);
  try {
    await provider.isReady;
    // The loopback node answers a method it does not serve as a real node does: -32601.
    const error = await provider.send("system_localPeerId", []).then(() => null, (e) => e);
    assert.ok(error instanceof Error);
    assert.match(
      describeRpcError(error),
      /^the chain query failed: the node does not offer this RPC method; check that the endpoint .*\(node said: -32601: Method not found/,
    );
  } finally {
    await provider.disconnect();
    await node.close();
  }
});

Deno.test("connection failures and unknown texts", () => {
  assert.match(
    describeRpcError(new Error("No response received from RPC endpoint in 60s")),
    /^the chain query failed: the node did not answer in time; .*\(node said: No response/,
  );
  assert.match(
    describeSubmitError(new Error("WebSocket is not connected")),
    /^submission failed: the connection to the node dropped; the client reconnects by itself/,
  );
  // What is not recognised is its own text, on one line.
  assert.equal(describeRpcError(new Error("subnet 3 does not exist")), "subnet 3 does not exist");
  assert.equal(describeSubmitError("boom\n  again"), "submission failed: boom again");
  assert.equal(
    describeSubmitError(new Error("1010: Invalid Transaction: Something new")),
    "rejected by the transaction pool: 1010: Invalid Transaction: Something new",
  );
  // Both undecodable-transaction codes, and the JSON-RPC server errors down to parse errors.
  for (const code of [1001, 1002]) {
    assert.match(
      describeSubmitError(new Error(`${code}: Verification Error: cannot decode`)),
      new RegExp(`^submission failed: the node could not decode .*\\(node said: ${code}: `),
    );
  }
  assert.match(
    describeRpcError(new Error("-32700: Parse error")),
    /^the chain query failed: the node refused the call; .*\(node said: -32700: Parse error\)$/,
  );
  // A pool refusal code not listed still says the pool refused it.
  assert.equal(
    describeSubmitError(new Error("1017: Something new")),
    "rejected by the transaction pool: 1017: Something new",
  );
  // subtensor's own codes keep their names.
  assert.match(
    describeSubmitError(new Error("1010: Invalid Transaction: Custom error: 6")),
    /^rejected by the transaction pool: RateLimitExceeded \(/,
  );
});
