/**
 * Keeps only the cancellations a miner can mean: of its own orders resting at the publish it
 * answers, each once. Every other cancellation would only come back from the exchange as an error
 * notice, and a reply of a few kilobytes (one id repeated, compressed) can hold millions of them:
 * each became an injection to log and replay, a message for the exchange and a notice to build
 * and compress into that miner's next state, which held up every other miner's query.
 */
import type { Instruction } from "../agents/sdk/instructions.ts";
import type { AccountOrder } from "../sim/engine.ts";

/** What {@linkcode keepOwnCancellations} kept. */
export interface OwnCancellations {
  instructions: Instruction[];
  /** Cancellations left out (unknown ids, repeats). */
  droppedCancellations: number;
  /** Cancel instructions left with no cancellation, left out whole. */
  droppedInstructions: number;
}

/**
 * `instructions` with each `CANCEL_ORDERS` cut to the ids in `resting` (the miner's resting orders
 * per book at the publish), each id once per reply; a cancel instruction this leaves empty is
 * dropped.
 */
export function keepOwnCancellations(
  instructions: readonly Instruction[],
  resting: readonly (readonly AccountOrder[])[] | undefined,
): OwnCancellations {
  const out: Instruction[] = [];
  let droppedCancellations = 0, droppedInstructions = 0;
  const open = new Map<number, Set<number>>();
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
    const cancellations = instruction.cancellations.filter((c) => ids.delete(c.orderId));
    droppedCancellations += instruction.cancellations.length - cancellations.length;
    if (cancellations.length === 0) droppedInstructions++;
    else if (cancellations.length === instruction.cancellations.length) out.push(instruction);
    else out.push({ ...instruction, cancellations });
  }
  return { instructions: out, droppedCancellations, droppedInstructions };
}
