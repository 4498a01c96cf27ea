/** The miner's `/metrics` exporter: its path, and the figures its histograms and counters add. */
import assert from "node:assert/strict";
import { MinerMetrics } from "../../miner/metrics.ts";

Deno.test("the miner's /metrics is served whatever query a scraper adds; another path is not found", async () => {
  const metrics = new MinerMetrics({ hotkey: "5Miner", netuid: 79 });
  const port = await metrics.serve(0, "127.0.0.1");
  try {
    const get = async (path: string) => {
      const response = await fetch(`http://127.0.0.1:${port}${path}`);
      return [response.status, await response.text()] as const;
    };
    // Prometheus adds a scrape job's `params` as a query string.
    const [status, text] = await get("/metrics?name%5B%5D=taos_miner_requests_total");
    assert.equal(status, 200);
    assert.match(text, /^# TYPE taos_miner_requests_total counter$/m);
    assert.deepEqual(await get("/metric"), [404, "not found"]);
    assert.deepEqual(await get("/metrics/x"), [404, "not found"]);
  } finally {
    await metrics.close();
  }
});

Deno.test("the miner's request latency and agent time land in their buckets, instructions add up", async () => {
  const metrics = new MinerMetrics({ hotkey: "5Miner", netuid: 79 });
  metrics.request("MarketSimulationStateUpdate", 200, 0.02);
  metrics.request("MarketSimulationStateUpdate", 403, 0.004);
  metrics.agentStep(0.003, 4);
  metrics.agentStep(0.2, 0);
  metrics.agentFailure("overran");
  const text = await metrics.registry.metrics();
  /** The value of the series of `family` that carries every one of `labels`. */
  const value = (family: string, ...labels: string[]) => {
    const line = text.split("\n").find((l) =>
      l.startsWith(`${family}{`) && labels.every((pair) => l.includes(pair))
    );
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
  };
  const latency = (le: string) =>
    value(
      "taos_miner_request_seconds_bucket",
      `le="${le}"`,
      'synapse="MarketSimulationStateUpdate"',
    );
  // 0.004 s is within the 0.005 s bucket; 0.02 s within 0.025 s, not 0.01 s.
  assert.deepEqual(["0.005", "0.01", "0.025", "+Inf"].map(latency), [1, 1, 2, 2]);
  assert.equal(value("taos_miner_request_seconds_sum"), 0.024);
  assert.equal(value("taos_miner_request_seconds_count"), 2);
  const agent = (le: string) => value("taos_miner_agent_seconds_bucket", `le="${le}"`);
  assert.deepEqual(["0.001", "0.005", "0.1", "0.25"].map(agent), [0, 1, 1, 2]);
  assert.equal(value("taos_miner_instructions_total"), 4);
  assert.equal(value("taos_miner_agent_errors_total", 'reason="overran"'), 1);
});
