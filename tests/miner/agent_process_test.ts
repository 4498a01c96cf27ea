/**
 * The miner's agent runs in a process of its own, which never outlives its agent's turn: a stuck
 * agent's process is killed when a fresh instance replaces it, and the process ends with its host,
 * however the host ends.
 */
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { AgentHost } from "../../miner/agent_host.ts";
import { cryptoReady } from "../../bittensor/keypair.ts";
import { testTempDir } from "../temp_dir.ts";
import { until } from "../until.ts";
import {
  fixtures,
  localMinerFlags,
  minerState,
  minerWallet,
  quantity,
  repoRoot,
  spawnMiner,
} from "./support.ts";

await cryptoReady();

/** Whether process `pid` is gone (a zombie nobody reaped counts: it runs no more). */
function ended(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

/** The processes whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (parent === pid) children.push(Number(entry.name));
    } catch {
      // Ended meanwhile.
    }
  }
  return children;
}

Deno.test("a stuck agent's process is killed when a fresh instance replaces it", async () => {
  const flag = join(testTempDir("taos-stuck-process-"), "flag");
  const restarts: string[] = [];
  const host = await AgentHost.start(
    { path: fixtures, name: "FixtureAgent", params: `count=true stuck_flag=${flag}`, uid: 1 },
    { restartAfterMs: 200, onRestart: (message) => restarts.push(message) },
  );
  try {
    const stuck = host.agentPid;
    assert.ok(stuck !== null && !ended(stuck), `agent process ${stuck}`);
    assert.equal((await host.step(minerState(), 100)).kind, "overran");
    await until(() => restarts.length > 0, "the stuck agent's replacement");
    assert.match(restarts[0], /still computing 200 ms after its deadline/);
    await until(() => ended(stuck), `the end of the stuck agent's process ${stuck}`);
    // A fresh instance (its count starts at 1) in a process of its own answers.
    assert.equal(quantity(await host.step(minerState(), 20_000)), 1);
    assert.ok(host.agentPid !== null && host.agentPid !== stuck, `agent process ${host.agentPid}`);
  } finally {
    host.close();
  }
});

Deno.test("closing the host kills its agent's process", async () => {
  const host = await AgentHost.start({ path: fixtures, name: "FixtureAgent", params: "", uid: 1 });
  const pid = host.agentPid;
  assert.ok(pid !== null && !ended(pid), `agent process ${pid}`);
  host.close();
  await until(() => ended(pid), `the end of the agent's process ${pid}`);
});

Deno.test("a stuck agent's process ends by itself when its host is killed outright", async () => {
  const flag = join(testTempDir("taos-killed-host-"), "flag");
  const host = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(fixtures, "host_script.ts"), `stuck_flag=${flag}`, "100", "stay"],
    cwd: repoRoot,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = host.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let pid: number;
  try {
    const line = (await lines.read()).value ?? "";
    const [kind, id] = line.trim().split(" ");
    assert.equal(kind, "overran", line);
    pid = Number(id);
    assert.ok(!ended(pid), `agent process ${pid}`);
  } finally {
    host.kill("SIGKILL");
    await host.status;
    await lines.cancel();
  }
  await until(() => ended(pid), `the end of the agent's process ${pid}`);
});

/** The ids of the processes FixtureAgent started (`spawn_to`), once it has written them. */
async function spawnedBy(file: string): Promise<number[]> {
  await until(() => {
    try {
      return Deno.readTextFileSync(file).split(" ").length === 2;
    } catch {
      return false;
    }
  }, "the agent's subprocesses");
  const pids = Deno.readTextFileSync(file).split(" ").map(Number);
  for (const pid of pids) assert.ok(pid > 0 && !ended(pid), `subprocess ${pid}`);
  return pids;
}

/** Ends what a failed test left running. */
function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

Deno.test("the programs an agent starts end with its process when the host closes", async () => {
  const file = join(testTempDir("taos-agent-spawn-"), "pids");
  const host = await AgentHost.start(
    { path: fixtures, name: "FixtureAgent", params: `spawn_to=${file}`, uid: 1 },
  );
  let pids: number[] = [];
  try {
    pids = await spawnedBy(file);
    host.close();
    for (const pid of pids) await until(() => ended(pid), `the end of subprocess ${pid}`);
  } finally {
    host.close();
    killAll(pids);
  }
});

Deno.test("the programs an agent starts end with its process when the host is killed outright", async () => {
  const file = join(testTempDir("taos-agent-spawn-killed-"), "pids");
  const host = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(fixtures, "host_script.ts"), `spawn_to=${file}`, "10000", "stay"],
    cwd: repoRoot,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = host.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let pids: number[] = [];
  try {
    const line = (await lines.read()).value ?? "";
    assert.equal(line.trim().split(" ")[0], "ok", line);
    pids = await spawnedBy(file);
    host.kill("SIGKILL");
    await host.status;
    for (const pid of pids) await until(() => ended(pid), `the end of subprocess ${pid}`);
  } finally {
    try {
      host.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await host.status;
    await lines.cancel();
    killAll(pids);
  }
});

for (const signal of ["SIGTERM", "SIGINT", "SIGKILL"] as const) {
  Deno.test(`the miner's agent process ends with the miner (${signal})`, async () => {
    // An axon port of its own (-a 0): test files run in parallel, and two miners on the default
    // port would have one exit at once.
    const miner = spawnMiner([
      ...localMinerFlags(await minerWallet("taos-agent-process-")),
      ...["-a", "0"],
    ]);
    let agents: number[] = [];
    try {
      await miner.firstLine();
      agents = childrenOf(miner.pid);
      assert.equal(agents.length, 1, `the miner's child processes: ${agents}`);
    } finally {
      await miner.stop(signal);
    }
    await until(() => ended(agents[0]), `the end of the agent's process ${agents[0]}`);
  });
}

Deno.test("what the agent writes reaches the host's stdout and stderr, apart from its messages", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(fixtures, "host_script.ts"), "say=hello", "10000"],
    cwd: repoRoot,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  // The agent's lines and bytes shaped like a frame header, then the host's own line.
  const frameHeader = "\0\0\0\x05";
  assert.ok(stdout.startsWith(`hello on stdout\n${frameHeader}`), JSON.stringify(stdout));
  assert.match(stdout.slice(`hello on stdout\n${frameHeader}`.length), /^ok \d+\n$/);
  assert.equal(stderr, "hello on stderr\n");
});

