import assert from "node:assert/strict";
import { z } from "zod";
import { UsageError } from "../../cli/command.ts";
import { logLevelFlag, nonEmptyFlag, numberFlag } from "../../cli/flag_values.ts";

Deno.test("an empty path or address flag is refused by name; absent or given passes through", () => {
  assert.throws(() => nonEmptyFlag("wallet.path", ""), (error: Error) => {
    assert.ok(error instanceof UsageError);
    assert.equal(error.message, "--wallet.path: must not be empty");
    return true;
  });
  assert.equal(nonEmptyFlag("wallet.path", undefined), undefined);
  assert.equal(nonEmptyFlag("wallet.path", "~/w"), "~/w");
});

Deno.test("a numeric flag is decimal, and its bounds read `must be <= 600`", () => {
  const timeout = z.number().gt(0).max(600);
  const refused = (raw: string) => {
    try {
      numberFlag("t", timeout, raw, 4);
    } catch (error) {
      assert.ok(error instanceof UsageError);
      return error.message;
    }
    assert.fail(`'${raw}' was accepted`);
  };
  assert.equal(refused("601"), "--t: '601' must be <= 600");
  assert.equal(refused("0"), "--t: '0' must be > 0");
  assert.equal(refused("0x10"), "--t: '0x10' must be a number");
  assert.equal(refused(""), "--t: '' must be a number");
  assert.equal(refused("1e400"), "--t: '1e400' must be a finite number");
  // Each bound is worded as the schema holds it: strict (`<`, `>`) or not (`<=`, `>=`).
  const fraction = z.number().min(0).lt(1);
  assert.throws(() => numberFlag("f", fraction, "1", 0), { message: "--f: '1' must be < 1" });
  assert.throws(() => numberFlag("f", fraction, "-1", 0), { message: "--f: '-1' must be >= 0" });
  assert.equal(numberFlag("f", fraction, "0", 1), 0);
  assert.equal(numberFlag("t", timeout, "600", 4), 600);
  assert.equal(numberFlag("t", timeout, "2.5", 4), 2.5);
  assert.equal(numberFlag("t", timeout, undefined, 4), 4);
  assert.equal(numberFlag("t", timeout, undefined, undefined), undefined);
});

Deno.test("a whole number past 2^53 is told its bound, not that it is no integer", () => {
  const refused = (schema: z.ZodType<number>, raw: string) => {
    try {
      numberFlag("books", schema, raw, 1);
    } catch (error) {
      return (error as Error).message;
    }
    assert.fail(`'${raw}' was accepted`);
  };
  const books = z.number().int("must be an integer").positive().max(4096);
  assert.equal(
    refused(books, "99999999999999999999"),
    "--books: '99999999999999999999' must be <= 4096",
  );
  assert.equal(refused(books, "2.5"), "--books: '2.5' must be an integer");
  const unbounded = z.number().int("must be an integer");
  assert.equal(
    refused(unbounded, "1e300"),
    `--books: '1e300' must be at most ${Number.MAX_SAFE_INTEGER}`,
  );
});

Deno.test("the reference's switches win over a named log level, and the most verbose switch wins", () => {
  // The miner's -l is --logging.level; the validator's is --log-level.
  for (const short of ["logging.level", "log-level"] as const) {
    assert.equal(logLevelFlag({}, short), "info");
    assert.equal(logLevelFlag({ "logging.warning": true }, short), "warning");
    assert.equal(logLevelFlag({ "logging.debug": true, "logging.trace": true }, short), "trace");
    assert.equal(logLevelFlag({ "logging.error": true, "logging.info": true }, short), "info");
    // A launch script's `-l warning` plus an added `--logging.debug`: the switch is meant.
    assert.equal(logLevelFlag({ "logging.debug": true, "log-level": "warning" }, short), "debug");
    assert.equal(logLevelFlag({ "logging.error": true, "logging.level": "trace" }, short), "error");
    assert.equal(logLevelFlag({ "logging.level": "WARN" }, short), "warning");
    // Both spellings given: --log-level is the one read, and named when wrong.
    assert.equal(logLevelFlag({ "log-level": "debug", "logging.level": "error" }, short), "debug");
  }
  assert.throws(() => logLevelFlag({ "logging.level": "loud" }, "logging.level"), {
    message: "-l/--logging.level: 'loud' must be one of error, warning, info, debug, trace",
  });
  assert.throws(() => logLevelFlag({ "log-level": "loud" }, "logging.level"), {
    message: "--log-level: 'loud' must be one of error, warning, info, debug, trace",
  });
  assert.throws(() => logLevelFlag({ "log-level": "", "logging.debug": true }, "log-level"), {
    message: "-l/--log-level: '' must be one of error, warning, info, debug, trace",
  });
});
