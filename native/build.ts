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
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

const nativeDir = new URL(".", import.meta.url).pathname;
const includeDir = join(nativeDir, "include");
const testDir = join(nativeDir, "tests");
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
const threadSanitizerFlags = testFlags(["-fsanitize=thread"]);

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

function fingerprint(root: string, files: string[], flags: string[]): string {
  const hash = createHash("sha256");
  hash.update(flags.join(" "));
  for (const file of files) {
    hash.update(file.slice(root.length));
    hash.update(readFileSync(file));
  }
  return hash.digest("hex").slice(0, 16);
}

function compiler(): string {
  const candidate = Deno.env.get("CC") ?? "cc";
  const probe = spawnSync(candidate, ["--version"], { encoding: "utf8" });
  if (probe.error !== undefined || probe.status !== 0) {
    throw new NativeBuildError(
      `no C compiler found (tried '${candidate}'): install one (Debian: apt-get install gcc) ` +
        "or set CC to its path",
    );
  }
  return candidate;
}

function compile(args: string[], what: string): void {
  const result = spawnSync(compiler(), args, { encoding: "utf8" });
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
  const headers = [
    ...listFiles(join(root, "src"), [".h"]),
    ...listFiles(join(root, "include"), [".h"]),
  ];
  const flags = libraryFlags(join(root, "include"));
  const name = `libtaos-${fingerprint(root, [...sources, ...headers], flags)}.so`;
  const build = join(root, "build");
  const target = join(build, name);
  if (existsSync(target)) return target;
  mkdirSync(build, { recursive: true });
  const temporary = `${target}.${Deno.pid}.tmp`;
  compile([...flags, "-o", temporary, ...sources, "-lm"], "the native library");
  renameSync(temporary, target);
  removeOlderLibraries(build, name);
  return target;
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
  mkdirSync(buildDir, { recursive: true });
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
      compile([...flags, "-o", binary, path, ...librarySources(), "-lm"], `test ${name}${label}`);
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
  console.log(`native: ${passed} passed, ${failed} failed`);
  return failed === 0;
}

if (import.meta.main) {
  try {
    if (Deno.args.includes("--test")) {
      Deno.exit(runNativeTests() ? 0 : 1);
    }
    console.log(nativeLibraryPath());
  } catch (error) {
    if (!(error instanceof NativeBuildError)) throw error;
    console.error(error.message);
    Deno.exit(1);
  }
}
