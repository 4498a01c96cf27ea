/**
 * Keeps the cancellations a miner can mean: of its own orders resting at the publish it answers,
 * each once, plus the first few others of a reply, which reach the exchange and come back as the
 * reference's error notices (so an agent cancelling stale ids still hears of it). Every other
 * cancellation would only add one more such notice, and a reply of a few kilobytes (one id
 * repeated, compressed) can hold millions of them: each became an injection to log and replay, a
 * message for the exchange and a notice to build and compress into that miner's next state, which
 * held up every other miner's query.
 */
import type { Instruction } from "../agents/sdk/instructions.ts";
import type { AccountOrder } from "../sim/engine.ts";

/** Cancellations of orders not held (or repeated) a reply may still send on, per reply. */
export const FORWARDED_FOREIGN_CANCELLATIONS = 10;

/** What {@linkcode keepOwnCancellations} kept. */
export interface OwnCancellations {
  instructions: Instruction[];
  /** Cancellations left out (unknown ids, repeats, past the forwarded few). */
  droppedCancellations: number;
  /** Cancel instructions left with no cancellation, left out whole. */
  droppedInstructions: number;
}

/**
 * `instructions` with each `CANCEL_ORDERS` cut to the ids in `resting` (the miner's resting orders
 * per book at the publish), each id once per reply, and the first `forwarded` other cancellations
 * of the reply; a cancel instruction this leaves empty is dropped.
 */
export function keepOwnCancellations(
  instructions: readonly Instruction[],
  resting: readonly (readonly AccountOrder[])[] | undefined,
  forwarded = FORWARDED_FOREIGN_CANCELLATIONS,
): OwnCancellations {
  const out: Instruction[] = [];
  let droppedCancellations = 0, droppedInstructions = 0;
  const open = new Map<number, Set<number>>();
  const forwardOne = (): boolean => {
    if (forwarded <= 0) return false;
    forwarded--;
    return true;
  };
  for (const instruction of instructions) {
    if (instruction.type !== "CANCEL_ORDERS" || instruction.cancellations.length === 0) {
      out.push(instruction);
      continue;
    }
    let ids = open.get(instruction.bookId);
    if (ids === undefined) {
      ids = new Set((resting?.[instruction.bookId] ?? []).map((o) => o.orderId));
      open.set(instruction.bookId, ids);
    }
    const cancellations = instruction.cancellations.filter((c) =>
      ids.delete(c.orderId) || forwardOne()
    );
    droppedCancellations += instruction.cancellations.length - cancellations.length;
    if (cancellations.length === 0) droppedInstructions++;
    else if (cancellations.length === instruction.cancellations.length) out.push(instruction);
    else out.push({ ...instruction, cancellations });
  }
  return { instructions: out, droppedCancellations, droppedInstructions };
}
