import assert from "node:assert/strict";
import { join } from "node:path";
import { AgentHost, type StepOutcome } from "../../miner/agent_host.ts";
import { cryptoReady } from "../../bittensor/keypair.ts";
import { decodeResponse, encodeStateUpdate } from "../../bittensor/market_synapse.ts";
import {
  alice,
  fixtures,
  minerState,
  quantity,
  sendMarketState,
  startFixtureMiner,
  startFixtureMinerKeepingWarnings,
  withFixtureHost,
} from "./support.ts";
import { until } from "../until.ts";

await cryptoReady();

Deno.test("an unawaited rejected promise fails only its update; the agent keeps its state", async () => {
  await withFixtureHost("reject_at=2", {}, async (host, events) => {
    assert.equal(quantity(await host.step(minerState(), 5000)), 1);
    const failed = await host.step(minerState(), 5000);
    assert.equal(failed.kind, "failed");
    assert.match((failed as { message: string }).message, /unhandled rejection: .*rejected/);
    // Answered at once by the same instance: its update count went on from 2.
    assert.equal(quantity(await host.step(minerState(), 5000)), 3);
    assert.deepEqual(events.restarts, []);
  });
});

Deno.test("an unawaited rejection at the first update fails that update, not the next", async () => {
  await withFixtureHost("reject_at=1", {}, async (host, events) => {
    const failed = await host.step(minerState(), 5000);
    assert.equal(failed.kind, "failed", JSON.stringify(failed));
    assert.match((failed as { message: string }).message, /unhandled rejection: .*rejected/);
    assert.equal(quantity(await host.step(minerState(), 5000)), 2);
    assert.deepEqual([events.errors, events.restarts], [[], []]);
  });
});

