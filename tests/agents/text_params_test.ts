/**
 * A `k=v` value that reads as a number or true/false reaches a parameter the agent's schema takes
 * as text as written, in the loader, a backtest's workers and a backtest's own thread alike.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { backtest } from "../../agents/backtest.ts";
import { Agent, type AgentClass } from "../../agents/sdk/agent.ts";
import {
  AgentLoadError,
  checkAgentParams,
  loadAgent,
  parseAgentParams,
} from "../../agents/sdk/loader.ts";
import type { StateUpdate } from "../../agents/sdk/state.ts";
import { smallPreset } from "../../sim/config.ts";
import { testTempDir } from "../temp_dir.ts";

const paramsSchema = z.object({
  label: z.string(),
  mode: z.enum(["1", "2"]).default("1"),
  n: z.number().default(0),
  on: z.boolean().default(false),
});

/** An agent taking text, a choice of texts, a number and a switch. */
class Labelled extends Agent<z.infer<typeof paramsSchema>> {
  static paramsSchema = paramsSchema;
  onUpdate(_state: StateUpdate) {
    return [];
  }
}

/** `checkAgentParams` on the parameters parsed from `text`, given the text too. */
const checkWritten = (text: string) =>
  checkAgentParams(Labelled as AgentClass, parseAgentParams(text), text);

Deno.test("a parameter the schema takes as text gets the value as written", () => {
  assert.deepEqual(checkWritten("label=007 mode=2 n=1e3 on=TRUE"), {
    label: "007",
    mode: "2",
    n: 1000,
    on: true,
  });
  assert.deepEqual(checkWritten("label=True"), { label: "True", mode: "1", n: 0, on: false });
  assert.deepEqual(checkWritten("label=1.50"), { label: "1.50", mode: "1", n: 0, on: false });
});

Deno.test("a value its text does not satisfy either is told as it was read", () => {
  assert.throws(
    () => checkWritten("label=7 mode=3"),
    (e: Error) =>
      e instanceof AgentLoadError &&
      e.message === `Labelled: agent parameter 'mode': must be "1" or "2", got 3`,
  );
  // Another parameter's fault is told alone: the text was right for `label`.
  assert.throws(
    () => checkWritten("label=7 n=abc"),
    (e: Error) =>
      e instanceof AgentLoadError &&
      e.message === `Labelled: agent parameter 'n': must be a number, got "abc"`,
  );
  // A number where the schema wants one is not read as text.
  assert.throws(
    () => checkWritten("label=x on=1"),
    /^AgentLoadError: Labelled: agent parameter 'on': must be true or false, got 1$/,
  );
  // Parameters handed over already parsed are taken as given.
  assert.throws(
    () => checkAgentParams(Labelled as AgentClass, { label: 7 }),
    /agent parameter 'label': must be a string, got 7$/,
  );
  // With no text to fall back on, a refused value is refused, not dropped for the default.
  assert.throws(
    () => checkAgentParams(Labelled as AgentClass, { label: "x", mode: 3 }),
    /^AgentLoadError: Labelled: agent parameter 'mode': must be "1" or "2", got 3$/,
  );
});

Deno.test("an agent file loaded by name, and a backtest of it, get a parameter's text", async () => {
  const dir = testTempDir("taos-text-params-");
  writeFileSync(
    join(dir, "LabelAgent.ts"),
    `import { z } from "zod";
export class LabelAgent {
  static paramsSchema = z.object({ label: z.string(), size: z.number().default(1) });
  constructor(uid, params) { this.params = params; }
  onUpdate() { return []; }
}
`,
  );
  const agent = await loadAgent({ path: dir, name: "LabelAgent", params: "label=0042", uid: 0 });
  assert.deepEqual((agent as unknown as { params: unknown }).params, { label: "0042", size: 1 });
  const options = { config: smallPreset(), seed: 1, duration: 10e9, delay: "none" as const };
  const named = await backtest({
    ...options,
    agent: "LabelAgent",
    agentPath: dir,
    params: "label=0042 size=2",
  });
  assert.deepEqual(named.params, { label: "0042", size: 2 });
  const inThread = await backtest({ ...options, agent: Labelled, params: "label=08" });
  assert.deepEqual(inThread.params, { label: "08", mode: "1", n: 0, on: false });
});
