/**
 * Builds the native library (`native/src/*.c`) with the system C compiler, on demand.
 *
 * The output name carries a hash of the sources and flags, so an edited source is rebuilt on the
 * next use and concurrent test processes never load a half-written file (we build to a temporary
 * name and rename atomically).
 *
 * ```sh
 * deno run -A native/build.ts          # build (if stale) and print the library path
 * deno run -A native/build.ts --test   # build and run the C tests under ASan/UBSan (and TSan)
 * deno run -A native/build.ts --fuzz sr25519_verify 600   # a libFuzzer campaign (clang)
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

// A URL's pathname keeps its percent escapes (a space is %20); the file system wants them decoded.
const nativeDir = fileURLToPath(new URL(".", import.meta.url));
const includeDir = join(nativeDir, "include");
const testDir = join(nativeDir, "tests");
const fuzzDir = join(nativeDir, "fuzz");
const buildDir = join(nativeDir, "build");

const warnings = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter"];
const libraryFlags = (include: string) => [
  ...warnings,
  "-O2",
  "-fPIC",
  // The simulation calls the exchange's public functions: bind those calls inside the library
  // (ELF only; elsewhere the linker does not take the flag).
  ...(Deno.build.os === "linux" ? ["-fno-semantic-interposition", "-Wl,-Bsymbolic-functions"] : []),
  "-shared",
  "-pthread",
  `-I${include}`,
];
/** Flags of a sanitizer build of the C tests; `extra` names the sanitizers and test settings. */
const testFlags = (extra: string[]) => [
  ...warnings,
  "-O1",
  "-g",
  "-fno-omit-frame-pointer",
  ...extra,
  "-pthread",
  `-I${includeDir}`,
];
const sanitizerFlags = testFlags([
  // GCC's "undefined" leaves out float-to-integer conversions out of range; the model's doubles
  // meet them whenever a draw or a parameter goes far.
  "-fsanitize=address,undefined,float-cast-overflow",
  "-fno-sanitize-recover=all",
  // Order-id pages of 64 ids instead of 4096: the random streams then cross page boundaries
  // often enough to meet their rare cases (a page freed while an order holding its last id
  // was still matching went unseen by the fuzz's seeds at the release size).
  "-DX_ID_PAGE_BITS=6",
  // Every growable array of the exchange starts at one entry, so that growth happens all the
  // time and a pointer kept across one is caught.
  "-DX_TINY_CAPACITIES",
]);

/** The tests that run threads (the simulation's pool of book threads, concurrent exchange
 * handles) also run under ThreadSanitizer, which cannot be combined with ASan. */
const threadedTests = ["exchange_threads", "sim_agents_test", "sim_formulas_test"];
/** Tests that compile the library sources into themselves (to route their allocations through a
 * failing counter) and so are not linked with them again. */
const selfContainedTests = ["exchange_oom"];
const threadSanitizerFlags = testFlags(["-fsanitize=thread"]);

/** libFuzzer builds of the harnesses in `native/fuzz/` (clang only), with the sanitizers and
 * test settings of the C tests; any report stops the run. */
const fuzzFlags = testFlags([
  "-fsanitize=fuzzer,address,undefined,float-cast-overflow",
  "-fno-sanitize-recover=all",
  "-DX_ID_PAGE_BITS=6",
  "-DX_TINY_CAPACITIES",
]);
/** Seconds of each harness's short run in `--test`, from a fixed seed and no corpus. */
const fuzzSmokeSeconds = 4;

/** Error raised when the native library cannot be built. */
export class NativeBuildError extends Error {
  override name = "NativeBuildError";
}

function listFiles(dir: string, suffixes: string[]): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => suffixes.some((suffix) => name.endsWith(suffix)))
    .sort()
    .map((name) => join(dir, name));
}

function librarySources(root = nativeDir): string[] {
  return listFiles(join(root, "src"), [".c"]);
}

function fingerprint(root: string, files: string[], settings: string[]): string {
  const hash = createHash("sha256");
  hash.update(settings.join(" "));
  for (const file of files) {
    hash.update(file.slice(root.length));
    hash.update(readFileSync(file));
  }
  return hash.digest("hex").slice(0, 16);
}