Deno.test("a host exiting while its agent process starts leaves no socket directory behind", async () => {
  const tmp = testTempDir("taos-exit-early-");
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(fixtures, "host_script.ts"), "", "0", "exit"],
    cwd: repoRoot,
    env: { TMPDIR: tmp },
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  assert.deepEqual([...Deno.readDirSync(tmp)].map((entry) => entry.name), []);
});

/** Starts the fixture agent's host with `tmpdir` as TMPDIR; its exit code and standard error. */
async function hostWithTmpdir(tmpdir: string): Promise<{ code: number; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(fixtures, "host_script.ts"), "", "1000"],
    cwd: repoRoot,
    env: { TMPDIR: tmpdir },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
}

Deno.test("a temporary directory the agent's socket cannot be made in is named with TMPDIR", async () => {
  const missing = join(testTempDir("taos-no-tmp-"), "missing");
  const output = await hostWithTmpdir(missing);
  assert.notEqual(output.code, 0);
  assert.match(
    output.stderr,
    new RegExp(
      `cannot start FixtureAgent: cannot make the agent's socket directory in ${missing} ` +
        `\\(TMPDIR\\): No such file or directory`,
    ),
  );
});

Deno.test("a TMPDIR too long for the agent's socket is named, with the way out", async () => {
  const long = join(testTempDir("taos-long-tmp-"), "d".repeat(60), "e".repeat(60));
  mkdirSync(long, { recursive: true });
  const { code, stderr } = await hostWithTmpdir(long);
  assert.notEqual(code, 0);
  assert.match(
    stderr,
    new RegExp(
      `cannot start FixtureAgent: cannot listen on ${long}/taos-agent-\\w+/socket: its path has ` +
        `\\d+ bytes, more than the 107 a socket's address holds; set TMPDIR to a shorter directory`,
    ),
    stderr,
  );
  // Nothing is left behind in it.
  assert.deepEqual([...Deno.readDirSync(long)], []);
});
