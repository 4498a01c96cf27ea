import assert from "node:assert/strict";
import { testTempDir } from "../temp_dir.ts";
import { z } from "zod";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { deflateSync } from "node:zlib";
import { Buffer } from "node:buffer";
import { Dendrite } from "../../bittensor/dendrite.ts";
import { cryptoReady, type Keypair } from "../../bittensor/keypair.ts";
import {
  compressJson,
  compressJsonText,
  decodeResponse,
  decodeStateUpdate,
  encodeResponse,
  encodeStateUpdate,
  EventNotification,
  FinanceEventNotification,
  MarketSimulationStateUpdate,
  stateForMiner,
} from "../../bittensor/market_synapse.ts";
import { StaticNeuronDirectory } from "../../bittensor/neurons.ts";
import {
  bodyHash,
  newSynapse,
  type SynapseKind,
  synapseToHeaders,
} from "../../bittensor/synapse.ts";
import { CallerPolicy } from "../../miner/blacklist.ts";
import { signedSynapse } from "../bittensor/signed_request.ts";
import { simulationConfigFor } from "../../agents/sdk/state.ts";
import { smallPreset } from "../../sim/config.ts";
import {
  alice,
  bob,
  charlie,
  FIXTURE_AGENT_FLAGS,
  fixtures,
  localMinerFlags,
  marketState,
  minerWallet,
  repoRoot,
  runMinerToExit,
  spawnMiner,
  startFixtureMiner,
} from "./support.ts";
import { passwordFreeEnv } from "../wallet_process.ts";

await cryptoReady();

/** The axon's built-in `/Synapse` ping: the base synapse alone. */
const Ping: SynapseKind<Record<string, never>> = {
  name: "Synapse",
  fields: z.object({}),
  requiredFields: [],
  hashFields: [],
};

Deno.test("state updates compress as the reference does and each miner sees only itself", () => {
  const state = marketState();
  const own = stateForMiner(state, 1);
  assert.deepEqual(Object.keys(own.accounts), ["1"]);
  assert.deepEqual(Object.keys(own.notices!), ["1"]);
  assert.deepEqual(own.books, state.books);

  const wire = encodeStateUpdate(own);
  assert.equal(wire.compressed, true);
  assert.equal(typeof wire.books, "string");
  assert.equal(wire.books, compressJson(state.books));
  assert.equal(wire.response, null);
  assert.deepEqual(decodeStateUpdate(wire), { ...own, model: "im" });
  // A miner with no entry gets empty maps, never the others' accounts and notices.
  assert.deepEqual(stateForMiner(state, 9), { ...state, accounts: {}, notices: {} });
  // No notices at all still reach the miner as an empty map, which it may index.
  assert.deepEqual(decodeStateUpdate(encodeStateUpdate({ ...own, notices: null })).notices, {});

  // Required fields travel as empty-value headers: int → "0", str → "".
  const synapse = newSynapse(MarketSimulationStateUpdate, wire, 5);
  const headers = synapseToHeaders(
    MarketSimulationStateUpdate,
    synapse,
    bodyHash(MarketSimulationStateUpdate, wire),
  );
  assert.equal(headers.bt_header_input_obj_timestamp, "MA==");
  assert.equal(headers.bt_header_input_obj_books, "IiI=");
  assert.equal(headers.bt_header_input_obj_accounts, "IiI=");
  assert.equal(headers.timeout, "5.0");

  const reply = encodeResponse(wire, { agent_id: 1, instructions: [] });
  assert.deepEqual(
    { ...reply, response: null },
    {
      model: "im",
      timestamp: wire.timestamp,
      config: null,
      books: {},
      accounts: {},
      notices: {},
      response: null,
      compressed: true,
    },
  );
  assert.deepEqual(decodeResponse(reply), { agent_id: 1, instructions: [] });
  // Only a reply that says it is compressed is inflated; any other is taken as it came.
  assert.equal(decodeResponse({ ...reply, compressed: false }), reply.response);
  assert.throws(
    () => decodeStateUpdate({ ...wire, books: "not-zlib!" }),
    /books: cannot decompress/,
  );
  // A few hundred kilobytes of small values would parse to gigabytes: refused before parsing,
  // by the values of all fields together.
  const values = (n: number) =>
    Buffer.from(deflateSync(`{"0":[${"{},".repeat(n)}{}]}`)).toString("base64");
  assert.throws(
    () => decodeStateUpdate({ ...wire, books: values(2_400_000), accounts: values(2_400_000) }),
    /accounts: cannot decompress \(more than 8000000 JSON values/,
  );
  assert.equal(Object.keys(decodeStateUpdate({ ...wire, books: values(100_000) }).books).length, 1);
  // An empty book map means nothing was compressed (the reference's rule).
  const uncompressed = decodeStateUpdate({ ...wire, books: {}, accounts: {} });
  assert.deepEqual(uncompressed.accounts, {});
  assert.equal(uncompressed.notices, wire.notices, "taken as it came, not inflated");
});

Deno.test("caller policy: unregistered, no permit, low stake, priority by stake", async () => {
  const neuron = (uid: number, key: Keypair, stake: number, permit: boolean) => ({
    uid,
    hotkey: key.ss58Address,
    coldkey: key.ss58Address,
    stake,
    validatorPermit: permit,
    axon: null,
    lastUpdate: 0,
  });
  const directory = new StaticNeuronDirectory([
    neuron(0, alice, 500, true),
    neuron(1, bob, 20, false),
  ]);
  const strict = new CallerPolicy(directory, { minStake: 1000 });
  assert.deepEqual(await strict.blacklist(charlie.ss58Address), {
    blacklisted: true,
    reason: "Unrecognized hotkey",
  });
  assert.deepEqual(await strict.blacklist(bob.ss58Address), {
    blacklisted: true,
    reason: "Non-validator hotkey",
  });
  // The caller reads its own stake and the minimum in the 403's reason.
  assert.deepEqual(await strict.blacklist(alice.ss58Address), {
    blacklisted: true,
    reason: "Stake 500 below the minimum 1000",
  });
  // Only a stake below the minimum is refused: exactly the minimum passes.
  assert.deepEqual(
    await new CallerPolicy(directory, { minStake: 500 }).blacklist(alice.ss58Address),
    {
      blacklisted: false,
      reason: "Hotkey recognized",
    },
  );
  const open = new CallerPolicy(directory, {
    forceValidatorPermit: false,
    allowNonRegistered: true,
  });
  assert.equal((await open.blacklist(charlie.ss58Address)).blacklisted, false);
  assert.equal((await open.blacklist(bob.ss58Address)).blacklisted, false);
  assert.equal(await open.priority(alice.ss58Address), 500);
  assert.equal(await open.priority(charlie.ss58Address), 0);
  // Allowing unregistered hotkeys waives neither the permit nor the minimum stake.
  const permitStill = new CallerPolicy(directory, { allowNonRegistered: true });
  assert.deepEqual(await permitStill.blacklist(charlie.ss58Address), {
    blacklisted: true,
    reason: "Non-validator hotkey",
  });
  const stakeStill = new CallerPolicy(directory, {
    allowNonRegistered: true,
    forceValidatorPermit: false,
    minStake: 10,
  });
  assert.deepEqual(await stakeStill.blacklist(charlie.ss58Address), {
    blacklisted: true,
    reason: "Stake 0 below the minimum 10",
  });
});

Deno.test("an overrunning agent is cut off with an empty response; a blocking one cannot stall the axon", async () => {
  for (const params of ["sleep_ms=3000", "spin_ms=3000"]) {
    const miner = await startFixtureMiner(params, { agentTimeout: 0.3 });
    try {
      const dendrite = new Dendrite(alice);
      const target = { ip: "127.0.0.1", port: miner.port, hotkey: bob.ss58Address };
      const wire = encodeStateUpdate(stateForMiner(marketState(), 1));
      const result = await dendrite.call(target, MarketSimulationStateUpdate, wire, 2);
      assert.equal(result.statusCode, 200, `${params}: ${result.statusMessage}`);
      assert.deepEqual(decodeResponse(result.fields!), { agent_id: 1, instructions: [] });
      // The next update, while the agent still computes the first, is answered in time as well.
      const second = await dendrite.call(target, MarketSimulationStateUpdate, wire, 2);
      assert.equal(second.statusCode, 200);
      const text = await miner.metrics.registry.metrics();
      // Both updates overran, and no other did: the line ends at the count.
      assert.match(text, /taos_miner_agent_errors_total\{reason="overran"[^}]*\} 2$/m);
    } finally {
      await miner.stop();
    }
  }
});