/** What identifies the compiler `CC` names: its name, the file it resolves to on the PATH, and
 * that file's size and time, so another compiler, or the same one upgraded, builds anew. A name
 * that resolves to nothing is kept as it is: the build then reports the missing compiler. */
function compilerIdentity(): string {
  const name = compilerName();
  const directories = name.includes("/") ? [""] : (Deno.env.get("PATH") ?? "").split(":");
  for (const directory of directories) {
    const candidate = directory === "" ? name : join(directory, name);
    try {
      const file = realpathSync(candidate);
      const stat = statSync(file);
      if (stat.isFile()) return `${name} ${file} ${stat.size} ${stat.mtimeMs}`;
    } catch {
      // not in this directory
    }
  }
  return name;
}

/** The compiler `CC` names; `cc` when it is unset or empty (as `CC=` on a command line leaves it). */
function compilerName(): string {
  return Deno.env.get("CC") || "cc";
}

function compiler(): string {
  const candidate = compilerName();
  const probe = spawnSync(candidate, ["--version"], { encoding: "utf8" });
  if (probe.error !== undefined || probe.status !== 0) {
    throw new NativeBuildError(
      `no C compiler found (tried '${candidate}'): install one (Debian: apt-get install gcc) ` +
        "or set CC to its path",
    );
  }
  return candidate;
}

function compile(args: string[], what: string, cc = compiler()): void {
  const result = spawnSync(cc, args, { encoding: "utf8" });
  if (result.status !== 0) {
    throw new NativeBuildError(`building ${what} failed:\n${result.stderr}${result.stdout}`);
  }
}

/**
 * Path of the native library for the current sources, building it first if needed. `root` holds
 * `src/`, `include/` and `build/` (this directory unless given).
 */
export function nativeLibraryPath(root = nativeDir): string {
  const sources = librarySources(root);
  // The linker makes a library of nothing without complaint; its symbols would be missing at load.
  if (sources.length === 0) throw new NativeBuildError(`no C sources in ${join(root, "src")}`);
  const headers = [
    ...listFiles(join(root, "src"), [".h"]),
    ...listFiles(join(root, "include"), [".h"]),
  ];
  const flags = libraryFlags(join(root, "include"));
  const identity = [compilerIdentity(), ...flags];
  const name = `libtaos-${fingerprint(root, [...sources, ...headers], identity)}.so`;
  const build = join(root, "build");
  const target = join(build, name);
  if (existsSync(target)) return target;
  makeBuildDir(build, "the native library");
  // Unique per build, not per process: test modules and workers in one process build at once.
  const temporary = `${target}.${Deno.pid}.${crypto.randomUUID()}.tmp`;
  try {
    compile([...flags, "-o", temporary, ...sources, "-lm"], "the native library");
    renameSync(temporary, target);
  } finally {
    rmSync(temporary, { force: true });
  }
  removeOlderLibraries(build, name);
  return target;
}

/** Makes the build directory `build`, or says in one line that `what` cannot be written there
 * (a read-only checkout, for one: everything is built next to its sources). */
function makeBuildDir(build: string, what: string): void {
  // A file made and removed at once: a directory that is there but takes no new file is named
  // here, not left to the linker's message.
  const probe = join(build, `.write-probe-${Deno.pid}-${crypto.randomUUID()}`);
  try {
    mkdirSync(build, { recursive: true });
    closeSync(openSync(probe, "wx"));
    rmSync(probe);
  } catch (error) {
    throw new NativeBuildError(`cannot write ${what} to ${build}: ${(error as Error).message}`);
  }
}

/** Builds of earlier sources are never loaded again: without this, every edit leaves one behind.
 * A process that still has one loaded keeps its mapping. */
function removeOlderLibraries(build: string, current: string): void {
  for (const name of readdirSync(build)) {
    if (name !== current && /^libtaos-[0-9a-f]{16}\.so$/.test(name)) {
      rmSync(join(build, name), { force: true });
    }
  }
}

/**
 * Builds every `native/tests/*.c` against the library sources with ASan/UBSan and runs it, then
 * the threaded ones again with ThreadSanitizer.
 */
