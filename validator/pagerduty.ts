/**
 * Alerts for the validator's critical failures through the PagerDuty Events API v2. Every alert
 * is logged; when a routing key is configured it is also sent as a `trigger` event whose dedup
 * key names the failure, so a repeated failure updates one incident and a recovery `resolve`s it.
 *
 * ```ts
 * const alerts = new Alerter({ routingKey: "R0...", source: "taos:validator" });
 * await alerts.trigger("state-save", "could not write the state file", { error: "disk full" });
 * await alerts.resolve("state-save");
 * ```
 * @module
 */

/** Default Events API v2 endpoint. */
const PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue";

/** How to reach PagerDuty and how alerts are labelled. */
export interface AlerterOptions {
  /** Integration (routing) key; null = log only. */
  routingKey: string | null;
  /** `<wallet name>:<hotkey name>`, used as source and group. */
  source: string;
  url?: string;
  /** Where alert lines are written (triggers and delivery failures at "error", resolves at
   * "info"); default `console.error`. */
  log?: (line: string, level: "error" | "info") => void;
  /** Called for each event that could not be delivered (network failure or non-2xx). */
  onDeliveryFailure?: () => void;
  /** An open alert recurring sooner than this is counted, not re-sent (default 300 000 ms). */
  repeatMs?: number;
}

/** The failures that raise alerts; each is one dedup key. */
export type AlertKind =
  | "state-save"
  | "state-load"
  | "agent-reset"
  | "simulation"
  | "metrics"
  | "weights"
  | "miners-unreachable"
  | "seeding-fundamental"
  | "seeding-external";

/** Sends trigger/resolve events; remembers which alerts are open so resolves are only sent once. */
export class Alerter {
  readonly #options: AlerterOptions;
  readonly #open = new Set<string>();
  /** Kinds resolved or triggered by this process: an earlier run's open alert is resolved once. */
  readonly #seen = new Set<string>();
  /** When each open alert was last logged and sent, and how often it recurred since. */
  readonly #last = new Map<string, { at: number; repeats: number }>();

  constructor(options: AlerterOptions) {
    this.#options = options;
  }

  /** The dedup key of an alert kind: stable across restarts, distinct per validator. */
  dedupKey(kind: AlertKind): string {
    return `taos:${this.#options.source}:${kind}`;
  }

  /** Alert kinds currently triggered and not yet resolved. */
  get open(): string[] {
    return [...this.#open];
  }

  /**
   * Logs and (with a key) sends a `trigger` event. An alert already open that recurs within
   * `repeatMs` (default 5 min) is only counted; the next one after that says how often it
   * recurred. Never throws.
   */
  async trigger(kind: AlertKind, summary: string, details?: Record<string, unknown>) {
    const log = (line: string) => this.#log(line, "error");
    const now = performance.now();
    const last = this.#last.get(kind);
    if (this.#open.has(kind) && last !== undefined) {
      if (now - last.at < (this.#options.repeatMs ?? 300_000)) {
        last.repeats++;
        return;
      }
      if (last.repeats > 0) summary += ` (recurred ${last.repeats} times since last reported)`;
    }
    this.#last.set(kind, { at: now, repeats: 0 });
    log(`ALERT ${kind}: ${summary}`);
    this.#open.add(kind);
    this.#seen.add(kind);
    await this.#send({
      event_action: "trigger",
      dedup_key: this.dedupKey(kind),
      payload: {
        summary: `τaos ${this.#options.source} - ${kind} : ${summary}`.slice(0, 1024),
        severity: "error",
        source: `${this.#options.source}:${kind}`,
        class: "ERROR",
        group: this.#options.source,
        custom_details: details ?? {},
      },
    });
  }

  /**
   * Sends a `resolve` event if this kind was triggered by this process, or quietly the first time
   * it is healthy in this process (an alert an earlier run left open, as a `state-load` that
   * stopped it, is then resolved; PagerDuty ignores the resolve of an incident that is not open).
   * Never throws.
   */
  async resolve(kind: AlertKind) {
    const first = !this.#seen.has(kind);
    this.#seen.add(kind);
    if (this.#open.delete(kind)) {
      this.#last.delete(kind);
      this.#log(`RESOLVED ${kind}`, "info");
    } else if (!first) {
      return;
    }
    await this.#send({ event_action: "resolve", dedup_key: this.dedupKey(kind) });
  }

  #log(line: string, level: "error" | "info") {
    if (this.#options.log !== undefined) this.#options.log(line, level);
    else console.error(line);
  }

  #deliveryFailed(line: string) {
    this.#options.onDeliveryFailure?.();
    this.#log(line, "error");
  }

  async #send(event: Record<string, unknown>) {
    if (this.#options.routingKey === null) return;
    try {
      const response = await fetch(this.#options.url ?? PAGERDUTY_EVENTS_URL, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ routing_key: this.#options.routingKey, ...event }),
        signal: AbortSignal.timeout(10_000),
      });
      await response.body?.cancel();
      if (!response.ok) this.#deliveryFailed(`PagerDuty answered HTTP ${response.status}`);
    } catch (error) {
      this.#deliveryFailed(`PagerDuty unreachable: ${(error as Error).message}`);
    }
  }
}
