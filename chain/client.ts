/**
 * A connection to a subtensor node: resolves the network name, connects with `@polkadot/api`,
 * reconnects with exponential backoff, reads the runtime version and metadata from the node, and
 * signs and submits extrinsics with readable outcomes.
 *
 * ```ts
 * const client = await SubtensorClient.connect({ network: "test" });
 * console.log(client.runtime.specVersion, await client.bestBlock());
 * await client.close();
 * ```
 * @module
 */
import { ApiPromise, type Keyring, WsProvider } from "@polkadot/api";
import { hexToU8a, isHex, u8aConcat, u8aToHex } from "@polkadot/util";
import { EndpointVariableError, resolveEndpoint } from "./endpoints.ts";
import { ChainError, describeDispatchError, describeSubmitError } from "./errors.ts";
import { type LibraryLogSink, routeLibraryLog } from "./library_log.ts";
import { watchMalformedFrames } from "./malformed_frames.ts";
import { untrustedText } from "../cli/log.ts";

/** A signing key pair (the wallet's hotkey), as `@polkadot/keyring` creates it. */
export type HotkeyPair = ReturnType<Keyring["addFromUri"]>;

/** An extrinsic built from `client.api.tx`, ready to be signed. */
export type ChainCall = ReturnType<ApiPromise["tx"]["system"]["remark"]>;

/** The mortal era the SDK signs weight and serve extrinsics with (`DEFAULT_PERIOD`). */
export const DEFAULT_ERA_PERIOD = 128;

/** Options of {@link SubtensorClient.connect}. */
export interface ConnectOptions {
  /** A network name (`finney`, `test`, `local`, ...) or a `ws://`/`wss://` URL. */
  network: string;
  /** First reconnect delay; it doubles after each failure up to `maxRetryDelayMs`. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** How long the first connection may take, retries included. */
  connectTimeoutMs?: number;
  /**
   * Receives connection events (never key material), each with its level: the first failure of
   * an outage is a warning (a node that cannot be reached is news at any log level), the retries
   * and the rest information.
   */
  log?: (message: string, level: "info" | "warning") => void;
  /**
   * Receives the lines `@polkadot/api` writes to the console itself (`API-WS: disconnected from
   * ...`), which then stay off the console; without it they reach the console as the library
   * writes them. See `library_log.ts`.
   */
  libraryLog?: LibraryLogSink;
  /**
   * Bounds of the check that finds a connection which stopped answering without closing (a
   * network path that loses every packet: the library sends no pings, and TCP gives up only after
   * about 15 minutes). After `idleMs` (default 20 s) without any message from the node a
   * `system_health` request is sent; when no message at all arrives within `timeoutMs` (default
   * 10 s) the connection is dropped and reopened. `timeoutMs` also bounds the opening of a
   * connection.
   */
  liveness?: { idleMs?: number; timeoutMs?: number };
}

/** What the node runs, read at connection time. */
export interface RuntimeInfo {
  specName: string;
  specVersion: number;
  transactionVersion: number;
  metadataVersion: number;
  genesisHash: string;
}

/** Options of {@link SubtensorClient.submit}. */
export interface SubmitOptions {
  /** Wait until the extrinsic is in a block, so dispatch errors are seen (default true). */
  waitForInclusion?: boolean;
  /** Give up waiting after this long (default 120 s). */
  timeoutMs?: number;
}

/** The outcome of one submitted extrinsic. */
export type SubmitOutcome =
  | { ok: true; extrinsicHash: string; blockHash?: string }
  | {
    ok: false;
    message: string;
    extrinsicHash?: string;
    /** Accepted by the pool but not seen in a block before the timeout: it may still land. */
    unconfirmed?: true;
  };

// subtensor's own transaction extensions carry no data; declaring them keeps the registry quiet.
const EMPTY_EXTENSION = { extrinsic: {}, payload: {} };
const SUBTENSOR_EXTENSIONS = {
  SudoTransactionExtension: EMPTY_EXTENSION,
  SubtensorTransactionExtension: EMPTY_EXTENSION,
  DrandPriority: EMPTY_EXTENSION,
  CheckShieldedTxValidity: EMPTY_EXTENSION,
};

