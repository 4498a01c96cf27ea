/**
 * `@polkadot/api`'s own console lines go to the log a client is given, as one line each, and
 * nothing else written to the console is touched.
 */
import assert from "node:assert/strict";
import { logger } from "@polkadot/util";
import { serveAxon, SubtensorClient } from "../../chain/mod.ts";
import { libraryLine, routeLibraryLog } from "../../chain/library_log.ts";
import { invalidTransaction } from "./fake_subtensor.ts";
import { bob, NETUID, startNode } from "./subnet_fixture.ts";

const testOptions = { sanitizeOps: false, sanitizeResources: false };

/** Runs `work` with console.log/warn/error recorded instead of printed. */
async function recordingConsole(work: () => Promise<void> | void): Promise<string[]> {
  const printed: string[] = [];
  const saved = { log: console.log, warn: console.warn, error: console.error };
  for (const method of ["log", "warn", "error"] as const) {
    console[method] = (...args: unknown[]) => void printed.push(`${method}: ${args.join(" ")}`);
  }
  try {
    await work();
  } finally {
    Object.assign(console, saved);
  }
  return printed;
}

Deno.test("library lines: the logger's shape is recognised, anything else is not", () => {
  assert.equal(
    libraryLine(["2026-11-27 10:25:40", "        RPC-CORE:", "submit(x):", "1010: Invalid"]),
    "RPC-CORE: submit(x): 1010: Invalid",
  );
  assert.equal(
    libraryLine(["2026-11-27 10:25:40", "       API/INIT:", "line one\n  line two"]),
    "API/INIT: line one line two",
  );
  assert.equal(libraryLine(["2026-11-27 10:25:40", "   API-WS:"]), "API-WS:");
  // An Error without its stack, which names only where the library is installed.
  const fatal = new Error("FATAL: Unable to initialize the API: -32603: boom");
  assert.equal(
    libraryLine(["2026-11-27 10:25:40", "       API/INIT:", fatal]),
    "API/INIT: Error: FATAL: Unable to initialize the API: -32603: boom",
  );
  assert.equal(libraryLine(["2026-11-27T10:25:40Z INFO    connected"]), null);
  assert.equal(libraryLine(["2026-11-27 10:25:40", "not an origin"]), null);
  // The library's origins are upper case, without spaces: a program's own `date, "note:"` is not.
  assert.equal(libraryLine(["2026-11-27 10:25:40", "note:"]), null);
  assert.equal(libraryLine(["2026-11-27 10:25:40", "  API WS:"]), null);
  assert.equal(libraryLine(["2026-11-27 10:25:40", 7]), null);
  assert.equal(libraryLine([]), null);
});

Deno.test("library lines go to the sinks while one is registered, then the console is as before", async () => {
  const routed: string[] = [];
  const library = logger("api-ws");
  const printed = await recordingConsole(() => {
    const before = { log: console.log, warn: console.warn, error: console.error };
    const first = routeLibraryLog((line) => routed.push(`first ${line}`));
    const second = routeLibraryLog((line) => routed.push(`second ${line}`));
    library.warn("disconnected from ws://127.0.0.1:9944: 1006:: Abnormal Closure");
    console.error("ours", 1);
    first();
    library.error("still routed");
    second();
    library.log("printed again");
    console.log("ours again");
    assert.deepEqual({ log: console.log, warn: console.warn, error: console.error }, before);
  });
  assert.deepEqual(routed, [
    "first API-WS: disconnected from ws://127.0.0.1:9944: 1006:: Abnormal Closure",
    "second API-WS: disconnected from ws://127.0.0.1:9944: 1006:: Abnormal Closure",
    "second API-WS: still routed",
  ]);
  assert.equal(printed.length, 3);
  assert.equal(printed[0], "error: ours 1");
  assert.match(printed[1], /^log: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d +API-WS: printed again$/);
  assert.equal(printed[2], "log: ours again");
});

Deno.test(
  "a client's refused submission: @polkadot/api's error line reaches its libraryLog, not the console",
  testOptions,
  async () => {
    const { node } = startNode({});
    const routed: string[] = [];
    const printed = await recordingConsole(async () => {
      const client = await SubtensorClient.connect({
        network: node.url,
        connectTimeoutMs: 10_000,
        libraryLog: (line) => routed.push(line),
      });
      try {
        node.onSubmit = () => invalidTransaction("Transaction is outdated");
        const outcome = await serveAxon(client, bob, { netuid: NETUID, ip: "1.2.3.4", port: 8000 });
        assert.equal(outcome.ok, false);
      } finally {
        await client.close();
        await node.close();
      }
      // Closed: the console is the library's again.
      logger("rpc-core").error("after close");
    });
    assert.ok(
      routed.some((line) => /^RPC-CORE: .*1010: Invalid Transaction/.test(line)),
      JSON.stringify(routed),
    );
    assert.ok(routed.every((line) => !line.includes("\n")));
    assert.deepEqual(printed.filter((line) => line.includes("1010")), []);
    assert.equal(printed.filter((line) => /RPC-CORE: after close$/.test(line)).length, 1);
  },
);