/** The fixture miner's replies to two identical updates, and the warnings it logged meanwhile. */
async function twoReplies(params: string) {
  const warnings: string[] = [];
  const miner = await startFixtureMiner(params, {
    log: (level, message) => level === "warning" && warnings.push(message),
  });
  try {
    const dendrite = new Dendrite(alice);
    const target = { ip: "127.0.0.1", port: miner.port, hotkey: bob.ss58Address };
    const wire = encodeStateUpdate(stateForMiner(marketState(), 1));
    const replies: { instructions: Record<string, unknown>[] }[] = [];
    for (let i = 0; i < 2; i++) {
      const result = await dendrite.call(target, MarketSimulationStateUpdate, wire, 2);
      assert.equal(result.statusCode, 200);
      replies.push(decodeResponse(result.fields!) as { instructions: Record<string, unknown>[] });
    }
    return { replies, warnings };
  } finally {
    await miner.stop();
  }
}

Deno.test("the miner warns once of instructions validators will drop from its agent's replies", async () => {
  const { replies, warnings } = await twoReplies("copies=25");
  for (const reply of replies) assert.equal(reply.instructions.length, 25);
  assert.deepEqual(warnings, [
    "validators will drop 5 of the agent's 25 instructions, the first being instruction 20: " +
    "more than 20 instructions on book 0 (said once)",
  ]);
});

Deno.test("the miner warns once of a field validators ignore in its agent's replies", async () => {
  const { replies, warnings } = await twoReplies("leverage=true");
  // Sent as the agent wrote it: the validator strips the field, as the reference's does.
  for (const reply of replies) assert.equal(reply.instructions[0].leverage, 2);
  assert.deepEqual(warnings, [
    "agent reply: instruction 0 (PLACE_ORDER_LIMIT) carries 'leverage', which validators " +
    "ignore: the subnet's protocol has no leverage, so a miner's orders are cash orders " +
    "(said once)",
  ]);
});

/** Asks a fixture miner whose agent also places on book 3 of 3 for one reply; asserts that only
 * its book-0 instruction is sent, with one warning naming the other. */
async function unknownBookUnsent(params: string): Promise<void> {
  const warnings: string[] = [];
  const miner = await startFixtureMiner(params, {
    log: (level, message) => level === "warning" && warnings.push(message),
  });
  try {
    const dendrite = new Dendrite(alice);
    const target = { ip: "127.0.0.1", port: miner.port, hotkey: bob.ss58Address };
    const state = { ...marketState(), config: simulationConfigFor({ ...smallPreset(), books: 3 }) };
    const result = await dendrite.call(
      target,
      MarketSimulationStateUpdate,
      encodeStateUpdate(stateForMiner(state, 1)),
      2,
    );
    assert.equal(result.statusCode, 200);
    const sent = decodeResponse(result.fields!) as { instructions: { bookId: number }[] };
    assert.deepEqual(sent.instructions.map((i) => i.bookId), [0]);
    assert.deepEqual(warnings, [
      "validators will drop 1 of the agent's 2 instructions, the first being instruction 1: " +
      "bookId 3 outside 0..2 (not sent) (said once)",
    ]);
  } finally {
    await miner.stop();
  }
}

Deno.test("instructions for a book the simulation does not have are not sent (a reference validator fails its step on them)", async () => {
  await unknownBookUnsent("book=3");
});

Deno.test("an instruction carrying a method is sent as its JSON, not voided as one that cannot be cloned", async () => {
  const { replies, warnings } = await twoReplies("method=true");
  assert.deepEqual(warnings, [
    "agent reply: instruction 0 (PLACE_ORDER_LIMIT) carries 'describe', which validators ignore " +
    "(said once)",
  ]);
  for (const reply of replies) {
    assert.equal(reply.instructions.length, 1);
    assert.equal(reply.instructions[0].type, "PLACE_ORDER_LIMIT");
    assert.equal("describe" in reply.instructions[0], false);
  }
});

Deno.test("an agent that changes the state it is given cannot get instructions for unknown books sent", async () => {
  await unknownBookUnsent("book=3 drop_config=true");
});