Deno.test("a timer that throws after its update is reported and the agent keeps its state", async () => {
  await withFixtureHost("throw_at=1 throw_after_ms=200", {}, async (host, events) => {
    assert.equal(quantity(await host.step(minerState(), 5000)), 1);
    for (let i = 0; i < 50 && events.errors.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.match(events.errors.join("\n"), /timer failed/);
    assert.equal(quantity(await host.step(minerState(), 5000)), 2);
    assert.deepEqual(events.restarts, []);
  });
});

Deno.test("an agent that calls Deno.exit is replaced at once, not after the stuck-agent wait", async () => {
  await withFixtureHost("exit_at=2", {}, async (host, events) => {
    assert.equal(quantity(await host.step(minerState(), 5000)), 1);
    const started = performance.now();
    const failed = await host.step(minerState(), 20_000);
    assert.equal(failed.kind, "failed");
    assert.match((failed as { message: string }).message, /ended itself \(exit code 3\)/);
    assert.ok(performance.now() - started < 5000);
    // The next update goes to a fresh instance (count restarts at 1), well before the deadline.
    assert.equal(quantity(await host.step(minerState(), 20_000)), 1);
    assert.match(events.restarts.join("\n"), /ended itself .*replacing it with a fresh/);
  });
});

Deno.test("an agent that ends before finishing any update is reloaded with a growing wait, not at once", async () => {
  const restarts: string[] = [];
  const host = await AgentHost.start(
    { path: fixtures, name: "FixtureAgent", params: "count=true exit_at=1", uid: 1 },
    { onRestart: (message) => restarts.push(message), reloadRetryMs: 300 },
  );
  try {
    const failed = await host.step(minerState(), 20_000);
    assert.match((failed as { message: string }).message, /ended itself \(exit code 3\)/);
    // Meanwhile updates fail at once with the reason.
    const waiting = await host.step(minerState(), 20_000);
    assert.match(
      (waiting as { message: string }).message,
      /ended itself \(exit code 3\) before finishing an update$/,
    );
    for (let i = 0; i < 100 && restarts.length < 3; i++) {
      await new Promise((r) => setTimeout(r, 50));
      if (restarts.at(-1)?.endsWith("loaded again")) await host.step(minerState(), 20_000);
    }
    assert.deepEqual(restarts, [
      "agent FixtureAgent ended itself (exit code 3) before finishing an update; loading a " +
      "fresh instance in 0.3 s",
      "agent FixtureAgent loaded again",
      "agent FixtureAgent ended itself (exit code 3) before finishing an update; loading a " +
      "fresh instance in 0.6 s",
    ]);
  } finally {
    host.close();
  }
});

Deno.test("a replacement that fails to load is retried until the agent file is fixed", async () => {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "FixtureAgent.ts");
  // A copy elsewhere: its imports of the SDK become absolute.
  const sdk = new URL("../../agents/sdk/", import.meta.url).href;
  const source = (await Deno.readTextFile(join(fixtures, "FixtureAgent.ts")))
    .replaceAll("../../../agents/sdk/", sdk);
  await Deno.writeTextFile(file, source);
  const restarts: string[] = [];
  const host = await AgentHost.start(
    { path: dir, name: "FixtureAgent", params: "count=true exit_at=2", uid: 1 },
    { onRestart: (message) => restarts.push(message), reloadRetryMs: 300 },
  );
  try {
    assert.equal(quantity(await host.step(minerState(), 5000)), 1);
    // The file is broken while the agent runs; its second update ends the worker.
    await Deno.writeTextFile(file, "export class FixtureAgent {\n");
    assert.equal((await host.step(minerState(), 5000)).kind, "failed");
    let failed: StepOutcome = await host.step(minerState(), 5000);
    for (let i = 0; i < 50 && !/could not be restarted/.test(JSON.stringify(failed)); i++) {
      await new Promise((r) => setTimeout(r, 20));
      failed = await host.step(minerState(), 5000);
    }
    assert.equal(failed.kind, "failed");
    assert.match((failed as { message: string }).message, /agent could not be restarted/);
    // Fixed: a retry loads a fresh instance (its count starts again at 1).
    await Deno.writeTextFile(file, source);
    let outcome: StepOutcome = failed;
    for (let i = 0; i < 100 && outcome.kind !== "ok"; i++) {
      await new Promise((r) => setTimeout(r, 50));
      outcome = await host.step(minerState(), 5000);
    }
    assert.equal(quantity(outcome), 1);
    const log = restarts.join("\n");
    assert.match(log, /could not be restarted: [^]*; retrying in 0\.3 s/);
    assert.match(log, /agent FixtureAgent loaded again/);
  } finally {
    host.close();
    await Deno.remove(dir, { recursive: true });
  }
});

for (
  const [params, what] of [
    ["lone=true", "an onUpdate that returns a lone instruction"],
    ["bigint=true", "a response that cannot be sent as JSON"],
    // 9 M JSON values in 13 MB, past the 8 388 608 a validator reads (one per 8 bytes of 64 MiB).
    ["junk_objects=4500000", "a response holding more JSON values than a validator reads"],
  ]
) {
  Deno.test(`${what} is answered empty and counted invalid`, async () => {
    // A budget that a loaded machine building millions of JSON values cannot overrun: an overrun
    // would be counted as such, not as invalid.
    const lines: string[] = [];
    const miner = await startFixtureMiner(params, {
      agentTimeout: 25,
      log: (level, message) => void lines.push(`${level}: ${message}`),
    });
    try {
      const result = await sendMarketState(miner.port, 30);
      assert.equal(result.statusCode, 200, result.statusMessage);
      assert.deepEqual(decodeResponse(result.fields!), { agent_id: 1, instructions: [] });
      const text = await miner.metrics.registry.metrics();
      assert.match(
        text,
        /taos_miner_agent_errors_total\{reason="invalid"[^}]*\} 1$/m,
        lines.join("\n"),
      );
      // Until this version a lone instruction counted as the agent's error.
      assert.doesNotMatch(text, /taos_miner_agent_errors_total\{reason="error"[^}]*\} [1-9]/);
    } finally {
      await miner.stop();
    }
  });
}