function runNativeTests(): boolean {
  makeBuildDir(buildDir, "the C tests");
  const tests = listFiles(testDir, [".c"]).map((path) => ({
    path,
    name: path.slice(testDir.length + 1, -2),
  }));
  const runs = [
    { label: "", prefix: "test", flags: sanitizerFlags, tests },
    {
      label: " (TSan)",
      prefix: "tsan",
      flags: threadSanitizerFlags,
      tests: tests.filter((test) => threadedTests.includes(test.name)),
    },
  ];
  let passed = 0;
  let failed = 0;
  for (const { label, prefix, flags, tests } of runs) {
    for (const { path, name } of tests) {
      const binary = join(buildDir, `${prefix}-${name}`);
      const sources = selfContainedTests.includes(name) ? [] : librarySources();
      compile([...flags, "-o", binary, path, ...sources, "-lm"], `test ${name}${label}`);
      const started = performance.now();
      const run = spawnSync(binary, [], { stdio: "inherit" });
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      if (run.status === 0) {
        passed++;
        console.log(`native ${name}${label}: ok (${seconds}s)`);
      } else {
        failed++;
        console.log(
          `native ${name}${label}: FAILED (exit ${run.status ?? run.signal}, ${seconds}s)`,
        );
      }
    }
  }
  const fuzz = runFuzzSmoke();
  passed += fuzz.passed;
  failed += fuzz.failed;
  console.log(`native: ${passed} passed, ${failed} failed`);
  return failed === 0;
}

/** The clang that builds libFuzzer targets (CLANG, else `clang`), or why there is none. */
function fuzzCompiler(): { clang: string } | { missing: string } {
  const clang = Deno.env.get("CLANG") ?? "clang";
  makeBuildDir(buildDir, "the fuzz harnesses");
  const probe = join(buildDir, `fuzz-probe-${Deno.pid}`);
  Deno.writeTextFileSync(
    `${probe}.c`,
    "#include <stddef.h>\n#include <stdint.h>\n" +
      "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return (int)(n && !d); }\n",
  );
  const result = spawnSync(clang, ["-fsanitize=fuzzer", "-o", probe, `${probe}.c`], {
    encoding: "utf8",
  });
  rmSync(probe, { force: true });
  rmSync(`${probe}.c`, { force: true });
  if (result.error !== undefined) return { missing: `no '${clang}' found` };
  if (result.status !== 0) return { missing: `'${clang}' cannot link libFuzzer` };
  return { clang };
}

/** The library sources compiled once for the fuzz harnesses (object files). */
function buildFuzzObjects(clang: string): string[] {
  const objects = join(buildDir, "fuzz-objects");
  mkdirSync(objects, { recursive: true });
  return librarySources().map((source) => {
    const object = join(objects, source.slice(source.lastIndexOf("/") + 1, -2) + ".o");
    compile([...fuzzFlags, "-c", "-o", object, source], `${source} for the fuzz harnesses`, clang);
    return object;
  });
}

/** Links the libFuzzer harness `native/fuzz/<name>.c` and returns the binary's path. */
function buildFuzzer(clang: string, name: string, objects: string[]): string {
  const binary = join(buildDir, `fuzz-${name}`);
  compile(
    [...fuzzFlags, "-o", binary, join(fuzzDir, `${name}.c`), ...objects, "-lm"],
    `fuzz harness ${name}`,
    clang,
  );
  return binary;
}

/** UBSan settings of every fuzz run: stop at the first report, with its stack. */
const fuzzEnv = () => ({
  ...Deno.env.toObject(),
  UBSAN_OPTIONS: "halt_on_error=1:print_stacktrace=1",
});

function fuzzHarnesses(): string[] {
  return listFiles(fuzzDir, [".c"]).map((path) => path.slice(fuzzDir.length + 1, -2));
}

