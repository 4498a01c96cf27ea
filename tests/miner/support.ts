/** What the miner tests share: the fixture agents, the test keys and a valid market state. */
import assert from "node:assert/strict";
import { testTempDir } from "../temp_dir.ts";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Dendrite } from "../../bittensor/dendrite.ts";
import { Keypair } from "../../bittensor/keypair.ts";
import {
  encodeStateUpdate,
  MarketSimulationStateUpdate,
  type MarketState,
  stateForMiner,
} from "../../bittensor/market_synapse.ts";
import { StaticNeuronDirectory } from "../../bittensor/neurons.ts";
import { Wallet } from "../../bittensor/wallet.ts";
import { type MinerOptions, type RunningMiner, startMiner } from "../../miner/miner.ts";
import { AgentHost, type AgentHostOptions, type StepOutcome } from "../../miner/agent_host.ts";

export const fixtures = join(dirname(fileURLToPath(import.meta.url)), "fixtures");
export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
export const alice = Keypair.fromUri("//Alice"); // validator
export const bob = Keypair.fromUri("//Bob"); // miner
export const charlie = Keypair.fromUri("//Charlie"); // stranger

/** The chain as the miner sees it: //Alice is the one validator. */
export function validatorDirectory(): StaticNeuronDirectory {
  return new StaticNeuronDirectory([
    {
      uid: 0,
      hotkey: alice.ss58Address,
      coldkey: alice.ss58Address,
      stake: 1000,
      validatorPermit: true,
      axon: null,
      lastUpdate: 0,
    },
  ]);
}

/** An in-process miner (//Bob, uid 1) on a loopback port serving FixtureAgent with `params`. */
export function startFixtureMiner(
  params: string,
  options: Partial<MinerOptions> = {},
): Promise<RunningMiner> {
  return startMiner({
    hotkey: bob,
    uid: 1,
    directory: validatorDirectory(),
    netuid: 79,
    agent: { path: fixtures, name: "FixtureAgent", params },
    port: 0,
    host: "127.0.0.1",
    metricsPort: null,
    log: () => {},
    ...options,
  });
}

/** `startFixtureMiner`, its warnings kept in the order they were logged. */
export async function startFixtureMinerKeepingWarnings(
  params: string,
  options: Partial<Omit<MinerOptions, "log">> = {},
): Promise<{ miner: RunningMiner; warnings: string[] }> {
  const warnings: string[] = [];
  const miner = await startFixtureMiner(params, {
    ...options,
    log: (at, message) => at === "warning" && warnings.push(message),
  });
  return { miner, warnings };
}

/** Sends the market state to the miner (//Bob) on loopback `port` as //Alice, with `timeout` s. */
export function sendMarketState(port: number, timeout: number) {
  return new Dendrite(alice).call(
    { ip: "127.0.0.1", port, hotkey: bob.ss58Address },
    MarketSimulationStateUpdate,
    encodeStateUpdate(minerState()),
    timeout,
  );
}

/** What an agent host reported through its callbacks, in order. */
export interface HostEvents {
  errors: string[];
  restarts: string[];
}

/**
 * Runs `body` with a host of the counting FixtureAgent (`count=true`, then `params`) started with
 * `options`, its errors and restarts collected; the host is closed after.
 */
export async function withFixtureHost<T>(
  params: string,
  options: AgentHostOptions,
  body: (host: AgentHost, events: HostEvents) => Promise<T>,
): Promise<T> {
  const events: HostEvents = { errors: [], restarts: [] };
  const host = await AgentHost.start(
    { path: fixtures, name: "FixtureAgent", params: `count=true ${params}`, uid: 1 },
    {
      ...options,
      onError: (message) => events.errors.push(message),
      onRestart: (message) => events.restarts.push(message),
    },
  );
  try {
    return await body(host, events);
  } finally {
    host.close();
  }
}

const balance = (currency: "BASE" | "QUOTE", total: number) => ({
  currency,
  total,
  free: total,
  reserved: 0,
});

