/**
 * Admits at most N concurrent forwards; waiting requests are served highest priority first
 * (the caller's stake), and a request that waits longer than its deadline gives up.
 *
 * ```ts
 * const gate = new PriorityGate(2);
 * const release = await gate.enter(stake, AbortSignal.timeout(5000)); // throws GateTimeout
 * try { await work(); } finally { release(); }
 * ```
 * @module
 */

/** Raised when a request's deadline passes while it waits for a slot. */
export class GateTimeout extends Error {
  override name = "GateTimeout";
}

interface Waiter {
  priority: number;
  seq: number;
  admit: () => void;
}

/** A counting semaphore whose queue is ordered by priority (ties first come, first served). */
export class PriorityGate {
  readonly #capacity: number;
  #active = 0;
  #seq = 0;
  readonly #waiting: Waiter[] = [];

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error("capacity must be >= 1");
    this.#capacity = capacity;
  }

  /** Requests currently waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Waits for a slot; resolves to the function that frees it. */
  enter(priority: number, signal: AbortSignal): Promise<() => void> {
    const release = () => {
      this.#active--;
      this.#admitNext();
    };
    if (this.#active < this.#capacity && this.#waiting.length === 0) {
      this.#active++;
      return Promise.resolve(once(release));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        priority: Number.isFinite(priority) ? priority : 0,
        seq: this.#seq++,
        admit: () => {
          signal.removeEventListener("abort", onAbort);
          resolve(once(release));
        },
      };
      const onAbort = () => {
        const index = this.#waiting.indexOf(waiter);
        if (index >= 0) this.#waiting.splice(index, 1);
        reject(new GateTimeout("deadline passed while waiting"));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(waiter);
      this.#waiting.sort((a, b) => b.priority - a.priority || a.seq - b.seq);
    });
  }

  #admitNext(): void {
    const next = this.#waiting.shift();
    if (next === undefined) return;
    this.#active++;
    next.admit();
  }
}

function once(f: () => void): () => void {
  let done = false;
  return () => {
    if (!done) {
      done = true;
      f();
    }
  };
}
