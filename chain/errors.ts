/**
 * Chain errors made readable: transaction-pool rejections (`InvalidTransaction::Custom(code)` from
 * subtensor's transaction extension, and the pool's own refusals), RPC errors, and dispatch errors
 * of included extrinsics (pallet errors resolved through the runtime metadata). A pool or RPC
 * failure is told as what it means and what to do, with the node's own words after it.
 *
 * ```ts
 * describeSubmitError(new Error("1010: Invalid Transaction: Custom error: 6"));
 * // "rejected by the transaction pool: RateLimitExceeded (...)"
 * describeSubmitError(new Error("1010: Invalid Transaction: Transaction is outdated"));
 * // "rejected by the transaction pool: the nonce is already used (...); nothing if ...
 * //  (node said: 1010: Invalid Transaction: Transaction is outdated)"
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

/**
 * A failure a node reports in words of its own (a pool rejection other than subtensor's custom
 * codes, an RPC error, a dropped connection): what it means, and what the operator can do.
 */
interface KnownFailure {
  /** Matched against the raw text, as `@polkadot/api` words it (`1010: Invalid Transaction: ...`). */
  pattern: RegExp;
  meaning: string;
  action: string;
}

const POOL_REJECTIONS: readonly KnownFailure[] = [
  {
    pattern: /^1010:.*bad signature/is,
    meaning: "the signature does not verify",
    action: "check that the hotkey file holds the key of its address and that the endpoint is " +
      "the network you mean (a signature binds the chain's genesis and runtime version)",
  },
  {
    pattern: /^1010:.*Invalid signing address/is,
    meaning: "the signing address is not valid on this chain",
    action: "check the hotkey file and the endpoint",
  },
  {
    pattern: /^1010:.*Inability to pay/is,
    meaning: "the signing account cannot pay the transaction fee",
    action: "add TAO to the hotkey's account (the signer pays the fee) and try again",
  },
  {
    pattern: /^1010:.*outdated/is,
    meaning: "the nonce is already used (another transaction signed by this key came first)",
    action: "nothing if it was a one-off (the next attempt takes a fresh nonce); if it recurs, " +
      "make sure no other process signs with the same hotkey",
  },
  {
    pattern: /^1010:.*will be valid in the future/is,
    meaning: "the nonce is ahead of the account's (an earlier transaction of this key is missing)",
    action: "wait for this key's pending transactions to be included, then try again",
  },
  {
    pattern: /^1010:.*ancient birth block/is,
    meaning: "the transaction's validity period has passed (signed against a block too old)",
    action: "check that the node is synced (a lagging node serves stale blocks); try again",
  },
  {
    pattern: /^1010:.*exhaust the block limits/is,
    meaning: "the transaction does not fit in a block now",
    action: "try again later",
  },
  {
    pattern: /^1011:/,
    meaning: "the node could not check the transaction",
    action: "the node may be syncing; try again, or use another endpoint",
  },
  {
    pattern: /^1012:/,
    meaning: "the node has temporarily banned this exact transaction (it was recently refused or " +
      "included)",
    action: "wait a few minutes before sending it again",
  },
  {
    pattern: /^1013:/,
    meaning: "the same transaction is already in the pool",
    action: "nothing to do: wait for it to be included",
  },
  {
    pattern: /^1014:/,
    meaning: "a transaction of this key with the same nonce is already pending",
    action: "wait for it to be included; if this recurs, make sure no other process signs with " +
      "the same hotkey",
  },
  {
    pattern: /^1015:/,
    meaning: "the transaction depends on itself through other pending transactions",
    action: "wait for this key's pending transactions to be included, then try again",
  },
  {
    pattern: /^1016:/,
    meaning: "the node's transaction pool is full",
    action: "try again later, or use another endpoint",
  },
];

const RPC_FAILURES: readonly KnownFailure[] = [
  {
    pattern: /^100[12]:/,
    meaning: "the node could not decode or check the transaction",
    action: "try again; if it persists, the node's runtime may not match this client's: use " +
      "another endpoint",
  },
  {
    pattern: /^-32601:/,
    meaning: "the node does not offer this RPC method",
    action: "check that the endpoint is a subtensor node with its RPC methods enabled",
  },
  {
    pattern: /^-32602:/,
    meaning: "the node refused the call's parameters",
    action: "the node may run a different runtime; try another endpoint",
  },
  {
    pattern: /^-32603:/,
    meaning: "the node failed internally",
    action: "try again, or use another endpoint",
  },
  {
    pattern: /^-32(0\d\d|700):/,
    meaning: "the node refused the call",
    action: "try again, or use another endpoint",
  },
  {
    pattern: /No response received from RPC endpoint/i,
    meaning: "the node did not answer in time",
    action: "check the node's load and the network to it, or use another endpoint",
  },
  {
    pattern: /WebSocket is not connected|disconnected from|Abnormal Closure|socket.*closed/i,
    meaning: "the connection to the node dropped",
    action: "the client reconnects by itself; if this persists, check the endpoint",
  },
];

/**
 * `prefix: meaning; action (node said: raw)`, for a known failure; the raw text stays as the
 * detail, since it is what the node's operators and logs know.
 */
function explain(prefix: string, raw: string, known: readonly KnownFailure[]): string | null {
  const failure = known.find((k) => k.pattern.test(raw));
  return failure === undefined
    ? null
    : `${prefix}: ${failure.meaning}; ${failure.action} (node said: ${oneLine(raw)})`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

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
  return explain("rejected by the transaction pool", text, POOL_REJECTIONS) ??
    explain("submission failed", text, RPC_FAILURES) ??
    (/^101\d:/.test(text)
      ? `rejected by the transaction pool: ${oneLine(text)}`
      : `submission failed: ${oneLine(text)}`);
}

/**
 * Turns an error from a chain query (an RPC error, a dropped connection, no answer) into a
 * readable message; anything unrecognised is its own text.
 */
export function describeRpcError(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return explain("the chain query failed", text, RPC_FAILURES) ?? oneLine(text);
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
