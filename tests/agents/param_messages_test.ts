/** How a bundled agent's parameter that fails its schema is told, by `taos sim` and `taos miner`. */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { Agent, type AgentClass } from "../../agents/sdk/agent.ts";
import { AgentLoadError, checkAgentParams, parseAgentParams } from "../../agents/sdk/loader.ts";
import { localMinerFlags, minerWallet, runMinerToExit, withoutFlags } from "../miner/support.ts";
import { taos } from "../sim/taos_process.ts";
import { testTempDir } from "../temp_dir.ts";

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
      "RandomMakerAgent",
      "max_quantity=big",
      `agent parameter 'max_quantity': must be a number, got "big"`,
    ],
    [
      "RandomTakerAgent",
      "min_quantity=2 max_quantity=1.5",
      "agent parameter 'min_quantity': must not exceed max_quantity (1.5), got 2",
    ],
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

const coercedSchema = z.object({
  rate: z.coerce.number().default(1),
  size: z.coerce.number().int().min(0).default(0),
});

/** An agent whose numbers are coerced by its own schema, as zod's `z.coerce.number()` does. */
class Coerced extends Agent<z.infer<typeof coercedSchema>> {
  static paramsSchema = coercedSchema;
  onUpdate() {
    return [];
  }
}

/** The load error of `Coerced` given `text`, or of the parameters `params` when given. */
function coercedError(text: string, params?: Record<string, unknown>): string {
  try {
    checkAgentParams(
      Coerced as AgentClass,
      (params ?? parseAgentParams(text)) as Record<string, string>,
      params === undefined ? text : undefined,
    );
  } catch (error) {
    assert.ok(error instanceof AgentLoadError, String(error));
    return error.message;
  }
  throw new Error(`${text} was accepted`);
}

Deno.test("a coerced number given text that is no number is told with the text given", () => {
  assert.equal(
    coercedError("rate=abc"),
    `Coerced: agent parameter 'rate': must be a number, got "abc"`,
  );
  assert.equal(
    coercedError("size=lots rate=x1"),
    `Coerced: agent parameter 'rate': must be a number, got "x1"; ` +
      `agent parameter 'size': must be a number, got "lots"`,
  );
  // Parameters handed over already parsed (a miner's or a backtest's own) are told the same way.
  assert.equal(
    coercedError("", { rate: "abc" }),
    `Coerced: agent parameter 'rate': must be a number, got "abc"`,
  );
  // A value the coercion made a number keeps being told as that number.
  assert.equal(
    coercedError("size=-2"),
    "Coerced: agent parameter 'size': must be >= 0, got -2",
  );
  assert.equal(
    coercedError("size=1.5"),
    "Coerced: agent parameter 'size': must be an integer, got 1.5",
  );
});

Deno.test("taos sim: an agent file's coerced number given text names the text", async () => {
  const dir = testTempDir("taos-param-messages-");
  writeFileSync(
    join(dir, "Coerced.ts"),
    `import { z } from "zod";
export class Coerced {
  static paramsSchema = z.object({ rate: z.coerce.number().default(1) });
  onUpdate() {
    return [];
  }
}
`,
  );
  const { code, stderr } = await taos(
    "sim",
    "--config",
    "small",
    "--duration",
    "10s",
    "--quiet",
    "--delay",
    "none",
    "--agent",
    dir,
    "--agent-name",
    "Coerced",
    "--agent-params",
    "rate=abc",
  );
  assert.equal(code, 2, stderr);
  assert.equal(
    stderr.trim(),
    `taos sim: Coerced: agent parameter 'rate': must be a number, got "abc"`,
  );
});
