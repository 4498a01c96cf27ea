/**
 * Temporary directories for tests, removed when the test module ends (after a failed assertion
 * too), so that test runs leave nothing behind in the system's temporary directory.
 *
 * ```ts
 * const root = testTempDir("taos-wallets-");
 * ```
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const made: string[] = [];
// Each test module gets its own instance of this module, and its "unload" comes once its
// tests have ended.
globalThis.addEventListener("unload", () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A new directory `<prefix>XXXXXX` in the system's temporary directory. */
export function testTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
