/** Child-process helpers for the validator tests: real miners and real validator processes. */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import type { Keypair } from "../../bittensor/keypair.ts";
import { Wallet } from "../../bittensor/wallet.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DENO = Deno.execPath();

/** A running child with its stdout and stderr collected line by line. */
export class Child {
  readonly process: Deno.ChildProcess;
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly #waiters: { match: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  readonly done: Promise<Deno.CommandStatus>;

  constructor(args: string[]) {
    this.process = new Deno.Command(DENO, {
      args: ["run", "-A", ...args],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const pump = async (stream: ReadableStream<Uint8Array>, into: string[]) => {
      let rest = "";
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        rest += chunk;
        const lines = rest.split("\n");
        rest = lines.pop()!;
        for (const line of lines) {
          into.push(line);
          for (const waiter of [...this.#waiters]) {
            if (waiter.match(line)) {
              this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
              waiter.resolve(line);
            }
          }
        }
      }
    };
    const pumps = Promise.all([
      pump(this.process.stdout, this.stdout),
      pump(this.process.stderr, this.stderr),
    ]);
    this.done = pumps.then(() => this.process.status);
  }

  /** Resolves with the first line (already seen or future) that matches; rejects on timeout. */
  waitFor(match: (line: string) => boolean, timeoutMs: number, what: string): Promise<string> {
    const seen = [...this.stdout, ...this.stderr].find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`timed out waiting for ${what}\n--- stderr:\n${this.stderr.join("\n")}`));
      }, timeoutMs);
      this.#waiters.push({
        match,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
    });
  }

  /** Sends a signal (if still running) and waits for the exit. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
    try {
      this.process.kill(signal);
    } catch {
      // already exited
    }
    return await this.done;
  }
}

/** A miner process and where it listens. */
export interface MinerProcess {
  child: Child;
  uid: number;
  port: number;
  hotkey: string;
}

/** Starts `taos miner --local` (args give wallet, agent and trusted validator) and waits for it. */
export async function startTaosMiner(uid: number, args: string[]): Promise<MinerProcess> {
  const child = new Child([
    "main.ts",
    "miner",
    "--local",
    "--local.uid",
    String(uid),
    "-a",
    "0",
    "--axon.ip",
    "127.0.0.1",
    "--prometheus.level",
    "OFF",
    ...args,
  ]);
  const line = await child.waitFor((l) => /axon port \d+/.test(l), 60_000, `taos miner ${uid}`);
  const port = Number(/axon port (\d+)/.exec(line)![1]);
  const hotkey = /hotkey (\w+)/.exec(line)![1];
  return { child, uid, port, hotkey };
}

/** Where a test miner's key lives, whom it trusts and which agent it serves. */
export interface WalletMinerSetup {
  /** The wallet root (`-p`); the hotkey is written to `<wallets>/<wallet>/hotkeys/default`. */
  wallets: string;
  wallet: string;
  key: Keypair;
  /** The SS58 address of the one validator the miner answers. */
  validator: string;
  agent: string;
  /** The folder the agent is loaded from (`-g`); the built-in agents when not given. */
  agentsDir?: string;
}

/** Writes the miner's hotkey and starts it on that wallet, as every validator test's miner is. */
export async function startWalletMiner(
  uid: number,
  setup: WalletMinerSetup,
): Promise<MinerProcess> {
  await new Wallet({ root: setup.wallets, name: setup.wallet, hotkey: "default" })
    .writeHotkey(setup.key);
  return await startTaosMiner(uid, [
    "--local.validators",
    setup.validator,
    "-p",
    setup.wallets,
    "-w",
    setup.wallet,
    "-h",
    "default",
    ...(setup.agentsDir === undefined ? [] : ["-g", setup.agentsDir]),
    "-n",
    setup.agent,
    "-m",
    "",
  ]);
}

/** `taos validator` flags for one simulation of the small preset lasting `duration`. */
function smallSimulation(duration: string): string[] {
  return ["--config", "small", "--duration", duration, "--simulations", "1"];
}

/**
 * `taos validator` flags for a local validator with no miners: one small-preset simulation of
 * `duration`, no metrics, its state in `state`.
 */
export function noMinerRun(state: string, duration = "10s"): string[] {
  return [
    "--local",
    "--hotkey-uri",
    "//Validator",
    ...smallSimulation(duration),
    "--prometheus.level",
    "OFF",
    "--state",
    state,
  ];
}

/** `taos validator` flags for one small-preset simulation of `duration`, as the long runs use. */
export function oneSmallSimulation(duration: string): string[] {
  return [...smallSimulation(duration), "--threads", "1", "-t", "3"];
}

/** `--miner` flags for the given miners. */
export function minerFlags(miners: MinerProcess[]): string[] {
  return miners.flatMap((m) => ["--miner", `${m.uid}:${m.hotkey}@127.0.0.1:${m.port}`]);
}

/** Starts `taos validator` with `args`. */
export function startValidator(args: string[]): Child {
  return new Child(["main.ts", "validator", ...args]);
}

/**
 * Starts a `--local` validator (hotkey //Dave) on another program's database in `dir`, which it
 * refuses, paging `state-load` to `pagerDutyUrl` with `routingKey` before it exits.
 */
export function startOnForeignState(dir: string, pagerDutyUrl: string, routingKey: string): Child {
  const foreign = join(dir, "other.db");
  const db = new DatabaseSync(foreign);
  db.exec("CREATE TABLE notes (text TEXT)");
  db.close();
  return startValidator([
    "--local",
    "--hotkey-uri",
    "//Dave",
    "--state",
    foreign,
    "--prometheus.level",
    "OFF",
    "-d",
    routingKey,
    "--pagerduty.url",
    pagerDutyUrl,
  ]);
}
