/** A neuron list with no chain behind it, which a test edits as re-registrations or trims would. */
import type { Neuron, NeuronDirectory } from "../../bittensor/neurons.ts";

/** uid i is `hotkeys[i]`; replace an entry to re-register a uid, shorten the list to trim it. */
export class EditableDirectory implements NeuronDirectory {
  constructor(public hotkeys: string[]) {}
  neurons(): Promise<Neuron[]> {
    return Promise.resolve(this.hotkeys.map((hotkey, uid) => ({
      uid,
      hotkey,
      coldkey: "",
      stake: 0,
      validatorPermit: false,
      axon: { ip: "127.0.0.1", port: 9, ipType: 4 as const, protocol: 4, version: 0 },
      lastUpdate: 0,
    })));
  }
  refresh(): Promise<void> {
    return Promise.resolve();
  }
}
