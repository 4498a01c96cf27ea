/**
 * The axon: the miner's HTTP server ({@linkcode HttpServer}), speaking the Python axon's protocol.
 * One route per attached synapse kind at `/<Name>` (GET and POST), plus the built-in `/Synapse`
 * ping (base fields only, bodies up to 4 KiB). Each request goes: parse headers (404 unknown
 * name, 500 bad headers) → size limit (413) → blacklist (403) → signature and nonce (401) → body
 * read (408 when it does not arrive before the deadline), body hash and validation (500) →
 * priority queue (408 when the deadline passes while waiting) → forward → 200 with the whole
 * synapse. Blacklist and priority come from the route's handlers, else from the axon's
 * `callers` rules, which cover the ping too.
 *
 * ```ts
 * const axon = new Axon({ keypair: hotkey, port: 8091 });
 * axon.attach(Ping, { forward: (synapse) => ({ ...synapse.fields, text: "pong" }) });
 * const port = await axon.start();
 * ```
 * @module
 */
import { cutChars } from "../cli/code_points.ts";
import { z } from "../cli/zod_messages.ts";
import { BodyError, HttpServer, type Incoming, type Outgoing, type Peer } from "./http_server.ts";
import type { Keypair } from "./keypair.ts";
import { GateTimeout, PriorityGate } from "./priority_gate.ts";
import { pythonFloat } from "./python_float.ts";
import { RequestVerifier } from "./request_verifier.ts";
import {
  bodyHash,
  emptyTerminal,
  type HeaderView,
  parseSynapseHeaders,
  parseWireJson,
  responseSignatureMessage,
  SDK_VERSION_INT,
  type Synapse,
  synapseFromBody,
  type SynapseKind,
  synapseToBody,
  synapseToHeaders,
  timeNs,
  toWireJson,
} from "./synapse.ts";

/** A blacklist verdict; `reason` is shown to the caller. */
export interface BlacklistDecision {
  blacklisted: boolean;
  reason: string;
}

/** What an attached synapse kind does. */
export interface SynapseHandlers<F> {
  /**
   * Produces the reply fields. `signal` aborts when the request's timeout passes; `deadline` is
   * that moment on the `performance.now()` clock, counted from the request's arrival (queueing and
   * reading the body have used part of the timeout already).
   */
  forward(synapse: Synapse<F>, signal: AbortSignal, deadline: number): Promise<F> | F;
  /** Decides from the (not yet verified) caller info whether to refuse the request. */
  blacklist?(synapse: Synapse<F>): Promise<BlacklistDecision> | BlacklistDecision;
  /** Higher is served first when forwards queue up (the caller's stake). */
  priority?(synapse: Synapse<F>): Promise<number> | number;
}

/** Who may call, and in which order, on every route that does not decide for itself. */
export interface CallerRules {
  blacklist?(synapse: Synapse<unknown>): Promise<BlacklistDecision> | BlacklistDecision;
  priority?(synapse: Synapse<unknown>): Promise<number> | number;
}

/** One finished request, for logs and metrics. */
export interface AxonRequestRecord {
  /** The synapse's name; `unknown` for a path that names none. */
  synapse: string;
  callerHotkey: string | null;
  callerIp: string | null;
  statusCode: number;
  statusMessage: string;
  /** Seconds from arrival to reply. */
  seconds: number;
}

/** Options of an {@linkcode Axon}. */
export interface AxonOptions {
  /** The hotkey this axon serves; requests must be signed for it. */
  keypair: Keypair;
  /** TCP port; 0 picks a free one (default 8091). */
  port?: number;
  /** Bind address (default `0.0.0.0`). */
  host?: string;
  /** Larger request bodies are refused with 413 (default 32 MiB). */
  maxBodyBytes?: number;
  /**
   * Open connections at most, in all and from one address (defaults: the server's, 1024 and 16).
   * When full, the connection waiting longest for a request head makes room for a new one; more
   * than the limit from one address are closed as they arrive.
   */
  maxConnections?: number;
  maxConnectionsPerIp?: number;
  /** Forwards running at once; the rest queue by priority (default 4). */
  maxConcurrentForwards?: number;
  /**
   * Blacklist and priority of every route, the built-in `/Synapse` ping included; a route's own
   * `blacklist` and `priority` take precedence. Without them every signed caller is served.
   */
  callers?: CallerRules;
  /** Refuse unsigned requests (default true; the Python axon lets them through). */
  requireSignature?: boolean;
  /** Called after every request. */
  onRequest?(record: AxonRequestRecord): void;
  /** Receives the cause of each internal error, and each verified caller's body that cannot be
   * read (default `console.warn`). */
  onError?(message: string): void;
}

