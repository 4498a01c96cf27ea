/**
 * Short config files that start from a preset (`"extends": "small"`) and `taos sim --print-config`,
 * through `taos sim` and `taos validator` as child processes, on real files.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse as parseToml } from "smol-toml";
import { smallPreset } from "../../sim/config.ts";
import { taos } from "./taos_process.ts";

/** The small preset as a run's config.json holds it, with `changes` in place. */
function smallWith(changes: (config: ReturnType<typeof smallPreset>) => void): unknown {
  const config = smallPreset();
  changes(config);
  return JSON.parse(JSON.stringify(config));
}

/** Runs `taos sim` on `file` into `out` and returns the config.json the run wrote. */
async function runConfig(file: string, out: string): Promise<unknown> {
  const run = await taos("sim", "--config", file, "--threads", "1", "--quiet", "--out", out);
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(await Deno.readTextFile(join(out, "config.json")));
}

Deno.test("a JSON or TOML file that extends a preset runs it with its changes, and config.json is complete", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const json = join(dir, "short.json");
    await Deno.writeTextFile(json, '{ "extends": "small", "books": 1, "duration": "2m" }');
    assert.deepEqual(
      await runConfig(json, join(dir, "json")),
      smallWith((c) => Object.assign(c, { books: 1, duration: 120e9 })),
    );
    // An object is merged into the preset's: the exchange keeps its other fields and its fees.
    const toml = join(dir, "short.toml");
    await Deno.writeTextFile(
      toml,
      ['extends = "small"', "books = 1", 'duration = "2m"', "[exchange]", "priceDecimals = 3"]
        .join("\n"),
    );
    const written = await runConfig(toml, join(dir, "toml"));
    assert.deepEqual(
      written,
      smallWith((c) => {
        Object.assign(c, { books: 1, duration: 120e9 });
        c.exchange.priceDecimals = 3;
      }),
    );
    // The written config reproduces the run without the preset.
    const again = join(dir, "again.json");
    await Deno.writeTextFile(again, JSON.stringify(written));
    assert.deepEqual(await runConfig(again, join(dir, "again")), written);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a file that extends a preset merges objects, replaces arrays, and replaces a balances template of another type", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "changes.json");
    const tiers = [{ volumeRequired: 0, makerFee: 0.001, takerFee: 0.002 }];
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        extends: "small",
        exchange: { fees: { tiers } },
        remoteBalances: { type: "fixed", base: 10, quote: 3000 },
        agents: { stylized: { balances: { wealth: 50000 } }, hft: { count: 0 } },
      }),
    );
    const run = await taos("sim", "--config", file, "--print-config");
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(
      JSON.parse(run.stdout),
      smallWith((c) => {
        c.exchange.fees.tiers = tiers;
        c.remoteBalances = { type: "fixed", base: 10, quote: 3000 };
        Object.assign(c.agents.stylized!.balances, { wealth: 50000 });
        c.agents.hft!.count = 0;
      }),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a file that extends a preset is as strict as a complete one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const refused = async (name: string, text: string, ...messages: RegExp[]) => {
      const file = join(dir, name);
      await Deno.writeTextFile(file, text);
      const run = await taos("sim", "--config", file, "--quiet");
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /^taos sim: --config: .*: invalid simulation config:$/m);
      for (const message of messages) assert.match(run.stderr, message);
      assert.doesNotMatch(run.stderr, /^ {4}at /m, "no stack trace");
    };
    // A misspelt key is named by its path, never ignored.
    await refused(
      "typo.json",
      '{ "extends": "small", "exchange": { "priceDecimal": 3 } }',
      /^ {2}exchange: Unrecognized key: "priceDecimal"$/m,
    );
    await refused(
      "typo.toml",
      'extends = "small"\n[agents.hft]\ncont = 3\n',
      /^ {2}agents\.hft: Unrecognized key: "cont"$/m,
    );
    // The merged config is checked whole: a change that breaks a check across fields is told.
    await refused(
      "margin.json",
      '{ "extends": "reference", "exchange": { "maxLeverage": 9 } }',
      /^ {2}exchange\.maintenanceMargin: must be at most 1\/\(2\(1 \+ maxLeverage\)\)$/m,
    );
    await refused(
      "big.json",
      '{ "extends": "big" }',
      /^ {2}extends: 'big' is not a preset \(reference, small\)$/m,
    );
    // Only presets: not another file.
    await refused(
      "file.json",
      '{ "extends": "./other.json" }',
      /^ {2}extends: '\.\/other\.json' is not a preset \(reference, small\)$/m,
    );
    await refused(
      "number.toml",
      "extends = 1\n",
      /^ {2}extends: must name a preset \(reference, small\)$/m,
    );
    // Only a preset's name: not one that every object has, as `toString` and `__proto__` are.
    for (const name of ["toString", "__proto__"]) {
      await refused(
        `${name}.json`,
        JSON.stringify({ extends: name }),
        new RegExp(`^ {2}extends: '${name}' is not a preset \\(reference, small\\)$`, "m"),
      );
    }
    // A key JSON may hold that an object literal could not is still only an unknown key.
    await refused(
      "proto.json",
      '{ "extends": "small", "__proto__": { "books": 7 } }',
      /^ {2}\(root\): Unrecognized key: "__proto__"$/m,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a file without extends must be complete, and the refusal says how to start one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (
      const [name, text, line] of [
        ["partial.json", '{ "books": 3, "duration": "10m" }', '"extends": "small"'],
        ["partial.toml", 'books = 3\nduration = "10m"\n', 'extends = "small"'],
      ]
    ) {
      const file = join(dir, name);
      await Deno.writeTextFile(file, text);
      const run = await taos("sim", "--config", file, "--quiet");
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /^ {2}remoteAgentCount: required$/m);
      assert.match(run.stderr, /^ {2}exchange: required$/m);
      const last = run.stderr.trim().split("\n").at(-1)!;
      assert.ok(last.includes(line) && last.includes("taos sim --print-config"), run.stderr);
    }
    // A file that extends a preset is not told to extend one, though it left out a field (of a
    // balances template of another type, which replaces the preset's whole).
    const template = join(dir, "template.json");
    await Deno.writeTextFile(
      template,
      '{ "extends": "small", "remoteBalances": { "type": "fixed", "base": 10 } }',
    );
    const extended = await taos("sim", "--config", template, "--quiet");
    assert.equal(extended.code, 2, extended.stderr);
    assert.match(extended.stderr, /^ {2}remoteBalances\.quote: required$/m);
    assert.doesNotMatch(extended.stderr, /print-config/);
    // Another problem than a field left out gets no such line.
    const wrong = join(dir, "wrong.json");
    await Deno.writeTextFile(wrong, JSON.stringify({ ...smallPreset(), books: 0 }));
    const run = await taos("sim", "--config", wrong, "--quiet");
    assert.equal(run.code, 2);
    assert.doesNotMatch(run.stderr, /print-config/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--print-config prints the complete config that would run, as JSON or TOML, and runs nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const printed = await taos("sim", "--print-config", "--books", "3", "--seed", "9");
    assert.equal(printed.code, 0, printed.stderr);
    assert.equal(printed.stderr, "");
    const reference = JSON.parse(printed.stdout);
    assert.deepEqual([reference.books, reference.seed, reference.agents.stylized.count], [
      3,
      9,
      1000,
    ]);
    // As a run's config.json: fed back as --config, it gives the same config.
    const json = join(dir, "printed.json");
    await Deno.writeTextFile(json, printed.stdout);
    const fromJson = await taos("sim", "--config", json, "--print-config");
    assert.equal(fromJson.code, 0, fromJson.stderr);
    assert.equal(fromJson.stdout, printed.stdout);

    const short = join(dir, "short.json");
    await Deno.writeTextFile(short, '{ "extends": "small", "exchange": { "maxLeverage": 2 } }');
    const asToml = await taos(
      ...["sim", "--config", short, "--print-config", "toml", "--duration", "1h"],
      "--intended-dynamics",
    );
    assert.equal(asToml.code, 0, asToml.stderr);
    const expected = smallWith((c) => {
      Object.assign(c, { duration: 3600e9, referenceDynamics: false });
      c.exchange.maxLeverage = 2;
    });
    // The TOML reader makes objects without a prototype: compared as plain data.
    assert.deepEqual(JSON.parse(JSON.stringify(parseToml(asToml.stdout))), expected);
    const toml = join(dir, "printed.toml");
    await Deno.writeTextFile(toml, asToml.stdout);
    const fromToml = await taos("sim", "--config", toml, "--print-config=json");
    assert.equal(fromToml.code, 0, fromToml.stderr);
    assert.deepEqual(JSON.parse(fromToml.stdout), expected);

    // The printed config is the one a run writes.
    const out = join(dir, "out");
    const run = await taos(
      ...["sim", "--config", short, "--duration", "2m", "--books", "1", "--threads", "1"],
      ...["--quiet", "--out", out],
    );
    assert.equal(run.code, 0, run.stderr);
    const same = await taos(
      "sim",
      "--config",
      short,
      "--duration",
      "2m",
      "--books",
      "1",
      "--print-config",
    );
    assert.equal(same.stdout, await Deno.readTextFile(join(out, "config.json")));

    for (
      const [args, message] of [
        [["--print-config", "xml"], /^taos sim: --print-config: json or toml, not 'xml'$/m],
        [["--print-config", "--out", out], /^taos sim: --out: not with --print-config/m],
        [["--print-config", "--report"], /^taos sim: --report: not with --print-config/m],
        [["--print-config", "--delay", "none"], /^taos sim: --delay: not with --print-config/m],
        [["--print-config", "--agents", "3"], /^taos sim: --agents: not with --print-config/m],
        [
          ["--print-config", "--agent-name", "A"],
          /^taos sim: --print-config: not with a backtest/m,
        ],
        [["--print-config", "--agent", "a.ts"], /^taos sim: --print-config: not with a backtest/m],
        // Every flag only a run or a backtest reads: each would do nothing.
        ...[
          ["--threads", "2"],
          ["--depth", "3"],
          ["--fundamental-feed", "f.csv"],
          ["--external-feed", "e.csv"],
          ["--agent-params", "{}"],
          ["--agent-max-memory", "64"],
        ].map(([flag, value]) =>
          [
            ["--print-config", flag, value],
            new RegExp(`^taos sim: ${flag}: not with --print-config`, "m"),
          ] as const
        ),
      ] as const
    ) {
      const refused = await taos("sim", ...args);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, message);
      assert.equal(refused.stdout, "");
    }
    const help = await taos("sim", "--help");
    assert.match(help.stdout, /^ {2}--print-config \[toml\]/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("taos validator reads a file that extends a preset, and refuses an unknown preset", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const validator = (config: string, duration: string) =>
      taos(
        ...["validator", "--local", "--hotkey-uri", "//Validator", "--config", config],
        ...["--duration", duration, "--simulations", "1", "--threads", "1"],
        ...["--prometheus.level", "OFF", "--state", join(dir, "state.db")],
      );
    const grace = join(dir, "grace.json");
    await Deno.writeTextFile(grace, '{ "extends": "small", "gracePeriod": "10m" }');
    // The preset's other fields come with it; the file's grace period is the one judged.
    const tooShort = await validator(grace, "5m");
    assert.equal(tooShort.code, 2, tooShort.stderr);
    assert.match(tooShort.stderr, /5m ends before the first publish after the config's 10m grace/);
    const ok = join(dir, "ok.toml");
    await Deno.writeTextFile(ok, 'extends = "small"\ngracePeriod = "5s"\n');
    const run = await validator(ok, "15s");
    assert.equal(run.code, 0, run.stderr);
    const unknown = join(dir, "unknown.json");
    await Deno.writeTextFile(unknown, '{ "extends": "tiny" }');
    const refused = await validator(unknown, "15s");
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      refused.stderr,
      /^ {2}extends: 'tiny' is not a preset \(reference, small\)$/m,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
