import assert from "node:assert/strict";
import { z } from "zod";
import {
  newSynapse,
  SynapseBodyEncoder,
  type SynapseKind,
  synapseToBody,
  toWireJson,
} from "../../bittensor/synapse.ts";

const State: SynapseKind<Record<string, unknown>> = {
  name: "State",
  fields: z.record(z.string(), z.unknown()),
  requiredFields: [],
  hashFields: [],
};

function expected(fields: Record<string, unknown>, nonce: bigint) {
  const synapse = newSynapse(State, fields, 3);
  synapse.dendrite.nonce = nonce;
  return synapse;
}

Deno.test("encoded bodies are the wire JSON text, long fields shared or not", () => {
  const encoder = new SynapseBodyEncoder();
  const books = `${"q".repeat(3000)}"\\\u00e9\u2028`;
  const cases: Record<string, unknown>[] = [
    { model: "im", books, accounts: "short", notices: undefined, compressed: true },
    { model: "im", books, accounts: { "7": [1.5, null] }, nested: { big: 2n ** 70n } },
    {},
    { name: "clash", books },
  ];
  for (const [i, fields] of cases.entries()) {
    const synapse = expected(fields, 18_000_000_000_000_000_000n + BigInt(i));
    const text = toWireJson(synapseToBody(synapse));
    const { bytes, chars } = encoder.encode(synapse);
    assert.equal(new TextDecoder().decode(bytes), text, `case ${i}`);
    assert.equal(chars, text.length, `case ${i}`);
  }
});