/** The request side of a synapse exchange once headers are parsed, before the body is read. */
type Pending = Synapse<unknown>;

/**
 * The built-in `/Synapse` ping: the base synapse and nothing else, as the Python `Synapse` class.
 * Extra keys in a request are dropped, so that a reply never echoes what a caller sent.
 */
const PING: SynapseKind<Record<string, never>> = {
  name: "Synapse",
  fields: z.object({}),
  requiredFields: [],
  hashFields: [],
};

/** A ping's body holds the base fields alone, well under 1 KiB from the Python dendrite. */
const PING_MAX_BODY_BYTES = 4096;

const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;

interface Route {
  // deno-lint-ignore no-explicit-any
  kind: SynapseKind<any>;
  // deno-lint-ignore no-explicit-any
  handlers: SynapseHandlers<any>;
  /** Larger bodies get 413; unset, the axon's `maxBodyBytes`. */
  maxBodyBytes?: number;
}

/** The methods a synapse route answers. */
const ROUTE_METHODS = new Set(["GET", "HEAD", "POST"]);

/** Thrown inside the pipeline to end a request with a given status and message. */
class Refusal extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** A verified caller's body that cannot be read: refused, and reported as an internal error is,
 * since it is a validator sending what it should not, which its operator wants to hear of. */
class BodyRefusal extends Refusal {
  constructor(message: string, readonly problem: string) {
    super(500, message);
  }
}

/** A Bittensor axon serving attached synapse kinds. */
export class Axon {
  /** Instance id reported in `bt_header_axon_uuid`. */
  readonly uuid: string = crypto.randomUUID();
  readonly #keypair: Keypair;
  readonly #routes = new Map<string, Route>();
  readonly #verifier: RequestVerifier;
  readonly #gate: PriorityGate;
  readonly #options: AxonOptions;
  #server: HttpServer | null = null;