/** A short run of every harness from a fixed seed, without a corpus; skipped without clang. */
function runFuzzSmoke(): { passed: number; failed: number } {
  const found = fuzzCompiler();
  if ("missing" in found) {
    console.log(
      `native fuzz harnesses: skipped (${found.missing}; Debian: apt-get install clang)`,
    );
    return { passed: 0, failed: 0 };
  }
  const objects = buildFuzzObjects(found.clang);
  let passed = 0;
  let failed = 0;
  for (const name of fuzzHarnesses()) {
    const binary = buildFuzzer(found.clang, name, objects);
    const started = performance.now();
    const run = spawnSync(
      binary,
      [
        "-seed=1",
        `-max_total_time=${fuzzSmokeSeconds}`,
        "-print_final_stats=1",
        `-artifact_prefix=${binary}-`,
      ],
      { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8", env: fuzzEnv() },
    );
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const runs = /stat::number_of_executed_units:\s*(\d+)/.exec(run.stderr ?? "")?.[1];
    if (run.status === 0) {
      passed++;
      console.log(`native fuzz ${name}: ok (${runs ?? "?"} inputs, ${seconds}s)`);
    } else {
      failed++;
      console.log(run.stderr);
      console.log(`native fuzz ${name}: FAILED (exit ${run.status ?? run.signal}, ${seconds}s)`);
    }
  }
  return { passed, failed };
}

/** A libFuzzer campaign of one harness for `seconds`, growing its corpus in
 * `native/build/fuzz-corpus/<name>/`; further arguments go to libFuzzer (a file there runs that
 * input alone, e.g. to reproduce a crash). */
function runFuzzCampaign(name: string, seconds: number, extra: string[]): number {
  if (!fuzzHarnesses().includes(name)) {
    throw new NativeBuildError(
      `no fuzz harness '${name}': one of ${fuzzHarnesses().join(", ")} (native/fuzz/)`,
    );
  }
  const found = fuzzCompiler();
  if ("missing" in found) {
    throw new NativeBuildError(`cannot fuzz: ${found.missing} (Debian: apt-get install clang)`);
  }
  const binary = buildFuzzer(found.clang, name, buildFuzzObjects(found.clang));
  const corpus = join(buildDir, "fuzz-corpus", name);
  mkdirSync(corpus, { recursive: true });
  const files = extra.filter((arg) => !arg.startsWith("-"));
  const args = files.length > 0 ? extra : [
    `-max_total_time=${seconds}`,
    "-print_final_stats=1",
    `-artifact_prefix=${binary}-`,
    ...extra,
    corpus,
  ];
  const run = spawnSync(binary, args, { stdio: "inherit", env: fuzzEnv() });
  return run.status ?? 1;
}

const fuzzUsage = "--fuzz <harness> [seconds, default 60] [libFuzzer arguments or input files]";

function usage(): string {
  return "usage: deno run -A native/build.ts [--test | " + fuzzUsage + "]\n" +
    "  (no argument)  build the native library if its sources changed and print its path\n" +
    "  --test         build and run the C tests under ASan/UBSan (and TSan), then a short run " +
    "of each fuzz harness\n" +
    `  --fuzz         a libFuzzer campaign (clang); harnesses: ${fuzzHarnesses().join(", ")}`;
}

if (import.meta.main) {
  try {
    const [command, ...rest] = Deno.args;
    // Anywhere but after --fuzz, where an argument is libFuzzer's.
    if (
      command === "--help" || command === "-h" || (command !== "--fuzz" && rest.includes("--help"))
    ) {
      console.log(usage());
      Deno.exit(0);
    }
    if (command === "--fuzz") {
      const [name, ...extra] = rest;
      const duration = /^\d+$/.test(extra[0] ?? "") ? Number(extra.shift()) : 60;
      if (name === undefined || name.startsWith("-") || duration < 1) {
        console.error(
          `usage: deno run -A native/build.ts ${fuzzUsage}; harnesses: ${
            fuzzHarnesses().join(", ")
          }`,
        );
        Deno.exit(2);
      }
      Deno.exit(runFuzzCampaign(name, duration, extra));
    }
    // A misspelt option would otherwise build the library and stop, as if it had been run bare.
    const unknown = command === "--test" ? rest[0] : command;
    if (unknown !== undefined) {
      console.error(
        `native/build.ts: unknown argument '${unknown}' (usage: deno run -A native/build.ts ` +
          `[--test | --fuzz <harness> ...]; --help lists them)`,
      );
      Deno.exit(2);
    }
    if (command === "--test") Deno.exit(runNativeTests() ? 0 : 1);
    console.log(nativeLibraryPath());
  } catch (error) {
    if (!(error instanceof NativeBuildError)) throw error;
    console.error(error.message);
    Deno.exit(1);
  }
}
