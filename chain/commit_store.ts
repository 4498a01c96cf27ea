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
import { dirname } from "node:path";
import { z } from "../cli/zod_messages.ts";
import { syncDirectory, syncToDisk } from "../cli/sync_to_disk.ts";
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
  // Files of earlier versions lack it: their epochs are checked against the chain again.
  confirmed: z.boolean().default(false),
  // Files of earlier versions lack it: a reveal sent unseen before the restart is sent again.
  revealSent: z.boolean().default(false),
  // Files of earlier versions lack it: any block is taken as past the reveal, as they did.
  revealSentAtBlock: z.number().int().min(0).default(0),
}));

/**
 * Reads the commits saved at `path`; a missing file is an empty list. An unreadable or malformed
 * one is moved aside (`<path>.damaged-<ms>`, so the next save cannot overwrite what may still be
 * recovered from it by hand), reported through `warn` naming the field, and treated as empty.
 */
export function loadPendingCommits(path: string, warn: (message: string) => void): PendingCommit[] {
  if (!existsSync(path)) return [];
  let problem: string;
  try {
    const parsed = PendingCommitsSchema.safeParse(JSON.parse(readFileSync(path, "utf8")));
    if (parsed.success) return parsed.data.map((c) => ({ ...c, versionKey: BigInt(c.versionKey) }));
    const issue = parsed.error.issues[0];
    problem = `${issue.path.join(".")}: ${issue.message}`;
  } catch (error) {
    problem = (error as Error).message;
  }
  const aside = `${path}.damaged-${Date.now()}`;
  try {
    renameSync(path, aside);
    warn(
      `pending commits ${path}: ${problem}; moved to ${aside}, starting without them (their ` +
        `reveals will not be sent)`,
    );
  } catch (error) {
    warn(
      `pending commits ${path}: ${problem}; starting without them (their reveals will not be ` +
        `sent); moving the file aside failed: ${(error as Error).message}`,
    );
  }
  return [];
}

/**
 * Writes the commits to `path` atomically and durably: a temporary file, flushed to disk, then a
 * rename, itself flushed with the directory. A commit on chain whose salt was lost in a power
 * cut could never be revealed.
 */
export function savePendingCommits(path: string, commits: readonly PendingCommit[]): void {
  const text = JSON.stringify(commits.map((c) => ({ ...c, versionKey: c.versionKey.toString() })));
  const temporary = `${path}.tmp`;
  writeFileSync(temporary, text, { mode: 0o600 });
  syncToDisk(temporary);
  renameSync(temporary, path);
  syncDirectory(dirname(path));
}
