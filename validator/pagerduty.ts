/**
 * Alerts for the validator's critical failures through the PagerDuty Events API v2. Every alert
 * is logged at once; when a routing key is configured it is also sent as a `trigger` event whose
 * dedup key names the failure, so a repeated failure updates one incident and a recovery
 * `resolve`s it. Events go out in the background, one request at a time, so a slow or unreachable
 * PagerDuty never holds up the caller and the events of one kind arrive in the order raised. An
 * event PagerDuty did not accept is sent again after a wait that doubles at each failure, while new
 * events still go out at once, unless PagerDuty throttled (HTTP 429): then none is sent before that
 * wait is over. Two replies will not heal and are not retried: an event PagerDuty calls invalid
 * (HTTP 400) is logged once and dropped, and a rejected routing key is logged once and stops sending
 * (alerts are still logged) until the process starts again.
 *
 * ```ts
 * const alerts = new Alerter({ routingKey: "R0...", source: "taos:validator" });
 * alerts.trigger("state-save", "could not write the state file", { error: "disk full" });
 * alerts.resolve("state-save");
 * await alerts.close(); // last attempts, for 10 s at most, for anything not delivered yet
 * ```
 * @module
 */
import { firstChars } from "../cli/code_points.ts";

/** Default Events API v2 endpoint. */
const PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue";

/** How long one request to PagerDuty may take. */
const REQUEST_TIMEOUT_MS = 10_000;

/** Default wait before an undelivered event is sent again; it doubles after each failed attempt
 * of that event up to {@linkcode RETRY_GROWTH} times itself. */
const RETRY_MS = 5_000;
const RETRY_GROWTH = 12;

/** Bytes of PagerDuty's reply read, and characters of it quoted, in a delivery-failure line. */
const REPLY_BYTES = 1024;
const REPLY_QUOTE_CHARS = 200;

/** Characters of a summary PagerDuty takes. */
const SUMMARY_CHARS = 1024;

/** Levels of the lines an Alerter writes. */
export type AlertLogLevel = "error" | "warning" | "info" | "debug";

/** How to reach PagerDuty and how alerts are labelled. */
export interface AlerterOptions {
  /** Integration (routing) key; null = log only. */
  routingKey: string | null;
  /** `<wallet name>:<hotkey name>`, used as source and group. */
  source: string;
  url?: string;
  /**
   * Where lines are written: alerts, the first failure to deliver an event, an event PagerDuty
   * refused as invalid and a rejected routing key at "error" (a first failure at "warning" for the
   * resolve of an alert an earlier run may have left open), resolves and late deliveries at "info",
   * failed retries at "debug". Default `console.error`.
   */
  log?: (line: string, level: AlertLogLevel) => void;
  /** An open alert recurring sooner than this is counted, not re-sent (default 300 000 ms). */
  repeatMs?: number;
  /** First wait before an undelivered event is sent again (default 5 000 ms; it doubles after
   * each failed attempt of that event, up to 12 times this). */
  retryMs?: number;
}

/** The failures that raise alerts; each is one dedup key. */
export type AlertKind =
  | "state-save"
  | "state-load"
  | "agent-reset"
  | "simulation"
  | "config"
  | "metrics"
  | "weights"
  | "miners-unreachable"
  | "seeding-fundamental"
  | "seeding-external";

/** An event waiting to be delivered. */
interface Delivery {
  kind: AlertKind;
  action: "trigger" | "resolve";
  body: Record<string, unknown>;
  /** A resolve sent because this process found the kind healthy first (not a recovery). */
  housekeeping: boolean;
  attempts: number;
  /** When it may be sent (again), on the `performance.now()` clock. */
  due: number;
  /** The wait before its latest retry; 0 until an attempt failed. */
  wait: number;
}

/** Logs alerts and sends them as trigger/resolve events; see the module doc. */
export class Alerter {
  readonly #options: AlerterOptions;
  /** Open alerts: when each was last logged and sent, and how often it recurred since. */
  readonly #open = new Map<AlertKind, { at: number; repeats: number }>();
  /** Kinds resolved or triggered by this process: an earlier run's open alert is resolved once. */
  readonly #seen = new Set<AlertKind>();
  /**
   * The latest undelivered event of each kind, oldest first. A newer event of a kind replaces the
   * older one (PagerDuty keeps only the latest state of a dedup key), so at most one per kind.
   */
  readonly #pending = new Map<AlertKind, Delivery>();
  #sending = false;
  #pass: Promise<void> = Promise.resolve();
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** PagerDuty throttled (HTTP 429): no event is sent before this time. */
  #heldUntil = 0;
  /** Set by `close`: no attempt starts after this time. */
  #closeBy: number | undefined;
  #closing: Promise<void> | undefined;
  /** Cuts requests still in flight when `close` has waited long enough. */
  readonly #abort = new AbortController();
  readonly #raised = new Map<AlertKind, number>();
  #deliveryFailures = 0;
  #keyRejected = false;

