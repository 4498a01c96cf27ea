import assert from "node:assert/strict";
import { needsStrace } from "../strace.ts";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { smallPreset } from "../../sim/config.ts";
import { loadSimConfig } from "../../sim/load.ts";
import { interruptOnceProgressing } from "./interrupt.ts";
import { checkRunFiles } from "./output_files.ts";
import { main, taos } from "./taos_process.ts";
import { fileURLToPath } from "node:url";

const fixture = fileURLToPath(new URL("./fixtures/simulation_0.xml", import.meta.url));

Deno.test("taos sim writes byte-identical outputs for a seed with 1 and 2 threads", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const common = ["sim", "--config", "small", "--duration", "10m", "--seed", "4", "--quiet"];
    const one = await taos(...common, "--threads", "1", "--out", join(dir, "one"));
    assert.equal(one.code, 0, one.stderr);
    const two = await taos(...common, "--threads", "2", "--out", join(dir, "two"));
    assert.equal(two.code, 0, two.stderr);
    assert.match(one.stdout, /messages processed: \d+/);
    assert.match(one.stdout, /excess kurtosis/);
    // The last line names where the files went.
    assert.equal(one.stdout.trimEnd().split("\n").at(-1), `wrote ${join(dir, "one")}`);
    const files = readdirSync(join(dir, "one")).sort();
    assert.deepEqual(files, readdirSync(join(dir, "two")).sort());
    for (const name of ["events-0.csv", "trades-1.csv", "l2-0.csv", "balances.csv"]) {
      assert.ok(files.includes(name), name);
    }
    for (const name of files.filter((f) => f !== "summary.json")) {
      const a = readFileSync(join(dir, "one", name));
      const b = readFileSync(join(dir, "two", name));
      assert.ok(a.equals(b), `${name} differs between thread counts`);
    }
    const trades = readFileSync(join(dir, "one", "trades-0.csv"), "utf8").trim().split("\n");
    assert.ok(trades.length > 10);
    assert.match(trades[1], /^\d+,\d+,(buy|sell),\d+\.\d{2},\d+\.\d{4},/);
    const l2 = readFileSync(join(dir, "one", "l2-0.csv"), "utf8").trim().split("\n");
    assert.equal(l2.length, 1 + 120); // header + one line per 5 s step
    // Prices and volumes at the configured decimals, as in the events and trades files.
    assert.match(l2[60], /^\d+,[\d.]+,[\d.]+,\d+\.\d{2},\d+\.\d{4},\d+\.\d{2},\d+\.\d{4},/);
    const summary = JSON.parse(readFileSync(join(dir, "one", "summary.json"), "utf8"));
    assert.equal(summary.seed, 4);
    assert.ok(summary.events > 0 && summary.eventsPerSecond > 0);
    assert.ok(typeof summary.facts.excessKurtosis === "number");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("taos sim rejects bad flags with a usage error naming the flag", async () => {
  const duration = await taos("sim", "--duration", "forever");
  assert.equal(duration.code, 2);
  assert.match(duration.stderr, /--duration: 'forever' is not a duration/);
  const long = await taos("sim", "--duration", "200000d");
  assert.equal(long.code, 2);
  assert.match(long.stderr, /--duration: '200000d' is longer than the clock's 104 days/);
  const short = await taos("sim", "--config", "small", "--duration", "90");
  assert.equal(short.code, 2);
  assert.match(short.stderr, /--duration: must be longer than the step \(5s\), got 90ns/);
  const books = await taos("sim", "--books", "-3");
  assert.equal(books.code, 2);
  assert.match(books.stderr, /--books: '-3' must be >= 1/);
  // Each range's message names its bound, so these fail if a bound moves by one either way.
  for (
    const [flag, value, bound] of [
      ["--books", "4097", "<= 4096"],
      ["--threads", "1025", "<= 1024"],
      ["--threads", "0", ">= 1"],
      ["--depth", "101", "<= 100"],
      ["--depth", "0", ">= 1"],
    ]
  ) {
    const run = await taos("sim", "--config", "small", "--duration", "1m", flag, value);
    assert.equal(run.code, 2, `${flag} ${value}`);
    assert.match(run.stderr, new RegExp(`^taos sim: ${flag}: '${value}' must be ${bound}$`, "m"));
  }
  const negativeSeed = await taos("sim", "--seed", "-1");
  assert.equal(negativeSeed.code, 2);
  assert.match(negativeSeed.stderr, /--seed: '-1' must be >= 0/);
  const noValue = await taos("sim", "--out", "--quiet");
  assert.equal(noValue.code, 2);
  assert.match(noValue.stderr, /^taos sim: --out: needs a value$/m);
  const seed = await taos("sim", "--seed", "9007199254740992");
  assert.equal(seed.code, 2);
  assert.match(seed.stderr, /--seed: '9007199254740992' must be <= 9007199254740991/);
  const unknown = await taos("sim", "--colour", "blue");
  assert.equal(unknown.code, 2);
  const missing = await taos("sim", "--config", "/nonexistent/config.json");
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read/);
  const inherited = await taos("sim", "--config", "constructor");
  assert.equal(inherited.code, 2);
  assert.match(inherited.stderr, /--config: constructor: not a preset/);
  const agentsAlone = await taos("sim", "--agents", "3");
  assert.equal(agentsAlone.code, 2);
  assert.match(agentsAlone.stderr, /--agents: only for a backtest/);
  const file = await Deno.makeTempFile();
  try {
    for (const out of [file, join(file, "sub"), ""]) {
      const bad = await taos("sim", "--config", "small", "--duration", "1m", "--out", out);
      assert.equal(bad.code, 2, `--out '${out}'`);
      assert.match(
        bad.stderr,
        /^taos sim: --out: (.* exists and is not a directory|cannot write|must not be empty)/,
      );
      assert.doesNotMatch(bad.stderr, /Uncaught|at .*\.ts:\d+/);
    }
  } finally {
    await Deno.remove(file);
  }
});

for (
  const [signal, exit, what] of [
    ["SIGINT", 130, "Ctrl-C"],
    ["SIGTERM", 143, "SIGTERM (timeout, kill)"],
  ] as const
) {
  Deno.test(`${what} stops taos sim at a step: the files are flushed and the summary says how far it got`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", main, "sim", "--config", "small", "--duration", "1d", "--threads", "1"]
          .concat(["--progress", "--out", dir]),
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stderr = await interruptOnceProgressing(child, 300, signal);
      const { code } = await child.status;
      await child.stdout.cancel();
      assert.equal(code, exit, stderr);
      assert.match(stderr, /interrupted at \d\d:\d\d:\d\d of 24:00:00 simulated; the files in/);
      const summary = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8"));
      assert.equal(summary.interrupted, true);
      assert.equal(summary.signal, signal);
      assert.ok(summary.simulated > 0 && summary.simulated < 86_400e9, String(summary.simulated));
      const l2 = readFileSync(join(dir, "l2-0.csv"), "utf8").trim().split("\n");
      assert.equal(l2.length - 1, summary.simulated / 5e9, "one L2 row per step run");
      const events = readFileSync(join(dir, "events-1.csv"), "utf8").trim().split("\n");
      assert.ok(events.length > 1 && Number(events.at(-1)!.split(",")[0]) <= summary.simulated);
      // Every file ends with a whole line at the same step, and the facts cover what was written.
      const totals = checkRunFiles(dir, 5);
      assert.equal(totals.lastStep, summary.simulated);
      assert.equal(summary.facts.trades, totals.trades);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("a config file's unknown balances or volume distribution type is named with the types taken", async () => {
  const dir = await Deno.makeTempDir({ prefix: "taos-sim-kind-" });
  try {
    const config = join(dir, "kinds.json");
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        extends: "small",
        remoteBalances: { type: "uniform", base: 1, quote: 1 },
        agents: { algo: { volumeDistribution: { type: "beta" } } },
      }),
    );
    const refused = await taos("sim", "--config", config);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      refused.stderr,
      /^ {2}remoteBalances\.type: is "uniform": must be one of "fixed", "pareto", "pareto-50"$/m,
    );
    assert.match(
      refused.stderr,
      /^ {2}agents\.algo\.volumeDistribution\.type: is "beta": must be one of "lognormal", "dirac", "gamma"$/m,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--out=~/dir writes under the home directory, not into a directory named ~", async () => {
  // The shell expands no `~` after `=`: taos does, for --out as for the other path flags.
  const home = await Deno.makeTempDir();
  const cwd = await Deno.makeTempDir();
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", main, "sim", "--config", "small", "--duration", "1m", "--out=~/run"],
      cwd,
      env: { HOME: home },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    assert.ok(existsSync(join(home, "run", "summary.json")));
    assert.deepEqual(readdirSync(cwd), []);
  } finally {
    await Deno.remove(home, { recursive: true });
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("an empty path flag is refused naming the flag, in a simulation and in a backtest", async () => {
  // An empty path is a mistake, not a path: taken as one, `--agent ''` would load agents from the
  // working directory, and `--config ''` or an empty feed would be told as a file that cannot be
  // read.
  const backtest = ["--agent-name", "MarketMakerAgent", "--duration", "30s"];
  // Where a backtest taken by mistake would write, rather than out/backtest here.
  const out = await Deno.makeTempDir();
  for (
    const args of [
      ["--config", ""],
      ["--out", ""],
      ["--fundamental-feed", ""],
      ["--external-feed", ""],
      ["--agent", "", ...backtest, "--out", out],
      ["--out=", ...backtest],
    ]
  ) {
    const flag = args[0].replace(/=$/, "");
    const run = await taos("sim", ...args);
    assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
    assert.equal(run.stderr, `taos sim: ${flag}: must not be empty\n`);
  }
  await Deno.remove(out, { recursive: true });
});

Deno.test("--out replaces an earlier run's files: no stale book files stay beside a smaller run", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const quick = ["sim", "--config", "small", "--duration", "1m", "--quiet", "--out", dir];
    await Deno.writeTextFile(join(dir, "notes.txt"), "mine");
    assert.equal((await taos(...quick, "--books", "3")).code, 0);
    assert.ok(readdirSync(dir).includes("trades-2.csv"));
    assert.equal((await taos(...quick, "--books", "1")).code, 0);
    assert.deepEqual(readdirSync(dir).sort(), [
      "balances.csv",
      "config.json",
      "events-0.csv",
      "l2-0.csv",
      "notes.txt",
      "summary.json",
      "trades-0.csv",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("configs load from JSON, TOML and the reference XML; errors name the field", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const xml = await loadSimConfig(fixture);
    assert.equal(xml.config.books, 20);
    assert.equal(xml.config.agents.stylized?.count, 1000);

    const json = join(dir, "run.json");
    await Deno.writeTextFile(json, JSON.stringify({ ...xml.config, books: 3, duration: "2h" }));
    const loaded = await loadSimConfig(json);
    assert.equal(loaded.config.books, 3);
    assert.equal(loaded.config.duration, 7200e9);

    const bad = join(dir, "bad.json");
    const broken = structuredClone(xml.config) as unknown as Record<string, unknown>;
    (broken.exchange as Record<string, unknown>).priceDecimals = 1;
    await Deno.writeTextFile(bad, JSON.stringify(broken));
    await assert.rejects(() => loadSimConfig(bad), /exchange\.priceDecimals/);

    const toml = join(dir, "run.toml");
    await Deno.writeTextFile(
      toml,
      [
        'duration = "30m"',
        "books = 2",
        "remoteAgentCount = 1",
        "[remoteBalances]",
        'type = "fixed"',
        "base = 10",
        "quote = 3000",
        "[exchange.fees]",
        "tiers = [{ volumeRequired = 0, makerFee = 0.0, takerFee = 0.001 }]",
        "[processes]",
        'updatePeriod = "10s"',
        "[processes.fundamental]",
        "mu = 0",
        "sigma = 0.012",
        "lambda = 0.002",
        "muJump = 0",
        "sigmaJump = 0.00335",
        "[agents]",
      ].join("\n"),
    );
    const fromToml = await loadSimConfig(toml);
    assert.equal(fromToml.config.duration, 1800e9);
    assert.equal(fromToml.config.exchange.fees.tiers[0].takerFee, 0.001);
    await Deno.writeTextFile(toml, "books = 2\nduration = 5\n");
    await assert.rejects(() => loadSimConfig(toml), /remoteAgentCount/);

    // Limits of the native model are checked here, by field path, before anything runs.
    const limits = structuredClone(xml.config) as unknown as {
      agents: { stylized: { count: number } };
      exchange: { fees: { historySlots: number }; initialPrice: number };
      remoteBalances: unknown;
    };
    limits.agents.stylized.count = 3_000_000;
    limits.exchange.fees.historySlots = 1e9;
    limits.exchange.initialPrice = 1e-9;
    limits.remoteBalances = { type: "fixed", base: 10, quote: 1e12 };
    await Deno.writeTextFile(bad, JSON.stringify(limits));
    const error = await loadSimConfig(bad).then(() => null, (e: Error) => e.message);
    for (
      const field of [
        /agents\.stylized\.count: Too big/,
        /exchange\.fees\.historySlots: Too big/,
        /exchange\.initialPrice: must lie between 2 and 1e6 ticks/,
      ]
    ) assert.match(error ?? "", field);
    // The holdings of a book's accounts read every group's count: they are checked once the
    // counts are valid.
    const holdings =
      /\(root\): the accounts of a book could hold up to \d+ quote \(remoteBalances 256 x 1000000000000, agents\.initialization 500 x 30000, .*at most 461168601\.\d+ fit 2\^62 units at 10 quote decimals/;
    assert.doesNotMatch(error ?? "", holdings);
    limits.agents.stylized.count = 3000;
    await Deno.writeTextFile(bad, JSON.stringify(limits));
    const next = await loadSimConfig(bad).then(() => null, (e: Error) => e.message);
    assert.match(next ?? "", holdings);
    assert.match(next ?? "", /exchange\.fees\.historySlots: Too big/);
    await assert.rejects(() => loadSimConfig("nope"), /not a preset/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("taos sim takes recorded feeds from a file and from a URL", async () => {
  const dir = await Deno.makeTempDir();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    () => new Response("count,price,time\n1,311.5,0\n2,322.25,0\n"),
  );
  try {
    const fundamental = join(dir, "fundamental_seed.csv");
    await Deno.writeTextFile(fundamental, "1,95000.12\n2,95001.5\n3,94999\n");
    const url = `http://127.0.0.1:${server.addr.port}/external_seed_sampled.csv`;
    const out = join(dir, "run");
    const run = await taos(
      "sim",
      "--config",
      "small",
      "--duration",
      "3m",
      "--quiet",
      "--fundamental-feed",
      fundamental,
      "--external-feed",
      url,
      "--out",
      out,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr,
      /warning: --fundamental-feed: 3 prices cover 00:00:30 of the 00:03:00 run \(one per 00:00:10\)/,
    );
    const rows = readFileSync(join(out, "l2-0.csv"), "utf8").trim().split("\n").slice(1);
    const external = rows.map((row) => Number(row.split(",")[2]));
    assert.equal(external[0], 300); // before the first sample at 60 s
    assert.ok(external.includes(311.5) && external.at(-1) === 322.25);
    // The run's record names the feeds and their data, which the config alone does not.
    const { feeds } = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"));
    assert.equal(feeds.fundamental.source, fundamental);
    assert.equal(feeds.fundamental.prices, 3);
    assert.equal(feeds.external.source, url);
    assert.equal(feeds.external.prices, 2);
    assert.match(feeds.external.sha256, /^[0-9a-f]{64}$/);
    assert.notEqual(feeds.external.sha256, feeds.fundamental.sha256);
    const bad = await taos("sim", "--external-feed", join(dir, "missing.csv"));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--external-feed/);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a fundamental feed is counted per seed interval: a longer one than the update period uses fewer prices", async () => {
  const dir = mkdtempSync(join(tmpdir(), "taos-feed-interval-"));
  try {
    const config = join(dir, "seed25.json");
    const small = smallPreset();
    // Seeds come at the first 10 s update a whole 25 s after the last: one per 30 s.
    small.processes.fundamental.seedInterval = 25e9;
    await Deno.writeTextFile(config, JSON.stringify(small));
    const feed = join(dir, "f.csv");
    const run = async (prices: number) => {
      const lines = Array.from({ length: prices }, (_, i) => `${i + 1},${95000 + i}`);
      await Deno.writeTextFile(feed, lines.join("\n") + "\n");
      return await taos(
        "sim",
        "--config",
        config,
        "--duration",
        "3m",
        "--quiet",
        "--fundamental-feed",
        feed,
      );
    };
    const short = await run(3);
    assert.equal(short.code, 0, short.stderr);
    assert.match(
      short.stderr,
      /warning: --fundamental-feed: 3 prices cover 00:01:30 of the 00:03:00 run \(one per 00:00:30\)/,
    );
    // Six cover it (the warning counts one per 30 s, not one per 10 s update, which would ask for 18).
    const enough = await run(6);
    assert.equal(enough.code, 0, enough.stderr);
    assert.doesNotMatch(enough.stderr, /warning/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

Deno.test("taos sim is quiet when piped, and --progress writes plain lines", async () => {
  const quick = ["sim", "--config", "small", "--duration", "1m", "--books", "1"];
  const piped = await taos(...quick);
  assert.equal(piped.code, 0, piped.stderr);
  assert.doesNotMatch(piped.stderr, /simulated, /, "no progress without a terminal");
  assert.match(piped.stdout, /messages processed: /);
  // Without --out no files are written, so no line names a directory.
  assert.doesNotMatch(piped.stdout, /^wrote /m);

  const logged = await taos(...quick, "--progress");
  assert.equal(logged.code, 0, logged.stderr);
  const lines = logged.stderr.split("\n").filter((line) => line.includes(" simulated, "));
  assert.equal(lines.length, 11, logged.stderr); // 0 %, 10 %, ..., 100 %
  assert.match(lines[10], /^100% 00:01:00\/00:01:00 simulated, [\d.]+[kMG]? messages\/s$/);
  assert.ok(!logged.stderr.includes("\r") && !logged.stderr.includes("\x1b["), "no redraws");

  const both = await taos(...quick, "--quiet", "--progress");
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--progress: contradicts --quiet/);
});

Deno.test("a file-size limit (ulimit -f) ends a run with the file named and exit 1", async () => {
  const out = mkdtempSync(join(tmpdir(), "taos-fsize-"));
  // 32 MiB: below one book's events for 12 hours. SIGXFSZ is ignored before Deno starts (the
  // disposition passes across exec), so Deno's own cache writes get EFBIG instead of a kill.
  const output = await new Deno.Command("bash", {
    args: [
      "-c",
      `trap '' XFSZ; ulimit -f 32768; exec "$0" run -A "$1" sim --config small --duration 12h --books 1 ` +
      `--quiet --out "$2"`,
      Deno.execPath(),
      main,
      out,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 1, stderr);
  assert.match(stderr, /^taos sim: cannot write .*events-0\.csv: File too large/);
  assert.doesNotMatch(stderr, /Uncaught| {4}at /);
  // The files that fit were flushed before the exit, beside the configuration that made them.
  assert.ok(statSync(join(out, "trades-0.csv")).size > 100_000);
  assert.equal(JSON.parse(readFileSync(join(out, "config.json"), "utf8")).books, 1);
  assert.ok(!existsSync(join(out, "summary.json")));
  rmSync(out, { recursive: true });
});

Deno.test("a full disk under the output ends with a message and exit 1, not a stack trace", async () => {
  const example = fileURLToPath(new URL("../../sim/examples/replay_example.json", import.meta.url));
  const output = await new Deno.Command("sh", {
    args: ["-c", `"$0" run -A "$1" replay "$2" > /dev/full`, Deno.execPath(), main, example],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 1, stderr);
  assert.match(stderr, /^taos replay: cannot write to standard output: No space left on device/);
  assert.doesNotMatch(stderr, /Uncaught| {4}at /);
});

Deno.test("events-<book>.csv gives each placement's leverage (HFT quotes on margin)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // HFT agents worth less than their quotes place them on margin, as in the reference.
    const config = structuredClone(smallPreset()) as unknown as {
      agents: { hft: { balances: unknown } };
    };
    config.agents.hft.balances = { type: "fixed", base: 2, quote: 600 };
    const file = join(dir, "margin.json");
    await Deno.writeTextFile(file, JSON.stringify(config));
    const run = await taos("sim", "--config", file, "--duration", "5m", "--quiet", "--out", dir);
    assert.equal(run.code, 0, run.stderr);
    const lines = readFileSync(join(dir, "events-0.csv"), "utf8").trim().split("\n");
    assert.equal(
      lines[0],
      "timestamp,event,order_id,agent_id,direction,price,volume,client_order_id,reason,leverage",
    );
    const places = lines.filter((l) => /^\d+,place_/.test(l)).map((l) => l.split(","));
    const leverages = places.map((fields) => fields[9]);
    assert.ok(leverages.includes("0"), "cash orders");
    assert.ok(leverages.some((l) => /^\d+\.\d{9}$/.test(l) && Number(l) > 0), "margin orders");
    for (const line of lines.slice(1)) assert.equal(line.split(",").length, 10, line);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--duration, --books and --seed take the file's place before it is checked", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { duration: _, books: __, ...partial } = smallPreset();
    const file = join(dir, "partial.json");
    await Deno.writeTextFile(file, JSON.stringify({ ...partial, step: "2m" }));
    const missing = await taos("sim", "--config", file, "--quiet");
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^ {2}duration: required$/m);
    assert.match(missing.stderr, /^ {2}books: required$/m);
    // The step is judged against the duration that would run, not the file's.
    const short = await taos("sim", "--config", file, "--duration", "1m", "--books", "1");
    assert.equal(short.code, 2);
    // Told under the flag: the file is not at fault.
    assert.match(
      short.stderr,
      /^taos sim: --duration: must be longer than the step \(2m\), got 1m$/m,
    );
    const run = await taos(
      ...["sim", "--config", file, "--duration", "10m", "--books", "1", "--seed", "9"],
      ...["--quiet", "--out", join(dir, "out")],
    );
    assert.equal(run.code, 0, run.stderr);
    const written = JSON.parse(readFileSync(join(dir, "out", "config.json"), "utf8"));
    assert.deepEqual([written.duration, written.books, written.seed], [600e9, 1, 9]);
    // In the reference's XML a flag's value is not blamed on the file's attribute.
    const xml = await taos("sim", "--config", fixture, "--duration", "1s");
    assert.equal(xml.code, 2);
    assert.match(
      xml.stderr,
      /^taos sim: --duration: must be longer than the step \(5s\), got 1s$/m,
    );
    const zero = await taos("sim", "--duration", "0");
    assert.match(zero.stderr, /^taos sim: --duration: must be positive$/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  ...needsStrace(
    "a run killed while it clears an earlier run's files never leaves that run's summary",
  ),
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const run = ["sim", "--config", "small", "--duration", "10s", "--quiet", "--out", dir];
      const first = await taos(...run);
      assert.equal(first.code, 0, first.stderr);
      assert.ok(existsSync(join(dir, "summary.json")));
      // Killed as it removes the earlier run's first file by name (balances.csv): the summary must
      // be gone by then, since a summary left over a part of that run's files looks finished.
      const killed = await new Deno.Command("strace", {
        args: [
          "-f",
          "-qq",
          "-o",
          "/dev/null",
          "-P",
          join(dir, "balances.csv"),
          "-e",
          "trace=unlink,unlinkat",
          "-e",
          "inject=unlink,unlinkat:signal=SIGKILL",
          Deno.execPath(),
          "run",
          "-A",
          main,
          ...run,
        ],
        stdout: "null",
        stderr: "null",
      }).output();
      assert.notEqual(killed.code, 0);
      assert.ok(existsSync(join(dir, "balances.csv")), "killed before removing balances.csv");
      assert.ok(!existsSync(join(dir, "summary.json")), "the earlier run's summary is left");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("the wall time a run reports leaves out building the native library", async () => {
  // A copy of the program without its built library, so that this run builds it; the compiler
  // is slowed by 4 s, which the run's own wall time (well under a second) must not include.
  const root = mkdtempSync(join(tmpdir(), "taos-fresh-"));
  try {
    const repository = fileURLToPath(new URL("../../", import.meta.url));
    cpSync(repository, join(root, "taos"), {
      recursive: true,
      filter: (path) => !/\/(\.git|native\/build|dist|out)$/.test(path),
    });
    const slowCompiler = join(root, "slow-cc");
    writeFileSync(slowCompiler, '#!/bin/sh\nsleep 4\nexec cc "$@"\n', { mode: 0o755 });
    const out = join(root, "run");
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        join(root, "taos", "main.ts"),
        "sim",
        "--config",
        "small",
        "--duration",
        "10s",
        "--quiet",
        "--out",
        out,
      ],
      env: { CC: slowCompiler },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"));
    assert.ok(summary.wallSeconds < 4, `wallSeconds ${summary.wallSeconds} counts the build`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
