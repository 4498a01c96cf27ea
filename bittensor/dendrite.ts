/**
 * The dendrite: a signed HTTP client that queries many axons at once. Each call has its own
 * deadline and size cap, so one slow or hostile axon never holds up the others, and each result
 * carries the measured round-trip time (`processTime`, seconds) the validator's delay formula uses.
 *
 * ```ts
 * const dendrite = new Dendrite(Keypair.fromUri("//Alice"));
 * const results = await dendrite.query(axons, MarketSimulationStateUpdate, (axon) => stateFor(axon), 5);
 * for (const r of results) if (r.ok) console.log(r.target.hotkey, r.processTime, r.fields);
 * ```
 * @module
 */
import {
  hostAndPort,
  HttpClient,
  type HttpResponse,
  RequestTimeout,
  ResponseBodyError,
  ResponseTooLarge,
} from "./http_client.ts";
import type { Keypair } from "./keypair.ts";
import { OverBudget, ReplyBudget, type ReplyClaim } from "./reply_budget.ts";
import {
  bodyHash,
  JsonLimitError,
  newSynapse,
  parseReplyJson,
  parseSynapseHeaders,
  requestSignatureMessage,
  SDK_VERSION_INT,
  type Synapse,
  SynapseBodyEncoder,
  synapseFromBody,
  type SynapseKind,
  synapseToHeaders,
  timeNs,
} from "./synapse.ts";

/** An axon to call: where it listens and whose hotkey it serves. */
export interface AxonTarget {
  ip: string;
  port: number;
  /** SS58 hotkey of the axon; part of the signed message. */
  hotkey: string;
}

/** The outcome of one call. Never thrown: failures are described by status code and message. */
export interface DendriteResult<F> {
  target: AxonTarget;
  /** True when the axon answered 200 with a body that validated against the synapse kind. */
  ok: boolean;
  /** HTTP status, or the SDK's client-side codes: 408 timeout, 503 unreachable, 422 bad reply. */
  statusCode: number;
  statusMessage: string;
  /** Seconds from sending the request to having parsed the reply. */
  processTime: number;
  /** The returned synapse's own fields when `ok`, else null. */
  fields: F | null;
  /** The synapse as sent, updated with the axon's terminal info from the reply. */
  synapse: Synapse<F>;
}

/** Options of a {@linkcode Dendrite}. */
export interface DendriteOptions {
  /** Our external IP, sent as `bt_header_dendrite_ip` (default `127.0.0.1`). */
  externalIp?: string;
  /** Replies larger than this are cut off and count as failures (default 64 MiB). */
  maxResponseBytes?: number;
  /**
   * Bytes of reply bodies one {@linkcode Dendrite.queryEach} holds or reads at once (default
   * {@linkcode MAX_ROUND_RESPONSE_BYTES}, or `maxResponseBytes` when larger); past it the largest
   * reply fails (422). At least `maxResponseBytes`.
   */
  maxRoundResponseBytes?: number;
  /**
   * Receives the time spent signing (`sign`), encoding bodies (`encode`) and parsing replies
   * (`decode`): `add(phase, since)` with a `performance.now()` reading, returning now.
   */
  phases?: { add(phase: string, since: number): number };
}

/**
 * Default cap on a reply body, raw and, for the market synapse, decompressed (64 MiB): the
 * reference's largest valid reply, 200 000 instructions, is about 40 MB, and a validator decodes
 * every miner's reply in one round.
 */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/**
 * Default budget of the reply bytes a round holds or reads at once (512 MiB): 256 miners replying
 * 2 MiB each (a reply of 200 000 instructions is 1.4 MB compressed), or 8 replies at the default
 * cap on one. Raw replies are held until parsed, so without a bound a round's memory grows with
 * the number of replies at the cap that arrive in time.
 */
export const MAX_ROUND_RESPONSE_BYTES = 512 * 1024 * 1024;

const utf8 = new TextDecoder();

/** Requests signed and handed to the network before the event loop gets a turn to send them. */
const SEND_BATCH = 16;

/** A signing client for axons, with one uuid and strictly increasing nonces for its lifetime. */
export class Dendrite {
  /** Instance id sent with every request; axons track nonces per (hotkey, uuid). */
  readonly uuid: string = crypto.randomUUID();
  readonly #keypair: Keypair;
  readonly #externalIp: string;
  readonly #maxResponseBytes: number;
  readonly #maxRoundResponseBytes: number;
  readonly #phases: DendriteOptions["phases"];
  /** Keeps connections to axons open between rounds; idle ones never keep the process alive. */
  readonly #http = new HttpClient();
  #lastNonce = 0n;
  #lastRoundPeakBytes = 0;

