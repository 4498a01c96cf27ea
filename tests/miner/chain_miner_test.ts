import assert from "node:assert/strict";
import { Dendrite } from "../../bittensor/dendrite.ts";
import { cryptoReady, Keypair } from "../../bittensor/keypair.ts";
import {
  decodeResponse,
  encodeStateUpdate,
  MarketSimulationStateUpdate,
} from "../../bittensor/market_synapse.ts";
import { startNode } from "../chain/subnet_fixture.ts";
// On the test chain Alice is uid 0 with a validator permit, Bob the miner (uid 1) and Charlie
// uid 2, registered without a permit.
import {
  alice,
  bob,
  charlie,
  FIXTURE_AGENT_FLAGS,
  minerWallet,
  runMinerToExit,
  spawnMiner,
} from "./support.ts";
import { fileURLToPath } from "node:url";

await cryptoReady();

Deno.test(
  "taos miner against a chain: finds its uid, serves its axon, trusts only permitted validators",
  { sanitizeOps: false, sanitizeResources: false },
  async () => {
    const { node } = startNode();
    node.best = 2000;
    const root = await minerWallet("taos-chain-miner-");
    const miner = spawnMiner([
      "-e",
      node.url,
      // -e wins: nothing listens at the network name's address.
      "--subtensor.network",
      "ws://127.0.0.1:9",
      "-p",
      root,
      "-a",
      "0",
      "--axon.external_ip",
      "192.168.1.10",
      "--axon.external_port",
      "8091",
      "--prometheus.level",
      "OFF",
      ...FIXTURE_AGENT_FLAGS,
    ]);
    try {
      const line = await miner.firstLine();
      assert.match(line, /uid 1, hotkey 5FHneW46/);
      const port = Number(/axon port (\d+)/.exec(line)?.[1]);

      const target = { ip: "127.0.0.1", port, hotkey: bob.ss58Address };
      const state = {
        timestamp: 5_000_000_000,
        config: null,
        books: { "0": { id: 0, bids: [], asks: [], events: null } },
        accounts: {},
        notices: {},
      };
      const wire = encodeStateUpdate(state);
      const ok = await new Dendrite(alice).call(target, MarketSimulationStateUpdate, wire, 5);
      assert.equal(ok.statusCode, 200, ok.statusMessage);
      assert.equal((decodeResponse(ok.fields!) as { agent_id: number }).agent_id, 1);
      const refused = await new Dendrite(charlie).call(
        target,
        MarketSimulationStateUpdate,
        wire,
        5,
      );
      assert.equal(refused.statusCode, 403);
      assert.equal(refused.statusMessage, "Forbidden. Key is blacklisted: Non-validator hotkey.");

      // The axon is announced on chain, signed by the miner's hotkey.
      for (let i = 0; i < 200 && node.submissions.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const served = node.submissions.find((s) => s.method === "serveAxon");
      assert.ok(served, "no serve_axon submitted");
      assert.equal(served.signer, bob.ss58Address);
      assert.equal(served.signatureValid, true);
      assert.equal((served.args as { port: number }).port, 8091);
      assert.equal((served.args as { ip: number }).ip, 3232235786);
    } finally {
      const stopped = await miner.stop();
      await node.close();
      assert.equal(stopped.code, 0, stopped.stderr);
    }
  },
);

/**
 * Runs `taos miner` against `node` until it exits, with `key` as the wallet's miner hotkey; `extra`
 * flags follow the chain, wallet and external-address ones.
 */
async function minerToExit(node: { url: string }, key: Keypair, extra: string[] = []) {
  const root = await minerWallet("taos-chain-miner-", key);
  return await runMinerToExit([
    "-e",
    node.url,
    "-p",
    root,
    "--axon.external_ip",
    "192.168.1.10",
    ...extra,
  ]);
}

Deno.test(
  "taos miner refuses to start with a hotkey the subnet does not know",
  { sanitizeOps: false, sanitizeResources: false },
  async () => {
    const { node } = startNode();
    try {
      const out = await minerToExit(node, Keypair.fromUri("//Dave"));
      assert.equal(out.code, 2);
      assert.match(out.stderr, /hotkey 5DAAnrj7.* is not registered on this subnet/);
    } finally {
      await node.close();
    }
  },
);

Deno.test(
  "taos miner stops when the chain says its hotkey is not registered while it serves the axon",
  { sanitizeOps: false, sanitizeResources: false },
  async () => {
    const { node, subnet } = startNode();
    // The neuron list still shows Bob, but the registration the serve call checks is gone.
    node.setStorage("SubtensorModule", "Uids", [79, subnet.neurons[1].hotkey], null);
    try {
      const out = await minerToExit(node, bob, [
        "-a",
        "0",
        "--prometheus.level",
        "OFF",
        ...FIXTURE_AGENT_FLAGS,
      ]);
      assert.equal(out.code, 1);
      assert.match(out.stderr, /hotkey 5FHneW46.* is not registered on subnet 79; stopping/);
    } finally {
      await node.close();
    }
  },
);

/** Runs `taos miner <flags>` until its stderr has a line matching `until`; returns its stderr. */
async function minerStderrUntil(flags: string[], until: RegExp): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts", "miner", ...flags],
    cwd: fileURLToPath(new URL("../../", import.meta.url)),
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  try {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      if (until.test(text)) break;
    }
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
  return text;
}

Deno.test(
  "taos miner: @polkadot/api's own line about a refused serve goes to the log at debug level only",
  { sanitizeOps: false, sanitizeResources: false },
  async () => {
    const { node } = startNode();
    node.onSubmit = () => ({
      kind: "reject",
      code: 1010,
      message: "Invalid Transaction",
      data: "Transaction has a bad signature",
    });
    const root = await minerWallet("taos-chain-miner-", bob);
    const flags = [
      ...["-e", node.url, "-p", root, "--axon.external_ip", "192.168.1.10", "-a", "0"],
      ...["--prometheus.level", "OFF", ...FIXTURE_AGENT_FLAGS],
    ];
    const refused = /serving the axon failed \(attempt 1\): .*the signature does not verify.*\n/;
    try {
      const quiet = await minerStderrUntil(flags, refused);
      const debug = await minerStderrUntil([...flags, "--logging.debug"], refused);
      for (const stderr of [quiet, debug]) {
        // Never in the library's own form: its date, then the origin padded on the left.
        assert.doesNotMatch(stderr, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +RPC-CORE:/m);
      }
      assert.doesNotMatch(quiet, /RPC-CORE/);
      assert.match(debug, /^\S+ DEBUG +@polkadot\/api: RPC-CORE: .*1010: Invalid Transaction/m);
    } finally {
      await node.close();
    }
  },
);

Deno.test(
  "taos miner logs the axon it served on chain with an IPv6 address in brackets",
  { sanitizeOps: false, sanitizeResources: false },
  async () => {
    const { node } = startNode();
    const root = await minerWallet("taos-chain-miner-", bob);
    const flags = [
      ...["-e", node.url, "-p", root, "--axon.external_ip", "2001:db8::1", "-a", "0"],
      ...["--axon.external_port", "8091", "--prometheus.level", "OFF", "--logging.info"],
      ...FIXTURE_AGENT_FLAGS,
    ];
    try {
      const stderr = await minerStderrUntil(flags, /served on chain.*\n/);
      assert.match(stderr, /axon \[2001:db8::1\]:8091 served on chain/);
    } finally {
      await node.close();
    }
  },
);
