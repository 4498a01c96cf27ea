/**
 * Chain errors made readable: transaction-pool rejections (`InvalidTransaction::Custom(code)` from
 * subtensor's transaction extension, and the pool's own refusals) and dispatch errors of included
 * extrinsics (pallet errors resolved through the runtime metadata).
 *
 * ```ts
 * describeSubmitError(new Error("1010: Invalid Transaction: Custom error: 6"));
 * // "rejected by the transaction pool: RateLimitExceeded (...)"
 * ```
 * @module
 */
import type { ApiPromise } from "@polkadot/api";

/** A failure talking to the chain, with a message fit for an operator's log. */
export class ChainError extends Error {
  override name = "ChainError";
}

/**
 * subtensor's `CustomTransactionError` codes (the number in `InvalidTransaction::Custom`), with
 * what they mean for a validator or miner.
 */
export const CUSTOM_TRANSACTION_ERRORS: Readonly<Record<number, readonly [string, string]>> = {
  0: ["ColdkeyInSwapSchedule", "the coldkey is scheduled for a swap"],
  1: [
    "StakeAmountTooLow",
    "stake too low (for a weight call: below the StakeThreshold needed to set weights)",
  ],
  2: ["BalanceTooLow", "the balance is too low"],
  3: ["SubnetNotExists", "the subnet does not exist"],
  4: ["HotkeyAccountDoesntExist", "the hotkey account does not exist"],
  5: ["NotEnoughStakeToWithdraw", "not enough stake to withdraw"],
  6: ["RateLimitExceeded", "rate limit exceeded (weights set or committed too soon)"],
  7: ["InsufficientLiquidity", "insufficient liquidity"],
  8: ["SlippageTooHigh", "slippage too high"],
  9: ["TransferDisallowed", "transfers are disallowed"],
  10: ["HotKeyNotRegisteredInNetwork", "the hotkey is not registered on the subnet"],
  11: ["InvalidIpAddress", "invalid IP address (loopback and broadcast addresses are refused)"],
  12: ["ServingRateLimitExceeded", "serving rate limit exceeded (axon served too recently)"],
  13: ["InvalidPort", "invalid port (0 is refused)"],
  14: ["ZeroMaxAmount", "zero max amount"],
  15: ["InvalidRevealRound", "the drand round is already on chain (it must be a future round)"],
  16: ["CommitNotFound", "no commit matches the revealed weights, salt and version key"],
  17: [
    "CommitBlockNotInRevealRange",
    "not the commit's reveal epoch (the reveal is too early or too late)",
  ],
  18: ["InputLengthsUnequal", "input lists differ in length"],
  19: ["UidNotFound", "the hotkey has no uid on the subnet"],
  20: ["EvmKeyAssociateRateLimitExceeded", "EVM key association rate limit exceeded"],
  21: ["ColdkeySwapDisputed", "the coldkey swap is disputed"],
  22: ["InvalidRealAccount", "invalid real account"],
  23: ["FailedShieldedTxParsing", "failed to parse a shielded transaction"],
  24: ["InvalidShieldedTxPubKeyHash", "invalid shielded transaction key hash"],
  25: ["NonAssociatedColdKey", "the coldkey is not associated"],
  26: ["DelegateTakeTooLow", "delegate take too low"],
  27: ["DelegateTakeTooHigh", "delegate take too high"],
  255: ["BadRequest", "refused by subtensor's transaction checks (no specific code)"],
};

/** Pool and RPC error codes a node answers `author_submit*` with. */
const POOL_ERRORS: Readonly<Record<number, string>> = {
  1010: "invalid transaction",
  1011: "unknown transaction validity",
  1012: "transaction temporarily banned",
  1013: "transaction already imported",
  1014: "priority too low (an equal transaction is already pending)",
  1015: "transaction dependency cycle",
  1016: "transaction pool immediately dropped the transaction",
};

/** Turns an error from submitting an extrinsic (RPC or pool rejection) into a readable message. */
export function describeSubmitError(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const custom = text.match(/Custom error: (\d+)/);
  if (custom) {
    const code = Number(custom[1]);
    const known = CUSTOM_TRANSACTION_ERRORS[code];
    return known
      ? `rejected by the transaction pool: ${known[0]} (${known[1]})`
      : `rejected by the transaction pool: custom error ${code}`;
  }
  const pool = text.match(/^(\d{4}): (.*)$/s);
  if (pool && POOL_ERRORS[Number(pool[1])]) {
    return `rejected by the transaction pool: ${pool[2]} (${POOL_ERRORS[Number(pool[1])]})`;
  }
  return `submission failed: ${text}`;
}

/** The dispatch error of an included extrinsic as `Pallet.Error: documentation`. */
export function describeDispatchError(
  api: ApiPromise,
  dispatchError: {
    isModule: boolean;
    asModule: Parameters<ApiPromise["registry"]["findMetaError"]>[0];
    toString(): string;
  },
): string {
  if (dispatchError.isModule) {
    try {
      const meta = api.registry.findMetaError(dispatchError.asModule);
      const docs = meta.docs.join(" ").trim();
      const pallet = meta.section[0].toUpperCase() + meta.section.slice(1);
      return `${pallet}.${meta.name}${docs ? `: ${docs}` : ""}`;
    } catch {
      // A module index the metadata does not know: fall through to the raw form.
    }
  }
  return dispatchError.toString();
}
