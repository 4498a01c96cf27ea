import assert from "node:assert/strict";
import { parseFlags, UsageError } from "../../cli/command.ts";
import { likelyOption } from "../../cli/option_guess.ts";

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

Deno.test("a guess takes the nearest option, within two edits and a third of the name's length", () => {
  const known = [
    "agent",
    "agent-name",
    "duration",
    "http.max_connections_per_ip",
    "neuron.timeout",
    "out",
    "seed",
    "speed",
  ];
  const guess = (name: string) => likelyOption(name, known);
  // Words apart by any of the three separators, every one of them.
  assert.equal(guess("neuron_timeout"), "neuron.timeout");
  assert.equal(guess("http-max-connections-per-ip"), "http.max_connections_per_ip");
  // Two edits (a swap counts as one) are near enough; three are not.
  assert.equal(guess("agnet-nme"), "agent-name");
  assert.equal(guess("durtaoin"), "duration");
  assert.equal(guess("drtaoin"), undefined);
  // A swap of neighbours is one edit: a four-letter name may have one.
  assert.equal(guess("sede"), "seed");
  // One edit in three letters is near enough; one in two, or two in five, is not.
  assert.equal(guess("oux"), "out");
  assert.equal(guess("ou"), undefined);
  assert.equal(guess("sppee"), undefined);
  // Two options equally near: no guess, wherever they are in the list; a nearer one wins.
  assert.equal(guess("sped"), undefined);
  assert.equal(likelyOption("sped", ["speed", "seed"]), undefined);
  assert.equal(likelyOption("timeouts", ["timeout-ms", "timed-outs"]), undefined);
  assert.equal(likelyOption("timeouts", ["timeout-ms", "timed-outs", "timeout"]), "timeout");
  // A known option with words added: the longest such, only at a word's end.
  assert.equal(guess("agent-name-file"), "agent-name");
  assert.equal(guess("agentpath"), undefined);
  // A name that is the end of a known one is no edit of it.
  assert.equal(guess("name"), undefined);
});