  constructor(keypair: Keypair, options: DendriteOptions = {}) {
    if (!keypair.canSign) throw new Error("a dendrite needs a hotkey that can sign");
    this.#keypair = keypair;
    this.#externalIp = options.externalIp ?? "127.0.0.1";
    this.#maxResponseBytes = options.maxResponseBytes ?? MAX_RESPONSE_BYTES;
    this.#maxRoundResponseBytes = options.maxRoundResponseBytes ??
      Math.max(MAX_ROUND_RESPONSE_BYTES, this.#maxResponseBytes);
    if (this.#maxRoundResponseBytes < this.#maxResponseBytes) {
      // A reply at the cap would never fit: it would fail even alone.
      throw new RangeError(
        `maxRoundResponseBytes (${this.#maxRoundResponseBytes}) is below maxResponseBytes ` +
          `(${this.#maxResponseBytes})`,
      );
    }
    this.#phases = options.phases;
  }

  /** The SS58 hotkey requests are signed with. */
  get hotkey(): string {
    return this.#keypair.ss58Address;
  }

  /** The largest reply body a call accepts. */
  get maxResponseBytes(): number {
    return this.#maxResponseBytes;
  }

  /** The most reply bytes the last {@linkcode queryEach} held or was reading at once. */
  get lastRoundPeakBytes(): number {
    return this.#lastRoundPeakBytes;
  }

  #nextNonce(): bigint {
    const now = timeNs();
    this.#lastNonce = now > this.#lastNonce ? now : this.#lastNonce + 1n;
    return this.#lastNonce;
  }

  /**
   * Queries every target concurrently; `fields` may be a function to give each axon its own
   * payload (each miner sees only its own account), called with the target and its index just
   * before that target's request is signed. Resolves when every call has finished or hit its
   * timeout; results are in target order.
   */
  query<F>(
    targets: readonly AxonTarget[],
    kind: SynapseKind<F>,
    fields: F | ((target: AxonTarget, index: number) => F),
    timeoutSeconds = 12,
  ): Promise<DendriteResult<F>[]> {
    return this.queryEach(targets, kind, fields, timeoutSeconds, (result) => result);
  }