  constructor(options: AxonOptions) {
    if (!options.keypair.canSign) throw new Error("an axon needs a hotkey that can sign");
    this.#keypair = options.keypair;
    this.#options = options;
    this.#verifier = new RequestVerifier(options.keypair.ss58Address, {
      requireSignature: options.requireSignature ?? true,
    });
    this.#gate = new PriorityGate(options.maxConcurrentForwards ?? 4);
    this.#routes.set(PING.name, {
      kind: PING,
      handlers: { forward: () => ({}) },
      maxBodyBytes: PING_MAX_BODY_BYTES,
    });
  }

  /** The SS58 hotkey this axon serves. */
  get hotkey(): string {
    return this.#keypair.ss58Address;
  }

  /** Serves `kind` at `/<kind.name>`. */
  attach<F>(kind: SynapseKind<F>, handlers: SynapseHandlers<F>): this {
    this.#routes.set(kind.name, { kind, handlers });
    return this;
  }

  /** Starts listening; resolves to the bound port. */
  async start(): Promise<number> {
    if (this.#server !== null) throw new Error("axon already started");
    this.#server = await HttpServer.listen((incoming, peer) => this.#handle(incoming, peer), {
      port: this.#options.port ?? 8091,
      hostname: this.#options.host ?? "0.0.0.0",
      maxConnections: this.#options.maxConnections,
      maxConnectionsPerIp: this.#options.maxConnectionsPerIp,
      onError: this.#options.onError,
    });
    return this.#server.port;
  }

  /** Stops listening and waits for open requests to finish. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (server !== null) await server.close();
  }

  async #handle(request: Incoming, peer: Peer | null): Promise<Outgoing> {
    const started = performance.now();
    const name = request.target.split("?")[0].split("/")[1] ?? "";
    const route = this.#routes.get(name);
    let synapse: Pending | null = null;
    let kind: SynapseKind<unknown> = PING;
    try {
      if (route === undefined) {
        throw new Refusal(
          404,
          `Synapse name '${name.length > 64 ? `${name.slice(0, 64)}...` : name}' not found. ` +
            `Available synapses ${pythonList([...this.#routes.keys()])}`,
        );
      }
      kind = route.kind;
      // Each route takes GET and POST, as the Python axon's, and checks a HEAD's caller before
      // refusing it below; nothing else reaches a handler.
      if (!ROUTE_METHODS.has(request.method)) throw new Refusal(405, "Method Not Allowed");
      synapse = this.#preprocess(route.kind, request, peer);
      const declared = Number(request.header("content-length") ?? "0");
      const limit = route.maxBodyBytes ?? this.#options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
      if (declared > limit) throw new Refusal(413, `Request body exceeds ${limit} bytes`);

      const handlers = route.handlers;
      const blacklist = handlers.blacklist ?? this.#options.callers?.blacklist;
      if (blacklist !== undefined) {
        const verdict = await blacklist(synapse);
        if (verdict.blacklisted) {
          throw new Refusal(403, `Forbidden. Key is blacklisted: ${verdict.reason}.`);
        }
      }
      const headerHash = request.header("computed_body_hash") ?? "";
      try {
        this.#verifier.verify(synapse.dendrite, headerHash, synapse.timeout, synapse.axon.hotkey);
      } catch (error) {
        throw new Refusal(401, `Not Verified with error: ${messageOf(error)}`);
      }
      // The Python axon checks the caller of a HEAD as of a GET, then its router refuses it (its
      // routes take GET and POST only).
      if (request.method === "HEAD") throw new Refusal(405, "Method Not Allowed");

      const deadline = AbortSignal.timeout(Math.max(1, synapse.timeout * 1000));
      // The body is read before a forward slot is taken, as the Python axon does: a caller that
      // sends it slowly holds only its own connection, never a slot others wait for.
      let bytes: Uint8Array<ArrayBuffer>;
      try {
        bytes = await request.body(limit, deadline);
      } catch (error) {
        if (error instanceof BodyError) throw new Refusal(error.status, error.message);
        throw error;
      }
      const parsed = bodySynapse(route.kind, bytes);
      if (bodyHash(route.kind, parsed.fields) !== headerHash) {
        throw bodyRefusal(route.kind, "its hash does not match the computed_body_hash header");
      }
      synapse.fields = parsed.fields;
      const rank = handlers.priority ?? this.#options.callers?.priority;
      const priority = rank === undefined ? 0 : await rank(synapse);
      let release: () => void;
      try {
        release = await this.#gate.enter(priority, deadline);
      } catch (error) {
        if (error instanceof GateTimeout) {
          throw new Refusal(408, `Response timeout after: ${pythonFloat(synapse.timeout)}s`);
        }
        throw error;
      }
      try {
        synapse.fields = await handlers.forward(
          synapse,
          deadline,
          started + synapse.timeout * 1000,
        );
      } finally {
        release();
      }
      synapse.axon.status_code = 200;
      synapse.axon.status_message = "Success";
      synapse.axon.process_time = (performance.now() - started) / 1000;
      return this.#reply(route.kind, synapse, 200, toWireJson(synapseToBody(synapse)), started);
    } catch (error) {
      let status = 500;
      let message: string;
      const report = this.#options.onError ?? console.warn;
      if (error instanceof Refusal) {
        status = error.status;
        message = error.message;
        // The problem leads, so that a log keyed on a line's start tells its kinds apart.
        if (error instanceof BodyRefusal) report(`axon: ${name} body refused: ${error.problem}`);
      } else {
        const id = crypto.randomUUID();
        message = `Internal Server Error #${id}`;
        report(`axon: ${name} request failed (#${id}): ${messageOf(error)}`);
      }
      const failed = synapse ?? this.#bareSynapse(name, peer);
      failed.axon.status_code = status;
      failed.axon.status_message = message;
      failed.axon.process_time = (performance.now() - started) / 1000;
      // Paths name no synapse: one label for all keeps a stranger from growing the metrics.
      const label = route === undefined ? "unknown" : failed.name;
      return this.#reply(kind, failed, status, JSON.stringify({ message }), started, label);
    }
  }

  /** Builds the request synapse from headers and fills in our side, like the Python axon. */
  #preprocess(kind: SynapseKind<unknown>, request: Incoming, peer: Peer | null): Pending {
    let view: HeaderView;
    try {
      view = parseSynapseHeaders({ forEach: (fn) => request.forEachHeader(fn) });
    } catch (error) {
      throw new Refusal(
        500,
        `Improperly formatted request. Could not parse headers into synapse of type ${kind.name}: ${
          messageOf(error)
        }`,
      );
    }
    const nonce = timeNs();
    const synapse: Pending = {
      name: kind.name,
      // A caller's timeout is how long it holds a forward slot: bounded, so that no caller can
      // hold one for hours (validators ask for a few seconds).
      timeout: Math.min(Math.max(view.timeout ?? 12, 0), MAX_TIMEOUT_S) || 0,
      total_size: 0,
      header_size: 0,
      dendrite: { ...view.dendrite, ip: peer?.hostname ?? null, port: peer?.port ?? null },
      axon: {
        ...view.axon,
        version: SDK_VERSION_INT,
        uuid: this.uuid,
        nonce,
        status_code: 100,
      },
      computed_body_hash: "",
      fields: {},
    };
    synapse.axon.signature = this.#keypair.signHex(
      responseSignatureMessage(nonce, synapse.dendrite.hotkey, synapse.axon.hotkey, this.uuid),
    );
    return synapse;
  }

  #bareSynapse(name: string, peer: Peer | null): Pending {
    return {
      name,
      timeout: 12,
      total_size: 0,
      header_size: 0,
      dendrite: { ...emptyTerminal(), ip: peer?.hostname ?? null, port: peer?.port ?? null },
      axon: emptyTerminal(),
      computed_body_hash: "",
      fields: {},
    };
  }

  #reply(
    kind: SynapseKind<unknown>,
    synapse: Pending,
    status: number,
    body: string,
    started: number,
    label = synapse.name,
  ): Outgoing {
    const headers = synapseToHeaders(kind, synapse, bodyHash(kind, synapse.fields));
    headers["content-type"] = "application/json";
    this.#options.onRequest?.({
      synapse: label,
      callerHotkey: synapse.dendrite.hotkey,
      callerIp: synapse.dendrite.ip,
      statusCode: status,
      statusMessage: synapse.axon.status_message ?? "",
      seconds: (performance.now() - started) / 1000,
    });
    return { status, headers: sanitizeHeaders(headers), body };
  }
}