Deno.test("a stuck agent is replaced by a fresh instance", async () => {
  const flag = join(testTempDir("taos-stuck-"), "flag");
  const warnings: string[] = [];
  const miner = await startFixtureMiner(`stuck_flag=${flag}`, {
    agentTimeout: 0.3,
    agentRestartAfter: 200,
    log: (at, message) => at === "warning" && warnings.push(message),
  });
  try {
    const dendrite = new Dendrite(alice);
    const target = { ip: "127.0.0.1", port: miner.port, hotkey: bob.ss58Address };
    const wire = encodeStateUpdate(stateForMiner(marketState(), 1));
    const first = await dendrite.call(target, MarketSimulationStateUpdate, wire, 2);
    assert.deepEqual(decodeResponse(first.fields!), { agent_id: 1, instructions: [] });
    // Keep sending updates until the replacement agent answers (each is answered either way).
    let instructions = 0;
    for (let attempt = 0; attempt < 100 && instructions === 0; attempt++) {
      const next = await dendrite.call(target, MarketSimulationStateUpdate, wire, 2);
      assert.equal(next.statusCode, 200);
      instructions = (decodeResponse(next.fields!) as { instructions: unknown[] }).instructions
        .length;
      if (instructions === 0) await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(instructions, 1);
    assert.ok(
      warnings.some((w) => /replacing it with a fresh instance/.test(w)),
      warnings.join("\n"),
    );
    // Its process is killed: nothing of it outlives its replacement (agent_process_test.ts).
    assert.ok(
      warnings.some((w) =>
        /still computing 200 ms after its deadline \(an endless loop, a promise that never settles, or a full heap\); replacing/
          .test(w)
      ),
      warnings.join("\n"),
    );
    // The budget as given, not rounded to 2 decimals (0.001 s read as 0.00 s).
    assert.ok(warnings.some((w) => /overran its 0\.3 s budget/.test(w)), warnings.join("\n"));
  } finally {
    await miner.stop();
  }
});

Deno.test("the axon keeps to its connection limit per address", async () => {
  const miner = await startFixtureMiner("", { maxConnectionsPerIp: 2 });
  const conns: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      conns.push(await Deno.connect({ hostname: "127.0.0.1", port: miner.port }));
    }
    // The third is closed as it arrives: its read ends without a byte.
    const buffer = new Uint8Array(16);
    assert.equal(await conns[2].read(buffer).catch(() => null), null);
  } finally {
    for (const conn of conns) {
      try {
        conn.close();
      } catch {
        // closed by the axon
      }
    }
    await miner.stop();
  }
});

Deno.test("the miner's ping follows the caller policy: a stranger is refused", async () => {
  const miner = await startFixtureMiner("");
  try {
    const target = { ip: "127.0.0.1", port: miner.port, hotkey: bob.ss58Address };
    const refused = await new Dendrite(charlie).call(target, Ping, {}, 2);
    assert.equal(refused.statusCode, 403);
    assert.equal(refused.statusMessage, "Forbidden. Key is blacklisted: Unrecognized hotkey.");
    const served = await new Dendrite(alice).call(target, Ping, {}, 2);
    assert.equal(served.statusCode, 200, served.statusMessage);
  } finally {
    await miner.stop();
  }
});

Deno.test("event notifications are acknowledged on both route names", async () => {
  const miner = await startFixtureMiner("");
  try {
    // The reference miner serves its base class's route, a validator would send the subclass's.
    for (const kind of [FinanceEventNotification, EventNotification]) {
      const result = await new Dendrite(alice).call(
        { ip: "127.0.0.1", port: miner.port, hotkey: bob.ss58Address },
        kind,
        {
          event: { type: "EVENT_SIMULATION_STOP", timestamp: 1, agentId: null },
          acknowledged: false,
        },
        2,
      );
      assert.equal(result.statusCode, 200, `${kind.name}: ${result.statusMessage}`);
      assert.equal(result.fields?.acknowledged, true);
    }
  } finally {
    await miner.stop();
  }
});

Deno.test("taos miner --local answers a signed state update, refuses strangers, exports metrics", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const freePort = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const root = await minerWallet("taos-miner-");
  // The axon port comes from the SDK's environment variable, as no -a is given.
  const miner = spawnMiner(localMinerFlags(root), { BT_AXON_PORT: String(freePort) });
  try {
    const line = await miner.firstLine();
    const axonPort = Number(/axon port (\d+)/.exec(line)?.[1]);
    const metricsPort = Number(/metrics port (\d+)/.exec(line)?.[1]);
    assert.ok(axonPort === freePort && metricsPort > 0, line);
    assert.match(line, /uid 1, hotkey 5FHneW46/);
    // The agent's file, named once, where the warnings name only its class.
    assert.ok(line.includes(`agent FixtureAgent (${join(fixtures, "FixtureAgent.ts")})`), line);

    const target = { ip: "127.0.0.1", port: axonPort, hotkey: bob.ss58Address };
    const wire = encodeStateUpdate(stateForMiner(marketState(), 1));
    const result = await new Dendrite(alice).call(target, MarketSimulationStateUpdate, wire, 5);
    assert.equal(result.statusCode, 200, result.statusMessage);
    const response = decodeResponse(result.fields!) as {
      agent_id: number;
      instructions: { type: string; price: number; agentId: number }[];
    };
    assert.equal(response.agent_id, 1);
    assert.equal(response.instructions.length, 1);
    assert.equal(response.instructions[0].type, "PLACE_ORDER_LIMIT");
    assert.equal(response.instructions[0].price, 299.5);
    assert.equal(response.instructions[0].agentId, 1);
    assert.deepEqual(result.fields!.books, {});

    const refused = await new Dendrite(charlie).call(target, MarketSimulationStateUpdate, wire, 5);
    assert.equal(refused.statusCode, 403);
    assert.equal(refused.statusMessage, "Forbidden. Key is blacklisted: Unrecognized hotkey.");

    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    // One request of each status and the agent's one instruction: each line ends at its count,
    // so that 10 or 12 would not pass for 1.
    assert.match(
      metrics,
      /taos_miner_requests_total\{synapse="MarketSimulationStateUpdate",status="200"[^}]*\} 1$/m,
    );
    assert.match(
      metrics,
      /taos_miner_requests_total\{synapse="MarketSimulationStateUpdate",status="403"[^}]*\} 1$/m,
    );
    assert.match(metrics, /taos_miner_instructions_total\{[^}]*\} 1$/m);
    // The one update the agent answered in time, and no failure.
    assert.match(metrics, /taos_miner_agent_seconds_count\{[^}]*\} 1\n/);
    assert.doesNotMatch(metrics, /taos_miner_agent_errors_total\{/);
  } finally {
    const stopped = await miner.stop();
    assert.equal(stopped.code, 0, stopped.stderr);
  }
});