  /**
   * {@linkcode query}, handing each result to `digest` as soon as its reply is parsed and keeping
   * only what `digest` returns: the parsed replies of a round are then never all in memory at
   * once (each may be up to {@linkcode maxResponseBytes} of JSON, about twice that once parsed).
   * Replies are parsed and digested smallest first for at most `timeoutSeconds` after the last
   * one arrived; those left then fail unread (422), so the whole call takes at most about twice
   * the timeout plus one reply's digest. The raw replies held or being read share one budget
   * (`maxRoundResponseBytes`): past it the largest of them fails (422) and its memory goes.
   */
  async queryEach<F, R>(
    targets: readonly AxonTarget[],
    kind: SynapseKind<F>,
    fields: F | ((target: AxonTarget, index: number) => F),
    timeoutSeconds: number,
    digest: (result: DendriteResult<F>, index: number) => R,
  ): Promise<R[]> {
    const calls: Promise<ReceivedReply<F>>[] = [];
    const encoder = new SynapseBodyEncoder();
    const budget = new ReplyBudget(this.#maxRoundResponseBytes);
    for (let i = 0; i < targets.length; i++) {
      // Signing is synchronous: without a pause now and then, no request would leave before the
      // last one is signed, and the axons would sit idle while we sign.
      if (i > 0 && i % SEND_BATCH === 0) await new Promise((resolve) => setTimeout(resolve, 0));
      const target = targets[i];
      const payload = typeof fields === "function"
        ? (fields as (t: AxonTarget, index: number) => F)(target, i)
        : fields;
      calls.push(this.#call(target, kind, payload, timeoutSeconds, encoder, budget));
    }
    // Every reply is read off the network before any is parsed: parsing one large reply must not
    // hold up reading the others, which would time honest axons out for another's payload.
    const received: (ReceivedReply<F> | null)[] = await Promise.all(calls);
    this.#lastRoundPeakBytes = budget.peakBytes;
    // Then replies are parsed and digested for at most as long again as the timeout, smallest
    // first: the round stays bounded however many miners send replies that are costly to check
    // (each may inflate to the cap), and small replies, the usual honest ones, go first.
    const deadline = performance.now() + timeoutSeconds * 1000;
    const order = received.map((_, i) => i)
      .sort((a, b) => received[a]!.bytes - received[b]!.bytes || a - b);
    const results = new Array<R>(received.length);
    for (const i of order) {
      const reply = received[i]!;
      received[i] = null; // its raw reply goes as soon as it is parsed
      results[i] = digest(
        performance.now() > deadline ? reply.unchecked(timeoutSeconds) : reply.parse(),
        i,
      );
    }
    return results;
  }

  /** Sends one signed synapse to one axon and waits at most `timeoutSeconds` for its reply. */
  call<F>(
    target: AxonTarget,
    kind: SynapseKind<F>,
    fields: F,
    timeoutSeconds = 12,
  ): Promise<DendriteResult<F>> {
    return this.#call(target, kind, fields, timeoutSeconds, new SynapseBodyEncoder(), null)
      .then((reply) => reply.parse());
  }

  async #call<F>(
    target: AxonTarget,
    kind: SynapseKind<F>,
    fields: F,
    timeoutSeconds: number,
    encoder: SynapseBodyEncoder,
    budget: ReplyBudget | null,
  ): Promise<ReceivedReply<F>> {
    const phases = this.#phases;
    let lap = performance.now();
    const synapse = newSynapse(kind, fields, timeoutSeconds);
    const hash = bodyHash(kind, fields);
    const nonce = this.#nextNonce();
    synapse.dendrite = {
      ...synapse.dendrite,
      ip: this.#externalIp,
      version: SDK_VERSION_INT,
      nonce,
      uuid: this.uuid,
      hotkey: this.hotkey,
    };
    synapse.axon = { ...synapse.axon, ip: target.ip, port: target.port, hotkey: target.hotkey };
    if (phases !== undefined) lap = phases.add("encode", lap);
    synapse.dendrite.signature = this.#keypair.signHex(
      requestSignatureMessage(nonce, this.hotkey, target.hotkey, this.uuid, hash),
    );
    if (phases !== undefined) lap = phases.add("sign", lap);
    const { bytes: body, chars } = encoder.encode(synapse);
    synapse.total_size = chars;
    const headers = synapseToHeaders(kind, synapse, hash);
    headers["content-type"] = "application/json";
    phases?.add("encode", lap);

    const started = performance.now();
    // The reply's time is when it arrived, however long parsing it takes afterwards.
    let arrived = started;
    const finish = (
      statusCode: number,
      statusMessage: string,
      result: F | null,
    ): DendriteResult<F> => {
      const processTime = (arrived - started) / 1000;
      synapse.dendrite.status_code = statusCode;
      synapse.dendrite.status_message = statusMessage;
      synapse.dendrite.process_time = processTime;
      synapse.axon.status_code = statusCode;
      synapse.axon.status_message = statusMessage;
      return {
        target,
        ok: statusCode === 200 && result !== null,
        statusCode,
        statusMessage,
        processTime,
        fields: result,
        synapse,
      };
    };

    const dropped = (reason: OverBudget) =>
      finish(422, `Failed to parse response: ${reason.message}`, null);
    const claim = budget?.claim();
    let response: HttpResponse;
    try {
      response = await this.#http.post(target.ip, target.port, `/${kind.name}`, headers, body, {
        timeoutMs: timeoutSeconds * 1000,
        maxResponseBytes: this.#maxResponseBytes,
        claim,
      });
    } catch (error) {
      arrived = performance.now();
      claim?.release();
      if (error instanceof OverBudget) return noBody(() => dropped(error));
      if (error instanceof RequestTimeout) {
        return noBody(() =>
          finish(
            408,
            `Timeout: request to ${kind.name} timed out after ${timeoutSeconds} seconds`,
            null,
          )
        );
      }
      if (error instanceof ResponseTooLarge) {
        return noBody(() =>
          finish(
            422,
            `Failed to parse response: larger than ${this.#maxResponseBytes} bytes`,
            null,
          )
        );
      }
      // As with fetch: a reply cut off after its head is told apart from no reply at all.
      if (error instanceof ResponseBodyError) {
        return noBody(() => finish(503, `Service unavailable: ${errorText(error)}`, null));
      }
      return noBody(() =>
        finish(
          503,
          `Service unavailable at ${hostAndPort(target.ip, target.port)}/${kind.name}: ${
            errorText(error)
          }`,
          null,
        )
      );
    }

    arrived = performance.now();
    // Evicted between the read's end and now: the reply is already given up.
    if (claim?.dropped) {
      const reason = claim.dropped;
      return noBody(() => dropped(reason));
    }
    return heldReply(response, claim, dropped, (held) => {
      const parsing = performance.now();
      try {
        const text = utf8.decode(held.body);
        return this.#parseReply(kind, synapse, held, text, finish);
      } finally {
        phases?.add("decode", parsing);
      }
    }, (seconds) =>
      finish(
        422,
        `Failed to parse response: not read, the round's ${seconds} s for reading replies ` +
          "after the last one arrived had passed",
        null,
      ));
  }

  /** Turns an axon's reply into the call's result. */
  #parseReply<F>(
    kind: SynapseKind<F>,
    synapse: Synapse<F>,
    response: HttpResponse,
    text: string,
    finish: (statusCode: number, statusMessage: string, result: F | null) => DendriteResult<F>,
  ): DendriteResult<F> {
    let json: unknown;
    try {
      json = parseReplyJson(text, this.#maxResponseBytes);
    } catch (error) {
      // A limit names itself; an error status says more than a body that is not JSON (an HTML
      // page, a redirect's empty body), and a refusal (403) stays one.
      if (error instanceof JsonLimitError) {
        return finish(422, `Failed to parse response: ${error.message}`, null);
      }
      if (response.status !== 200) {
        const status = `${response.status} ${response.statusText}`.trim();
        return finish(response.status, `HTTP ${status} (body is not JSON)`, null);
      }
      return finish(422, "Failed to parse response: body is not JSON", null);
    }
    try {
      const view = parseSynapseHeaders(response.headers);
      for (const [k, v] of Object.entries(view.axon)) {
        if (v !== null) (synapse.axon as unknown as Record<string, unknown>)[k] = v;
      }
    } catch {
      // Header noise from the axon does not invalidate a reply whose body is good.
    }
    if (response.status !== 200) {
      const message = typeof json === "object" && json !== null && "message" in json
        ? String((json as { message: unknown }).message)
        : response.statusText;
      return finish(response.status, message, null);
    }
    try {
      const reply = synapseFromBody(kind, json);
      for (const [k, v] of Object.entries(reply.axon)) {
        if (v !== null) (synapse.axon as unknown as Record<string, unknown>)[k] = v;
      }
      return finish(200, reply.axon.status_message ?? "Success", reply.fields);
    } catch (error) {
      return finish(422, `Failed to parse response: ${errorText(error)}`, null);
    }
  }
}

