/**
 * Keeps the memory an agent holds within its limit, from inside the agent's worker. V8 caps the
 * worker's JavaScript heap but not what lives outside it: ArrayBuffers, typed arrays and Buffers
 * (V8 counts them per thread as "external" memory) would grow the whole miner until the machine
 * kills it. Checked, an agent holding more than its limit outside the heap, or keeping its heap
 * within a tenth of its limit (where V8 stalls it), is reported so the host can replace it.
 * Garbage not yet collected is not held against the agent: a full collection is forced before
 * judging.
 *
 * ```ts
 * const memory = watchMemory(); // before the agent is loaded
 * memory.limitMb = 1024;
 * memory.limitText = "1024 MiB; --agent.max_memory raises it";
 * // ... the agent runs ...
 * const over = memory.check(); // "holds 1088 MiB outside ...", or null
 * ```
 * @module
 */
import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** The share of its heap limit an agent may keep live before it is replaced. */
const HEAP_SHARE = 0.9;

/** Watches this thread's memory; the agent's limit is set once known. */
export interface MemoryWatch {
  /** The agent's limit, MiB: its heap's, and separately what it may hold outside the heap. */
  limitMb: number;
  /** The limit as the messages give it, in the parentheses after "its limit". */
  limitText: string;
  /** What the agent holds beyond its limit, described after "agent <Name> ", or null. */
  check(): string | null;
}

/**
 * V8's full collection, taken before the agent can hide it. The flag gives a `gc` global only to
 * contexts created afterwards, such as the one it is read from: the realms already running (the
 * miner's, the agent's) get none.
 */
function fullCollection(): (() => void) | null {
  setFlagsFromString("--expose-gc");
  return runInNewContext("typeof gc === 'function' ? gc : null") as (() => void) | null;
}

/** Starts watching; call before the agent is loaded, so what it changes later does not matter. */
export function watchMemory(): MemoryWatch {
  const stats = getHeapStatistics;
  const collect = fullCollection();
  const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
  const overBy = (limitBytes: number, limitText: string): string | null => {
    const { external_memory: outside, used_heap_size: heap } = stats();
    if (outside > limitBytes) {
      return `holds ${mib(outside)} MiB outside its JavaScript heap (ArrayBuffers, typed ` +
        `arrays), more than its memory limit (${limitText})`;
    }
    if (heap > limitBytes * HEAP_SHARE) {
      // The heap counted here can pass the limit V8 enforces on its older generation.
      const where = heap > limitBytes ? "past" : "within a tenth of";
      return `holds ${mib(heap)} MiB in its JavaScript heap, ${where} its limit ` +
        `(${limitText}), where it would stall`;
    }
    return null;
  };
  return {
    limitMb: Infinity,
    limitText: "",
    check() {
      const limitBytes = this.limitMb * 2 ** 20;
      if (overBy(limitBytes, this.limitText) === null) return null;
      // What is over may be garbage V8 has not collected yet.
      collect?.();
      return overBy(limitBytes, this.limitText);
    },
  };
}
