import assert from "node:assert/strict";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { NativeBuildError, nativeLibraryPath } from "../../native/build.ts";

const nativeDir = fileURLToPath(new URL("../../native/", import.meta.url));

/** A scratch copy of the native sources, so edits do not touch the real tree. */
function scratchTree(): string {
  const root = mkdtempSync(join(tmpdir(), "taos-native-"));
  cpSync(join(nativeDir, "src"), join(root, "src"), { recursive: true });
  cpSync(join(nativeDir, "include"), join(root, "include"), { recursive: true });
  return root;
}

/** A tree of one small source and two headers, for tests that build often: quick to compile. */
function tinyTree(): string {
  const root = mkdtempSync(join(tmpdir(), "taos-native-"));
  mkdirSync(join(root, "src"));
  mkdirSync(join(root, "include"));
  writeFileSync(join(root, "include", "api.h"), "#define TAOS_API_VALUE 1\n");
  writeFileSync(join(root, "src", "internal.h"), "#define TAOS_INTERNAL_VALUE 2\n");
  writeFileSync(
    join(root, "src", "one.c"),
    '#include "api.h"\n#include "internal.h"\n' +
      "int taos_header_sum(void) { return TAOS_API_VALUE + TAOS_INTERNAL_VALUE; }\n",
  );
  return root;
}

const libraries = (root: string) =>
  readdirSync(join(root, "build")).filter((name) => name.endsWith(".so"));

