/**
 * Sends each miner its state update and collects the replies: one signed
 * `MarketSimulationStateUpdate` per miner over the dendrite, all concurrently, each bounded by the
 * query timeout. The fields every miner shares (books, config) are compressed once per round; only
 * each miner's own accounts and notices are compressed per miner.
 *
 * ```ts
 * const client = new DendriteMinerClient(new Dendrite(keypair));
 * const replies = await client.query(requests, 3.0);
 * ```
 * @module
 */
import type { AxonTarget, Dendrite } from "../bittensor/dendrite.ts";
import {
  compressJson,
  compressJsonText,
  decodeResponse,
  MarketSimulationStateUpdate,
  type StateUpdateWire,
} from "../bittensor/market_synapse.ts";
import type { StateUpdate } from "../agents/sdk/state.ts";
import type { Instruction } from "../agents/sdk/instructions.ts";
import type { PhaseTimes } from "./phases.ts";
import { untrustedText } from "../cli/log.ts";

/** One miner to query and the state it gets. */
export interface MinerRequest {
  uid: number;
  target: AxonTarget;
  /** Built with `stateForAgent`: this miner's own accounts and notices only. */
  state: StateUpdate;
}

/** How a query ended, in the reference's categories. */
export type QueryOutcome = "ok" | "timeout" | "failure" | "rejected";

/** What the validator keeps of a miner's response once checked: never the response itself. */
export interface CheckedResponse {
  /** Instructions to forward, in the miner's order. */
  accepted: Instruction[];
  /** Instructions dropped one by one. */
  dropped: number;
  /** The first instruction the checks dropped and why (`instruction 20: more than 20 ...`), or
   * null; cancels left empty by `foreignCancellations` are counted in `dropped` only. */
  firstDrop: string | null;
  /** Cancellations left out of kept instructions: of orders the miner does not hold, or repeats. */
  foreignCancellations: number;
  /** Why the whole response was void, or null. */
  discarded: string | null;
  /**
   * Whether the response itself was refused (not a valid response, or another uid's): counted as
   * a failure, as the reference counts no response, where one whose instructions alone are void
   * counts as an answer.
   */
  refused: boolean;
}

/** Checks the decompressed `{agent_id, instructions}` object of miner `uid`. */
export type ResponseCheck = (uid: number, response: unknown) => CheckedResponse;

/** One miner's reply. */
export interface MinerReply {
  uid: number;
  outcome: QueryOutcome;
  /** Measured round trip, seconds. */
  processTime: number;
  /** The checked response when the outcome is ok, else null. */
  checked: CheckedResponse | null;
  /** Why the query did not succeed. */
  message: string;
}

/** Queries miners for one publish. */
export interface MinerClient {
  /**
   * Sends each request and checks each response with `check` as soon as it is read, so that a
   * round holds the checked instructions of every miner but the raw response of one at most (a
   * response may inflate to 64 MiB of JSON).
   */
  query(
    requests: readonly MinerRequest[],
    timeoutSeconds: number,
    check: ResponseCheck,
  ): Promise<MinerReply[]>;
}

/** Longest part of a miner's own text (an error message) kept for logs and alerts. */
const MINER_TEXT_CHARS = 300;

/**
 * A miner-controlled message made safe to log: control characters escaped (a newline could forge
 * a log line), cut to {@linkcode MINER_TEXT_CHARS} (a miner may send megabytes).
 */
export function minerText(text: string): string {
  return untrustedText(text, MINER_TEXT_CHARS);
}

/** Status codes an axon uses to refuse a caller (blacklist, bad signature, priority). */
const REJECTION_CODES = new Set([401, 403, 406, 429]);

/** {@linkcode MinerClient} over the Bittensor dendrite. */
export class DendriteMinerClient implements MinerClient {
  readonly #dendrite: Dendrite;
  readonly #phases: PhaseTimes | undefined;
  /**
   * The last JSON text and compressed form of each small per-round field (config, each miner's
   * accounts and notices): an idle miner's accounts and empty notices repeat round after round.
   */
  readonly #lastCompressed = new Map<string, { json: string; compressed: string }>();

  /** `phases` receives the time spent compressing states and decompressing replies. */
  constructor(dendrite: Dendrite, phases?: PhaseTimes) {
    this.#dendrite = dendrite;
    this.#phases = phases;
  }

  /** `compressJson(value)`, reusing the last result stored under `key` when the JSON repeats. */
  #compress(key: string, value: unknown): string {
    const json = JSON.stringify(value);
    const last = this.#lastCompressed.get(key);
    if (last !== undefined && last.json === json) return last.compressed;
    const compressed = compressJsonText(json);
    this.#lastCompressed.set(key, { json, compressed });
    return compressed;
  }

  async query(
    requests: readonly MinerRequest[],
    timeoutSeconds: number,
    check: ResponseCheck,
  ): Promise<MinerReply[]> {
    if (requests.length === 0) return [];
    const compressing = performance.now();
    // Books and config are identical for every miner in a round: compress them once.
    const first = requests[0].state;
    const books = Object.keys(first.books).length > 0 ? compressJson(first.books) : first.books;
    const config = typeof books === "string"
      ? this.#compress("config", first.config)
      : first.config;
    this.#phases?.add("compress", compressing);
    const compressed = typeof books === "string";
    // Each miner's own fields are compressed just before its request is signed and sent, so the
    // first miners are already answering while the later ones are being prepared.
    const wireOf = (_target: AxonTarget, index: number): StateUpdateWire => {
      const started = performance.now();
      const { uid, state } = requests[index];
      const wire: StateUpdateWire = {
        model: state.model,
        timestamp: state.timestamp,
        config: config as StateUpdateWire["config"],
        books: books as StateUpdateWire["books"],
        accounts: compressed ? this.#compress(`accounts ${uid}`, state.accounts) : state.accounts,
        notices: compressed ? this.#compress(`notices ${uid}`, state.notices ?? {}) : state.notices,
        response: null,
        compressed: true,
      };
      this.#phases?.add("compress", started);
      return wire;
    };
    return await this.#dendrite.queryEach(
      requests.map((r) => r.target),
      MarketSimulationStateUpdate,
      wireOf,
      timeoutSeconds,
      (result, i): MinerReply => {
        const uid = requests[i].uid;
        // The message may be the miner's own text: made safe to log on the way.
        const unanswered = (outcome: MinerReply["outcome"], message: string): MinerReply => ({
          uid,
          processTime: result.processTime,
          outcome,
          checked: null,
          message: minerText(message),
        });
        if (result.statusCode === 408) return unanswered("timeout", result.statusMessage);
        if (REJECTION_CODES.has(result.statusCode)) {
          return unanswered("rejected", result.statusMessage);
        }
        if (!result.ok || result.fields === null) {
          return unanswered("failure", result.statusMessage);
        }
        let response: unknown;
        const decoding = performance.now();
        try {
          // A compressed response may inflate to the dendrite's cap on a reply, no further.
          response = decodeResponse(result.fields, this.#dendrite.maxResponseBytes);
        } catch (error) {
          return unanswered("failure", (error as Error).message);
        } finally {
          this.#phases?.add("decode", decoding);
        }
        if (response === null) return unanswered("failure", "no response");
        const checking = performance.now();
        const checked = check(uid, response);
        this.#phases?.add("validate", checking);
        return { uid, processTime: result.processTime, outcome: "ok", checked, message: "" };
      },
    );
  }
}