Deno.test("an update that does not decode is answered with no instructions and counted invalid", async () => {
  const { miner, warnings, target, wire } = await minerKeepingWarnings();
  try {
    const dendrite = new Dendrite(alice);
    const bad = await dendrite.call(
      target,
      MarketSimulationStateUpdate,
      { ...wire, books: "not-zlib!" },
      2,
    );
    assert.equal(bad.statusCode, 200, bad.statusMessage);
    assert.deepEqual(decodeResponse(bad.fields!), { agent_id: 1, instructions: [] });
    assert.deepEqual(warnings, [
      `agent FixtureAgent failed at state ${wire.timestamp}: invalid state update: books: ` +
      "cannot decompress (incorrect header check)",
    ]);
    const text = await miner.metrics.registry.metrics();
    assert.match(text, /taos_miner_agent_errors_total\{reason="invalid"[^}]*\} 1$/m);
    // The agent goes on with the next update.
    const good = await dendrite.call(target, MarketSimulationStateUpdate, wire, 2);
    assert.equal(
      (decodeResponse(good.fields!) as { instructions: unknown[] }).instructions.length,
      1,
    );
  } finally {
    await miner.stop();
  }
});

Deno.test("a state update that takes seconds to decode holds up no other request", async () => {
  const root = await minerWallet("taos-miner-");
  // A separate process: the axon's thread must stay free, which a test sharing it cannot see.
  const miner = spawnMiner([...localMinerFlags(root), "-a", "0"]);
  try {
    const line = await miner.firstLine();
    const target = {
      ip: "127.0.0.1",
      port: Number(/axon port (\d+)/.exec(line)?.[1]),
      hotkey: bob.ss58Address,
    };
    // 7.6 million small values (within the bound) from a few hundred KB on the wire: seconds of
    // inflating and parsing.
    const books = compressJsonText(`{"0":[${'{"a":[1,2]},'.repeat(1_900_000)}0]}`);
    const heavy = { ...encodeStateUpdate(stateForMiner(marketState(), 1)), books };
    const dendrite = new Dendrite(alice);
    const decoding = dendrite.call(target, MarketSimulationStateUpdate, heavy, 30)
      .then((result) => ({ result, at: performance.now() }));
    // Let the heavy update arrive and its decoding start.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const notice = await dendrite.call(target, FinanceEventNotification, {
      event: { type: "EVENT_SIMULATION_STOP", timestamp: 1, agentId: null },
      acknowledged: false,
    }, 20);
    const noticeAt = performance.now();
    assert.equal(notice.statusCode, 200, notice.statusMessage);
    assert.equal(notice.fields?.acknowledged, true);
    // Answered while the heavy update was still being decoded (a blocked axon would answer it
    // after), and the heavy update itself in time, with no instructions.
    const { result: heavyResult, at: heavyAt } = await decoding;
    assert.ok(noticeAt < heavyAt, "the notice waited for the heavy update");
    assert.equal(heavyResult.statusCode, 200, heavyResult.statusMessage);
    assert.deepEqual(decodeResponse(heavyResult.fields!), { agent_id: 1, instructions: [] });
  } finally {
    await miner.stop();
  }
});

