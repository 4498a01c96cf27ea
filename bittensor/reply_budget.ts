/**
 * A byte budget shared by the replies of one round: every reply body held or being read claims its
 * bytes (a body announced by Content-Length claims them all before it is read). When a claim would
 * take the round past the budget, the largest reply is given up: another one held or being read if
 * it is larger than the claimant (it is evicted, its read aborted and its memory let go), else the
 * claimant itself. Small replies, the usual honest ones, are never given up while larger ones
 * are held; a reply is lost only when those no larger than it fill the budget.
 *
 * ```ts
 * const budget = new ReplyBudget(512 * 1024 * 1024);
 * const claim = budget.claim();
 * claim.onEvict((error) => abortRead(error));
 * claim.reserve(contentLength); // throws OverBudget if this reply is the one to go
 * claim.release(); // once the reply is parsed
 * ```
 * @module
 */

/** A reply given up to keep its round within the budget. */
export class OverBudget extends Error {
  constructor(readonly limitBytes: number) {
    super(
      `dropped, the round's replies reached its ${bytesText(limitBytes)} budget and this was the ` +
        "largest",
    );
  }
}

/** The bytes held by every reply of a round. */
export class ReplyBudget {
  readonly #claims = new Set<ReplyClaim>();
  #held = 0;
  #peak = 0;

  constructor(readonly limitBytes: number) {
    if (!Number.isSafeInteger(limitBytes) || limitBytes < 0) {
      throw new RangeError(`reply budget must be a whole number of bytes, not ${limitBytes}`);
    }
  }

  /** Bytes claimed now by replies held or being read. */
  get heldBytes(): number {
    return this.#held;
  }

  /** The most bytes ever claimed at once. */
  get peakBytes(): number {
    return this.#peak;
  }

  /** A new claim of 0 bytes for one reply. */
  claim(): ReplyClaim {
    const claim = new ReplyClaim(this);
    this.#claims.add(claim);
    return claim;
  }

  /** Called by {@linkcode ReplyClaim.reserve}: makes room for `claim` to grow by `bytes`. */
  grow(claim: ReplyClaim, bytes: number): void {
    if (!this.#claims.has(claim)) throw new Error("a released claim cannot grow");
    const wanted = claim.bytes + bytes;
    while (this.#held + bytes > this.limitBytes) {
      let largest: ReplyClaim | null = null;
      for (const c of this.#claims) {
        if (c !== claim && (largest === null || c.bytes > largest.bytes)) largest = c;
      }
      if (largest === null || largest.bytes <= wanted) {
        // The claimant is the largest: it fails where it stands, its own reader gets the error.
        const error = new OverBudget(this.limitBytes);
        this.#remove(claim);
        claim.dropped = error;
        throw error;
      }
      this.#remove(largest);
      largest.evict(new OverBudget(this.limitBytes));
    }
    claim.bytes = wanted;
    this.#held += bytes;
    if (this.#held > this.#peak) this.#peak = this.#held;
  }

  /** Called by {@linkcode ReplyClaim.release}: the claim's bytes return to the round. */
  release(claim: ReplyClaim): void {
    this.#remove(claim);
  }

  #remove(claim: ReplyClaim): void {
    if (!this.#claims.delete(claim)) return;
    this.#held -= claim.bytes;
    claim.bytes = 0;
  }
}

/** The bytes one reply holds against its round's {@linkcode ReplyBudget}. */
export class ReplyClaim {
  bytes = 0;
  /** Why the reply was given up, or null while it keeps its bytes. */
  dropped: OverBudget | null = null;
  #onEvict: ((reason: OverBudget) => void) | null = null;

  constructor(readonly budget: ReplyBudget) {}

  /** Claims `bytes` more; throws {@linkcode OverBudget} (the claim is then dropped) when this reply
   * is the one to go. */
  reserve(bytes: number): void {
    if (this.dropped !== null) throw this.dropped;
    this.budget.grow(this, bytes);
  }

  /** `handler` is called, once, if another reply evicts this one; it replaces any earlier one. */
  onEvict(handler: ((reason: OverBudget) => void) | null): void {
    this.#onEvict = handler;
  }

  /** Returns the claim's bytes to the round: the reply was parsed, failed or given up. */
  release(): void {
    this.budget.release(this);
  }

  /** Called by the budget when another reply needs this one's bytes. */
  evict(reason: OverBudget): void {
    this.dropped = reason;
    const handler = this.#onEvict;
    this.#onEvict = null;
    handler?.(reason);
  }
}

/** `512 MiB`, `1.5 GiB`, or bytes when not a whole number of KiB. */
function bytesText(bytes: number): string {
  for (const [unit, size] of [["GiB", 2 ** 30], ["MiB", 2 ** 20], ["KiB", 2 ** 10]] as const) {
    if (bytes >= size && bytes % (size / 4) === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} bytes`;
}