/** A call's reply as received: parsed on demand, or given up unread when time has run out. */
interface ReceivedReply<F> {
  /** Size of the reply body (0 without one). */
  bytes: number;
  parse(): DendriteResult<F>;
  /** The result of a reply left unread after `seconds` of reading replies. */
  unchecked(seconds: number): DendriteResult<F>;
}

/**
 * A reply read in full and held until it is parsed or given up; if a larger reply's arrival
 * evicts it from the round's budget first, it lets go of its body and fails as `dropped` says.
 */
function heldReply<F>(
  response: HttpResponse,
  claim: ReplyClaim | undefined,
  dropped: (reason: OverBudget) => DendriteResult<F>,
  parse: (response: HttpResponse) => DendriteResult<F>,
  unchecked: (seconds: number) => DendriteResult<F>,
): ReceivedReply<F> {
  let held: HttpResponse | null = response;
  // The claim keeps why it was evicted (`dropped`); the body is let go at once.
  claim?.onEvict(() => held = null);
  const letGo = () => {
    held = null;
    claim?.release();
  };
  return {
    get bytes() {
      return held?.body.byteLength ?? 0;
    },
    parse: () => {
      if (held === null) return dropped(claim!.dropped!);
      const reply = held;
      try {
        return parse(reply);
      } finally {
        letGo();
      }
    },
    unchecked: (seconds) => {
      if (held === null) return dropped(claim!.dropped!);
      letGo();
      return unchecked(seconds);
    },
  };
}

/** A call that ended without a body to read: there is nothing to give up. */
function noBody<F>(result: () => DendriteResult<F>): ReceivedReply<F> {
  return { bytes: 0, parse: result, unchecked: result };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