/**
 * Entries of the provider's cache of calls made at a block hash. Its LRU list
 * (`@polkadot/rpc-provider` 16.5.6) breaks when a hit lands on its oldest entry; from then on the
 * nodes of evicted keys stay linked from live ones, and each extrinsic watched to inclusion adds
 * four such keys (block, header, parent's runtime version, events), about 1.2 kB kept for good. A
 * single entry is never moved within the list; 0 does not turn the cache off (it keeps every value).
 */
const CALL_CACHE_CAPACITY = 1;

/** A runtime API function as `api.call` decorates it: its metadata names it and gives its types. */
export interface RuntimeFunction {
  meta: { name: string; params: { type: string }[]; type: string };
}

/** The part of the API's RPC core that holds the memo of block registries (a protected member). */
interface RegistrySwapHolder {
  setRegistrySwap(
    swap: (blockHash: Uint8Array) => ReturnType<ApiPromise["getBlockRegistry"]>,
  ): void;
}

/** Longest `close` waits for the socket's close event (a node that never answers the close). */
const CLOSE_EVENT_WAIT_MS = 5_000;

/** Default liveness bounds: a check after 20 s without a message, answered within 10 s. */
const LIVENESS_IDLE_MS = 20_000;
const LIVENESS_TIMEOUT_MS = 10_000;

/** A liveness bound from the options, checked. */
function livenessBound(value: number | undefined, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    const shown = String(value);
    throw new RangeError(
      `liveness.${field}: ${shown} is not allowed; it must be a positive number of milliseconds`,
    );
  }
  return value;
}

/**
 * Calls `provider.connect()` and returns the WebSocket it opened. The provider keeps its socket
 * private, and only the socket can be made to report a close the network never delivers: the
 * setter of `onclose`, which the provider calls on the new socket before `connect()` returns, is
 * wrapped for the duration of that synchronous call. Undefined when the provider opened no
 * socket or its WebSocket is not the global one.
 */
function connectProvider(provider: WsProvider): WebSocket | undefined {
  const prototype = globalThis.WebSocket?.prototype;
  const onclose = prototype && Object.getOwnPropertyDescriptor(prototype, "onclose");
  let socket: WebSocket | undefined;
  if (onclose?.set && onclose.configurable) {
    const set = onclose.set;
    Object.defineProperty(prototype, "onclose", {
      ...onclose,
      set(this: WebSocket, handler: unknown) {
        socket ??= this;
        set.call(this, handler);
      },
    });
  }
  try {
    provider.connect().catch(() => {});
  } finally {
    if (onclose?.set && onclose.configurable) Object.defineProperty(prototype, "onclose", onclose);
  }
  return socket;
}

/**
 * Makes `socket` report a close now: the provider then fails the calls in flight, ends the
 * watches and sets off the reconnection, as after a drop. The socket is asked to close too; over a
 * dead path its close handshake never completes, and the system frees it when TCP gives up.
 */
function forceClose(socket: WebSocket, reason: string): void {
  try {
    socket.close(1000);
  } catch {
    // already closing
  }
  socket.dispatchEvent(new CloseEvent("close", { code: 1006, reason, wasClean: false }));
}

/** A live connection to a subtensor node. */
export class SubtensorClient {
  /** The `@polkadot/api` instance, decorated from the node's own metadata. */
  readonly api: ApiPromise;
  /** The resolved WebSocket endpoint. */
  readonly endpoint: string;
  readonly #provider: WsProvider;
  readonly #log: (message: string, level?: "info" | "warning") => void;
  #closed = false;
  #registryMemoWarned = false;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #stopLibraryLog: () => void = () => {};
  #unwatchFrames: () => void = () => {};
  /** Why the connection last failed in a way the node told us, for the connect timeout. */
  #lastFailure: string | undefined;
  /** Set while a connection this client closed itself is going down, until the next one opens. */
  #reopening = false;
  /** The provider's current socket, when it could be known (see `connectProvider`). */
  #socket: WebSocket | undefined;
  #livenessTimer: ReturnType<typeof setInterval> | undefined;
  #openTimer: ReturnType<typeof setTimeout> | undefined;
  #checkTimer: ReturnType<typeof setTimeout> | undefined;

