import assert from "node:assert/strict";
import { parseFlags, UsageError } from "../../cli/command.ts";

const options = {
  seed: { type: "string" },
  out: { type: "string", short: "o" },
  quiet: { type: "boolean" },
} as const;

const parse = (...args: string[]) => ({ ...parseFlags({ args, options, strict: true }).values });

Deno.test("a value starting with a dash is the flag's value, for the flag's own check", () => {
  assert.deepEqual(parse("--seed", "-1"), { seed: "-1" });
  assert.deepEqual(parse("-o", "-dir", "--quiet"), { out: "-dir", quiet: true });
  assert.deepEqual(parse("--seed=-1"), { seed: "-1" });
  // After `--`, nothing is an option.
  const rest = parseFlags({ args: ["--", "--seed", "-1"], options, allowPositionals: true });
  assert.deepEqual(rest.positionals, ["--seed", "-1"]);
});

Deno.test("an option followed by another option, or by nothing, needs a value", () => {
  for (const args of [["--out", "--quiet"], ["--out", "-o", "x"], ["--seed"], ["-o", "--"]]) {
    assert.throws(() => parse(...args), (error: Error) => {
      assert.ok(error instanceof UsageError);
      assert.match(error.message, /^--(out|seed): needs a value$/);
      return true;
    }, args.join(" "));
  }
});

Deno.test("a value option followed by a word starting with -- (a misspelt flag) is refused", () => {
  // Taken as the value, `--out --qiuet` would write to a directory named --qiuet.
  assert.throws(() => parse("--out", "--qiuet"), (error: Error) => {
    assert.ok(error instanceof UsageError);
    assert.equal(
      error.message,
      "--out: needs a value, and --qiuet is no option of this command " +
        "(for a value beginning with --, write --out=--qiuet)",
    );
    return true;
  });
  assert.deepEqual(parse("--out=--qiuet"), { out: "--qiuet" });
});

Deno.test("a short option's value may follow an equals sign, as in argparse", () => {
  // The equals sign separates, as after a long option: `-o=dir` is "dir", not "=dir".
  assert.deepEqual(parse("-o=dir", "--quiet"), { out: "dir", quiet: true });
  assert.deepEqual(parse("-o=a=b"), { out: "a=b" });
  assert.deepEqual(parse("-o", "=x"), { out: "=x" });
  // `-o -o=x` is a flag without its value, as `-o --out=x` is.
  assert.throws(() => parse("-o", "-o=x"), { message: "--out: needs a value" });
});

Deno.test("parseArgs's own errors come out as usage errors", () => {
  // Not its advice to put a positional after `--`: the flag is likelier mistyped.
  assert.throws(() => parse("--colour", "blue"), (error: Error) => {
    assert.ok(error instanceof UsageError);
    assert.equal(error.message, "Unknown option '--colour' (--help lists the options)");
    return true;
  });
  assert.throws(() => parse("--quiet=yes"), UsageError);
});

Deno.test("an unknown option close to a known one is told with the one it likely meant", () => {
  const named = {
    agent: { type: "string" },
    "agent-name": { type: "string" },
    duration: { type: "string" },
    "neuron.timeout": { type: "string" },
    out: { type: "string" },
  } as const;
  const refusal = (...args: string[]) => {
    try {
      parseFlags({ args, options: named, strict: true });
    } catch (error) {
      assert.ok(error instanceof UsageError);
      return error.message;
    }
    assert.fail(`${args.join(" ")} was taken`);
  };
  // A typo, a separator of another command's style, a known flag with a word added.
  assert.equal(
    refusal("--duraton", "1h"),
    "Unknown option '--duraton' (did you mean --duration? --help lists the options)",
  );
  assert.equal(
    refusal("--neuron-timeout", "5"),
    "Unknown option '--neuron-timeout' (did you mean --neuron.timeout? --help lists the options)",
  );
  assert.equal(
    refusal("--agent-path", "a.ts"),
    "Unknown option '--agent-path' (did you mean --agent? --help lists the options)",
  );
  assert.equal(
    refusal("--agent.name", "X"),
    "Unknown option '--agent.name' (did you mean --agent-name? --help lists the options)",
  );
  // Nothing near: no guess. Short names are not guessed at.
  assert.equal(refusal("--colour"), "Unknown option '--colour' (--help lists the options)");
  assert.equal(refusal("--o"), "Unknown option '--o' (--help lists the options)");
  assert.equal(refusal("-x"), "Unknown option '-x' (--help lists the options)");
});

Deno.test("with once, a value option given twice is refused; without it the last one counts", () => {
  const once = (...args: string[]) => ({
    ...parseFlags({ args, options, strict: true }, { once: true }).values,
  });
  for (
    const args of [["--seed", "1", "--seed", "2"], ["--seed=1", "--seed", "2"], [
      "-o",
      "a",
      "--out=b",
    ]]
  ) {
    assert.throws(() => once(...args), (error: Error) => {
      assert.ok(error instanceof UsageError);
      assert.match(error.message, /^--(seed|out): given twice$/);
      return true;
    }, args.join(" "));
  }
  // A value that reads like a flag's name is a value; a repeated switch changes nothing.
  assert.deepEqual(once("--out", "seed", "--seed", "-5", "--quiet", "--quiet"), {
    out: "seed",
    seed: "-5",
    quiet: true,
  });
  assert.deepEqual(parse("--seed", "1", "--seed", "2"), { seed: "2" });
});
