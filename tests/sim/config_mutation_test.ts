/**
 * Seeded mutations of the small preset, of the reference's XML config and of the exchange
 * scenarios' replay scripts: odd values (wrong types, fractions, huge and tiny numbers), scaled
 * numbers and dropped keys. Each input is refused with an error naming its fields (or, in XML,
 * its line), or accepted and then runs: a simulation config creates its engine and steps, a
 * script replays. This found a fractional agent count crashing the replay's balance check, and
 * fee tiers, fee rates, Pareto scales and a replay leverage that the schema accepted and the
 * native side then refused under its own parameter names.
 */
import assert from "node:assert/strict";
import { parseSimConfig, type SimConfig, SimConfigError, smallPreset } from "../../sim/config.ts";
import { importXmlConfig } from "../../sim/xml_config.ts";
import { SimEngine } from "../../sim/engine.ts";
import { parseReplayScript, ReplayScriptError, runReplay } from "../../sim/replay.ts";
import { seededRandom } from "../exchange/seeded_random.ts";

const ODD_VALUES: readonly unknown[] = [
  null,
  true,
  0,
  -1,
  0.5,
  2.5,
  1e-300,
  1e308,
  -1e308,
  2 ** 53,
  2 ** 64,
  "",
  "abc",
  "NaN",
  "-5",
  "1h",
  [],
  {},
  [1],
  { a: 1 },
];
const SCALES: readonly number[] = [10, -1, 0, 0.5, 0.001, 1e6, 1e12];

/** One element of `list`, drawn from `random`. */
function pick<T>(random: () => number, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)];
}

/** Background agents of a config, over all groups: a scaled count is valid but slow to set up. */
function agentCount(config: SimConfig): number {
  return Object.values(config.agents).reduce((sum, group) => sum + group.count, 0);
}

/**
 * A copy of `value` in which each node is replaced by an odd value with probability `rate`, each
 * key dropped with probability `rate / 2`, and each number scaled with probability `3 * rate`.
 */
function mutate(value: unknown, random: () => number, rate: number): unknown {
  if (random() < rate) return structuredClone(pick(random, ODD_VALUES));
  if (Array.isArray(value)) return value.map((item) => mutate(item, random, rate));
  if (typeof value === "object" && value !== null) {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (random() >= rate / 2) copy[key] = mutate(item, random, rate);
    }
    return copy;
  }
  if (typeof value === "number" && random() < rate * 3) return value * pick(random, SCALES);
  return value;
}

/** Every line after the first of a refusal names a field path (or the whole input). */
function assertNamesFields(message: string, whole: string, input: unknown): void {
  const lines = message.split("\n").slice(1);
  assert.ok(lines.length > 0, message);
  for (const line of lines) {
    const named = new RegExp(`^ {2}([\\w$-]+(\\.[\\w$-]+)*|\\(${whole}\\)): \\S`);
    if (!named.test(line)) {
      assert.fail(`${line}\nfrom ${JSON.stringify(input).slice(0, 2000)}`);
    }
  }
}

/** Creates an engine for one book of `config`, runs a few steps, and closes it. */
function runBriefly(config: SimConfig): void {
  const engine = SimEngine.create({
    config: { ...config, books: 1, duration: Math.min(config.duration, 120e9) },
    threads: 1,
  });
  try {
    for (let step = 0; step < 3 && engine.step() !== null; step++);
  } finally {
    engine.close();
  }
}

Deno.test("mutated simulation configs are refused by field path, or create an engine that steps", () => {
  const random = seededRandom(79);
  const preset = smallPreset();
  let refused = 0, ran = 0;
  for (let i = 0; i < 800; i++) {
    const input = mutate(preset, random, 0.002);
    let config;
    try {
      config = parseSimConfig(input);
    } catch (error) {
      assert.ok(error instanceof SimConfigError, String(error));
      assertNamesFields(error.message, "root", input);
      refused++;
      continue;
    }
    if (agentCount(config) > 5000) continue;
    runBriefly(config);
    ran++;
  }
  // Both outcomes are exercised.
  assert.ok(refused > 200 && ran > 200, `${refused} refused, ${ran} ran`);
});

Deno.test("mutated attributes of the reference XML are refused by line and attribute, or run", () => {
  const random = seededRandom(11);
  const xml = Deno.readTextFileSync(new URL("./fixtures/simulation_0.xml", import.meta.url));
  const attributes = [...xml.matchAll(/(\w+)="([^"]*)"/g)];
  const odd = ["", "-1", "0.5", "1e-300", "1e308", "NaN", "inf", "abc", "0x10", " 3 ", "1,5"];
  let refused = 0, ran = 0;
  for (let i = 0; i < 200; i++) {
    // One to three attributes, replaced from the last so that the earlier offsets hold.
    const chosen = new Set(
      Array.from({ length: 1 + Math.floor(random() * 3) }, () => pick(random, attributes)),
    );
    let text = xml;
    for (const match of [...chosen].sort((a, b) => b.index - a.index)) {
      const value = random() < 0.7
        ? pick(random, odd)
        : String(Number(match[2]) * pick(random, SCALES));
      text = text.slice(0, match.index) + `${match[1]}="${value}"` +
        text.slice(match.index + match[0].length);
    }
    let config;
    try {
      config = importXmlConfig(text, 1).config;
    } catch (error) {
      assert.ok(error instanceof Error, String(error));
      const lines = error instanceof SimConfigError
        ? error.message.split("\n").slice(1)
        : [error.message];
      // A problem of the whole config (what a book's accounts hold together) has no one line.
      for (const line of lines) {
        assert.match(line, /^( {2})?((XML )?line \d+ |\(root\): )/, error.message);
      }
      refused++;
      continue;
    }
    if (agentCount(config) > 20_000) continue;
    runBriefly(config);
    ran++;
  }
  assert.ok(refused > 50 && ran > 50, `${refused} refused, ${ran} ran`);
});

Deno.test("mutated replay scripts are refused by field path, or replay", () => {
  const random = seededRandom(7);
  const dir = new URL("../exchange/scenarios/", import.meta.url);
  const configs = JSON.parse(
    Deno.readTextFileSync(new URL("../exchange/scenario_configs.json", import.meta.url)),
  );
  const scripts = [...Deno.readDirSync(dir)].map((entry) => entry.name).sort().map((name) => {
    const scenario = JSON.parse(Deno.readTextFileSync(new URL(name, dir)));
    const exchange = typeof scenario.config === "string"
      ? configs[scenario.config]
      : scenario.config;
    return { exchange, batches: scenario.batches };
  });
  let refused = 0, replayed = 0;
  for (let i = 0; i < 5000; i++) {
    const input = mutate(pick(random, scripts), random, 0.004);
    try {
      runReplay(parseReplayScript(input), () => {});
      replayed++;
    } catch (error) {
      // Not an ExchangeError either: what the script's schema takes, the core takes.
      assert.ok(error instanceof ReplayScriptError, String(error));
      assertNamesFields(error.message, "script", input);
      refused++;
    }
  }
  assert.ok(refused > 500 && replayed > 2000, `${refused} refused, ${replayed} replayed`);
});
