/**
 * One `taos validator --local` run against miners hosted by `fixtures/hostile_axons.ts` in two
 * child processes (one for the honest, one for the hostile): honest ones only, or all together. Measures each round's
 * wall time (from the validator's debug log) and the validator's peak resident memory.
 */
import { fileURLToPath } from "node:url";
import { smallPreset } from "../../sim/config.ts";
import { type Behaviour, behaviourOf } from "./fixtures/hostile_axons.ts";
import { Child, startValidator } from "./processes.ts";

const FIXTURE = fileURLToPath(new URL("./fixtures/hostile_axons.ts", import.meta.url));

/** A miner served by a host. */
export interface HostedMiner {
  uid: number;
  port: number;
  hotkey: string;
  behaviour: Behaviour;
}

/** Child processes serving `miners` uids, the honest and the hostile apart; `stop` ends them. */
export class MinerHosts {
  readonly #children: Child[];
  readonly miners: Promise<HostedMiner[]>;

  constructor(miners: number, limitBytes: number, timeoutSeconds: number) {
    // Honest and hostile miners run in separate processes, so that the work of serving hostile
    // replies (megabytes per request) never delays an honest miner's answer.
    this.#children = ["honest", "hostile"].map((kind) =>
      new Child([FIXTURE, "0", String(miners), String(limitBytes), String(timeoutSeconds), kind])
    );
    this.miners = Promise.all(this.#children.map(async (child) => {
      const line = await child.waitFor((l) => l.startsWith("["), 120_000, "the miner listing");
      return JSON.parse(line) as HostedMiner[];
    })).then((lists) => lists.flat().sort((a, b) => a.uid - b.uid));
  }

  async stop(): Promise<void> {
    for (const child of this.#children) await child.stop("SIGKILL");
  }
}

/** What one validator run gave. */
export interface RunResult {
  code: number;
  /** Wall seconds of each round, as the validator logged them. */
  roundSeconds: number[];
  /** Peak resident set size of the validator process (VmHWM), KiB. */
  peakRssKiB: number;
  stderr: string[];
}

/** The small preset with `miners` remote accounts, written as a configuration file. */
export async function writeConfig(dir: string, miners: number): Promise<string> {
  const path = `${dir}/hostile.json`;
  await Deno.writeTextFile(path, JSON.stringify({ ...smallPreset(), remoteAgentCount: miners }));
  return path;
}

/**
 * Runs one simulation of `duration` against `miners` (all, or the honest ones only). Execution
 * delays are pinned (min = max delay) so that two runs from the same seed inject the same
 * instructions at the same instants whatever the response times.
 */
export async function runValidator(options: {
  miners: HostedMiner[];
  config: string;
  state: string;
  duration: string;
  timeoutSeconds: number;
  limitBytes: number;
  extraArgs?: string[];
  /** Stop the validator (SIGTERM) once it has logged this publish. */
  stopAfterPublish?: number;
}): Promise<RunResult> {
  const child = startValidator([
    "--local",
    "--hotkey-uri",
    "//HostileValidator",
    "--config",
    options.config,
    "--duration",
    options.duration,
    "--simulations",
    "1",
    "--threads",
    "1",
    "-t",
    String(options.timeoutSeconds),
    "--neuron.max_response_bytes",
    String(options.limitBytes),
    "--scoring.min_delay",
    "10000000",
    "--scoring.max_delay",
    "10000000",
    "--prometheus.level",
    "OFF",
    "--state",
    options.state,
    "-l",
    "debug",
    ...(options.extraArgs ?? []),
    ...options.miners.flatMap((m) => ["--miner", `${m.uid}:${m.hotkey}@127.0.0.1:${m.port}`]),
  ]);
  let peakRssKiB = 0;
  const sample = async () => {
    try {
      const status = await Deno.readTextFile(`/proc/${child.process.pid}/status`);
      peakRssKiB = Math.max(peakRssKiB, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
    } catch {
      // exited
    }
  };
  const sampler = setInterval(sample, 100);
  const stop = options.stopAfterPublish;
  if (stop !== undefined) {
    child.waitFor((l) => l.includes(` publish ${stop} t=`), 600_000, `publish ${stop}`)
      .then(() => child.process.kill("SIGTERM"), () => {});
  }
  const status = await child.done;
  clearInterval(sampler);
  const roundSeconds = child.stderr.flatMap((line) => {
    const match = / publish \d+ t=\d+ miners=\d+ answered=\d+ ([\d.]+)s$/.exec(line);
    return match === null ? [] : [Number(match[1])];
  });
  return { code: status.code, roundSeconds, peakRssKiB, stderr: child.stderr };
}

export { behaviourOf };
