/**
 * `taos miner` flag defaults that differ from the reference's `run_miner.sh` (network.md §9 #15):
 * the netuid defaults to 79, and `--blacklist.force_validator_permit` is a real boolean. Checked
 * on real `taos miner --local` processes answering signed requests on loopback.
 */
import { ipv6Loopback } from "../ipv6.ts";
import assert from "node:assert/strict";
import { Dendrite } from "../../bittensor/dendrite.ts";
import { cryptoReady, type Keypair } from "../../bittensor/keypair.ts";
import {
  decodeResponse,
  encodeStateUpdate,
  MarketSimulationStateUpdate,
  stateForMiner,
} from "../../bittensor/market_synapse.ts";
import { Child } from "../validator/processes.ts";
import { testTempDir } from "../temp_dir.ts";
import {
  alice,
  bob,
  charlie,
  localMinerFlags,
  marketState,
  minerWallet,
  runMinerToExit,
  spawnMiner,
  withoutFlags,
} from "./support.ts";

await cryptoReady();

interface StartedMiner {
  child: Child;
  axonPort: number;
  metricsPort: number;
}

/** `taos miner --local` as miner uid 1 (hotkey Bob) trusting Alice, plus `extra` flags. */
async function startMiner(root: string, extra: string[]): Promise<StartedMiner> {
  const child = new Child([
    "main.ts",
    "miner",
    ...localMinerFlags(root),
    "-a",
    "0",
    "--axon.ip",
    "127.0.0.1",
    ...extra,
  ]);
  const line = await child.waitFor((l) => /axon port \d+/.test(l), 60_000, "taos miner");
  return {
    child,
    axonPort: Number(/axon port (\d+)/.exec(line)![1]),
    metricsPort: Number(/metrics port (\d+)/.exec(line)![1]),
  };
}

/** Status code and message of a state update sent to the miner by `caller`. */
async function ask(miner: StartedMiner, caller: Keypair) {
  const target = { ip: "127.0.0.1", port: miner.axonPort, hotkey: bob.ss58Address };
  const wire = encodeStateUpdate(stateForMiner(marketState(), 1));
  const result = await new Dendrite(caller).call(target, MarketSimulationStateUpdate, wire, 5);
  return { status: result.statusCode, message: result.statusMessage, fields: result.fields };
}