/** A valid two-miner state with one book. */
export function marketState(): MarketState {
  const account = (agent: number) => ({
    "0": {
      agent_id: agent,
      book_id: 0,
      base_balance: balance("BASE", 10),
      quote_balance: balance("QUOTE", 3000),
      orders: [],
      fees: null,
    },
  });
  return {
    model: "im",
    timestamp: 5_000_000_000,
    config: null,
    books: {
      "0": {
        id: 0,
        bids: [{ price: 299.5, quantity: 2, orders: null }],
        asks: [{ price: 300.5, quantity: 1, orders: null }],
        events: null,
      },
    },
    accounts: { "0": account(0), "1": account(1) },
    notices: { "0": [], "1": [] },
  };
}

/** The valid market state as the miner with uid 1 receives it. */
export function minerState(): MarketState {
  return stateForMiner(marketState(), 1);
}

/** `taos miner` flags serving the fixture agent without parameters, logging warnings only. */
export const FIXTURE_AGENT_FLAGS = [
  "-g",
  fixtures,
  "-n",
  "FixtureAgent",
  "-m",
  "",
  "-l",
  "warning",
];

/** `flags` without each flag named in `names` and the value that follows it. */
export function withoutFlags(flags: string[], ...names: string[]): string[] {
  return flags.filter((flag, i) => !names.includes(flag) && !names.includes(flags[i - 1]));
}

/** `taos miner` flags of a `--local` miner: uid 1 (Bob's hotkey in the wallet under `root`),
 * trusting Alice, serving the fixture agent, metrics on any free port. */
export function localMinerFlags(root: string): string[] {
  return [
    "--local",
    "--local.validators",
    alice.ss58Address,
    "--local.uid",
    "1",
    "-p",
    root,
    "-w",
    "taos",
    "-h",
    "miner",
    "--prometheus.port",
    "0",
    ...FIXTURE_AGENT_FLAGS,
  ];
}

/** A new wallet root holding `key` as wallet "taos", hotkey "miner": what `-p root` gives a child. */
export async function minerWallet(prefix: string, key: Keypair = bob): Promise<string> {
  const root = testTempDir(prefix);
  await new Wallet({ root, name: "taos", hotkey: "miner" }).writeHotkey(key);
  return root;
}

/** Runs `taos miner <flags>` to its exit, which a regression that lets it start cannot postpone. */
export async function runMinerToExit(flags: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts", "miner", ...flags],
    cwd: repoRoot,
    env,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** Starts `taos miner <flags>` as the tests that read its ports line do, its stderr kept for `stop`. */
export function spawnMiner(flags: string[], env: Record<string, string> = {}) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts", "miner", ...flags],
    cwd: repoRoot,
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const stderr = new Response(child.stderr).text();
  return {
    /** The miner's process id. */
    pid: child.pid,
    /** The first line the miner prints (its uid, hotkey and ports). */
    async firstLine(): Promise<string> {
      let buffered = "";
      while (!buffered.includes("\n")) {
        const { done, value } = await stdout.read();
        if (done) {
          const { code } = await child.status;
          throw new Error(
            `miner exited (code ${code}) before printing its ports; got '${buffered}', ` +
              `stderr: ${await stderr}`,
          );
        }
        buffered += value;
      }
      return buffered.split("\n")[0];
    },
    /**
     * Sends `signal` and waits for the exit: its code, the signal that ended it (null when it
     * exited by itself) and everything the miner wrote to stderr.
     */
    async stop(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch (error) {
        // Ended before it was told to: what it wrote says why, which the kill's error does not.
        if (!(error instanceof TypeError)) throw error;
        const status = await child.status;
        throw new Error(
          `the miner had already exited (code ${status.code}, signal ${status.signal}): ` +
            await stderr,
        );
      }
      const status = await child.status;
      await stdout.cancel();
      return { code: status.code, signal: status.signal, stderr: await stderr };
    },
  };
}

/** The quantity of the one order the counting fixture agent answered (its update count). */
export function quantity(outcome: StepOutcome): number {
  assert.equal(outcome.kind, "ok", JSON.stringify(outcome));
  const response = (outcome as { response: { instructions: { quantity: number }[] } }).response;
  return response.instructions[0].quantity;
}
