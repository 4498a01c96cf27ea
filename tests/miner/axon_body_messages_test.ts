/** What a `taos miner` axon answers a signed, trusted caller whose request body it cannot read. */
import assert from "node:assert/strict";
import { encodeStateUpdate, MarketSimulationStateUpdate } from "../../bittensor/market_synapse.ts";
import { signedSynapse } from "../bittensor/signed_request.ts";
import { alice, bob, localMinerFlags, minerState, minerWallet, spawnMiner } from "./support.ts";

const KIND = "MarketSimulationStateUpdate";
const PREFIX = `Improperly formatted request body for synapse of type ${KIND}: `;

const fields = encodeStateUpdate(minerState());

/** An honest request's body as an object, to change one field of. */
const honestBody = () =>
  JSON.parse(
    signedSynapse(MarketSimulationStateUpdate, fields, {
      signer: alice,
      axonHotkey: bob.ss58Address,
    }).body,
  );

const cases: [string, string | Uint8Array<ArrayBuffer>, string][] = [
  ["text that is not JSON", "{not json", "not JSON: "],
  ["a JSON array", "[]", "synapse body: must be a JSON object"],
  [
    "a timeout that is text",
    JSON.stringify({ ...honestBody(), timeout: "soon" }),
    'synapse body: timeout: must be a number, got "soon"',
  ],
  [
    "a state update field of the wrong type",
    JSON.stringify({ ...honestBody(), compressed: 5 }),
    `${KIND} body: compressed: must be true or false, got 5`,
  ],
  ["bytes that are not UTF-8", new Uint8Array([0x7b, 0xff, 0x7d]), "not UTF-8 text"],
  [
    "a field holding a long text",
    JSON.stringify({ ...honestBody(), timeout: "x".repeat(100_000) }),
    'synapse body: timeout: must be a number, got "xxx',
  ],
];

/** The most a refusal repeats of the problem: a body may be megabytes long. */
const MAX_PROBLEM_CHARACTERS = 300 + "... (100000 more characters)".length;

Deno.test({
  name: "taos miner: a body that cannot be read is answered naming the field and the problem",
  async fn() {
    const miner = spawnMiner([...localMinerFlags(await minerWallet("taos-axon-body-")), "-a", "0"]);
    try {
      const port = Number(/axon port (\d+)/.exec(await miner.firstLine())?.[1]);
      for (const [what, body, problem] of cases) {
        const { headers } = signedSynapse(MarketSimulationStateUpdate, fields, {
          signer: alice,
          axonHotkey: bob.ss58Address,
        });
        const reply = await fetch(`http://127.0.0.1:${port}/${KIND}`, {
          method: "POST",
          headers,
          body,
        });
        const { message } = await reply.json();
        assert.equal(reply.status, 500, what);
        assert.ok(message.startsWith(PREFIX + problem), `${what}: ${message.slice(0, 500)}`);
        assert.ok(message.length <= PREFIX.length + MAX_PROBLEM_CHARACTERS, what);
        assert.equal(reply.headers.get("bt_header_axon_status_message"), message, what);
      }
    } finally {
      await miner.stop();
    }
  },
});
