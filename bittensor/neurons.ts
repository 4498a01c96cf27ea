/**
 * The subnet's participants as the validator and miner see them, independent of where the data
 * comes from: the chain's metagraph (`chain/`) or a static list for local runs (`--local`).
 *
 * ```ts
 * const directory = new StaticNeuronDirectory([{ uid: 0, hotkey: "5F...", coldkey: "5G...", stake: 1000,
 *   validatorPermit: true, axon: { ip: "127.0.0.1", port: 8091, ipType: 4, protocol: 4, version: 0 },
 *   lastUpdate: 0 }]);
 * const validators = (await directory.neurons()).filter((n) => n.validatorPermit);
 * ```
 * @module
 */

/** Where a neuron serves its axon, as registered on chain (IP already decoded from its integer form). */
export interface AxonEndpoint {
  ip: string;
  port: number;
  ipType: 4 | 6;
  protocol: number;
  version: number;
}

/** One registered neuron of a subnet. */
export interface Neuron {
  uid: number;
  /** SS58 address of the hotkey. */
  hotkey: string;
  /** SS58 address of the coldkey. */
  coldkey: string;
  /** Total stake in TAO. */
  stake: number;
  validatorPermit: boolean;
  /** null when the neuron never served an axon (IP 0). */
  axon: AxonEndpoint | null;
  /** Block of the neuron's last weight update. */
  lastUpdate: number;
}

/** A source of the subnet's current neurons. */
export interface NeuronDirectory {
  /** The neurons as of the last refresh, ordered by uid. */
  neurons(): Promise<Neuron[]>;
  /** Fetches a fresh view (a no-op for static directories). */
  refresh(): Promise<void>;
}

/** A fixed list of neurons, for localnet runs and tests. */
export class StaticNeuronDirectory implements NeuronDirectory {
  readonly #neurons: Neuron[];

  constructor(neurons: Neuron[]) {
    this.#neurons = [...neurons].sort((a, b) => a.uid - b.uid);
  }

  neurons(): Promise<Neuron[]> {
    return Promise.resolve(this.#neurons);
  }

  refresh(): Promise<void> {
    return Promise.resolve();
  }
}

/** The outcome of one weight submission. */
export interface WeightSubmission {
  /** Whether the chain (or stub) accepted the weights. */
  accepted: boolean;
  /** Readable reason when not accepted (rate limit, chain error, ...). */
  message: string;
  /** Extrinsic hash or stub record id, when accepted. */
  reference?: string;
  /**
   * Not accepted because it is too early (the chain's weights rate limit): nothing was sent and
   * nothing is wrong. The reference validator does not even try until the limit allows.
   */
  deferred?: true;
  /** Not accepted because of an error before the chain could judge it (the node could not be
   * reached or read), not a refusal by the chain. */
  failed?: true;
  /**
   * A commit: the weights take effect only in its reveal epoch, when this validator reveals a
   * `hash` commit and the chain itself decrypts a `timelock` one.
   */
  committed?: "hash" | "timelock";
  /**
   * With commit-reveal: the reveals of earlier commits this call sent or gave up (a reveal that
   * will be tried again is `deferred`).
   */
  reveals?: WeightSubmission[];
}

/** Sets a validator's weights: on chain (`chain/`) or into a local record (tests, localnet). */
export interface WeightSetter {
  /**
   * Submits normalised float weights (summing to 1 over `uids`). Implementations apply the SDK's
   * u16 conversion, max-weight limit and commit-reveal as the chain requires.
   */
  setWeights(uids: number[], weights: number[], versionKey: number): Promise<WeightSubmission>;
  /**
   * With commit-reveal: reveals the commits whose reveal epoch has come, for callers that set
   * weights less often than once an epoch (empty when nothing is pending).
   */
  revealDue?(): Promise<WeightSubmission[]>;
}

/** A WeightSetter that only records what it was given (for tests and local runs). */
export class RecordingWeightSetter implements WeightSetter {
  readonly submissions: { uids: number[]; weights: number[]; versionKey: number }[] = [];

  setWeights(uids: number[], weights: number[], versionKey: number): Promise<WeightSubmission> {
    this.submissions.push({ uids: [...uids], weights: [...weights], versionKey });
    return Promise.resolve({
      accepted: true,
      message: "recorded locally",
      reference: `local-${this.submissions.length}`,
    });
  }
}
