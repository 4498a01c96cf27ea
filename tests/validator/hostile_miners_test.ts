/**
 * 256 miners on loopback, half of them hostile in every way `fixtures/hostile_axons.ts` knows
 * (replies at and over the size limit, inflate bombs, slow and cut-off bodies, resets, silence,
 * late answers, invalid and absurd instructions, foreign signatures, deep JSON, forged log lines),
 * against the real `taos validator --local`. The honest miners must end with exactly the scores of
 * a run without the hostile ones, from the same seed, also across a restart in the middle; rounds
 * stay bounded; each hostile miner is named in the log once.
 *
 * The size limit is 2 MiB here so that the test runs in CI, with a round's replies held to 8 times
 * that (16 MiB); `TAOS_HOSTILE_FULL=1` runs it at the default limit (64 MiB) and round budget
 * (512 MiB) and prints the figures.
 */
import assert from "node:assert/strict";
import { ValidatorStore } from "../../validator/store.ts";
import { type HostedMiner, MinerHosts, runValidator, writeConfig } from "./hostile_run.ts";
import { BEHAVIOURS } from "./fixtures/hostile_axons.ts";

const MINERS = 256;
const FULL = Deno.env.get("TAOS_HOSTILE_FULL") === "1";
const LIMIT = FULL ? 64 * 1024 * 1024 : 2 * 1024 * 1024;
/** The round's reply budget: the default in the full run, as large relative to the limit here. */
const BUDGET_ARGS = FULL ? [] : ["--neuron.max_round_response_bytes", String(8 * LIMIT)];
/** The failure of a reply given up to keep the round within its budget. */
const OVER_BUDGET =
  /failure \(Failed to parse response: dropped, the round's replies reached its [\d.]+ [KMG]iB budget and this was the largest\)/;
const TIMEOUT = 2;
const DURATION = "20s";
const ROUNDS = 4;

/** Scores of the honest uids in a state file. */
function honestScores(state: string, miners: HostedMiner[]): Record<string, number> {
  const store = ValidatorStore.open(state);
  try {
    const saved = store.load();
    assert.ok(saved !== null, `${state} holds no state`);
    return Object.fromEntries(
      miners.filter((m) => m.behaviour === "honest").map((
        m,
      ) => [m.uid, saved.snapshot.scores[m.uid]]),
    );
  } finally {
    store.close();
  }
}

/** Log lines at `level` naming `uid`. */
function linesOf(stderr: string[], uid: number, level?: string): string[] {
  return stderr.filter((l) =>
    l.includes(` uid ${uid}: `) && (level === undefined || l.includes(` ${level} `))
  );
}

Deno.test({
  name: "hostile miners at scale: honest miners are scored as without them, rounds stay bounded",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const hosts = new MinerHosts(MINERS, LIMIT, TIMEOUT);
    try {
      const miners = await hosts.miners;
      const honest = miners.filter((m) => m.behaviour === "honest");
      assert.equal(honest.length, MINERS / 2);
      const config = await writeConfig(dir, MINERS);
      const run = (chosen: HostedMiner[], state: string, extraArgs?: string[]) =>
        runValidator({
          miners: chosen,
          config,
          state,
          duration: DURATION,
          timeoutSeconds: TIMEOUT,
          limitBytes: LIMIT,
          extraArgs: [...BUDGET_ARGS, ...extraArgs ?? []],
        });

      const alone = await run(honest, `${dir}/alone.db`);
      assert.equal(alone.code, 0, alone.stderr.slice(-20).join("\n"));
      assert.equal(alone.roundSeconds.length, ROUNDS);

      const mixed = await run(miners, `${dir}/mixed.db`);
      assert.equal(mixed.code, 0, mixed.stderr.slice(-20).join("\n"));
      assert.equal(mixed.roundSeconds.length, ROUNDS);
      const figures = {
        limitBytes: LIMIT,
        aloneRoundSeconds: alone.roundSeconds,
        mixedRoundSeconds: mixed.roundSeconds,
        alonePeakRssMiB: Math.round(alone.peakRssKiB / 1024),
        mixedPeakRssMiB: Math.round(mixed.peakRssKiB / 1024),
        mixedLogLinesAboveDebug: mixed.stderr.filter((l) => !l.includes(" DEBUG ")).length,
        mixedRepliesLeftUnread: mixed.stderr.filter((l) => l.includes(" not read, ")).length,
        mixedRepliesOverBudget: mixed.stderr.filter((l) => OVER_BUDGET.test(l)).length,
      };
      console.log(JSON.stringify(figures));

      // Every honest miner answered every round, and is scored as if alone.
      for (const m of honest) {
        assert.deepEqual(linesOf(mixed.stderr, m.uid), [], `honest uid ${m.uid} failed`);
      }
      const expected = honestScores(`${dir}/alone.db`, miners);
      assert.ok(Object.values(expected).some((s) => s > 0), "the honest miners scored nothing");
      assert.deepEqual(honestScores(`${dir}/mixed.db`, miners), expected);

      // Each hostile miner is named above debug level once per kind of failure (a timeout, a
      // failure, a voided response: one whose replies are slow to check may meet all three); no
      // miner text reaches the log unescaped.
      const hostile = miners.filter((m) => m.behaviour !== "honest");
      for (const m of hostile) {
        const loud = linesOf(mixed.stderr, m.uid).filter((l) => !l.includes(" DEBUG "));
        assert.ok(loud.length >= 1 && loud.length <= 3, `uid ${m.uid} (${m.behaviour}): ${loud}`);
      }
      assert.ok(!mixed.stderr.some((l) => l.startsWith("2026-01-01T00:00:00.000Z")));
      const named = (behaviour: string, pattern: RegExp) => {
        for (const m of hostile.filter((h) => h.behaviour === behaviour)) {
          const loud = linesOf(mixed.stderr, m.uid).filter((l) => !l.includes(" DEBUG "));
          // On a busy machine a costly reply may be left unread when the round's time is up.
          assert.ok(
            loud.some((l) =>
              pattern.test(l) || / not read, the round's \d+ s for reading /.test(l)
            ),
            `uid ${m.uid} (${behaviour}): ${loud}`,
          );
        }
      };
      named("over-limit", /failure \(Failed to parse response: larger than \d+ bytes\)/);
      // A reply at the limit, read or announced, may be given up for the round's budget first.
      const overBudget = OVER_BUDGET.source;
      named(
        "over-limit-chunked",
        new RegExp(`failure \\(Failed to parse response: larger than \\d+ bytes\\)|${overBudget}`),
      );
      named("inflate-bomb", /failure \(response: cannot decompress/);
      named("drip", /timeout/);
      named("head-only", new RegExp(`timeout|${overBudget}`));
      named("silent", /timeout/);
      named("late", /timeout/);
      named("reset", /failure \(Service unavailable/);
      named("invalid-max", /response discarded: instruction 0 invalid/);
      named("wrong-agent", /response discarded: response agent_id \d+ is not uid/);
      named("deep-json", /failure \(Failed to parse response: JSON nested deeper than 64 levels\)/);
      // A reply of empty objects within the size limit is refused by its count of values: parsed
      // in full, 60 MB of them would take the validator to 4.6 GB and 18 s.
      named(
        "value-bomb",
        /failure \(response: cannot decompress \(more than \d+ JSON values \(arrays, objects/,
      );
      named(
        "value-bomb-raw",
        new RegExp(
          "failure \\(Failed to parse response: more than \\d+ JSON values \\(arrays, objects|" +
            overBudget,
        ),
      );
      named("html-refusal", /rejected \(HTTP 403 Forbidden \(body is not JSON\)\)/);
      named("cancel-storm", /\d+ cancellations of orders it does not hold/);
      assert.equal(new Set(hostile.map((m) => m.behaviour)).size, BEHAVIOURS.length);

      // The replies at and past the limit, and the heads announcing them, pass the budget every
      // round: the largest go, and the honest replies are all read (above).
      assert.ok(figures.mixedRepliesOverBudget > 0);

      // Rounds end within the timeout, as long again to read replies, and one reply's check;
      // without these bounds the hostile replies stretch a round to 7.5 to 15 s (timeout 2 s).
      for (const seconds of mixed.roundSeconds) assert.ok(seconds < 4 * TIMEOUT, `${seconds} s`);
      // Memory stays near that of the honest run: cancellation storms take about 400 MB in four
      // rounds, since cancels of orders a miner does not hold are left out; forwarded, each with
      // its injection, exchange notice and next state, they would take 2.4 GB. At the default
      // limit it holds what the replies at the limit bring in, up to the budget (without the
      // budget, 1.2 to 1.4 GB here).
      if (!FULL) assert.ok(figures.mixedPeakRssMiB < 1024, `${figures.mixedPeakRssMiB} MiB`);

      // A stop in the middle and a restart replay the hostile rounds into the same market.
      const resumed = `${dir}/resumed.db`;
      const stopped = await runValidator({
        miners,
        config,
        state: resumed,
        duration: DURATION,
        timeoutSeconds: TIMEOUT,
        limitBytes: LIMIT,
        extraArgs: BUDGET_ARGS,
        stopAfterPublish: 2,
      });
      assert.equal(stopped.code, 0, stopped.stderr.slice(-20).join("\n"));
      assert.ok(stopped.roundSeconds.length < ROUNDS);
      const restarted = await run(miners, resumed);
      assert.equal(restarted.code, 0, restarted.stderr.slice(-20).join("\n"));
      const resumedAt = restarted.stderr.find((l) => l.includes(" resuming simulation 0 "));
      assert.match(resumedAt ?? restarted.stderr.join("\n"), / at publish [23], /);
      // Scores can only match if every honest miner answered every round on both sides of the stop.
      for (const r of [stopped, restarted]) {
        const failed = honest.flatMap((m) => linesOf(r.stderr, m.uid));
        assert.deepEqual(
          failed.slice(0, 5),
          [],
          `${failed.length} honest failures around the stop`,
        );
      }
      assert.deepEqual(honestScores(resumed, miners), expected);
    } finally {
      await hosts.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