Deno.test("taos miner refuses empty paths and addresses, and words bounds as the validator does", async () => {
  // Each once started: an empty wallet or agent path on the working directory, an empty --axon.ip
  // on whatever address the runtime picked; an empty endpoint crashed with a stack trace, and
  // `0x10` or an empty value passed as a stake.
  const cases: [string[], RegExp][] = [
    [["--wallet.path="], /^taos miner: --wallet\.path: must not be empty$/m],
    [["-p", ""], /^taos miner: --wallet\.path: must not be empty$/m],
    [["-w", ""], /^taos miner: --wallet\.name: must not be empty$/m],
    [["--wallet.hotkey="], /^taos miner: --wallet\.hotkey: must not be empty$/m],
    [["--axon.ip="], /^taos miner: --axon\.ip: must not be empty$/m],
    [["--axon.external_ip="], /^taos miner: --axon\.external_ip: must not be empty$/m],
    [["-g", ""], /^taos miner: --agent\.path: must not be empty$/m],
    [["--agent.name="], /^taos miner: --agent\.name: must not be empty$/m],
    [["--no-local", "-e", ""], /^taos miner: -e\/--subtensor\.chain_endpoint: must not be empty$/m],
    [
      ["--no-local", "--subtensor.network="],
      /^taos miner: --subtensor\.network: must not be empty$/m,
    ],
    [
      ["--no-local", "-e", "nowhere"],
      /^taos miner: -e\/--subtensor\.chain_endpoint: "nowhere" is neither/m,
    ],
    // A local miner reads no chain, but a mistyped endpoint is still told, as the validator does.
    [["-e", ""], /^taos miner: -e\/--subtensor\.chain_endpoint: must not be empty$/m],
    [["--subtensor.network="], /^taos miner: --subtensor\.network: must not be empty$/m],
    [
      ["-e", "nowhere"],
      /^taos miner: -e\/--subtensor\.chain_endpoint: "nowhere" is neither/m,
    ],
    // Until this version up to 600 was taken, though the axon never gave an agent past 59.5 s.
    [
      ["--agent.timeout", "61"],
      /^taos miner: --agent\.timeout: '61' must be <= 60 \(the axon cuts every request's timeout to 60 s\)$/m,
    ],
    [["--agent.timeout", "0"], /^taos miner: --agent\.timeout: '0' must be > 0$/m],
    [["--netuid", "70000"], /^taos miner: --netuid: '70000' must be <= 65535$/m],
    [["--local.uid", "1.5"], /^taos miner: --local\.uid: '1\.5' must be an integer$/m],
    [
      ["--blacklist.min_stake", "0x10"],
      /^taos miner: --blacklist\.min_stake: '0x10' must be a number$/m,
    ],
    [["--blacklist.min_stake="], /^taos miner: --blacklist\.min_stake: '' must be a number$/m],
    [["--blacklist.min_stake", "-1"], /^taos miner: --blacklist\.min_stake: '-1' must be >= 0$/m],
    // The local flags without --local (here --local.uid 1) were ignored, and the miner went on
    // to the chain.
    [["--no-local"], /^taos miner: --local\.uid: only valid with --local$/m],
    // `--config x` was refused with its reason, `--config=x` as an unknown option.
    [["--config=miner.yml"], /^taos miner: --config: Bittensor YAML configuration files are not/m],
  ];
  const root = await minerWallet("taos-miner-empty-");
  for (const [flags, expected] of cases) {
    // A working local miner's command line, so that only the flag under test can stop it.
    const local = flags[0] === "--no-local" ? ["--axon.external_ip", "8.8.8.8"] : ["--local"];
    const out = await runMinerToExit([
      ...localMinerFlags(root).filter((flag) => flag !== "--local"),
      "-a",
      "0",
      "--axon.ip",
      "127.0.0.1",
      ...local,
      ...flags.filter((flag) => flag !== "--no-local"),
    ]);
    assert.equal(out.code, 2, `${flags.join(" ")}: ${out.stderr}`);
    assert.match(out.stderr, expected, flags.join(" "));
  }
});

Deno.test("taos miner rejects bad flags with the flag's name", async () => {
  const run = (...args: string[]) => runMinerToExit(args);
  let r = await run("--local", "-a", "70000");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--axon\.port: '70000' must be <= 65535$/m);
  r = await run("--local", "--axon.max_connections_per_ip", "0");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--axon\.max_connections_per_ip: '0' must be >= 1$/m);
  const fromEnvironment = await runMinerToExit(["--local"], { BT_AXON_EXTERNAL_PORT: "soon" });
  assert.equal(fromEnvironment.code, 2);
  assert.match(fromEnvironment.stderr, /BT_AXON_EXTERNAL_PORT: 'soon' is not a port number/);
  r = await run("--local", "--local.validators", "nonsense");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--local\.validators: 'nonsense' is not an SS58 address/);
  r = await run("--local", "-p", "/nonexistent-wallets");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /wallet: .*cannot read.*\(set -p\/--wallet\.path, -w\/--wallet\.name/);
  r = await run("--local", "-w", "../wallets", "-h", "miner");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--wallet\.name: '\.\.\/wallets' must be a single file name/);
  // btwallet's variable names the wallet when the flag does not, and is named when wrong.
  const fromName = await runMinerToExit(["--local"], { BT_WALLET_NAME: "../wallets" });
  assert.equal(fromName.code, 2);
  assert.match(fromName.stderr, /BT_WALLET_NAME: '\.\.\/wallets' must be a single file name/);
  r = await run("--local", "--agent.timeout", "abc");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--agent\.timeout: 'abc' must be a number$/m);
  assert.doesNotMatch(r.stderr, />= 0/, "one message, not two that disagree");
  r = await run("--local", "--agent.max_memory", "8");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--agent\.max_memory: '8' must be >= 16$/m);
  // The validator's spelling of the log level is taken too, and named when wrong.
  r = await run("--local", "--log-level", "loud");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--log-level: 'loud' must be one of error, warning, info, debug, trace$/m);

  // Agent parameters passed unquoted, as run_miner.sh does, are checked together by the agent.
  const root = await minerWallet("taos-miner-");
  r = await run(
    "--local",
    "-p",
    root,
    "-a",
    "0",
    "--prometheus.level",
    "OFF",
    "-n",
    "RandomMakerAgent",
    "--agent.params",
    "min_quantity=0.5",
    "max_quantity=0.2", // only this word makes the pair invalid (the default maximum is 1)
  );
  assert.equal(r.code, 2);
  assert.match(r.stderr, /agent: RandomMakerAgent: .*min_quantity/);
});

Deno.test("taos miner refuses an empty --local.validators or one with an empty item, naming the flag", async () => {
  const noWallet = join(testTempDir("taos-miner-validators-"), "none");
  const [a, b] = [alice.ss58Address, bob.ss58Address];
  const cases: [string, string][] = [
    ["", "--local.validators: must not be empty"],
    [" ", "--local.validators: must not be empty"],
    [",", "--local.validators: ',': item 1 is empty"],
    [`${a},,${b}`, `--local.validators: '${a},,${b}': item 2 is empty`],
    [`${a},`, `--local.validators: '${a},': item 2 is empty`],
  ];
  for (const [given, message] of cases) {
    const r = await runMinerToExit(["--local", "--local.validators", given, "-p", noWallet]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim(), `taos miner: ${message}`, `'${given}'`);
  }
  // Left out, the flag trusts no one, with a warning, and the miner goes on (here to the wallet).
  const absent = await runMinerToExit(["--local", "-p", noWallet]);
  assert.equal(absent.code, 2, absent.stderr);
  assert.match(absent.stderr, /WARNING --local without --local\.validators: every caller will be/);
  assert.match(absent.stderr, /taos miner: wallet: .*cannot read/);
});

Deno.test("a hotkey file that is there but cannot be opened is not blamed on the wallet flags", async () => {
  const root = testTempDir("taos-miner-locked-");
  const hotkey = join(root, "taos", "hotkeys", "miner");
  mkdirSync(dirname(hotkey), { recursive: true });
  const run = async (env: Record<string, string>) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "main.ts", "miner", "--local", "-p", root, "--prometheus.level", "OFF"],
      cwd: repoRoot,
      clearEnv: true,
      env: { ...passwordFreeEnv(), ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  };
  try {
    // Encrypted, with no password to be had: the way to give one is named, not the wallet flags.
    writeFileSync(hotkey, `$NACL${"x".repeat(48)}`);
    let r = await run({});
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /miner: a password is needed but there is no terminal; set TAOS_WALLET_PASSWORD or btwallet's BT_PW_\S+_TAOS_HOTKEYS_MINER$/m,
    );
    assert.doesNotMatch(r.stderr, /taos wallet create|set -p/);
    // A wrong password (a legacy vault whose MAC cannot match) is told as such.
    const body = Buffer.from("aa\nbb\ncc").toString("hex");
    writeFileSync(hotkey, `$ANSIBLE_VAULT;1.1;AES256\n${body}\n`);
    r = await run({ TAOS_WALLET_PASSWORD: "not-it", BT_WALLET_NAME: "taos" });
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /miner: wrong password, or the keyfile is damaged \(chosen by BT_WALLET_NAME=taos\)$/m,
    );
    // A hotkey that is not there still points at the flags that choose it.
    rmSync(hotkey);
    r = await run({});
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /cannot read .*\(set -p\/--wallet\.path, .*`taos wallet create` makes one\)$/m,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

