/**
 * `deno task bench validator`: the validator's publish round with 256 miners on loopback. Two child
 * processes host 128 real axons each (own hotkeys, signature and nonce verification) that answer
 * at once with a few instructions; the validator runs the 20-book reference simulation in-process.
 * Measured per round: state build + compression + signing + sending + collecting + decompression
 * + validation + injection + scoring + metrics, i.e. the whole round except the simulation's own
 * advance to the next publish (`ms_per_round`), and the same without scoring and metrics
 * (`ms_per_round_without_scoring`: the round as the benchmark target defines it). Prints one JSON
 * line: `{"bench":"validator-round","miners":256,"ms_per_round":…,…}`.
 *
 * `cpu_ms_per_round` is the CPU time the validator (without the advance) and the two axon hosts
 * spend per round; unlike the wall time it hardly depends on other load on the machine.
 *
 * `--rounds <n>` (default 20) measured rounds after 10 warm-up rounds (the first rounds run
 * slower while the JIT and the heap settle). `--phases` adds
 * `ms_per_phase`, the round's time per phase: `state` (each miner's state update), `compress`,
 * `encode` (synapse, body hash, headers), `sign`, `http` (the rest of the query: sending, the
 * axons' work, collecting), `decode` (reply parsing and decompression), `validate`, `inject`,
 * `scoring`, `metrics` (reports, status board) and `other`.
 * @module
 */
import process from "node:process";
import { Axon } from "../bittensor/axon.ts";
import { Dendrite } from "../bittensor/dendrite.ts";
import { cryptoReady, Keypair } from "../bittensor/keypair.ts";
import {
  encodeResponse,
  MarketSimulationStateUpdate,
  type StateUpdateWire,
} from "../bittensor/market_synapse.ts";
import { type Neuron, RecordingWeightSetter, StaticNeuronDirectory } from "../bittensor/neurons.ts";
import { referenceConfig } from "../sim/config.ts";
import { SimEngine } from "../sim/engine.ts";
import { parseValidatorArgs } from "../validator/options.ts";
import { ValidatorStore } from "../validator/store.ts";
import { Alerter } from "../validator/pagerduty.ts";
import { ValidatorMetrics } from "../validator/metrics.ts";
import { StatusBoard } from "../validator/status.ts";
import { DendriteMinerClient } from "../validator/miner_client.ts";
import { PhaseTimes } from "../validator/phases.ts";
import { benchArgs, optionsChecked } from "../scripts/bench_options.ts";
import { type Market, Validator, watchedMarket } from "../validator/validator.ts";
import { fileURLToPath } from "node:url";

const MINERS = 256;
const HOSTS = 2;
const WARMUP_ROUNDS = 10;

const values = benchArgs(
  "validator",
  "--rounds N (measured rounds after 10 warm-up rounds, default 20) --phases (adds ms_per_phase)",
  {
    rounds: { type: "string" },
    phases: { type: "boolean" },
    "host-axons": { type: "string" },
  },
  ["host-axons"],
);

/**
 * Child mode: serve axons for uids `start..start+count-1`, print their ports, then answer each
 * line on stdin with this process's CPU time so far (ms).
 */
async function hostAxons(spec: string) {
  const [start, count] = spec.split(",").map(Number);
  await cryptoReady();
  const out: { uid: number; port: number; hotkey: string }[] = [];
  for (let uid = start; uid < start + count; uid++) {
    const keypair = Keypair.fromUri(`//BenchMiner${uid}`);
    const book = uid % 20;
    const instructions = [
      {
        type: "PLACE_ORDER_LIMIT",
        agentId: uid,
        bookId: book,
        direction: 0,
        quantity: 0.5,
        price: 1.0,
        clientOrderId: 1,
      },
      {
        type: "PLACE_ORDER_LIMIT",
        agentId: uid,
        bookId: book,
        direction: 1,
        quantity: 0.5,
        price: 10_000.0,
        clientOrderId: 2,
      },
      {
        type: "CANCEL_ORDERS",
        agentId: uid,
        bookId: book,
        cancellations: [{ orderId: 1, volume: null }],
      },
    ];
    // The reply is the same every round: compressed once, so the miner's think time is nil.
    const request: StateUpdateWire = {
      model: "im",
      timestamp: 0,
      config: null,
      books: {},
      accounts: {},
      notices: null,
      response: null,
      compressed: true,
    };
    const reply = encodeResponse(request, { agent_id: uid, instructions });
    const axon = new Axon({ keypair, port: 0, host: "127.0.0.1" });
    axon.attach(MarketSimulationStateUpdate, {
      forward: (synapse) => ({
        ...reply,
        model: synapse.fields.model,
        timestamp: synapse.fields.timestamp,
      }),
    });
    out.push({ uid, port: await axon.start(), hotkey: keypair.ss58Address });
  }
  console.log(JSON.stringify(out));
  for await (const _ of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    console.log(cpuMs());
  }
}

/** CPU time (user + system) of this process so far, ms. */
function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** A child axon host: its listing line, then its CPU time on request. */
class Host {
  readonly #child: Deno.ChildProcess;
  readonly #lines: ReadableStreamDefaultReader<string>;
  #buffer = "";

  constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  }

  async readLine(): Promise<string> {
    while (!this.#buffer.includes("\n")) {
      const { done, value } = await this.#lines.read();
      if (done) throw new Error("axon host exited");
      this.#buffer += value;
    }
    const end = this.#buffer.indexOf("\n");
    const line = this.#buffer.slice(0, end);
    this.#buffer = this.#buffer.slice(end + 1);
    return line;
  }

  async cpuMs(): Promise<number> {
    const writer = this.#child.stdin.getWriter();
    await writer.write(new TextEncoder().encode("cpu\n"));
    writer.releaseLock();
    return Number(await this.readLine());
  }

  async stop(): Promise<void> {
    await this.#lines.cancel();
    this.#child.kill("SIGTERM");
    await this.#child.status;
  }
}

/** Per-round ms of each reported phase; nested phases are taken out of the one holding them. */
function phaseBreakdown(phases: PhaseTimes, perRound: (ms: number) => number) {
  const spent = (phase: string) => phases.totals.get(phase) ?? 0;
  const inQuery = ["compress", "encode", "sign", "decode", "validate"]
    .reduce((sum, p) => sum + spent(p), 0);
  return {
    state: perRound(spent("state")),
    compress: perRound(spent("compress")),
    encode: perRound(spent("encode")),
    sign: perRound(spent("sign")),
    http: perRound(spent("query") - inQuery),
    decode: perRound(spent("decode")),
    validate: perRound(spent("validate") + spent("replies") - spent("inject")),
    inject: perRound(spent("inject")),
    scoring: perRound(spent("scoring")),
    metrics: perRound(spent("metrics")),
    other: perRound(spent("other")),
  };
}

async function main() {
  const rounds = Number(values.rounds ?? 20);
  if (!Number.isSafeInteger(rounds) || rounds < 1) {
    console.error(`bench validator: --rounds must be a positive integer, got '${values.rounds}'`);
    Deno.exit(2);
  }
  optionsChecked();
  const per = MINERS / HOSTS;
  const hosts = Array.from({ length: HOSTS }, (_, i) =>
    new Host(
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          fileURLToPath(new URL(import.meta.url)),
          "--host-axons",
          `${i * per},${per}`,
        ],
        stdin: "piped",
        stdout: "piped",
        stderr: "inherit",
      }).spawn(),
    ));
  try {
    const listings = await Promise.all(hosts.map((h) => h.readLine()));
    const axons = listings.flatMap((l) =>
      JSON.parse(l) as { uid: number; port: number; hotkey: string }[]
    );
    const neurons: Neuron[] = axons.map((a) => ({
      uid: a.uid,
      hotkey: a.hotkey,
      coldkey: a.hotkey,
      stake: 0,
      validatorPermit: false,
      axon: { ip: "127.0.0.1", port: a.port, ipType: 4, protocol: 4, version: 0 },
      lastUpdate: 0,
    }));
    await cryptoReady();
    const config = { ...referenceConfig(), gracePeriod: 60e9 };
    const phases = new PhaseTimes();
    let advanceMs = 0;
    const createMarket = (c: typeof config, seed: number): Market =>
      watchedMarket(SimEngine.create({ config: c, seed }), {
        advanced: (_, __, elapsedMs) => (advanceMs += elapsedMs),
      });
    const store = ValidatorStore.open(":memory:");
    const validator = new Validator({
      options: { ...parseValidatorArgs(["--local", "-t", "30"]), saveIntervalSeconds: 3600 },
      config,
      createMarket,
      directory: new StaticNeuronDirectory(neurons),
      weights: new RecordingWeightSetter(),
      client: new DendriteMinerClient(
        new Dendrite(Keypair.fromUri("//BenchValidator"), { phases }),
        phases,
      ),
      store,
      alerts: new Alerter({ routingKey: null, source: "bench", log: () => {} }),
      metrics: new ValidatorMetrics({ wallet: "bench", netuid: 79, info: {} }),
      board: new StatusBoard(),
      hotkey: "bench",
      log: (level, message) => level === "error" && console.error(message),
      phases,
    });
    await validator.start();
    for (let i = 0; i < WARMUP_ROUNDS; i++) await validator.round();
    advanceMs = 0;
    phases.clear();
    const hostsCpuBefore = await Promise.all(hosts.map((h) => h.cpuMs()));
    const cpuBefore = cpuMs();
    const started = performance.now();
    for (let i = 0; i < rounds; i++) await validator.round();
    const total = performance.now() - started;
    const validatorCpu = cpuMs() - cpuBefore - advanceMs;
    const hostsCpu = (await Promise.all(hosts.map((h) => h.cpuMs())))
      .reduce((sum, after, i) => sum + after - hostsCpuBefore[i], 0);
    validator.close();
    store.close();
    const answered = validator.lastAnswered;
    const perRound = (ms: number) => Number((ms / rounds).toFixed(1));
    const spent = (phase: string) => phases.totals.get(phase) ?? 0;
    const round = total - advanceMs;
    console.log(JSON.stringify({
      bench: "validator-round",
      miners: MINERS,
      ms_per_round: perRound(round),
      ms_per_round_without_scoring: perRound(round - spent("scoring") - spent("metrics")),
      answered,
      ms_advance_per_round: perRound(advanceMs),
      cpu_ms_per_round: { validator: perRound(validatorCpu), axons: perRound(hostsCpu) },
      ...(values.phases ? { ms_per_phase: phaseBreakdown(phases, perRound) } : {}),
    }));
    if (answered !== MINERS) throw new Error(`only ${answered} of ${MINERS} miners answered`);
  } finally {
    for (const host of hosts) await host.stop();
  }
}

if (values["host-axons"] !== undefined) await hostAxons(values["host-axons"]);
else await main();
