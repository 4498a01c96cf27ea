/**
 * The miner's Prometheus metrics: requests by synapse and status, request latency, agent step
 * time, agent failures (errors, overruns, unreadable states) and the process metrics
 * (`process_*`). Served as text at `/metrics`.
 *
 * ```ts
 * const metrics = new MinerMetrics({ hotkey, netuid: 79 });
 * const port = await metrics.serve(9002, "0.0.0.0");
 * metrics.request("MarketSimulationStateUpdate", 200, 0.012);
 * ```
 * @module
 */
import { collectDefaultMetrics, Counter, Histogram, Registry } from "prom-client";
import { HttpServer, readOnly } from "../bittensor/http_server.ts";

/**
 * Why a state update was answered without instructions: the agent failed, overran or answered
 * what a validator voids, or (`no_time`) the request's timeout left it no time to run.
 */
export type AgentFailure = "error" | "overran" | "invalid" | "no_time";

/** Labels every series carries. */
export interface MetricLabels {
  hotkey: string;
  netuid: number | "local";
}

/** A registry of the miner's metrics, with an optional HTTP exporter. */
export class MinerMetrics {
  /** The prom-client registry (one per miner, nothing global). */
  readonly registry: Registry = new Registry();
  readonly #requests: Counter<"synapse" | "status">;
  readonly #latency: Histogram<"synapse">;
  readonly #agentSeconds: Histogram;
  readonly #agentFailures: Counter<"reason">;
  readonly #instructions: Counter;
  #server: HttpServer | null = null;

  constructor(labels: MetricLabels) {
    this.registry.setDefaultLabels({ wallet: labels.hotkey, netuid: String(labels.netuid) });
    // CPU seconds, memory, start time and file descriptors, as Python's client exports them.
    collectDefaultMetrics({ register: this.registry });
    this.#requests = new Counter({
      name: "taos_miner_requests_total",
      help: "Axon requests by synapse and HTTP status",
      labelNames: ["synapse", "status"],
      registers: [this.registry],
    });
    this.#latency = new Histogram({
      name: "taos_miner_request_seconds",
      help: "Time from request arrival to reply",
      labelNames: ["synapse"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers: [this.registry],
    });
    this.#agentSeconds = new Histogram({
      name: "taos_miner_agent_seconds",
      help: "Time the agent took per state update (answered in time)",
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
      registers: [this.registry],
    });
    this.#agentFailures = new Counter({
      name: "taos_miner_agent_errors_total",
      help: "State updates answered without instructions, by reason",
      labelNames: ["reason"],
      registers: [this.registry],
    });
    this.#instructions = new Counter({
      name: "taos_miner_instructions_total",
      help: "Instructions returned to validators",
      registers: [this.registry],
    });
  }

  /** Counts one finished axon request. */
  request(synapse: string, status: number, seconds: number): void {
    this.#requests.inc({ synapse, status: String(status) });
    this.#latency.observe({ synapse }, seconds);
  }

  /** Records an agent step answered in time with `instructions` instructions. */
  agentStep(seconds: number, instructions: number): void {
    this.#agentSeconds.observe(seconds);
    this.#instructions.inc(instructions);
  }

  /** Counts a state update the agent could not answer. */
  agentFailure(reason: AgentFailure): void {
    this.#agentFailures.inc({ reason });
  }

  /** Serves `/metrics` on `hostname` and `port` (0 = any free port); resolves to the bound port. */
  async serve(port: number, hostname: string): Promise<number> {
    this.#server = await HttpServer.listen(
      readOnly(async (incoming) => {
        if (incoming.target.split("?")[0] !== "/metrics") {
          return { status: 404, headers: { "content-type": "text/plain" }, body: "not found" };
        }
        return {
          status: 200,
          headers: { "content-type": this.registry.contentType },
          body: await this.registry.metrics(),
        };
      }),
      { port, hostname },
    );
    return this.#server.port;
  }

  /** Stops the exporter. */
  async close(): Promise<void> {
    await this.#server?.close();
    this.#server = null;
  }
}
