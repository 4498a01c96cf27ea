import assert from "node:assert/strict";
import { eventLoopBreather } from "../../sim/interrupt.ts";

const module = new URL("../../sim/interrupt.ts", import.meta.url).href;

/**
 * A child process listening for interrupts (`dispose` first stops listening), printing `ready`
 * and then each abort with its reason and exit code, and each second signal with the first. It
 * ends by itself after 30 s, so that a signal it fails to act on shows as a wrong exit rather
 * than a hung test.
 */
function listener(dispose = false) {
  const code = `
    import { listenForInterrupt } from ${JSON.stringify(module)};
    const interrupt = listenForInterrupt((second, first) =>
      console.log("second " + second + " after " + first));
    interrupt.signal.addEventListener("abort", () =>
      console.log("stopping " + interrupt.signal.reason + " " + interrupt.exitCode()));
    ${dispose ? "interrupt[Symbol.dispose]();" : ""}
    console.log("ready");
    await new Promise((resolve) => setTimeout(resolve, 30_000));
    console.log("not stopped");
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let stdout = "";
  /** Everything printed until `text` is (or the output ends). */
  const until = async (text: string) => {
    while (!stdout.includes(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      stdout += value;
    }
    return stdout;
  };
  return { child, until };
}

for (const [signal, exit] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  Deno.test(`a first ${signal} asks the run to stop with exit ${exit}; a second ends it at once`, async () => {
    const { child, until } = listener();
    await until("ready");
    child.kill(signal);
    assert.match(await until("stopping"), new RegExp(`stopping ${signal} ${exit}\n`));
    child.kill(signal);
    const status = await child.status;
    const stdout = await until("not stopped");
    assert.doesNotMatch(stdout, /not stopped/);
    assert.equal(status.code, exit, stdout);
    assert.equal(status.signal, null, "it exits with the code rather than dying of the signal");
  });
}

Deno.test("a second signal of another kind is told with the first, and exits with its own code", async () => {
  const { child, until } = listener();
  await until("ready");
  child.kill("SIGINT");
  await until("stopping");
  child.kill("SIGTERM");
  const status = await child.status;
  const stdout = await until("not stopped");
  assert.match(stdout, /second SIGTERM after SIGINT\n/);
  assert.equal(status.code, 143, stdout);
});

Deno.test("once disposed, an interrupt ends the process as it would without the listener", async () => {
  const { child, until } = listener(true);
  await until("ready");
  child.kill("SIGINT");
  const status = await child.status;
  const stdout = await until("not stopped");
  assert.doesNotMatch(stdout, /stopping|not stopped/);
  assert.equal(status.signal, "SIGINT");
});

Deno.test("eventLoopBreather lets timers (and signals) in once `everyMs` has passed since it last did", async () => {
  const original = performance.now;
  const clock = { now: 1_000 };
  performance.now = () => clock.now;
  try {
    const breathe = eventLoopBreather(); // every 200 ms by default
    /** Whether a timer due before the call ran during it. */
    const yielded = async () => {
      let ran = false;
      const timer = setTimeout(() => ran = true, 0);
      await breathe();
      clearTimeout(timer);
      return ran;
    };
    const seen: boolean[] = [];
    for (const at of [1_100, 1_199, 1_200, 1_250, 1_399, 1_400]) {
      clock.now = at;
      seen.push(await yielded());
    }
    // 200 ms after its creation, then 200 ms after that yield: not at every call past the first.
    assert.deepEqual(seen, [false, false, true, false, false, true]);
  } finally {
    performance.now = original;
  }
});
