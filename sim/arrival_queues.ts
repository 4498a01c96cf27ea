/**
 * Values kept per remote instruction until its answer comes back, in the order the instructions
 * were queued: by agent, book and arrival instant, the keys an answer from the core carries.
 * @module
 */
export class ArrivalQueues<T> {
  readonly #queues = new Map<string, T[]>();

  /** Keeps `value` for the next instruction of `agentId` on `bookId` arriving at `arrival`. */
  push(agentId: number, bookId: number, arrival: number, value: T): void {
    const key = `${agentId}/${bookId}/${arrival}`;
    const queue = this.#queues.get(key);
    if (queue === undefined) this.#queues.set(key, [value]);
    else queue.push(value);
  }

  /** The oldest value kept for that agent, book and arrival, taken out; undefined when none. */
  take(agentId: number, bookId: number, arrival: number): T | undefined {
    const key = `${agentId}/${bookId}/${arrival}`;
    const queue = this.#queues.get(key);
    const value = queue?.shift();
    if (queue !== undefined && queue.length === 0) this.#queues.delete(key);
    return value;
  }

  /** Forgets every value of `agentId` (its instructions in flight were dropped). */
  dropAgent(agentId: number): void {
    for (const key of this.#queues.keys()) {
      if (key.startsWith(`${agentId}/`)) this.#queues.delete(key);
    }
  }

  /** Forgets the values of instructions that arrived before `instant` (all answered by then). */
  dropArrivedBefore(instant: number): void {
    for (const key of this.#queues.keys()) {
      if (Number(key.slice(key.lastIndexOf("/") + 1)) < instant) this.#queues.delete(key);
    }
  }
}