Deno.test("a response a validator would void is reported by the agent host, naming the field", async () => {
  await withFixtureHost("zero=true", {}, async (host) => {
    const outcome = await host.step(minerState(), 5000);
    assert.equal(outcome.kind, "failed");
    assert.match(
      (outcome as { message: string }).message,
      /^invalid agent response \(a validator would void it\): instruction 0 invalid: quantity: /,
    );
  });
});

Deno.test("a response is checked as it is sent: a getter answering differently later cannot slip past", async () => {
  // Until this version the reply was written as JSON, then its instructions were read again for
  // the check: an invalid first answer was sent, voiding the reply at the validator.
  await withFixtureHost("fickle=true", {}, async (host) => {
    const outcome = await host.step(minerState(), 5000);
    assert.equal(outcome.kind, "failed");
    assert.match(
      (outcome as { message: string }).message,
      /^invalid agent response \(a validator would void it\): instruction 0 invalid: quantity: /,
    );
  });
});

Deno.test("parameters the agent does not take are named when it starts", async () => {
  const host = await AgentHost.start({
    path: fixtures,
    name: "RandomMakerAgent",
    params: "max_quantty=3 signal_threshold=0.1",
    uid: 1,
  });
  try {
    assert.match(
      host.paramsWarning ?? "",
      /^RandomMakerAgent ignores agent parameters 'max_quantty', 'signal_threshold' \(it takes /,
    );
  } finally {
    host.close();
  }
});

Deno.test("a state that cannot be handed to the agent fails alone; the next update is answered", async () => {
  await withFixtureHost("", {}, async (host) => {
    let deep: unknown = 0;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const failed = await host.step({ ...minerState(), nested: deep }, 5000);
    assert.equal(failed.kind, "failed");
    assert.match(
      (failed as { message: string }).message,
      /^invalid state update: it cannot be handed/,
    );
    const started = performance.now();
    assert.equal(quantity(await host.step(minerState(), 5000)), 1);
    assert.ok(performance.now() - started < 3000, "not held behind the failed update");
  });
});

Deno.test("an agent's error comes with where in its own file it was raised", async () => {
  await withFixtureHost("fail=no_model_loaded", {}, async (host) => {
    const failed = await host.step(minerState(), 5000);
    assert.equal(failed.kind, "failed");
    const { message, at } = failed as { message: string; at?: string };
    assert.equal(message, "no_model_loaded");
    const file = join(fixtures, "FixtureAgent.ts");
    const lines = (await Deno.readTextFile(file)).split("\n");
    const line = lines.findIndex((l) => l.includes("throw new Error(this.params.fail)")) + 1;
    assert.equal(at, `${file}:${line}:53`);
  });
});

Deno.test("a value thrown that cannot be turned into text fails only its update; the agent stays", async () => {
  await withFixtureHost("unprintable=true", {}, async (host, events) => {
    for (let i = 0; i < 2; i++) {
      // The second is answered at once too, not held behind an update the worker never finished.
      const failed = await host.step(minerState(), 5000);
      assert.equal(failed.kind, "failed", JSON.stringify(failed));
      assert.equal(
        (failed as { message: string }).message,
        "[object Object] (thrown, not an Error; it cannot be printed)",
      );
    }
    assert.deepEqual(events.restarts, []);
  });
});

Deno.test("a message the agent posts to the host itself is reported and ignored", async () => {
  const errors: string[] = [];
  const host = await AgentHost.start(
    { path: fixtures, name: "FixtureAgent", params: "post=true count=true", uid: 1 },
    { onError: (message) => errors.push(message) },
  );
  try {
    assert.equal(quantity(await host.step(minerState(), 5000)), 1);
    assert.equal(quantity(await host.step(minerState(), 5000)), 2);
    for (let i = 0; i < 50 && errors.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    assert.match(
      errors[0],
      /^a message it posted to the miner is not part of the protocol .*: null$/,
    );
  } finally {
    host.close();
  }
});

for (const isolation of ["process", "thread"] as const) {
  Deno.test(`an agent cannot overhear the host's messages or forge the worker's reply (${isolation})`, async () => {
    const errors: string[] = [];
    const host = await AgentHost.start(
      { path: fixtures, name: "FixtureAgent", params: "forge=true count=true", uid: 1 },
      { isolation, onError: (message) => errors.push(message) },
    );
    try {
      // The worker's own reply, not the empty one the agent posted first for the same step id.
      assert.equal(quantity(await host.step(minerState(), 5000)), 1);
      assert.equal(quantity(await host.step(minerState(), 5000)), 2);
      await until(() => errors.length === 2, "the reports of both posted messages");
      for (const error of errors) {
        // The agent saw none of the host's messages on its global port.
        assert.match(
          error,
          /^a message it posted to the miner is not part of the protocol .*: \{"kind":"step","id":1,"seen":0,/,
        );
      }
    } finally {
      host.close();
    }
  });
}

Deno.test("what an agent posts is quoted in the report cut between characters", async () => {
  const errors: string[] = [];
  const host = await AgentHost.start(
    { path: fixtures, name: "FixtureAgent", params: "post_emoji=true", uid: 1 },
    { onError: (message) => errors.push(message) },
  );
  try {
    await host.step(minerState(), 5000);
    for (let i = 0; i < 50 && errors.length < 1; i++) await new Promise((r) => setTimeout(r, 20));
    // 80 characters: the opening quote and 79 emoji (until this version 80 UTF-16 units, which
    // ended inside the 40th emoji).
    assert.ok(errors[0].isWellFormed(), errors[0]);
    assert.ok(errors[0].endsWith(`: "${"😀".repeat(79)}…`), errors[0]);
  } finally {
    host.close();
  }
});

Deno.test("an agent whose constructor never returns fails to load after the load time limit", async () => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<"hung">((resolve) => timer = setTimeout(() => resolve("hung"), 20_000));
  const start = AgentHost.start(
    { path: fixtures, name: "FixtureAgent", params: "hang_on_load=true", uid: 1 },
    { loadTimeoutMs: 500 },
  );
  try {
    const outcome = await Promise.race([start.then(() => "started", (e: Error) => e), hang]);
    assert.ok(outcome instanceof Error, `load ${outcome}`);
    assert.match(
      outcome.message,
      /^FixtureAgent did not finish loading within 0\.5 s \(a constructor or module code/,
    );
  } finally {
    clearTimeout(timer);
    start.then((host) => host.close(), () => {});
  }
});

Deno.test("an agent allocating without bound is held at its heap limit instead of growing the process", async () => {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "held");
  const host = await AgentHost.start(
    { path: fixtures, name: "FixtureAgent", params: `hoard_file=${file}`, uid: 1 },
    { maxMemoryMb: 128, restartAfterMs: 60_000 },
  );
  try {
    // Held at its limit, it either overruns the deadline or is found past its limit first and
    // replaced (which of the two depends on when V8 collects): both keep the process small.
    const first = await host.step(minerState(), 200);
    if (first.kind !== "overran") {
      assert.equal(first.kind, "failed", JSON.stringify(first));
      assert.equal((first as { problem: string }).problem, "agent replaced");
      assert.match((first as { message: string }).message, /past its limit \(128 MiB\)/);
    }
    // What the agent got before it stopped getting more: it stops near its limit, where without
    // one it goes on to the machine's (GiBs).
    let held = 0;
    for (let still = 0; still < 10 && held <= 512; await new Promise((r) => setTimeout(r, 200))) {
      const now = Number(await Deno.readTextFile(file).catch(() => "0"));
      still = now === held ? still + 1 : 0;
      held = now;
    }
    assert.ok(held <= 512, `the agent holds ${held} MiB`);
  } finally {
    host.close();
    await Deno.remove(dir, { recursive: true });
  }
});

for (
  const [how, changed] of [
    ["replace", "Array\\.prototype\\.push"],
    ["delete", "Array\\.prototype\\.push"],
    ["add", "Object\\.prototype\\.injected \\(added\\)"],
  ]
) {
  Deno.test(`an agent that breaks a built-in the kit relies on (${how}) is replaced, not blamed on the next states`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      await withFixtureHost(
        `tamper_flag=${join(dir, "flag")} tamper_how=${how}`,
        {},
        async (host, events) => {
          const failed = await host.step(minerState(), 5000);
          assert.equal(failed.kind, "failed");
          assert.match(
            (failed as { message: string }).message,
            new RegExp(`^agent FixtureAgent changed ${changed}, which the miner's own code`),
          );
          // A fresh instance (its count starts again at 1) answers the next update.
          assert.equal(quantity(await host.step(minerState(), 5000)), 1);
          assert.match(events.restarts.join("\n"), /replacing it with a fresh instance/);
        },
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("a reply to an update from the wire is compressed in the agent's worker, not the axon's thread", async () => {
  await withFixtureHost("", {}, async (host) => {
    const wire = encodeStateUpdate(minerState());
    const outcome = await host.stepUpdate(wire, alice.ss58Address, 5000);
    assert.equal(outcome.kind, "ok", JSON.stringify(outcome));
    // The reply field comes ready, with the count the miner's metrics take; the reply itself
    // stays in the agent's process.
    const { instructions, wire: packed, ...rest } = outcome as {
      instructions?: number;
      wire?: string;
    };
    assert.ok(packed !== undefined, "the reply field comes ready");
    assert.equal(instructions, 1);
    assert.ok(!("response" in rest), Object.keys(rest).join(", "));
    const reply = decodeResponse({ ...wire, response: packed, compressed: true });
    assert.equal((reply as { instructions: { quantity: number }[] }).instructions[0].quantity, 1);
  });
});

// Measured in UTF-8 bytes, as a validator reads it: 33 Mi characters of "é" are 66 MiB, also by an
// agent that replaced Buffer.byteLength to pass the count.
for (
  const [params, mib] of [
    ["pad_mb=65", "65.0"],
    ["pad_mb=33 pad_char=é", "66.0"],
    ["pad_mb=33 pad_char=é fake_byte_length=true", "66.0"],
  ]
) {
  Deno.test(`a reply larger than a validator reads is answered empty and counted invalid (${params})`, async () => {
    const { miner, warnings } = await startFixtureMinerKeepingWarnings(params);
    try {
      const result = await sendMarketState(miner.port, 10);
      assert.equal(result.statusCode, 200, result.statusMessage);
      assert.deepEqual(decodeResponse(result.fields!), { agent_id: 1, instructions: [] });
      assert.match(
        warnings.join("\n"),
        new RegExp(
          `invalid agent response: ${mib.replace(".", "\\.")} MiB as JSON, more than a ` +
            "validator reads \\(64\\.0 MiB\\)",
        ),
      );
      const text = await miner.metrics.registry.metrics();
      assert.match(text, /taos_miner_agent_errors_total\{reason="invalid"[^}]*\} 1$/m);
    } finally {
      await miner.stop();
    }
  });
}

/**
 * An agent whose instances follow a plan, one entry per instance (the last repeating): `exit<n>`
 * calls `Deno.exit(3)` at its n-th update, `throw` fails in its constructor, `ok` answers every
 * update. The instances are counted in the file `counter`.
 */
const PLANNED_AGENT = `export class Planned {
  constructor(uid, params) {
    const counter = params.counter;
    let started = 0;
    try { started = Number(Deno.readTextFileSync(counter)); } catch { /* the first */ }
    Deno.writeTextFileSync(counter, String(started + 1));
    const plan = params.plan.split(",");
    this.step = plan[Math.min(started, plan.length - 1)];
    this.updates = 0;
    if (this.step === "throw") throw new Error("instance " + (started + 1) + " refuses to start");
  }
  onUpdate() {
    this.updates++;
    if (this.step === "exit" + this.updates) Deno.exit(3);
    return [];
  }
}
`;

/** Runs the Planned agent with `plan` in a host that waits `reloadRetryMs` before reloads. */
async function withPlannedHost(
  plan: string,
  body: (host: AgentHost, restarts: string[], file: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "Planned.js");
  await Deno.writeTextFile(file, PLANNED_AGENT);
  const restarts: string[] = [];
  const host = await AgentHost.start(
    { path: dir, name: "Planned", params: `counter=${join(dir, "count")} plan=${plan}`, uid: 1 },
    { onRestart: (message) => restarts.push(message), reloadRetryMs: 300 },
  );
  try {
    await body(host, restarts, file);
  } finally {
    host.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Waits (up to 10 s) until `restarts` holds `count` messages. */
async function restartsReach(restarts: string[], count: number): Promise<void> {
  for (let i = 0; i < 200 && restarts.length < count; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test("a finished update starts the reload wait over, and a fresh instance has finished none", async () => {
  // The first instance ends at its first update, the second at its second, the third at its
  // first again: its reload waits the first 0.3 s, not the 0.6 s the first instance left.
  await withPlannedHost("exit1,exit2,exit1,ok", async (host, restarts) => {
    assert.equal((await host.step(minerState(), 20_000)).kind, "failed");
    await restartsReach(restarts, 2);
    assert.equal((await host.step(minerState(), 20_000)).kind, "ok");
    assert.equal((await host.step(minerState(), 20_000)).kind, "failed");
    // Queued until the third instance is loaded, which ends at it.
    assert.equal((await host.step(minerState(), 20_000)).kind, "failed");
    await restartsReach(restarts, 5);
    assert.equal((await host.step(minerState(), 20_000)).kind, "ok");
    const unfinished = "agent Planned ended itself (exit code 3) before finishing an update";
    assert.deepEqual(restarts, [
      `${unfinished}; loading a fresh instance in 0.3 s`,
      "agent Planned loaded again",
      "agent Planned ended itself (exit code 3); replacing it with a fresh instance",
      `${unfinished}; loading a fresh instance in 0.3 s`,
      "agent Planned loaded again",
    ]);
  });
});

Deno.test("a replacement that keeps failing to load is retried after a doubling wait", async () => {
  await withPlannedHost("exit2,throw,throw,ok", async (host, restarts, file) => {
    assert.equal((await host.step(minerState(), 20_000)).kind, "ok");
    assert.equal((await host.step(minerState(), 20_000)).kind, "failed");
    await restartsReach(restarts, 4);
    const refused = (n: number) =>
      `agent could not be restarted: Planned failed to start: instance ${n} refuses to start ` +
      `(at ${file}:10:38)`;
    assert.deepEqual(restarts, [
      "agent Planned ended itself (exit code 3); replacing it with a fresh instance",
      `${refused(2)}; retrying in 0.3 s`,
      `${refused(3)}; retrying in 0.6 s`,
      "agent Planned loaded again",
    ]);
    assert.equal((await host.step(minerState(), 20_000)).kind, "ok");
  });
});

Deno.test("an agent ending before its first update is reloaded after 5 s unless told otherwise", async () => {
  const restarts: string[] = [];
  const host = await AgentHost.start(
    { path: fixtures, name: "FixtureAgent", params: "exit_at=1", uid: 1 },
    { onRestart: (message) => restarts.push(message) },
  );
  try {
    assert.equal((await host.step(minerState(), 20_000)).kind, "failed");
    assert.deepEqual(restarts, [
      "agent FixtureAgent ended itself (exit code 3) before finishing an update; loading a " +
      "fresh instance in 5 s",
    ]);
  } finally {
    host.close();
  }
});

Deno.test("an error the agent raises after its update overran is reported; the agent keeps its state", async () => {
  // The timer throws at 300 ms, while the update (1 s) is still computing but already answered.
  await withFixtureHost("throw_at=1 throw_after_ms=300 sleep_ms=1000", {}, async (host, events) => {
    assert.equal((await host.step(minerState(), 100)).kind, "overran");
    for (let i = 0; i < 100 && events.errors.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(events.errors, ["timer failed"]);
    // Computed by the same instance once the first finishes: its count went on to 2.
    assert.equal(quantity(await host.step(minerState(), 10_000)), 2);
    assert.deepEqual(events.restarts, []);
  });
});