Deno.test("taos miner names the flag when an address cannot be used, before serving anything", async () => {
  const root = await minerWallet("taos-miner-");
  const taken = Deno.listen({ hostname: "0.0.0.0", port: 0 });
  const busy = String((taken.addr as Deno.NetAddr).port);
  const run = async (args: string[], env: Record<string, string> = {}) => {
    const out = await runMinerToExit(["-p", root, ...FIXTURE_AGENT_FLAGS, ...args], env);
    assert.doesNotMatch(out.stderr, /\bat .*\.ts:\d+/, "no stack trace");
    return out;
  };
  const local = ["--local", "--prometheus.level", "OFF"];
  const cases: [string[], Record<string, string>, RegExp][] = [
    [[...local, "-a", busy], {}, /-a\/--axon\.port: cannot listen on .*Address already in use/],
    [local, { BT_AXON_PORT: busy }, /BT_AXON_PORT: cannot listen on .*Address already in use/],
    [
      ["--local", "-a", "0", "--prometheus.port", busy],
      {},
      /--prometheus\.port: cannot listen on 0\.0\.0\.0 port \d+: Address already in use/,
    ],
    [[...local, "-a", "0", "--axon.ip", "999.1.1.1"], {}, /--axon\.ip: cannot listen on 999\.1/],
    [["--local", "--prometheus.level", "garbage"], {}, /--prometheus\.level: expected OFF/],
    [
      ["-e", "ws://127.0.0.1:1", "--axon.external_ip", "abc"],
      {},
      /--axon\.external_ip: 'abc' is not an IPv4 or IPv6 address/,
    ],
    [
      ["-e", "ws://127.0.0.1:1"],
      { BT_AXON_EXTERNAL_IP: "abc" },
      /BT_AXON_EXTERNAL_IP: 'abc' is not an IPv4 or IPv6 address/,
    ],
    // The chain refuses these; the miner would otherwise retry serving its axon forever.
    [
      ["-e", "ws://127.0.0.1:1", "--axon.external_ip", "127.0.0.1"],
      {},
      /--axon\.external_ip: cannot announce 127\.0\.0\.1: .*refused by the chain/,
    ],
    [
      ["-e", "ws://127.0.0.1:1", "--axon.external_ip", "::1"],
      {},
      /--axon\.external_ip: cannot announce ::1: .*refused by the chain/,
    ],
  ];
  try {
    for (const [args, env, expected] of cases) {
      const r = await run(args, env);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, expected);
    }
  } finally {
    taken.close();
  }
});

Deno.test("the agent's budget counts from the request's arrival: queued requests are still answered in time", async () => {
  // Six validators at once and four forwards at a time: two wait about a second at the axon.
  const miner = await startFixtureMiner("sleep_ms=1000");
  try {
    const target = { ip: "127.0.0.1", port: miner.port, hotkey: bob.ss58Address };
    const wire = encodeStateUpdate(stateForMiner(marketState(), 1));
    const results = await Promise.all(
      Array.from(
        { length: 6 },
        () => new Dendrite(alice).call(target, MarketSimulationStateUpdate, wire, 3),
      ),
    );
    assert.deepEqual(results.map((r) => r.statusCode), [200, 200, 200, 200, 200, 200]);
  } finally {
    await miner.stop();
  }
});

Deno.test("the agent's state names the validator that sent the update", async () => {
  const dir = testTempDir("taos-who-asks-");
  // Cancels order 1 when asked by the hotkey given as `expect`, order 2 otherwise.
  Deno.writeTextFileSync(
    join(dir, "WhoAsks.ts"),
    `export class WhoAsks {
       constructor(uid, params) { this.uid = uid; this.expect = params.expect; }
       onUpdate(state) {
         const orderId = state.validator === this.expect ? 1 : 2;
         return [{ type: "CANCEL_ORDERS", agentId: this.uid, bookId: 0,
           cancellations: [{ orderId, volume: null }] }];
       }
     }\n`,
  );
  const miner = await startFixtureMiner("", {
    agent: { path: dir, name: "WhoAsks", params: `expect=${alice.ss58Address}` },
  });
  try {
    const target = { ip: "127.0.0.1", port: miner.port, hotkey: bob.ss58Address };
    const wire = encodeStateUpdate(stateForMiner(marketState(), 1));
    const result = await new Dendrite(alice).call(target, MarketSimulationStateUpdate, wire, 3);
    assert.equal(result.statusCode, 200, result.statusMessage);
    const reply = decodeResponse(result.fields!) as {
      instructions: { cancellations: { orderId: number }[] }[];
    };
    assert.equal(reply.instructions[0].cancellations[0].orderId, 1);
  } finally {
    await miner.stop();
  }
});

Deno.test("with the default metrics port taken, a miner serves its metrics on a free one", async () => {
  let holder: Deno.Listener | null = null;
  try {
    holder = Deno.listen({ port: 9002, hostname: "0.0.0.0" });
  } catch {
    // Already taken by another process: the case under test all the same.
  }
  const warnings: string[] = [];
  const miner = await startFixtureMiner("", {
    metricsPort: undefined,
    log: (at, message) => at === "warning" && warnings.push(message),
  });
  try {
    assert.notEqual(miner.metricsPort, 9002);
    assert.ok(miner.metricsPort! > 0);
    assert.match(warnings.join("\n"), /metrics port 9002 is in use \(another miner\?\); serving/);
    const text = await (await fetch(`http://127.0.0.1:${miner.metricsPort}/metrics`)).text();
    assert.match(text, /netuid="79"/);
    // Read-only, as the validator's: another method gets 405, not the metrics.
    const removal = await fetch(`http://127.0.0.1:${miner.metricsPort}/metrics`, {
      method: "DELETE",
    });
    assert.equal(removal.status, 405);
    assert.equal(removal.headers.get("allow"), "GET, HEAD");
    await removal.body?.cancel();
  } finally {
    await miner.stop();
    holder?.close();
  }
});

