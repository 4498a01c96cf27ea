/** How a bundled agent's parameter that fails its schema is told, by `taos sim` and `taos miner`. */
import assert from "node:assert/strict";
import { localMinerFlags, minerWallet, runMinerToExit, withoutFlags } from "../miner/support.ts";
import { taos } from "../sim/taos_process.ts";

/** The exit code and output of a backtest of `agent` given `params`. */
function backtestWith(agent: string, params: string) {
  return taos(
    "sim",
    "--config",
    "small",
    "--duration",
    "10s",
    "--quiet",
    "--delay",
    "none",
    "--agent-name",
    agent,
    "--agent-params",
    params,
  );
}

for (
  const [agent, params, message] of [
    [
      "SimpleRegressorAgent",
      "expiry_period=1.5",
      "agent parameter 'expiry_period': must be an integer, got 1.5",
    ],
    [
      "SimpleRegressorAgent",
      "expiry_period=true",
      "agent parameter 'expiry_period': must be a number, got true",
    ],
    ["SimpleRegressorAgent", "seed=-3", "agent parameter 'seed': must be >= 0, got -3"],
    ["MarketMakerAgent", "edge=-1", "agent parameter 'edge': must be >= 0, got -1"],
    [
      "MarketMakerAgent",
      "keepalive_after=soon",
      `agent parameter 'keepalive_after': must be a number, got "soon"`,
    ],
  ]
) {
  Deno.test(`taos sim: ${agent} ${params} is refused as ${message}`, async () => {
    const { code, stderr } = await backtestWith(agent, params);
    assert.equal(code, 2, stderr);
    assert.equal(stderr.trim(), `taos sim: ${agent}: ${message}`);
  });
}

Deno.test("taos miner: an agent parameter of the wrong kind is named with what it takes", async () => {
  const root = await minerWallet("taos-param-messages-");
  const { code, stderr } = await runMinerToExit([
    ...withoutFlags(localMinerFlags(root), "-g", "-n", "-m"),
    "-n",
    "SimpleRegressorAgent",
    "-m",
    "expiry_period=2.5",
  ]);
  assert.equal(code, 2, stderr);
  assert.match(
    stderr,
    /^taos miner: agent: SimpleRegressorAgent: agent parameter 'expiry_period': must be an integer, got 2\.5$/m,
  );
});