  private constructor(
    endpoint: string,
    provider: WsProvider,
    api: ApiPromise,
    log: ConnectOptions["log"],
  ) {
    this.endpoint = endpoint;
    this.#provider = provider;
    this.api = api;
    this.#log = (message, level = "info") => log?.(message, level);
  }

  /** Connects (retrying with backoff until `connectTimeoutMs`) and waits for the metadata. */
  static async connect(options: ConnectOptions): Promise<SubtensorClient> {
    const idleMs = livenessBound(options.liveness?.idleMs, "idleMs", LIVENESS_IDLE_MS);
    const checkMs = livenessBound(options.liveness?.timeoutMs, "timeoutMs", LIVENESS_TIMEOUT_MS);
    let endpoint: string;
    try {
      endpoint = resolveEndpoint(options.network);
    } catch (error) {
      // The commands name the flag; a program calling this names the option it gave.
      if (!(error instanceof RangeError) || error instanceof EndpointVariableError) throw error;
      throw new RangeError(`network: ${error.message}`);
    }
    // Auto-connect off: reconnection is ours, with backoff instead of a fixed delay.
    const provider = new WsProvider(endpoint, false, {}, undefined, CALL_CACHE_CAPACITY);
    const api = new ApiPromise({
      provider,
      noInitWarn: true,
      signedExtensions: SUBTENSOR_EXTENSIONS,
    });
    // Early socket errors reject this promise; connection failures are handled by the retries.
    api.isReadyOrError.catch(() => {});
    const client = new SubtensorClient(endpoint, provider, api, options.log);
    // Routed before the first connection attempt, which may already log.
    if (options.libraryLog) client.#stopLibraryLog = routeLibraryLog(options.libraryLog);
    client.#unwatchFrames = watchMalformedFrames((error) => client.#malformedFrame(error));
    client.#keepConnected(
      options.retryDelayMs ?? 1_000,
      options.maxRetryDelayMs ?? 30_000,
      checkMs,
    );
    client.#checkLiveness(idleMs, checkMs);
    const timeoutMs = options.connectTimeoutMs ?? 60_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        api.isReady,
        new Promise((_, reject) => {
          timer = setTimeout(() => {
            const last = client.#lastFailure === undefined ? "" : ` (${client.#lastFailure})`;
            reject(new ChainError(`no connection to ${endpoint} within ${timeoutMs} ms${last}`));
          }, timeoutMs);
          // The node, still connected, refused what the API reads first (runtime version,
          // metadata): the library would wait for a reconnection that is not coming. One whose
          // connection dropped meanwhile is retried as any drop.
          api.on("error", (error: Error) => {
            const refused = /^FATAL: Unable to initialize the API: (.*)$/s.exec(error.message);
            if (refused === null) return;
            if (!provider.isConnected) client.#closedBeforeReady(refused[1]);
            else reject(new ChainError(`${endpoint} did not give its runtime: ${refused[1]}`));
          });
        }),
      ]);
    } catch (error) {
      await client.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    const runtime = client.runtime;
    client.#log(
      `connected to ${endpoint}: ${runtime.specName} spec ${runtime.specVersion}, metadata v${runtime.metadataVersion}`,
    );
    return client;
  }

  #keepConnected(firstDelayMs: number, maxDelayMs: number, openTimeoutMs: number): void {
    let delay = firstDelayMs;
    let wasConnected = false;
    const attempt = () => {
      this.#retryTimer = undefined;
      if (this.#closed) return;
      const socket = connectProvider(this.#provider);
      if (socket === undefined) return;
      this.#socket = socket;
      // A path that loses every packet never answers the opening handshake either, and the
      // WebSocket has no bound of its own for it.
      clearTimeout(this.#openTimer);
      this.#openTimer = setTimeout(() => {
        if (this.#closed || socket !== this.#socket || this.#provider.isConnected) return;
        this.#reopening = true;
        this.#lastFailure = `the node did not answer the connection within ${openTimeoutMs} ms`;
        forceClose(socket, this.#lastFailure);
      }, openTimeoutMs);
    };
    this.#provider.on("connected", () => {
      clearTimeout(this.#openTimer);
      this.#reopening = false;
      if (wasConnected) this.#log(`reconnected to ${this.endpoint}`);
      wasConnected = true;
      delay = firstDelayMs;
    });
    // Why a connection failed (a refused port, a server that is no WebSocket endpoint), for the
    // message of a connection that never comes: the disconnection itself carries no reason.
    this.#provider.on("error", (error: unknown) => {
      if (this.#closed) return;
      const message = (error as { message?: unknown })?.message;
      if (typeof message !== "string" || message === "") return;
      this.#lastFailure = `the connection failed: ${untrustedText(message, 200)}`;
    });
    this.#provider.on("disconnected", () => {
      if (this.#closed || this.#retryTimer !== undefined) return;
      this.#log(
        `no connection to ${this.endpoint}; retrying in ${delay} ms`,
        delay === firstDelayMs ? "warning" : "info",
      );
      this.#retryTimer = setTimeout(attempt, delay);
      delay = Math.min(delay * 2, maxDelayMs);
    });
    attempt();
  }

  /**
   * Sends a check (`system_health`) once nothing was received for `idleMs`, and drops the
   * connection when no message at all arrives within `timeoutMs` of it: the library sends no
   * pings, so a connection whose packets are all lost would otherwise stay open, every call failing
   * after the library's 60 s timeout, until TCP gave up.
   */
  #checkLiveness(idleMs: number, timeoutMs: number): void {
    const received = () => this.#provider.stats.total.bytesRecv;
    let seen = received();
    let quietSince = performance.now();
    this.#livenessTimer = setInterval(() => {
      if (this.#closed || this.#checkTimer !== undefined) return;
      if (!this.#provider.isConnected || received() !== seen) {
        seen = received();
        quietSince = performance.now();
        return;
      }
      if (performance.now() - quietSince < idleMs) return;
      const socket = this.#socket;
      // Any message proves the connection alive, the answer to the check or another.
      this.#provider.send("system_health", []).catch(() => {});
      this.#checkTimer = setTimeout(() => {
        this.#checkTimer = undefined;
        quietSince = performance.now();
        if (this.#closed || received() !== seen) {
          seen = received();
          return;
        }
        if (socket === undefined || socket !== this.#socket || !this.#provider.isConnected) return;
        this.#log(
          `${this.endpoint}: no answer within ${timeoutMs} ms to a check sent after ${idleMs} ms ` +
            "without a message; reconnecting",
        );
        this.#reopening = true;
        this.#lastFailure = `the node stopped answering (no answer within ${timeoutMs} ms)`;
        forceClose(socket, this.#lastFailure);
      }, timeoutMs);
    }, Math.max(1, Math.min(idleMs, timeoutMs) / 4));
  }

  /**
   * The connection closed before the node gave its runtime, `message` saying how (the library's
   * `disconnected from <endpoint>: <code>:: <reason>`). A close the node made is the failure to
   * name; one this client made (a frame that is not JSON) keeps its own reason.
   */
  #closedBeforeReady(message: string): void {
    if (this.#closed || this.#reopening) return;
    const close = /^disconnected from .*?: (\d+):: (.*)$/s.exec(message);
    this.#lastFailure = close === null
      ? `the connection dropped: ${untrustedText(message, 200)}`
      : `the node closed the connection with code ${close[1]}: ${untrustedText(close[2], 200)}`;
  }

  /** A frame the node sent that is not JSON: the stream cannot be trusted, so it is reopened. */
  #malformedFrame(error: SyntaxError): void {
    if (this.#closed) return;
    this.#reopening = true;
    // The parser's message quotes the frame: text the node chose.
    this.#lastFailure = `it sent a message that is not JSON: ${untrustedText(error.message, 200)}`;
    this.#log(`${this.endpoint}: ${this.#lastFailure}; reconnecting`);
    // Closing fails the calls in flight at once and sets off the reconnection in #keepConnected.
    this.#provider.disconnect().catch(() => {});
  }

  /** Runtime version and metadata version the node reported. */
  get runtime(): RuntimeInfo {
    const version = this.api.runtimeVersion;
    return {
      specName: version.specName.toString(),
      specVersion: version.specVersion.toNumber(),
      transactionVersion: version.transactionVersion.toNumber(),
      metadataVersion: this.api.runtimeMetadata.version,
      genesisHash: this.api.genesisHash.toHex(),
    };
  }

  /** Whether the WebSocket is currently open. */
  get isConnected(): boolean {
    return this.#provider.isConnected;
  }

  /** Number of the node's best block. */
  async bestBlock(): Promise<number> {
    const header = await this.api.rpc.chain.getHeader();
    return header.number.toNumber();
  }

  /**
   * Calls runtime API function `fn` (from `api.call`, for its name and types) with `args` in the
   * state of block `blockHash`, and decodes the answer with the node's current types. The request
   * goes to the node as it is: `@polkadot/api`'s calls at a block hash (`api.at`) redecorate the
   * whole metadata for each new hash and keep an entry per hash in a memo that is never emptied.
   */
  async callAt(
    fn: RuntimeFunction | ((...args: never[]) => Promise<unknown>),
    blockHash: string,
    args: unknown[],
  ): Promise<unknown> {
    const meta = (fn as Partial<RuntimeFunction>).meta;
    if (typeof meta?.name !== "string" || !Array.isArray(meta.params)) {
      throw new RangeError("fn: not a runtime API function of api.call (it has no metadata)");
    }
    const { name, params, type } = meta;
    if (args.length !== params.length) {
      throw new RangeError(`${name}: takes ${params.length} arguments, not ${args.length}`);
    }
    const registry = this.api.registry;
    const input = u8aConcat(
      ...args.map((arg, i) => registry.createTypeUnsafe(params[i].type, [arg]).toU8a()),
    );
    const answer: unknown = await this.#provider.send("state_call", [
      name,
      u8aToHex(input),
      blockHash,
    ]);
    if (typeof answer !== "string" || !isHex(answer)) {
      throw new ChainError(`${name} at ${blockHash}: the node's answer is not hex bytes`);
    }
    return registry.createTypeUnsafe(type, [hexToU8a(answer)]);
  }

  /**
   * Signs `call` with `signer` (mortal era of 128 blocks, next nonce from the node), submits it and
   * reports the outcome: pool rejections and dispatch errors come back as readable messages.
   */
  submit(call: ChainCall, signer: HotkeyPair, options: SubmitOptions = {}): Promise<SubmitOutcome> {
    const waitForInclusion = options.waitForInclusion ?? true;
    const timeoutMs = options.timeoutMs ?? 120_000;
    return new Promise<SubmitOutcome>((resolve) => {
      let settled = false;
      let unsubscribe: (() => void) | undefined;
      let extrinsicHash: string | undefined;
      const finish = (outcome: SubmitOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        stopWatchingConnection();
        unsubscribe?.();
        resolve(outcome);
        this.#forgetBlockRegistries();
      };
      // A dropped connection takes the watch of a submitted extrinsic with it (the library does
      // not renew watches of extrinsics), so no status would come before the timeout. Before the
      // extrinsic is signed nothing was sent: the signing goes on or fails by itself; a sending
      // that failed otherwise than by the drop is reported first.
      const dropped = () =>
        finish({
          ok: false,
          message: "the connection to the node dropped before the extrinsic was seen in a " +
            "block: it may still land",
          extrinsicHash: call.hash.toHex(),
          unconfirmed: true,
        });
      const stopWatchingConnection = this.#provider.on("disconnected", () => {
        setTimeout(() => {
          if (call.isSigned) dropped();
        }, 0);
      });
      const timer = setTimeout(() => {
        finish({
          ok: false,
          message: `no inclusion within ${timeoutMs} ms`,
          extrinsicHash,
          unconfirmed: true,
        });
      }, timeoutMs);
      call.signAndSend(signer, { era: DEFAULT_ERA_PERIOD, nonce: -1 }, (result) => {
        extrinsicHash = call.hash.toHex();
        const status = result.status;
        if (status.isInvalid || status.isDropped || status.isUsurped) {
          finish({ ok: false, message: `transaction ${status.type.toLowerCase()}`, extrinsicHash });
        } else if (result.dispatchError) {
          finish({
            ok: false,
            message: `failed on chain: ${describeDispatchError(this.api, result.dispatchError)}`,
            extrinsicHash,
          });
        } else if (status.isInBlock || status.isFinalized) {
          const blockHash = (status.isInBlock ? status.asInBlock : status.asFinalized).toHex();
          finish({ ok: true, extrinsicHash, blockHash });
        } else if (!waitForInclusion && (status.isReady || status.isBroadcast || status.isFuture)) {
          finish({ ok: true, extrinsicHash });
        }
      }).then((unsub) => {
        unsubscribe = unsub;
        if (settled) unsub();
      }).catch((error: unknown) => {
        // The connection dropped while the submission awaited the node's answer: the request was
        // sent (the provider fails only requests it wrote this way), so the node may have it.
        const message = error instanceof Error ? error.message : String(error);
        if (call.isSigned && /^disconnected from /.test(message)) return dropped();
        finish({ ok: false, message: describeSubmitError(error), extrinsicHash });
      });
    });
  }

  /**
   * Empties `@polkadot/rpc-core`'s memo of the registry for each block hash a call was made at: it
   * never drops one, and every extrinsic watched to inclusion adds one (about 0.2 kB). Lookups
   * already under way keep their answer; a later call at an old hash asks the node again.
   */
  #forgetBlockRegistries(): void {
    const core = (this.api as unknown as { _rpcCore?: Partial<RegistrySwapHolder> })._rpcCore;
    if (typeof core?.setRegistrySwap !== "function") {
      // Another @polkadot/api version: its memo keeps growing, but submissions still work.
      if (!this.#registryMemoWarned) {
        this.#registryMemoWarned = true;
        this.#log("cannot empty @polkadot/api's block-registry memo (about 0.2 kB per submission)");
      }
      return;
    }
    core.setRegistrySwap((blockHash) => this.api.getBlockRegistry(blockHash));
  }

  /** Stops reconnecting and closes the connection. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#livenessTimer);
    clearTimeout(this.#openTimer);
    // A check still waiting for its answer: the connection may be dead, and its close would then
    // never be answered.
    const suspect = this.#checkTimer !== undefined;
    clearTimeout(this.#checkTimer);
    this.#checkTimer = undefined;
    // The socket still dispatches what it receives until its close event, which the disconnect
    // does not wait for: an unreadable frame before it must still be caught. A socket that never
    // opened receives nothing.
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopListening = () => {};
    const socketClosed = this.#provider.isConnected
      ? new Promise<void>((resolve) => {
        stopListening = this.#provider.on("disconnected", () => resolve());
        timer = setTimeout(resolve, CLOSE_EVENT_WAIT_MS);
      })
      : Promise.resolve();
    await this.api.disconnect().catch(() => {});
    if (suspect && this.#socket !== undefined && this.#provider.isConnected) {
      forceClose(this.#socket, "closed by the client");
    }
    await socketClosed;
    clearTimeout(timer);
    stopListening();
    // The library logs the failure of each request the close cut off (its unsubscriptions) some
    // promise steps after the close event: those lines still go to the sink.
    await new Promise((resolve) => setTimeout(resolve, 0));
    this.#stopLibraryLog();
    this.#unwatchFrames();
  }
}
