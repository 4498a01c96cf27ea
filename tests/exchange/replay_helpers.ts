/**
 * Runs `taos replay` as a real child process and splits its output into event lines and the
 * final state, for the exchange conformance tests.
 * @module
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { taosRun } from "../sim/taos_process.ts";

/** The path of the `taos` entry point. */
export const mainPath = fileURLToPath(new URL("../../main.ts", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "taos-replay-"));
globalThis.addEventListener("unload", () => rmSync(scratch, { recursive: true, force: true }));
let written = 0;

/** What one `taos replay` run printed. */
export interface ReplayRun {
  code: number;
  stdout: string;
  stderr: string;
  events: Record<string, unknown>[];
  final: FinalState | null;
}

/** The replay's last line. */
export interface FinalState {
  books: { bookId: number; bids: [string, string][]; asks: [string, string][] }[];
  accounts: {
    agentId: number;
    bookId: number;
    base: { free: string; reserved: string; loan?: string; collateral?: string };
    quote: { free: string; reserved: string; loan?: string; collateral?: string };
    fees?: { volume: string; tier: number; makerFeeRate: string; takerFeeRate: string };
  }[];
}

/** Runs `taos replay` with `args` as a child process; resolves to its exit code and output. */
export function taosReplay(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return taosRun(["replay", ...args], { env: { NO_COLOR: "1" } });
}

/** Runs `taos replay` on a script file path. */
export async function replayFile(path: string, extraArgs: string[] = []): Promise<ReplayRun> {
  const { code, stdout, stderr } = await taosReplay([...extraArgs, path]);
  const lines = stdout.split("\n").filter((line) => line.length > 0).map((line) =>
    JSON.parse(line) as Record<string, unknown>
  );
  const last = lines.at(-1);
  const final = last !== undefined && "final" in last ? last.final as FinalState : null;
  return {
    code,
    stdout,
    stderr,
    events: final === null ? lines : lines.slice(0, -1),
    final,
  };
}

/** Writes text to a scratch file and runs `taos replay` on it. */
export function replayText(text: string): Promise<ReplayRun> {
  const path = join(scratch, `script-${written++}.json`);
  writeFileSync(path, text);
  return replayFile(path);
}

/** Writes a script (any JSON value) to a scratch file and runs `taos replay` on it. */
export function replayScript(script: unknown): Promise<ReplayRun> {
  return replayText(JSON.stringify(script));
}

/** "100.50" and "100.5000" are the same decimal; anything else compares as itself. */
export function normalize(value: unknown): unknown {
  if (typeof value !== "string" || !/^-?\d+(\.\d+)?$/.test(value)) return value;
  const trimmed = value.includes(".") ? value.replace(/0+$/, "").replace(/\.$/, "") : value;
  return trimmed === "-0" ? "0" : trimmed;
}
