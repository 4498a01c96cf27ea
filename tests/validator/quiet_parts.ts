/** The validator dependencies a loop test does not look at: weights recorded in memory, alerts
 * and logs silenced, no metrics. */
import { RecordingWeightSetter } from "../../bittensor/neurons.ts";
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
