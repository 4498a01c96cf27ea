/**
 * The wallet flags the validator and the miner share. Apart from the other flag values: the wallet
 * module loads the key code, which the agent kit (importing those) must not pull in, since a
 * sandboxed agent may not read the environment that code reads at import.
 * @module
 */
import { walletNameProblem, walletPart } from "../bittensor/wallet.ts";
import { UsageError } from "./command.ts";

/**
 * The wallet or hotkey name a command uses (see {@linkcode walletPart}); one that cannot name a
 * file in the wallets directory is a UsageError naming the flag or variable it came from.
 */
export function walletNameFlag(
  part: "name" | "hotkey",
  given: string | undefined,
  fallback: string,
): string {
  const { name, source } = walletPart(part, given, fallback);
  const problem = walletNameProblem(name);
  if (problem !== null) throw new UsageError(`${source}: ${problem}`);
  return name;
}
