/**
 * Who may query the miner, and in which order: the subnet's rules over the neuron directory.
 * Unregistered hotkeys are refused ("Unrecognized hotkey") unless allowed; callers without a
 * validator permit are refused ("Non-validator hotkey") when the permit is required; callers
 * below a minimum stake are refused; priority is the caller's stake.
 *
 * ```ts
 * const policy = new CallerPolicy(directory, { forceValidatorPermit: true });
 * const { blacklisted, reason } = await policy.blacklist(callerHotkey);
 * ```
 * @module
 */
import type { Neuron, NeuronDirectory } from "../bittensor/neurons.ts";
import type { BlacklistDecision } from "../bittensor/axon.ts";

/** The policy's switches. */
export interface CallerPolicyOptions {
  /** Accept hotkeys that are not registered on the subnet (default false). */
  allowNonRegistered?: boolean;
  /** Require a validator permit (default true). */
  forceValidatorPermit?: boolean;
  /** Minimum stake in TAO (default 0). */
  minStake?: number;
}

/** Blacklist and priority decisions for callers, from the current neuron directory. */
export class CallerPolicy {
  readonly #directory: NeuronDirectory;
  readonly #options: Required<CallerPolicyOptions>;

  constructor(directory: NeuronDirectory, options: CallerPolicyOptions = {}) {
    this.#directory = directory;
    this.#options = {
      allowNonRegistered: options.allowNonRegistered ?? false,
      forceValidatorPermit: options.forceValidatorPermit ?? true,
      minStake: options.minStake ?? 0,
    };
  }

  async #find(hotkey: string | null): Promise<Neuron | undefined> {
    if (hotkey === null) return undefined;
    return (await this.#directory.neurons()).find((n) => n.hotkey === hotkey);
  }

  /** Whether to refuse a request from `hotkey`, and why. */
  async blacklist(hotkey: string | null): Promise<BlacklistDecision> {
    const neuron = await this.#find(hotkey);
    if (neuron === undefined) {
      if (!this.#options.allowNonRegistered) {
        return { blacklisted: true, reason: "Unrecognized hotkey" };
      }
      // An unregistered hotkey holds no permit and no stake: allowing it does not waive those.
      if (this.#options.forceValidatorPermit) {
        return { blacklisted: true, reason: "Non-validator hotkey" };
      }
      return this.#options.minStake > 0
        ? { blacklisted: true, reason: `Stake 0 below the minimum ${this.#options.minStake}` }
        : { blacklisted: false, reason: "Unregistered hotkey allowed" };
    }
    if (this.#options.forceValidatorPermit && !neuron.validatorPermit) {
      return { blacklisted: true, reason: "Non-validator hotkey" };
    }
    if (neuron.stake < this.#options.minStake) {
      return {
        blacklisted: true,
        reason: `Stake ${neuron.stake} below the minimum ${this.#options.minStake}`,
      };
    }
    return { blacklisted: false, reason: "Hotkey recognized" };
  }

  /** The caller's stake (0 when unknown): higher stakes are served first. */
  async priority(hotkey: string | null): Promise<number> {
    return (await this.#find(hotkey))?.stake ?? 0;
  }
}