Deno.test("the fields of one state update share one decompression budget", () => {
  const field = (n: number) => compressJson({ pad: "x".repeat(n) });
  const wire = encodeStateUpdate(stateForMiner(marketState(), 1));
  const big = { ...wire, books: field(600), accounts: field(600) };
  // Each field alone fits 1000 bytes; together they do not.
  assert.doesNotThrow(() => decodeStateUpdate({ ...big, accounts: field(10) }, 1000));
  assert.throws(() => decodeStateUpdate(big, 1000), /accounts: cannot decompress/);
  // A miner's reply has its own, smaller budget: 64 MiB.
  const reply = (n: number) => ({ ...wire, response: compressJson({ pad: "x".repeat(n) }) });
  assert.deepEqual(decodeResponse(reply(10)), { pad: "x".repeat(10) });
  assert.throws(() => decodeResponse(reply(65 * 2 ** 20)), /response: cannot decompress/);
  // A validator's --neuron.max_response_bytes lowers it.
  assert.deepEqual(decodeResponse(reply(60_000), 65536), { pad: "x".repeat(60_000) });
  assert.throws(() => decodeResponse(reply(70_000), 65536), /response: cannot decompress/);
  // A small field that inflates to deeply nested JSON is refused before it is parsed.
  let deep: unknown = 1;
  for (let i = 0; i < 100; i++) deep = [deep];
  assert.throws(
    () => decodeStateUpdate({ ...wire, notices: compressJson(deep) }, 1000),
    /notices: cannot decompress \(JSON nested deeper than 64 levels\)/,
  );
});

Deno.test("refused callers are logged once a minute per address, their hotkey made safe to print", async () => {
  const lines: string[] = [];
  const miner = await startFixtureMiner("", { log: (_at, message) => lines.push(message) });
  try {
    const send = async (hotkey: string) => {
      const response = await fetch(`http://127.0.0.1:${miner.port}/MarketSimulationStateUpdate`, {
        method: "POST",
        headers: { bt_header_dendrite_hotkey: hotkey, "content-type": "application/json" },
        body: "{}",
      });
      await response.body?.cancel();
      return response.status;
    };
    // A C1 control code (U+009B starts a terminal sequence) and a very long hotkey.
    assert.equal(await send("A\u009b31mRED"), 403);
    for (let i = 0; i < 20; i++) assert.equal(await send("Z".repeat(60_000)), 403);
    const refusals = lines.filter((l) => l.startsWith("axon MarketSimulationStateUpdate from "));
    assert.equal(refusals.length, 1, refusals.join("\n").slice(0, 2000));
    assert.match(
      refusals[0],
      /^axon MarketSimulationStateUpdate from A\\u009b31mRED@127\.0\.0\.1: 403 /,
    );
  } finally {
    await miner.stop();
  }
});

Deno.test("a stopped miner exits though clients hold connections that sent nothing or half a head", async () => {
  const root = await minerWallet("taos-miner-");
  const miner = spawnMiner([...localMinerFlags(root), "-a", "0", "--axon.ip", "127.0.0.1"]);
  const held: Deno.Conn[] = [];
  let stopped;
  try {
    const line = await miner.firstLine();
    const axonPort = Number(/axon port (\d+)/.exec(line)![1]);
    const metricsPort = Number(/metrics port (\d+)/.exec(line)![1]);
    for (const port of [axonPort, metricsPort]) {
      held.push(await Deno.connect({ hostname: "127.0.0.1", port }));
      const halfHead = await Deno.connect({ hostname: "127.0.0.1", port });
      await halfHead.write(new TextEncoder().encode("POST /X HTTP/1.1\r\nHost: x\r\n"));
      held.push(halfHead);
    }
  } finally {
    const started = Date.now();
    // Not only stopped listening: ended, though the clients have not left.
    stopped = await miner.stop();
    assert.ok(Date.now() - started < 30_000, `exited after ${Date.now() - started} ms`);
    for (const conn of held) conn.close();
  }
  assert.equal(stopped.code, 0, stopped.stderr);
});

/** An in-process fixture miner that keeps its warnings, with what a request to it needs. */
async function minerKeepingWarnings() {
  const warnings: string[] = [];
  const miner = await startFixtureMiner("", {
    log: (at, message) => at === "warning" && warnings.push(message),
  });
  return {
    miner,
    warnings,
    target: { ip: "127.0.0.1", port: miner.port, hotkey: bob.ss58Address },
    wire: encodeStateUpdate(stateForMiner(marketState(), 1)),
  };
}

