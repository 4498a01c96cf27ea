/**
 * The whole test suite, as CI runs it: format, lint, type check, the C tests under sanitizers,
 * then the Deno tests. Ends with one `N passed, N failed` line that counts every test.
 * @module
 */
import { spawn } from "node:child_process";

interface Step {
  name: string;
  args: string[];
  /** Extracts [passed, failed] counts from the step's output, for steps that run tests. */
  count?: (output: string) => [number, number];
}

const deno = Deno.execPath();

if (Deno.args.includes("--help") || Deno.args.includes("-h")) {
  console.log(
    "usage: deno task test [deno test arguments...]\n\n" +
      "Runs, in order: deno fmt --check, deno lint, deno check ., the C tests and fuzz smoke runs\n" +
      "(deno task test:native), then deno test -A --parallel with the arguments given (a file,\n" +
      "a folder, --filter <text>); every step runs whatever the arguments. Ends with one\n" +
      "'N passed, N failed' line and exit code 1 when a step failed. One test file or folder\n" +
      "alone: deno test -A <path>.",
  );
  Deno.exit(0);
}

function countsFrom(pattern: RegExp) {
  return (output: string): [number, number] => {
    const match = [...output.matchAll(pattern)].at(-1);
    return match ? [Number(match[1]), Number(match[2])] : [0, 0];
  };
}

const steps: Step[] = [
  { name: "fmt", args: ["fmt", "--check"] },
  { name: "lint", args: ["lint"] },
  { name: "check", args: ["check", "."] },
  {
    name: "native tests",
    args: ["run", "-A", "native/build.ts", "--test"],
    count: countsFrom(/native: (\d+) passed, (\d+) failed/g),
  },
  {
    name: "deno tests",
    args: ["test", "-A", "--parallel", ...Deno.args],
    count: countsFrom(/(\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/g),
  },
];

function run(step: Step): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(deno, step.args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...Deno.env.toObject(), NO_COLOR: "1" },
    });
    let output = "";
    child.stdout.on("data", (chunk: Uint8Array) => {
      output += new TextDecoder().decode(chunk);
      Deno.stdout.writeSync(chunk);
    });
    child.stderr.on("data", (chunk: Uint8Array) => {
      output += new TextDecoder().decode(chunk);
      Deno.stderr.writeSync(chunk);
    });
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

let passed = 0;
let failed = 0;
let broken: string[] = [];
for (const step of steps) {
  console.log(`\n== ${step.name}: deno ${step.args.join(" ")}`);
  const { code, output } = await run(step);
  const [p, f] = step.count?.(output) ?? [0, 0];
  passed += p;
  failed += f;
  if (code !== 0) broken = [...broken, step.name];
}
if (broken.length > 0) console.log(`\nfailed steps: ${broken.join(", ")}`);
console.log(`\n${passed} passed, ${failed} failed`);
Deno.exit(broken.length === 0 ? 0 : 1);