Deno.test("the native library is built once, rebuilt when a source changes, and the stale build removed", () => {
  const root = scratchTree();
  try {
    const first = nativeLibraryPath(root);
    const builtAt = statSync(first).mtimeMs;
    assert.equal(nativeLibraryPath(root), first, "unchanged sources reuse the build");
    assert.equal(statSync(first).mtimeMs, builtAt);

    writeFileSync(join(root, "src", "extra.c"), "int taos_extra_symbol(void) { return 79; }\n");
    const second = nativeLibraryPath(root);
    assert.notEqual(second, first, "an added source gives a new build");
    assert.ok(existsSync(second));
    assert.deepEqual(libraries(root), [second.slice(second.lastIndexOf("/") + 1)]);

    const library = Deno.dlopen(second, { taos_extra_symbol: { parameters: [], result: "i32" } });
    try {
      assert.equal(library.symbols.taos_extra_symbol(), 79);
    } finally {
      library.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

Deno.test("an edited header, public or internal, gives a new build", () => {
  const root = tinyTree();
  try {
    const sum = (path: string) => {
      const library = Deno.dlopen(path, { taos_header_sum: { parameters: [], result: "i32" } });
      try {
        return library.symbols.taos_header_sum();
      } finally {
        library.close();
      }
    };
    const first = nativeLibraryPath(root);
    assert.equal(sum(first), 3);
    writeFileSync(join(root, "include", "api.h"), "#define TAOS_API_VALUE 10\n");
    const second = nativeLibraryPath(root);
    assert.notEqual(second, first, "an edited public header gives a new build");
    assert.equal(sum(second), 12);
    writeFileSync(join(root, "src", "internal.h"), "#define TAOS_INTERNAL_VALUE 20\n");
    const third = nativeLibraryPath(root);
    assert.notEqual(third, second, "an edited internal header gives a new build");
    assert.equal(sum(third), 30);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

Deno.test("a source that does not compile is reported with the compiler's message", () => {
  const root = scratchTree();
  try {
    writeFileSync(join(root, "src", "broken.c"), "int broken(void) { return missing_name; }\n");
    assert.throws(() => nativeLibraryPath(root), (error: unknown) => {
      assert.ok(error instanceof NativeBuildError);
      assert.match(error.message, /building the native library failed/);
      assert.match(error.message, /missing_name/);
      return true;
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

Deno.test("a missing C compiler gives a message saying how to install one", () => {
  const root = tinyTree();
  const previous = Deno.env.get("CC");
  Deno.env.set("CC", "taos-no-such-compiler");
  try {
    assert.throws(() => nativeLibraryPath(root), (error: unknown) => {
      assert.ok(error instanceof NativeBuildError);
      assert.match(error.message, /no C compiler found \(tried 'taos-no-such-compiler'\)/);
      assert.match(error.message, /apt-get install gcc/);
      return true;
    });
    // A program that runs but does not answer --version is no compiler either.
    Deno.env.set("CC", "false");
    assert.throws(() => nativeLibraryPath(root), (error: unknown) => {
      assert.ok(error instanceof NativeBuildError);
      assert.match(error.message, /no C compiler found \(tried 'false'\)/);
      return true;
    });
  } finally {
    if (previous === undefined) Deno.env.delete("CC");
    else Deno.env.set("CC", previous);
    rmSync(root, { recursive: true, force: true });
  }
});

Deno.test("another C compiler, or the same one changed, builds the library anew", () => {
  const root = tinyTree();
  const previous = Deno.env.get("CC");
  // A compiler of its own: a script that leaves a mark and hands over to the system's.
  const wrapper = join(root, "marking-cc");
  const mark = join(root, "wrapper-ran");
  const script = (comment: string) => `#!/bin/sh\n# ${comment}\ntouch '${mark}'\nexec cc "$@"\n`;
  try {
    const systems = nativeLibraryPath(root);
    writeFileSync(wrapper, script("first build"), { mode: 0o755 });
    Deno.env.set("CC", wrapper);
    const wrapped = nativeLibraryPath(root);
    assert.notEqual(wrapped, systems, "CC naming another compiler gives another build");
    assert.ok(existsSync(mark), "the build used the compiler CC names");

    rmSync(mark);
    assert.equal(nativeLibraryPath(root), wrapped, "the same compiler reuses its build");
    assert.ok(!existsSync(mark));

    // An upgrade of the same size is told by its time; one that keeps the time, by its size.
    writeFileSync(wrapper, script("first patch"), { mode: 0o755 });
    utimesSync(wrapper, 1_000_000, 1_000_000);
    const patched = nativeLibraryPath(root);
    assert.notEqual(patched, wrapped, "a compiler changed in place gives another build");
    assert.ok(existsSync(mark));

    rmSync(mark);
    writeFileSync(wrapper, script("second, a longer upgrade"), { mode: 0o755 });
    utimesSync(wrapper, 1_000_000, 1_000_000);
    const upgraded = nativeLibraryPath(root);
    assert.notEqual(upgraded, patched, "a compiler of another size gives another build");
    assert.ok(existsSync(mark));
  } finally {
    if (previous === undefined) Deno.env.delete("CC");
    else Deno.env.set("CC", previous);
    rmSync(root, { recursive: true, force: true });
  }
});

Deno.test("threads of one process building the library at once all get it", async () => {
  // Test modules and workers share a process id: were the temporary file named by it alone, the
  // slower build's rename would fail (ENOENT).
  const root = scratchTree();
  const builder = join(root, "builder.ts");
  writeFileSync(
    builder,
    `import { nativeLibraryPath } from ${
      JSON.stringify(new URL("build.ts", `file://${nativeDir}`).href)
    };
     self.onmessage = () => {
       try {
         self.postMessage({ path: nativeLibraryPath(${JSON.stringify(root)}) });
       } catch (error) {
         self.postMessage({ error: String(error) });
       }
     };\n`,
  );
  const workers = [0, 1, 2].map(() => new Worker(`file://${builder}`, { type: "module" }));
  try {
    const results = await Promise.all(
      workers.map((worker) =>
        new Promise<{ path?: string; error?: string }>((resolve) => {
          worker.onmessage = (event) => resolve(event.data);
          worker.onerror = (event) => resolve({ error: event.message });
          worker.postMessage("build");
        })
      ),
    );
    for (const result of results) assert.equal(result.error, undefined, String(result.error));
    assert.equal(new Set(results.map((result) => result.path)).size, 1);
    assert.deepEqual(readdirSync(join(root, "build")), [libraries(root)[0]], "no file left over");
  } finally {
    for (const worker of workers) worker.terminate();
    rmSync(root, { recursive: true, force: true });
  }
});

Deno.test("a checkout whose path has a space builds the library from its own sources", () => {
  // File URLs spell a space as %20: a build that took the URL's path literally would find no
  // sources in a directory of that name and link an empty library there.
  const parent = mkdtempSync(join(tmpdir(), "taos native "));
  try {
    const copy = join(parent, "native");
    for (const part of ["src", "include"]) {
      cpSync(join(nativeDir, part), join(copy, part), { recursive: true });
    }
    cpSync(join(nativeDir, "build.ts"), join(copy, "build.ts"));
    const run = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(copy, "build.ts")],
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
    const path = new TextDecoder().decode(run.stdout).trim();
    assert.ok(path.startsWith(join(copy, "build") + "/"), path);
    const library = Deno.dlopen(path, {
      tx_pending_events: { parameters: ["pointer"], result: "usize" },
    });
    library.close();
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});

Deno.test("a build directory that cannot be made is reported by name", () => {
  const root = scratchTree();
  try {
    writeFileSync(join(root, "build"), "a file where the build directory goes\n");
    assert.throws(() => nativeLibraryPath(root), (error: unknown) => {
      assert.ok(error instanceof NativeBuildError, String(error));
      assert.match(error.message, /cannot write the native library to .*\/build: /);
      return true;
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

Deno.test("a source directory without C files is reported, not linked into an empty library", () => {
  const root = scratchTree();
  try {
    rmSync(join(root, "src"), { recursive: true });
    assert.throws(() => nativeLibraryPath(root), (error: unknown) => {
      assert.ok(error instanceof NativeBuildError, String(error));
      assert.match(error.message, /no C sources in .*\/src/);
      return true;
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

Deno.test("a C host builds from the exchange core's sources alone, as the README shows", () => {
  const root = mkdtempSync(join(tmpdir(), "taos-host-"));
  try {
    writeFileSync(
      join(root, "host.c"),
      `#include <stdio.h>
#include "taos_exchange.h"
int main(void) {
  tx_config c = {.book_count = 1, .price_decimals = 2, .volume_decimals = 4, .base_decimals = 4,
                 .quote_decimals = 8, .agent_count = 2, .default_base = 1000000,
                 .default_quote = 1000000000000, .fee_slot_period_ns = 1000000000,
                 .fee_history_slots = 1, .fee_tier_count = 1};
  tx_exchange *ex = NULL;
  if (tx_open(&c, &ex, NULL, 0) != TX_OK) return 1;
  tx_instruction in[2] = {
      {.kind = TX_INSTR_LIMIT, .direction = TX_SELL, .agent_id = 1, .client_order_id = TX_NONE,
       .volume = 20000, .price = 10050},
      {.kind = TX_INSTR_LIMIT, .direction = TX_BUY, .agent_id = 0, .client_order_id = TX_NONE,
       .volume = 10000, .price = 10050},
  };
  if (tx_submit(ex, 1, in, 2) != TX_OK) return 1;
  tx_event events[8];
  size_t n = tx_drain_events(ex, events, 8), trades = 0;
  for (size_t i = 0; i < n; i++) trades += events[i].type == TX_EV_TRADE;
  tx_balances b;
  if (tx_balances_get(ex, 0, 0, &b) != TX_OK) return 1;
  printf("trades %zu base %lld\\n", trades, (long long)b.base_free);
  tx_close(ex);
  return 0;
}
`,
    );
    const sources = readdirSync(join(nativeDir, "src"))
      .filter((name) => /^exchange.*\.c$/.test(name))
      .map((name) => join(nativeDir, "src", name));
    const host = join(root, "host");
    const build = spawnSync(
      Deno.env.get("CC") ?? "cc",
      [
        "-std=c11",
        "-O2",
        `-I${join(nativeDir, "include")}`,
        join(root, "host.c"),
        ...sources,
        "-o",
        host,
      ],
      { encoding: "utf8" },
    );
    assert.equal(build.status, 0, build.stderr);
    const run = spawnSync(host, [], { encoding: "utf8" });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, "trades 1 base 1010000\n");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

/** A copy of `native/` (sources, headers, harnesses and this build script) in a new directory. */
function scriptTree(): string {
  const root = mkdtempSync(join(tmpdir(), "taos-native-"));
  for (const part of ["src", "include", "fuzz"]) {
    cpSync(join(nativeDir, part), join(root, part), { recursive: true });
  }
  cpSync(join(nativeDir, "build.ts"), join(root, "build.ts"));
  return root;
}

/** Runs the build script of the tree at `root` with `args`: exit code and output. */
function runBuildScript(root: string, args: string[], env: Record<string, string> = {}) {
  const run = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(root, "build.ts"), ...args],
    env: { ...env, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: run.code, stdout: text(run.stdout), stderr: text(run.stderr) };
}

Deno.test("an empty CC is taken as unset: the system's cc builds the library", () => {
  const root = tinyTree();
  const previous = Deno.env.get("CC");
  try {
    Deno.env.delete("CC");
    const systems = nativeLibraryPath(root);
    Deno.env.set("CC", "");
    assert.equal(nativeLibraryPath(root), systems);
  } finally {
    if (previous === undefined) Deno.env.delete("CC");
    else Deno.env.set("CC", previous);
    rmSync(root, { recursive: true, force: true });
  }
});

Deno.test("a build directory with no room for new files is reported by name in one line", () => {
  const root = tinyTree();
  try {
    // No one, root included, can create a file in a process's /proc directory.
    symlinkSync("/proc/self", join(root, "build"));
    assert.throws(() => nativeLibraryPath(root), (error: unknown) => {
      assert.ok(error instanceof NativeBuildError, String(error));
      assert.match(error.message, /^cannot write the native library to .*\/build: [^\n]+$/);
      return true;
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

Deno.test("the C tests and a fuzz campaign report a build directory that cannot be made in one line", () => {
  const root = scriptTree();
  try {
    writeFileSync(join(root, "build"), "a file where the build directory goes\n");
    for (const args of [["--test"], ["--fuzz", "sr25519_verify", "1"]]) {
      const { code, stdout, stderr } = runBuildScript(root, args);
      assert.equal(code, 1, `${args.join(" ")}: ${stderr}`);
      assert.equal(stdout, "");
      assert.match(
        stderr,
        /^cannot write the (C tests|fuzz harnesses) to .*\/build: [^\n]+\n$/,
        args.join(" "),
      );
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

Deno.test("the build script answers --help and refuses an option it does not know, building nothing", () => {
  const root = scriptTree();
  try {
    const help = runBuildScript(root, ["--help"]);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^usage: deno run -A native\/build\.ts /);
    assert.match(help.stdout, /--test/);
    assert.match(help.stdout, /--fuzz <harness>/);

    const typo = runBuildScript(root, ["--tests"]);
    assert.equal(typo.code, 2);
    assert.equal(typo.stdout, "");
    assert.match(typo.stderr, /^native\/build\.ts: unknown argument '--tests' \(usage: /);
    assert.ok(!existsSync(join(root, "build")), "nothing was built");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