Deno.test({
  name: "a --local taos miner labels its metrics netuid local unless --netuid is given; " +
    "--blacklist.force_validator_permit is a real boolean",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const root = await minerWallet("taos-miner-defaults-");
  const runs = await Promise.allSettled([
    startMiner(root, []),
    startMiner(root, ["--blacklist.force_validator_permit", "false", "--netuid", "80"]),
    startMiner(root, ["--blacklist.force_validator_permit", "true"]),
  ]);
  const started = runs.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  try {
    for (const run of runs) if (run.status === "rejected") throw run.reason;
    const [byDefault, permitOff, permitOn] = started;

    // netuid: the metrics carry the parsed value; without a chain, "local" unless given (not 79,
    // as though the miner served that subnet).
    const metrics = async (miner: StartedMiner) =>
      await (await fetch(`http://127.0.0.1:${miner.metricsPort}/metrics`)).text();
    const netuids = (text: string) =>
      new Set([...text.matchAll(/netuid="([^"]*)"/g)].map((m) => m[1]));
    assert.deepEqual(netuids(await metrics(byDefault)), new Set(["local"]));
    assert.deepEqual(netuids(await metrics(permitOn)), new Set(["local"]));
    assert.deepEqual(netuids(await metrics(permitOff)), new Set(["80"]), "--netuid is honoured");

    // A registered caller without a validator permit (the miner's own hotkey in --local).
    for (const [name, miner] of [["default", byDefault], ["true", permitOn]] as const) {
      const refused = await ask(miner, bob);
      assert.equal(refused.status, 403, `${name}: ${refused.message}`);
      assert.equal(refused.message, "Forbidden. Key is blacklisted: Non-validator hotkey.");
    }
    const accepted = await ask(permitOff, bob);
    assert.equal(accepted.status, 200, `false: ${accepted.message}`);
    assert.equal((decodeResponse(accepted.fields!) as { agent_id: number }).agent_id, 1);

    // Turning the permit off does not open the axon to unregistered callers; the validator
    // with a permit is served either way.
    const stranger = await ask(permitOff, charlie);
    assert.equal(stranger.status, 403);
    assert.match(stranger.message, /Unrecognized hotkey/);
    for (const miner of started) assert.equal((await ask(miner, alice)).status, 200);
  } finally {
    for (const miner of started) {
      const status = await miner.child.stop();
      assert.equal(status.code, 0, miner.child.stderr.join("\n"));
    }
  }
});

Deno.test({
  name: "taos miner's default -m belongs to the default agent: another -n takes its own defaults",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const root = await minerWallet("taos-miner-params-");
  const child = new Child([
    "main.ts",
    "miner",
    ...withoutFlags(localMinerFlags(root), "-m"),
    "-n",
    "RandomMakerAgent",
    "-a",
    "0",
    "--axon.ip",
    "127.0.0.1",
  ]);
  try {
    await child.waitFor((l) => /axon port \d+/.test(l), 60_000, "taos miner");
  } finally {
    const status = await child.stop();
    assert.equal(status.code, 0, child.stderr.join("\n"));
  }
  assert.doesNotMatch(child.stderr.join("\n"), /ignores agent parameter/);
});

Deno.test("taos miner --help shows netuid 79 and the permit flag as true|false", async () => {
  const out = await runMinerToExit(["--help"]);
  assert.equal(out.code, 0);
  const text = out.stdout;
  assert.match(text, /--netuid <n>\s+subnet id \(default 79\)/);
  assert.match(text, /--blacklist\.force_validator_permit <true\|false>.*\(default true\)/);
  assert.match(text, /--subtensor\.network <name>/);
  assert.match(text, /Accepted from the reference miner's parser, no effect/);
});

Deno.test("taos miner refuses a --blacklist.force_validator_permit that is not a boolean", async () => {
  const out = await runMinerToExit(["--local", "--blacklist.force_validator_permit", "yes"]);
  assert.equal(out.code, 2);
  assert.match(out.stderr, /--blacklist\.force_validator_permit: expected true or false/);
});

Deno.test({
  name:
    "taos miner takes the reference's command line: switches, an empty -m, --logging.warning, " +
    "its other flags with a warning, and the wallet root from BT_WALLET_PATH",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const root = await minerWallet("taos-miner-reference-flags-");
  const miner = spawnMiner([
    ...withoutFlags(localMinerFlags(root), "-p"),
    "-a",
    "0",
    "--axon.ip",
    "127.0.0.1",
    // A switch or an empty -m is followed by a short flag as well as by a long one.
    "--blacklist.force_validator_permit",
    "-m",
    "-l",
    "warning",
    "--agent.params",
    "--logging.warning",
    "--wandb.off",
    "--neuron.device",
    "cpu",
  ], { BT_WALLET_PATH: root });
  let stopped;
  try {
    assert.match(await miner.firstLine(), /uid 1, hotkey 5FHneW46.*axon port \d+/);
  } finally {
    stopped = await miner.stop();
  }
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.match(
    stopped.stderr,
    /--neuron\.device, --wandb\.off: the reference miner's, no effect here/,
  );
});

Deno.test({
  name: "taos miner binds an --axon.ip in the SDK's bracketed form ([::1]) and takes " +
    "--subtensor._mock with its value",
  ignore: !ipv6Loopback,
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const root = await minerWallet("taos-miner-bracketed-");
  // The SDK's own default is BT_AXON_IP's `[::]`; until this version `[::1]` was looked up as a
  // host name and refused.
  const miner = spawnMiner([
    ...localMinerFlags(root),
    "-a",
    "0",
    "--axon.ip",
    "[::1]",
    "--subtensor._mock",
    "False",
  ]);
  let stopped;
  try {
    const line = await miner.firstLine();
    const port = /axon port (\d+) on ::1,/.exec(line);
    assert.ok(port, line);
    const reply = await new Dendrite(alice).call(
      { ip: "::1", port: Number(port[1]), hotkey: bob.ss58Address },
      MarketSimulationStateUpdate,
      encodeStateUpdate(stateForMiner(marketState(), 1)),
      5,
    );
    assert.equal(reply.statusCode, 200, reply.statusMessage);
  } finally {
    stopped = await miner.stop();
  }
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.match(stopped.stderr, /--subtensor\._mock: the reference miner's, no effect here/);
});

Deno.test("taos miner names the SDK's BT_LOGGING_* variables as not read", async () => {
  // The hotkey is not there, so the miner stops once it has said what it does not read.
  const out = await runMinerToExit(
    ["--local", "-p", testTempDir("taos-miner-no-wallet-")],
    { BT_LOGGING_TRACE: "1", BT_LOGGING_RECORD_LOG: "1", BT_LOGGING_LOGGING_DIR: "/data" },
  );
  assert.equal(out.code, 2, out.stderr);
  // The miner has no use for a logging directory, so it does not point at the flag.
  assert.match(
    out.stderr,
    /BT_LOGGING_TRACE, BT_LOGGING_RECORD_LOG, BT_LOGGING_LOGGING_DIR: the SDK's environment variables, not read here \(give --logging\.trace instead\)/,
  );
});

Deno.test("taos miner adds the parameters of every -m, refusing a name given in two of them", async () => {
  const root = await minerWallet("taos-miner-params-");
  const flags = withoutFlags(localMinerFlags(root), "-m");
  // Until this version the second -m took the first one's place in silence.
  const twice = await runMinerToExit([...flags, "-m", "sleep_ms=1", "-m", "sleep_ms=2"]);
  assert.equal(twice.code, 2, twice.stderr);
  assert.match(twice.stderr, /agent parameter 'sleep_ms' is given more than once/);
  // A word holding white space cannot be told apart from two parameters.
  const spaced = await runMinerToExit([...flags, "-m", "sleep_ms=1", "fail=two words"]);
  assert.equal(spaced.code, 2, spaced.stderr);
  assert.match(
    spaced.stderr,
    /agent parameter 'fail=two words': a value cannot contain white space/,
  );
});

Deno.test("with a chain, taos miner needs --axon.external_ip: it looks no address up", async () => {
  const root = await minerWallet("taos-miner-external-ip-");
  // The --local flags and their values go: what is left is a miner's flags for a chain.
  const chainFlags = withoutFlags(localMinerFlags(root), "--local.validators", "--local.uid")
    .filter((flag) => flag !== "--local");
  const out = await runMinerToExit([...chainFlags, "-e", "ws://127.0.0.1:1", "-a", "0"]);
  assert.equal(out.code, 2, out.stderr);
  assert.match(
    out.stderr,
    /--axon\.external_ip is required to announce the axon on chain \(or use --local\)/,
  );
});

Deno.test({
  name: "taos miner without -n serves the bundled SimpleRegressorAgent",
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const root = await minerWallet("taos-miner-default-agent-");
  const withoutAgent = withoutFlags(localMinerFlags(root), "-n", "-m");
  const miner = spawnMiner([...withoutAgent, "-a", "0", "--axon.ip", "127.0.0.1"]);
  let stopped;
  try {
    assert.match(
      await miner.firstLine(),
      /, agent SimpleRegressorAgent \(bundled\), axon port \d+/,
    );
  } finally {
    stopped = await miner.stop();
  }
  assert.equal(stopped.code, 0, stopped.stderr);
});