Deno.test("a validator's malformed requests are logged once a minute, their text escaped", async () => {
  const { miner, warnings, wire } = await minerKeepingWarnings();
  try {
    for (let i = 0; i < 5; i++) {
      const request = signedSynapse(MarketSimulationStateUpdate, wire, {
        signer: alice,
        axonHotkey: bob.ss58Address,
        body: `{"a": \u001b[2J\u001b[31mX${i}`,
      });
      const response = await fetch(`http://127.0.0.1:${miner.port}/MarketSimulationStateUpdate`, {
        method: "POST",
        ...request,
      });
      assert.equal(response.status, 500);
      await response.body?.cancel();
    }
    // One warning line for the five, its escape sequences shown, not sent to the terminal.
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(
      warnings[0],
      /^axon: MarketSimulationStateUpdate body refused: not JSON: /,
    );
    assert.match(warnings[0], /\\u001b\[2J/);
    assert.ok(!warnings[0].includes("\u001b"), "no raw ESC");
  } finally {
    await miner.stop();
  }
});

Deno.test("an update with a book key that is no id or a notice of an unknown type is warned of by field", async () => {
  const state = stateForMiner(marketState(), 1);
  const failed = `agent FixtureAgent failed at state ${state.timestamp}: invalid state update: `;
  const cases: [unknown, string][] = [
    [
      { ...state, books: { ...state.books, first: state.books[0] } },
      'books.first: key "first": map key must be an integer id',
    ],
    [
      {
        ...state,
        notices: { "1": [{ type: "EVENT_SIMULATION_PAUSE", timestamp: 0, agentId: 1 }] },
      },
      'notices.1.0.type: is "EVENT_SIMULATION_PAUSE": must be one of ' +
      '"EVENT_SIMULATION_START", "EVENT_SIMULATION_STOP", ' +
      '"RESPONSE_DISTRIBUTED_PLACE_ORDER_LIMIT", "ERROR_RESPONSE_DISTRIBUTED_PLACE_ORDER_LIMIT", ' +
      '"RESPONSE_DISTRIBUTED_PLACE_ORDER_MARKET", "ERROR_RESPONSE_DISTRIBUTED_PLACE_ORDER_MARKET", ' +
      '"RESPONSE_DISTRIBUTED_CANCEL_ORDERS", "ERROR_RESPONSE_DISTRIBUTED_CANCEL_ORDERS", ' +
      '"EVENT_TRADE", "RESPONSE_DISTRIBUTED_RESET_AGENT", "ERROR_RESPONSE_DISTRIBUTED_RESET_AGENT"',
    ],
    [
      { ...state, notices: { "1": [{ type: "EVENT_TRADE", timestamp: 0, agentId: 1 }] } },
      "notices.1.0.tradeId: Invalid input: expected number, received undefined; ",
    ],
  ];
  // A miner each: a second invalid update within a minute is not warned of again.
  for (const [update, problem] of cases) {
    const { miner, warnings, target } = await minerKeepingWarnings();
    try {
      const wire = encodeStateUpdate(update as typeof state);
      const reply = await new Dendrite(alice).call(target, MarketSimulationStateUpdate, wire, 2);
      assert.equal(reply.statusCode, 200, reply.statusMessage);
      assert.equal(warnings.length, 1, warnings.join("\n"));
      assert.ok(warnings[0].startsWith(failed + problem), warnings[0]);
    } finally {
      await miner.stop();
    }
  }
});

Deno.test("invalid state updates that differ only in what they quote are warned of once a minute", async () => {
  const { miner, warnings, target, wire } = await minerKeepingWarnings();
  try {
    for (let i = 0; i < 3; i++) {
      const books = compressJson({ [`\u001b[31mEVIL${i}`]: {} });
      const result = await new Dendrite(alice).call(
        target,
        MarketSimulationStateUpdate,
        { ...wire, books },
        5,
      );
      assert.equal(result.statusCode, 200, result.statusMessage);
    }
    // Until this version each was logged, the key naming the book being part of the message.
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(warnings[0], /failed at state \d+: invalid state update: books\./);
  } finally {
    await miner.stop();
  }
});

Deno.test("a request whose timeout leaves the agent no time is not blamed on the agent", async () => {
  const { miner, warnings, target, wire } = await minerKeepingWarnings();
  try {
    // 0.4 s, less the 0.5 s the miner keeps to reply.
    const result = await new Dendrite(alice).call(target, MarketSimulationStateUpdate, wire, 0.4);
    assert.equal(result.statusCode, 200, result.statusMessage);
    assert.deepEqual(decodeResponse(result.fields!), { agent_id: 1, instructions: [] });
    // Until this version: "agent FixtureAgent overran its 0 s budget".
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(
      warnings[0],
      /^a request from 5GrwvaEF\S+ left the agent no time \(its timeout, 0\.4 s, less 0\.5 s/,
    );
    // Counted as the request's, under its own reason only.
    const metrics = await miner.metrics.registry.metrics();
    assert.deepEqual(metrics.match(/^taos_miner_agent_errors_total\{.*$/gm), [
      'taos_miner_agent_errors_total{reason="no_time",wallet="' + bob.ss58Address +
      '",netuid="79"} 1',
    ]);
  } finally {
    await miner.stop();
  }
});

Deno.test("a miner whose ready line cannot be written warns and serves on", async () => {
  const root = await minerWallet("taos-miner-");
  const flags = [...localMinerFlags(root), "-a", "0", "--axon.ip", "127.0.0.1"];
  const quoted = [Deno.execPath(), "run", "-A", "main.ts", "miner", ...flags]
    .map((arg) => `'${arg}'`).join(" ");
  // Standard output on a full device.
  const child = new Deno.Command("sh", {
    args: ["-c", `exec ${quoted} > /dev/full`],
    cwd: repoRoot,
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    while (!/axon port (\d+)/.test(text)) {
      const { done, value } = await stderr.read();
      if (done) break;
      text += value;
    }
    // Until this version the miner ended with "No space left on device" and exit code 1.
    assert.match(text, /WARNING cannot write to standard output: No space left on device/);
    const port = Number(/axon port (\d+)/.exec(text)![1]);
    const result = await new Dendrite(alice).call(
      { ip: "127.0.0.1", port, hotkey: bob.ss58Address },
      MarketSimulationStateUpdate,
      encodeStateUpdate(stateForMiner(marketState(), 1)),
      5,
    );
    assert.equal(result.statusCode, 200, result.statusMessage);
  } finally {
    child.kill("SIGTERM");
    const status = await child.status;
    await stderr.cancel();
    assert.equal(status.code, 0);
  }
});

Deno.test("taos miner: -e wins over --subtensor.network, whichever stands first, and is the one checked", async () => {
  const root = await minerWallet("taos-miner-endpoint-");
  for (
    const flags of [
      ["-e", "nowhere", "--subtensor.network", "elsewhere"],
      ["--subtensor.network", "elsewhere", "-e", "nowhere"],
    ]
  ) {
    const out = await runMinerToExit([...localMinerFlags(root), "-a", "0", ...flags]);
    assert.equal(out.code, 2, `${flags.join(" ")}: ${out.stderr}`);
    assert.match(
      out.stderr,
      /^taos miner: -e\/--subtensor\.chain_endpoint: "nowhere" is neither/m,
      flags.join(" "),
    );
  }
});

Deno.test("a validator's unreadable bodies of different kinds are each logged", async () => {
  const { miner, warnings, wire } = await minerKeepingWarnings();
  try {
    for (const body of [`{"a": `, `{"timeout": "soon"}`, `{"a": `]) {
      const request = signedSynapse(MarketSimulationStateUpdate, wire, {
        signer: alice,
        axonHotkey: bob.ss58Address,
        body,
      });
      const response = await fetch(`http://127.0.0.1:${miner.port}/MarketSimulationStateUpdate`, {
        method: "POST",
        ...request,
      });
      assert.equal(response.status, 500);
      await response.body?.cancel();
    }
    // The second "not JSON" is a repeat within the minute; the field problem is not.
    assert.equal(warnings.length, 2, warnings.join("\n"));
    assert.match(warnings[0], /body refused: not JSON: /);
    assert.match(warnings[1], /body refused: synapse body: timeout: must be a number, got "soon"/);
  } finally {
    await miner.stop();
  }
});
