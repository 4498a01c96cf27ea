/** `--prometheus.host`: the address the miner's metrics exporter binds, named in its ready line. */
import assert from "node:assert/strict";
import {
  FIXTURE_AGENT_FLAGS,
  localMinerFlags,
  minerWallet,
  runMinerToExit,
  spawnMiner,
} from "./support.ts";

/** Whether an HTTP GET of `/metrics` at `host:port` is answered. */
async function answers(host: string, port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://${host}:${port}/metrics`);
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

Deno.test("taos miner binds its metrics exporter where --prometheus.host says, and says where", async () => {
  const root = await minerWallet("taos-miner-exporter-");
  // 127.0.0.2 is on the loopback interface too (Linux answers all of 127/8), yet not 127.0.0.1:
  // an exporter still bound to every interface would answer on both.
  const flags = [...localMinerFlags(root), "-a", "0", "--axon.ip", "127.0.0.1"];
  const miner = spawnMiner([...flags, "--prometheus.host", "127.0.0.2"]);
  const byDefault = spawnMiner(flags);
  try {
    const line = await miner.firstLine();
    // Until this version the flag was unknown, and the line named the ports alone.
    assert.match(line, /, axon port \d+ on 127\.0\.0\.1, metrics port \d+ on 127\.0\.0\.2$/);
    const port = Number(/metrics port (\d+)/.exec(line)![1]);
    assert.equal(await answers("127.0.0.2", port), true);
    assert.equal(await answers("127.0.0.1", port), false, "bound to 127.0.0.2 alone");
    // As the reference's exporter: every interface unless told otherwise.
    const defaultLine = await byDefault.firstLine();
    assert.match(defaultLine, /, metrics port \d+ on 0\.0\.0\.0$/);
    const defaultPort = Number(/metrics port (\d+)/.exec(defaultLine)![1]);
    for (const host of ["127.0.0.1", "127.0.0.2"]) {
      assert.equal(await answers(host, defaultPort), true, host);
    }
    // A miner without a chain, given no --netuid: until this version its series said netuid 79.
    const text = await (await fetch(`http://127.0.0.1:${defaultPort}/metrics`)).text();
    assert.match(text, /^taos_miner_\w+\{[^}]*netuid="local"/m);
    assert.doesNotMatch(text, /netuid="79"/);
  } finally {
    for (const child of [miner, byDefault]) {
      const stopped = await child.stop();
      assert.equal(stopped.code, 0, stopped.stderr);
    }
  }
});

Deno.test("taos miner names --prometheus.host when its address is empty or cannot be bound", async () => {
  const root = await minerWallet("taos-miner-exporter-");
  const local = [
    "--local",
    "-p",
    root,
    ...FIXTURE_AGENT_FLAGS,
    "-a",
    "0",
    "--axon.ip",
    "127.0.0.1",
  ];
  const cases: [string[], RegExp][] = [
    [["--prometheus.host="], /^taos miner: --prometheus\.host: must not be empty$/m],
    [
      ["--prometheus.host", "999.1.1.1", "--prometheus.port", "0"],
      /^taos miner: --prometheus\.host: cannot listen on 999\.1\.1\.1 port 0: /m,
    ],
    // Not this machine's address: the address is at fault, not the port.
    [
      ["--prometheus.host", "192.0.2.1", "--prometheus.port", "0"],
      /^taos miner: --prometheus\.host: cannot listen on 192\.0\.2\.1 port 0: /m,
    ],
  ];
  for (const [args, expected] of cases) {
    const out = await runMinerToExit([...local, ...args]);
    assert.equal(out.code, 2, `${args.join(" ")}: ${out.stderr}`);
    assert.match(out.stderr, expected);
    assert.doesNotMatch(out.stderr, /\bat .*\.ts:\d+/, "no stack trace");
  }
});
