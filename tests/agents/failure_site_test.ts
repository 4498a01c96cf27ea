import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { AgentMethod } from "../../miner/agent_methods.ts";
import { backtest } from "../../agents/backtest.ts";
import { Agent, type TradingAgent } from "../../agents/sdk/agent.ts";
import { agentFrame, noteFailures } from "../../agents/sdk/failure_site.ts";
import type { Event, StateUpdate } from "../../agents/sdk/state.ts";
import { smallPreset } from "../../sim/config.ts";
import { testTempDir } from "../temp_dir.ts";

/** What `body` throws or rejects with. */
async function caught(body: () => unknown): Promise<unknown> {
  try {
    await body();
  } catch (error) {
    return error;
  }
  throw new Error("nothing was thrown");
}

Deno.test("agentFrame places an error in the agent's file, by its path as written, past the kit's frames", async () => {
  const dir = join(testTempDir("taos-failure-site-"), "my agents");
  mkdirSync(dir);
  const kitFile = join(dir, "kit.ts");
  writeFileSync(
    kitFile,
    'export function refuse(): never {\n  throw new RangeError("refused");\n}\n',
  );
  const kit = [pathToFileURL(kitFile).href];
  // Names a stack spells with a space or a bare `%` (it writes a file's name decoded), and one
  // holding what looks like a line and column.
  for (const name of ["Agent.ts", "Agent é.ts", "100%.ts", "a%b c.ts", "v1:2:3.ts"]) {
    const agentFile = join(dir, name);
    writeFileSync(
      agentFile,
      'import { refuse } from "./kit.ts";\nexport function act() {\n  refuse();\n}\n',
    );
    const { act } = await import(pathToFileURL(agentFile).href);
    const error = await caught(act);
    // The kit's builder raised it; the agent's call of it, line 3 column 3, is where it belongs.
    assert.equal(agentFrame(error, kit), `${agentFile}:3:3`, name);
    assert.equal(agentFrame(error, []), `${kitFile}:2:9`, name);
    const everyFile = [pathToFileURL(dir).href, new URL("./", import.meta.url).href];
    assert.equal(agentFrame(error, everyFile), null, "no frame outside the kit");
  }
  assert.equal(agentFrame("refused", []), null, "a thrown string has no stack");
});

/** An agent whose `onStart` rejects and whose `onUpdate` throws when told to. */
class Flaky {
  updates = 0;
  failUpdate = false;
  async onStart(): Promise<void> {
    await Promise.resolve();
    throw new Error("no model");
  }
  onUpdate(): unknown[] {
    this.updates++;
    if (this.failUpdate) throw new TypeError("bad book");
    return [];
  }
  helper(): string {
    throw new Error("not the kit's to watch");
  }
}

Deno.test("noteFailures names the agent method whose call threw or rejected, and passes its error on", async () => {
  const agent = new Flaky();
  const failed: AgentMethod[] = [];
  const watched = noteFailures(agent as unknown as TradingAgent, (method) => failed.push(method));
  const wrapped = watched as unknown as Flaky;

  assert.match(
    String(await caught(() => watched.onStart!({} as never, null))),
    /^Error: no model$/,
  );
  assert.deepEqual(failed, ["onStart"]);

  // A call that succeeds tells nothing, returns what the method returned and runs on the agent.
  assert.deepEqual(watched.onUpdate({} as never), []);
  assert.equal(agent.updates, 1);
  assert.deepEqual(failed, ["onStart"]);

  agent.failUpdate = true;
  const thrown = await caught(() => watched.onUpdate({} as never));
  assert.ok(thrown instanceof TypeError && thrown.message === "bad book", String(thrown));
  assert.deepEqual(failed, ["onStart", "onUpdate"]);

  // Methods the kit does not call are the agent's own, handed back as they are.
  assert.equal(wrapped.helper, Flaky.prototype.helper);
  assert.throws(() => wrapped.helper());
  assert.deepEqual(failed, ["onStart", "onUpdate"]);
});

Deno.test("agentFrame passes over the kit's files where the agent imported them from another place", async () => {
  const root = testTempDir("taos-failure-site-copy-");
  const refuse = 'export function refuse(): never {\n  throw new RangeError("refused");\n}\n';
  // This kit, another checkout's copy of it, and a link to this one.
  for (const checkout of ["taos", "other taos"]) {
    mkdirSync(join(root, checkout, "agents", "sdk"), { recursive: true });
    writeFileSync(join(root, checkout, "agents", "sdk", "instructions.ts"), refuse);
  }
  symlinkSync(join(root, "taos"), join(root, "linked"));
  // Files of the same name outside an `agents/sdk` directory, or not in the kit, are the agent's.
  mkdirSync(join(root, "mine", "sdk"), { recursive: true });
  writeFileSync(join(root, "mine", "sdk", "instructions.ts"), refuse);
  writeFileSync(join(root, "other taos", "agents", "sdk", "helpers.ts"), refuse);
  const kit = [pathToFileURL(join(root, "taos", "agents", "sdk")).href + "/"];
  for (
    const [index, [imported, placed]] of [
      ["other taos/agents/sdk/instructions.ts", "agent"],
      ["linked/agents/sdk/instructions.ts", "agent"],
      ["taos/agents/sdk/instructions.ts", "agent"],
      ["mine/sdk/instructions.ts", "imported"],
      ["other taos/agents/sdk/helpers.ts", "imported"],
    ].entries()
  ) {
    const agentFile = join(root, `Agent${index}.ts`);
    writeFileSync(
      agentFile,
      `import { refuse } from ${JSON.stringify(join(root, imported))};\n` +
        "export function act() {\n  refuse();\n}\n",
    );
    const { act } = await import(pathToFileURL(agentFile).href);
    const error = await caught(act);
    const expected = placed === "agent" ? `${agentFile}:3:3` : `${join(root, imported)}:2:9`;
    assert.equal(agentFrame(error, kit), expected, imported);
  }
});

/** Buys at market every update; `onTrade` throws, or `observe` itself when `inObserve`. */
class FailingHook extends Agent {
  inObserve = false;
  override onTrade(): void {
    throw new Error("trade hook failed");
  }
  override observe(state: StateUpdate): void {
    if (this.inObserve) throw new Error("observe failed");
    super.observe(state);
  }
  onUpdate() {
    return [this.marketOrder(0, 0, 0.1)];
  }
}

Deno.test("an error raised in an event hook names the hook, not the kit's dispatcher", async () => {
  const report = await backtest({
    agent: FailingHook,
    config: smallPreset(),
    seed: 1,
    duration: 20e9,
    delay: 0,
    onWarning: () => {},
  });
  assert.match(
    report.agents[0].firstFailure ?? "",
    /^the agent failed in onTrade: trade hook failed \(at .*failure_site_test\.ts:\d+:\d+\)$/,
  );
});

Deno.test("noteFailures names a hook observe ran only while observe runs it", () => {
  const agent = new FailingHook(0, {});
  const failed: AgentMethod[] = [];
  const watched = noteFailures(agent, (method) => failed.push(method));
  const trade = { type: "EVENT_TRADE", agentId: 0 } as unknown as Event;
  agent.events = [trade];
  assert.throws(() => watched.observe!({} as StateUpdate), /trade hook failed/);
  // Its own error, after a hook failed before: observe's.
  agent.inObserve = true;
  assert.throws(() => watched.observe!({} as StateUpdate), /observe failed/);
  assert.deepEqual(failed, ["onTrade", "observe"]);
});
