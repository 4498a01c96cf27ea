/** The validator dependencies a loop test does not look at: weights recorded in memory, alerts
 * and logs silenced, no metrics. */
import { RecordingWeightSetter, StaticNeuronDirectory } from "../../bittensor/neurons.ts";
import { Alerter } from "../../validator/pagerduty.ts";
import { StatusBoard } from "../../validator/status.ts";

export function quietParts() {
  return {
    weights: new RecordingWeightSetter(),
    alerts: new Alerter({ routingKey: null, source: "t", log: () => {} }),
    metrics: null,
    board: new StatusBoard(),
    hotkey: "5Validator",
    log: () => {},
  };
}

/**
 * An alerter without PagerDuty that logs each alert line into `lines` and repeats an alert still
 * open at every trigger, so that a test sees each one.
 */
export function loggingAlerter(lines: string[] = []): Alerter {
  return new Alerter({
    routingKey: null,
    source: "t",
    log: (line) => void lines.push(line),
    repeatMs: 0,
  });
}

/** A neuron list of one miner, uid 0, serving on 127.0.0.1 at `port`. */
export function oneMinerDirectory(hotkey: string, port: number): StaticNeuronDirectory {
  return new StaticNeuronDirectory([{
    uid: 0,
    hotkey,
    coldkey: "",
    stake: 0,
    validatorPermit: false,
    axon: { ip: "127.0.0.1", port, ipType: 4, protocol: 4, version: 0 },
    lastUpdate: 0,
  }]);
}