/** Python's `str(list_of_str)`. */
function pythonList(items: string[]): string {
  return `[${items.map((i) => `'${i}'`).join(", ")}]`;
}

const UNPRINTABLE = /[^\x20-\x7e]/;
const ALL_UNPRINTABLE = /[^\x20-\x7e]/g;

/** Header values must be ByteStrings without line breaks; replaces what is not, in place. */
function sanitizeHeaders(headers: Record<string, string>): Record<string, string> {
  for (const [name, value] of Object.entries(headers)) {
    if (UNPRINTABLE.test(value)) headers[name] = value.replace(ALL_UNPRINTABLE, "?");
  }
  return headers;
}

/** Longest request timeout honoured, in seconds; a larger `timeout` header is cut to it. */
export const MAX_TIMEOUT_S = 60;

const utf8 = new TextDecoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * UTF-8 text of a body; throws on malformed UTF-8. The lenient decoder is several times faster;
 * only a text that came out with a replacement character needs the strict check.
 */
function decodeUtf8(bytes: BufferSource): string {
  const text = utf8.decode(bytes);
  return text.includes("\uFFFD") ? strictUtf8.decode(bytes) : text;
}

/**
 * The synapse a request body holds. A body that cannot be read is refused naming the problem (the
 * field, for one that does not fit): its caller has been verified, and can mend what it sends,
 * where the Python axon answers a bare `Internal Server Error #<uuid>`.
 */
function bodySynapse<F>(kind: SynapseKind<F>, bytes: Uint8Array<ArrayBuffer>): Synapse<F> {
  let text: string;
  try {
    text = decodeUtf8(bytes);
  } catch {
    throw bodyRefusal(kind, "not UTF-8 text");
  }
  let json: unknown;
  try {
    json = parseWireJson(text);
  } catch (error) {
    throw bodyRefusal(
      kind,
      error instanceof SyntaxError ? `not JSON: ${error.message}` : messageOf(error),
    );
  }
  try {
    return synapseFromBody(kind, json);
  } catch (error) {
    throw bodyRefusal(kind, messageOf(error));
  }
}

/** The most of a body problem a refusal repeats: it may quote a field megabytes long. */
const MAX_PROBLEM_CHARACTERS = 300;

function bodyRefusal(kind: SynapseKind<unknown>, problem: string): BodyRefusal {
  // The message is sent in the bt_header_axon_status_message header too, which carries ASCII
  // only: its ellipses, a quoted value's included, are three dots.
  const told = cutChars(problem.replaceAll("…", "..."), MAX_PROBLEM_CHARACTERS, 0, "...");
  return new BodyRefusal(
    `Improperly formatted request body for synapse of type ${kind.name}: ${told}`,
    told,
  );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
