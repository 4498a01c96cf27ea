/**
 * Unrevealed weight commits kept in a JSON file, so a validator restarted between a commit and
 * its reveal epoch still reveals. The file holds salts, which keep the weights secret until the
 * reveal; it is written with owner-only permissions.
 *
 * ```ts
 * const commits = loadPendingCommits("state/commits.json", console.warn);
 * savePendingCommits("state/commits.json", commits);
 * ```
 * @module
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { z } from "zod";
import type { PendingCommit } from "./weight_setter.ts";

const u16 = z.number().int().min(0).max(65535);

const PendingCommitsSchema = z.array(z.object({
  uids: z.array(u16),
  values: z.array(u16),
  salt: z.array(u16),
  versionKey: z.string().regex(/^\d+$/),
  hash: z.string().regex(/^0x[0-9a-f]{64}$/),
  commitEpoch: z.number().int().min(0),
  revealEpoch: z.number().int().min(0),
}));

/**
 * Reads the commits saved at `path`; a missing file is an empty list, and an unreadable or
 * malformed one is reported through `warn` (naming the field) and treated as empty.
 */
export function loadPendingCommits(path: string, warn: (message: string) => void): PendingCommit[] {
  if (!existsSync(path)) return [];
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    warn(`pending commits ${path}: ${(error as Error).message}; starting without them`);
    return [];
  }
  const parsed = PendingCommitsSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    warn(
      `pending commits ${path}: ${issue.path.join(".")}: ${issue.message}; starting without them`,
    );
    return [];
  }
  return parsed.data.map((c) => ({ ...c, versionKey: BigInt(c.versionKey) }));
}

/** Writes the commits to `path` atomically (temporary file, then rename). */
export function savePendingCommits(path: string, commits: readonly PendingCommit[]): void {
  const text = JSON.stringify(commits.map((c) => ({ ...c, versionKey: c.versionKey.toString() })));
  const temporary = `${path}.tmp`;
  writeFileSync(temporary, text, { mode: 0o600 });
  renameSync(temporary, path);
}