  constructor(options: AlerterOptions) {
    this.#options = options;
  }

  /** The dedup key of an alert kind: stable across restarts, distinct per validator. */
  dedupKey(kind: AlertKind): string {
    return `taos:${this.#options.source}:${kind}`;
  }

  /** Alert kinds currently triggered and not yet resolved. */
  get open(): string[] {
    return [...this.#open.keys()];
  }

  /** Alert kinds whose latest event is still to be sent (again): not accepted, not dropped. */
  get undelivered(): string[] {
    return [...this.#pending.keys()];
  }

  /** How often each kind was raised, recurrences within the repeat period included. */
  get raised(): ReadonlyMap<AlertKind, number> {
    return this.#raised;
  }

  /** Attempts to send an event that failed (network failure, timeout or non-2xx, an event dropped
   * as invalid included). */
  get deliveryFailures(): number {
    return this.#deliveryFailures;
  }

  /** PagerDuty refused the routing key: nothing more is sent by this process. */
  get keyRejected(): boolean {
    return this.#keyRejected;
  }

  /**
   * Logs and (with a key) sends a `trigger` event. An alert already open that recurs within
   * `repeatMs` (default 5 min) is only counted; the next one after that says how often it
   * recurred. Returns at once; never throws.
   */
  trigger(kind: AlertKind, summary: string, details?: Record<string, unknown>): void {
    this.#raised.set(kind, (this.#raised.get(kind) ?? 0) + 1);
    const now = performance.now();
    const open = this.#open.get(kind);
    if (open !== undefined) {
      // An undelivered trigger needs no new one: it is retried until PagerDuty takes it.
      if (now - open.at < (this.#options.repeatMs ?? 300_000)) {
        open.repeats++;
        return;
      }
      if (open.repeats > 0) summary += ` (recurred ${open.repeats} times since last reported)`;
    }
    this.#open.set(kind, { at: now, repeats: 0 });
    this.#seen.add(kind);
    this.#log(`ALERT ${kind}: ${summary}`, "error");
    this.#enqueue(kind, "trigger", false, {
      payload: {
        summary: firstChars(`τaos ${this.#options.source} - ${kind} : ${summary}`, SUMMARY_CHARS),
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
   * Returns at once; never throws.
   */
  resolve(kind: AlertKind): void {
    const first = !this.#seen.has(kind);
    this.#seen.add(kind);
    if (this.#open.delete(kind)) {
      this.#log(`RESOLVED ${kind}`, "info");
      this.#enqueue(kind, "resolve", false, {});
    } else if (first) {
      this.#enqueue(kind, "resolve", true, {});
    }
  }

  /**
   * Resolves once every event queued so far that is due has been attempted (delivered, dropped or
   * left to retry); events waiting for their retry, or for PagerDuty's throttle, are not waited for.
   */
  settled(): Promise<void> {
    return this.#pass;
  }

  /**
   * Stops: events not delivered yet are sent at once, and those that fail again after the usual
   * waits, until `deadlineMs` (default 10 s) has passed, when a request still under way is cut off.
   * Later alerts are only logged.
   */
  close(deadlineMs = REQUEST_TIMEOUT_MS): Promise<void> {
    this.#closing ??= this.#finish(deadlineMs);
    return this.#closing;
  }

  async #finish(deadlineMs: number) {
    const closeBy = performance.now() + deadlineMs;
    this.#closeBy = closeBy;
    clearTimeout(this.#retryTimer);
    // The last chance: a wait begun earlier, or PagerDuty's throttle, could outlast the deadline.
    this.#heldUntil = 0;
    for (const delivery of this.#pending.values()) {
      delivery.due = 0;
      delivery.wait = 0;
    }
    const deadline = setTimeout(() => this.#abort.abort(), deadlineMs);
    try {
      await this.#pass;
      for (let at = this.#nextAttemptAt(); at < closeBy; at = this.#nextAttemptAt()) {
        await new Promise((resolve) => setTimeout(resolve, untilTime(at)));
        // A timer may fire late: past the deadline no pass would attempt anything.
        if (performance.now() >= closeBy) break;
        this.#startPass();
        await this.#pass;
      }
    } finally {
      clearTimeout(deadline);
    }
    if (this.#pending.size > 0) {
      const lost = [...this.#pending.values()].map((d) => `${d.action} of ${d.kind}`);
      this.#log(`PagerDuty never received: ${lost.join(", ")} (the validator stopped)`, "warning");
    }
  }

  #log(line: string, level: AlertLogLevel) {
    if (this.#options.log !== undefined) this.#options.log(line, level);
    else console.error(line);
  }

  #enqueue(
    kind: AlertKind,
    action: Delivery["action"],
    housekeeping: boolean,
    body: Record<string, unknown>,
  ) {
    if (this.#options.routingKey === null || this.#closeBy !== undefined || this.#keyRejected) {
      return;
    }
    this.#pending.delete(kind);
    const due = performance.now();
    this.#pending.set(kind, { kind, action, housekeeping, body, attempts: 0, due, wait: 0 });
    this.#startPass();
  }

  /** Sends what is due now, unless a pass is under way (it takes the new event too). */
  #startPass() {
    if (this.#sending) return;
    this.#sending = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#pass = this.#deliverDue();
  }

  /**
   * Attempts each event that is due once, one at a time in queue order (so the events of a kind
   * stay in order), until PagerDuty throttles; then times the next pass.
   */
  async #deliverDue() {
    const attempted = new Set<Delivery>();
    const next = () => {
      const now = performance.now();
      if (now < this.#heldUntil || now >= (this.#closeBy ?? Infinity)) return undefined;
      return [...this.#pending.values()].find((d) => d.due <= now && !attempted.has(d));
    };
    for (let delivery = next(); delivery !== undefined; delivery = next()) {
      attempted.add(delivery);
      await this.#attempt(delivery);
    }
    // Decided in the same turn as the last look at the queue: an event queued later starts a
    // new pass.
    this.#sending = false;
    // While closing, `close` times the passes.
    if (this.#closeBy !== undefined) return;
    const at = this.#nextAttemptAt();
    if (at < Infinity) {
      this.#retryTimer = setTimeout(() => this.#startPass(), untilTime(at));
    }
  }

  /** When the next pending event may be sent; Infinity when none is pending. */
  #nextAttemptAt(): number {
    const dues = [...this.#pending.values()].map((d) => d.due);
    return Math.max(Math.min(...dues), this.#heldUntil);
  }

  /** One attempt, and what follows from PagerDuty's answer. Never throws. */
  async #attempt(delivery: Delivery) {
    delivery.attempts++;
    let failure: string;
    let throttled = false;
    try {
      const response = await fetch(this.#options.url ?? PAGERDUTY_EVENTS_URL, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          routing_key: this.#options.routingKey,
          event_action: delivery.action,
          dedup_key: this.dedupKey(delivery.kind),
          ...delivery.body,
        }),
        signal: AbortSignal.any([AbortSignal.timeout(REQUEST_TIMEOUT_MS), this.#abort.signal]),
      });
      if (response.ok) {
        await response.body?.cancel();
        this.#delivered(delivery);
        return;
      }
      this.#deliveryFailures++;
      // PagerDuty says why in the body (an invalid routing key, a malformed event, ...). A reply
      // (a proxy's, say) could quote the key: it is never logged.
      // Masked before it is cut, so that no part of the key survives at the cut.
      const reply = this.#withoutKey(await replyStart(response));
      const quote = firstChars(reply, REPLY_QUOTE_CHARS);
      failure = `HTTP ${response.status}${quote === "" ? "" : `: ${quote}`}`;
      if (rejectsKey(response.status, quote)) {
        this.#rejectKey(failure);
        return;
      }
      // PagerDuty's "invalid event": sent again, it would be refused again.
      if (response.status === 400) {
        const errors = firstChars(invalidEventErrors(reply) ?? quote, REPLY_QUOTE_CHARS);
        this.#dropInvalid(delivery, `HTTP 400: ${errors}`);
        return;
      }
      throttled = response.status === 429;
    } catch (error) {
      this.#deliveryFailures++;
      // fetch says only "fetch failed"; why (refused, a DNS or TLS error) is in its cause.
      const cause = (error as Error).cause;
      const why = cause instanceof Error ? `: ${cause.message}` : "";
      failure = this.#withoutKey(`${(error as Error).message}${why}`);
    }
    this.#retryLater(delivery, failure, throttled);
  }

  #delivered(delivery: Delivery) {
    // Unless a newer event of its kind came meanwhile: that one is sent next.
    if (this.#pending.get(delivery.kind) === delivery) this.#pending.delete(delivery.kind);
    if (delivery.attempts > 1) {
      this.#log(
        `PagerDuty ${delivery.action} of ${delivery.kind} delivered at attempt ${delivery.attempts}`,
        "info",
      );
    }
  }

  /** Times the next attempt of an event PagerDuty did not take, and says so. */
  #retryLater(delivery: Delivery, failure: string, throttled: boolean) {
    const first = this.#options.retryMs ?? RETRY_MS;
    delivery.wait = Math.min(delivery.wait * 2 || first, first * RETRY_GROWTH);
    delivery.due = performance.now() + delivery.wait;
    // PagerDuty asks to back off on 429: events queued meanwhile wait too.
    if (throttled) this.#heldUntil = delivery.due;
    const last = Math.max(delivery.due, this.#heldUntil) >= (this.#closeBy ?? Infinity);
    const level = delivery.attempts > 1 ? "debug" : delivery.housekeeping ? "warning" : "error";
    this.#log(
      `PagerDuty ${delivery.action} of ${delivery.kind} not delivered (${failure}); ${
        last ? "it was the last attempt (stopping)" : "it will be sent again"
      }`,
      level,
    );
  }

  /** Drops an event PagerDuty called invalid: this one event would never be accepted. */
  #dropInvalid(delivery: Delivery, failure: string) {
    if (this.#pending.get(delivery.kind) === delivery) this.#pending.delete(delivery.kind);
    this.#log(
      `PagerDuty refused the ${delivery.action} of ${delivery.kind} as an invalid event ` +
        `(${failure}); it is dropped, not sent again`,
      "error",
    );
  }

  /** Drops what is queued and sends nothing more: retrying a refused key would never succeed. */
  #rejectKey(failure: string) {
    this.#keyRejected = true;
    this.#pending.clear();
    clearTimeout(this.#retryTimer);
    this.#log(
      `PagerDuty rejected the routing key (${failure}); alerts are no longer sent to PagerDuty, ` +
        "only logged, until the validator is restarted with a valid Events API v2 routing key " +
        "(--alerting.pagerduty.integration_key or TAOS_PAGERDUTY_KEY)",
      "error",
    );
  }

  /** `text` with the routing key masked. */
  #withoutKey(text: string): string {
    const key = this.#options.routingKey;
    if (key === null || key === "") return text;
    const masked = text.replaceAll(key, "<routing key>");
    // A reply read up to its limit may end inside the key: its start is masked too.
    for (let n = key.length - 1; n >= 4; n--) {
      if (masked.endsWith(key.slice(0, n))) return `${masked.slice(0, -n)}<routing key>`;
    }
    return masked;
  }
}

/**
 * Whether PagerDuty refused the routing key rather than this one event: 401 or 403, or a 400 whose
 * reply is about the routing key (`Invalid routing key`, `Length of 'routing_key' is incorrect`).
 */
function rejectsKey(status: number, reply: string): boolean {
  return status === 401 || status === 403 || (status === 400 && /routing[ _]key/i.test(reply));
}

/** Milliseconds until `time` on the `performance.now()` clock; 0 once it is past (a negative
 * timeout draws a warning). */
function untilTime(time: number): number {
  return Math.max(0, time - performance.now());
}

/** The `errors` PagerDuty lists in its reply to an invalid event, joined; null without any. */
function invalidEventErrors(reply: string): string | null {
  try {
    const { errors } = JSON.parse(reply);
    if (Array.isArray(errors) && errors.length > 0) return errors.join("; ");
  } catch {
    // Not PagerDuty's JSON (a proxy's page, or cut at the read limit): quoted as it is.
  }
  return null;
}

/** The start of a reply's body (up to 1 KiB) on one line: a proxy's error page can be large. */
async function replyStart(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (reader === undefined) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < REPLY_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // A reply cut short still says what it said so far.
  } finally {
    reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return new TextDecoder().decode(bytes).replace(/\s+/g, " ").trim();
}
