/**
 * A small subtensor stand-in for tests: a JSON-RPC server over a real WebSocket on loopback that
 * answers the calls `@polkadot/api` makes, with every value SCALE-encoded through the committed
 * runtime metadata (so the client decodes real runtime types). Submitted extrinsics are decoded,
 * their sr25519 signatures verified, and they are included in a new block with the events the test
 * chose (success, a pallet error, or a transaction-pool rejection), or left in the pool unincluded.
 * @module
 */
import { expandMetadata, Metadata, TypeRegistry } from "@polkadot/types";
import { compactStripLength, compactToU8a, hexToU8a, u8aConcat, u8aToHex } from "@polkadot/util";
import { blake2AsHex, signatureVerify } from "@polkadot/util-crypto";

type Codec = ReturnType<TypeRegistry["createTypeUnsafe"]>;

/** blake2-64 of "Metadata": the runtime-API id of the `Metadata` API. */
const METADATA_API_ID = "0x37e397fc7c91f5e4";

const FIXTURE = new URL("./fixtures/subtensor_metadata_v16.scale", import.meta.url);

/** One decoded, signature-checked extrinsic the node received. */
export interface Submission {
  section: string;
  method: string;
  /** Call arguments as JSON (numbers, hex strings). */
  args: Record<string, unknown>;
  signer: string;
  signatureValid: boolean;
  era: { period: number; phase: number } | "immortal";
}

/** Options of {@link FakeSubtensor}. */
export interface FakeSubtensorOptions {
  /**
   * `false` leaves the `Metadata` runtime API out of the runtime version, as older nodes do, so
   * clients must fall back to `state_getMetadata`.
   */
  withMetadataApi?: boolean;
  /**
   * Serve a runtime with the stateful epoch scheduler: the fixture metadata plus the storage maps
   * `SubnetEpochIndex`, `LastEpochBlock` and `PendingEpochAt` (netuid -> u64, Identity-hashed, as
   * that runtime declares them).
   */
  epochCounter?: boolean;
  /** Serve a runtime with `SubnetInfoRuntimeApi.get_subnet_hyperparams_v3` (a list of named
   * values) in place of the deprecated v1 and v2, as later runtimes may. */
  hyperparamsV3?: boolean;
}

/** The stateful scheduler's storage maps the fixture runtime predates. */
const EPOCH_COUNTER_STORAGE = ["SubnetEpochIndex", "LastEpochBlock", "PendingEpochAt"];

/**
 * The fixture metadata, with the epoch scheduler's storage maps and the v3 hyperparameters runtime
 * call added when asked for.
 */
function fixtureMetadata(bytes: Uint8Array, options: FakeSubtensorOptions): Uint8Array {
  if (!options.epochCounter && !options.hyperparamsV3) return bytes;
  // deno-lint-ignore no-explicit-any
  const json = new Metadata(new TypeRegistry(), bytes).toJSON() as any;
  const v16 = json.metadata.v16;
  if (options.epochCounter) {
    const storage = v16.pallets.find((p: { name: string }) => p.name === "SubtensorModule").storage;
    // BlocksSinceLastStep has the same shape: netuid -> u64, Identity, default 0.
    const model = storage.items.find((i: { name: string }) => i.name === "BlocksSinceLastStep");
    for (const name of EPOCH_COUNTER_STORAGE) storage.items.push({ ...model, name, docs: [] });
  }
  if (options.hyperparamsV3) addHyperparamsV3(v16);
  return new Metadata(new TypeRegistry(), json).toU8a();
}

/**
 * Declares `get_subnet_hyperparams_v3(netuid) -> Option<Vec<HyperparamEntry>>` with the runtime's
 * types: an entry is a name (bytes) and a `HyperparamValue` whose variants, in order, are Bool,
 * U16, U32, U64, U128 (compact), TaoBalance (compact u64), I32F32 and U64F64.
 */
// deno-lint-ignore no-explicit-any
function addHyperparamsV3(v16: any): void {
  const types = v16.lookup.types;
  // deno-lint-ignore no-explicit-any
  const idOf = (match: (def: any, path: string) => boolean) =>
    // deno-lint-ignore no-explicit-any
    types.find((t: any) => match(t.type.def, (t.type.path ?? []).join("::"))).id as number;
  const primitive = (name: string) => idOf((def) => def.primitive === name);
  const compact = (of: number) => idOf((def) => def.compact?.type === of);
  const fixed = (bits: number) =>
    idOf((def, path) =>
      path.startsWith("substrate_fixed::") && def.composite?.fields?.[0]?.type === bits
    );
  const [u16, u32, u64, u128] = ["U16", "U32", "U64", "U128"].map(primitive);
  const bytes = idOf((def) => def.sequence?.type === primitive("U8"));
  const path = (name: string) => ["pallet_subtensor", "rpc_info", "subnet_info", name];
  const field = (name: string | null, type: number) => ({ name, type, typeName: null, docs: [] });
  const next = types.length;
  const value = next, entry = next + 1, list = next + 2, option = next + 3;
  const variants: [string, number][] = [
    ["Bool", primitive("Bool")],
    ["U16", compact(u16)],
    ["U32", compact(u32)],
    ["U64", compact(u64)],
    ["U128", compact(u128)],
    ["TaoBalance", compact(u64)],
    ["I32F32", fixed(primitive("I64"))],
    ["U64F64", fixed(u128)],
  ];
  types.push(
    {
      id: value,
      type: {
        path: path("HyperparamValue"),
        params: [],
        def: {
          variant: {
            variants: variants.map(([name, type], index) => ({
              name,
              fields: [field(null, type)],
              index,
              docs: [],
            })),
          },
        },
        docs: [],
      },
    },
    {
      id: entry,
      type: {
        path: path("HyperparamEntry"),
        params: [],
        def: { composite: { fields: [field("name", bytes), field("value", value)] } },
        docs: [],
      },
    },
    { id: list, type: { path: [], params: [], def: { sequence: { type: entry } }, docs: [] } },
    {
      id: option,
      type: {
        path: ["Option"],
        params: [{ name: "T", type: list }],
        def: {
          variant: {
            variants: [
              { name: "None", fields: [], index: 0, docs: [] },
              { name: "Some", fields: [field(null, list)], index: 1, docs: [] },
            ],
          },
        },
        docs: [],
      },
    },
  );
  const api = v16.apis.find((a: { name: string }) => a.name === "SubnetInfoRuntimeApi");
  // Such a runtime need not keep the deprecated v1 and v2 calls: this one has neither.
  api.methods = api.methods.filter((m: { name: string }) =>
    !/^get_subnet_hyperparams(_v2)?$/.test(m.name)
  );
  api.methods.push({
    name: "get_subnet_hyperparams_v3",
    inputs: [{ name: "netuid", type: u16 }],
    output: option,
    docs: [],
    deprecationInfo: { notDeprecated: null },
  });
}

/** The answer of a runtime API function, from its arguments and the block it is called at. */
export type RuntimeApiAnswer = (args: unknown[], block: number) => unknown;

/** How the node answers a submission. */
export type SubmitReply =
  | { kind: "include" }
  /** Ready in the pool, never included. */
  | { kind: "pool" }
  | { kind: "fail"; pallet: string; error: string }
  | { kind: "reject"; code: number; message: string; data: string };

/** The pool's refusal of a submission as an invalid transaction (1010), `data` saying why. */
export function invalidTransaction(data: string): SubmitReply {
  return { kind: "reject", code: 1010, message: "Invalid Transaction", data };
}

type JsonRpcId = number | string;
interface JsonRpcRequest {
  id: JsonRpcId;
  method: string;
  params?: unknown[];
}

/**
 * A WebSocket endpoint that accepts each connection and closes it at once with code 4000 ("going
 * away"), as a node shutting down or a proxy refusing the client does.
 */
export function serveClosingEndpoint(): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.onopen = () => socket.close(4000, "going away");
    return response;
  });
}

/** A loopback subtensor node answering from the fixture metadata. */
export class FakeSubtensor {
  readonly registry: TypeRegistry;
  readonly metadata: Metadata;
  readonly metadataHex: string;
  /** Every RPC method called, in order. */
  readonly calls: string[] = [];
  readonly submissions: Submission[] = [];
  /**
   * Decides the fate of each submission (default: include successfully). An included
   * `commitWeights` is recorded in `WeightCommits` as the chain does (the inclusion block, or the
   * `SubnetEpochIndex` on a runtime with the epoch counter), unless `onSubmit` recorded it itself.
   */
  onSubmit: (submission: Submission) => SubmitReply = () => ({ kind: "include" });
  best = 1000;
  /** Called with each RPC method before it is answered (to move the chain on between calls, say). */
  onRequest: (method: string) => void = () => {};
  /** While true, new WebSocket connections are refused (HTTP 503), as by a node that is down. */
  refuseConnections = false;
  /** Answers given as they are to the RPC methods named, instead of the node's own. */
  readonly rawAnswers = new Map<string, unknown>();
  #server: Deno.HttpServer<Deno.NetAddr> | undefined;
  #sockets = new Set<WebSocket>();
  #storage = new Map<string, string>();
  /** The values given to setStorage, by storage key. */
  #values = new Map<string, unknown>();
  #blockStorage = new Map<string, Map<string, string>>();
  /** Storage keys whose reads fail, as on a node that cannot serve them. */
  #failingReads = new Set<string>();
  #blockExtrinsics = new Map<string, string[]>();
  #runtimeApis = new Map<string, RuntimeApiAnswer>();
  #nonces = new Map<string, number>();
  #nextSubscription = 1;
  readonly #epochCounter: boolean;
  #hashes = new Map<number, string>();
  readonly #decorated: ReturnType<typeof expandMetadata>;
  readonly #runtimeVersion: Record<string, unknown>;

  constructor(options: FakeSubtensorOptions = {}) {
    const fixture = Deno.readFileSync(FIXTURE);
    this.#epochCounter = options.epochCounter ?? false;
    const bytes = fixtureMetadata(fixture, options);
    this.registry = new TypeRegistry();
    this.metadata = new Metadata(this.registry, bytes);
    this.registry.setMetadata(this.metadata, undefined, undefined, true);
    this.metadataHex = u8aToHex(bytes);
    this.#decorated = expandMetadata(this.registry, this.metadata);
    const version = this.#pallet("System").constants.find((c) => c.name.eq("Version"))!;
    this.#runtimeVersion = this.registry.createType("RuntimeVersion", version.value)
      .toJSON() as Record<string, unknown>;
    if (options.withMetadataApi === false) {
      const apis = this.#runtimeVersion.apis as [string, number][];
      this.#runtimeVersion.apis = apis.filter(([id]) => id !== METADATA_API_ID);
    }
  }

  /** Starts listening on 127.0.0.1 with a free port. */
  static start(options: FakeSubtensorOptions = {}): FakeSubtensor {
    const node = new FakeSubtensor(options);
    node.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) => {
        if (node.refuseConnections) return new Response("unavailable", { status: 503 });
        const { socket, response } = Deno.upgradeWebSocket(request);
        node.#sockets.add(socket);
        socket.onclose = () => node.#sockets.delete(socket);
        socket.onmessage = (event) => node.#handle(socket, String(event.data));
        return response;
      },
    );
    return node;
  }

  /** `ws://` URL of the node. */
  get url(): string {
    return `ws://127.0.0.1:${this.#server!.addr.port}`;
  }

  /** The runtime's spec version, as the fixture metadata declares it. */
  get specVersion(): number {
    return Number(this.#runtimeVersion.specVersion);
  }

  /** Hash of block `n`: the real blake2-256 of its header, as clients compute it. */
  blockHash(n: number): string {
    // Upward from the highest known ancestor: a header names its parent's hash, and recursing
    // down from a block in the thousands would exhaust the stack.
    let known = n;
    while (known >= 0 && !this.#hashes.has(known)) known--;
    for (let k = known + 1; k <= n; k++) {
      this.#hashes.set(k, this.registry.createType("Header", this.#header(k)).hash.toHex());
    }
    return this.#hashes.get(n)!;
  }

  /** Sets a storage value (null removes it); keys as the storage item expects them. */
  setStorage(pallet: string, item: string, keys: unknown[], value: unknown): void {
    const entry = this.#storageEntry(pallet, item);
    const key = this.#storageKey(pallet, item, keys);
    if (value === null) {
      this.#storage.delete(key);
      this.#values.delete(key);
      return;
    }
    this.#values.set(key, value);
    const type = entry.meta.type.isPlain ? entry.meta.type.asPlain : entry.meta.type.asMap.value;
    this.#storage.set(key, u8aToHex(this.#encode(type.toNumber(), value).toU8a()));
  }

  /** Makes reads of a storage value fail with an RPC error, or, with `failing` false, work again. */
  failStorageReads(pallet: string, item: string, keys: unknown[], failing = true): void {
    const key = this.#storageKey(pallet, item, keys);
    if (failing) this.#failingReads.add(key);
    else this.#failingReads.delete(key);
  }

  /**
   * Answers runtime API `api.method` (e.g. `NeuronInfoRuntimeApi`, `get_neurons_lite`); `answer`
   * is given the decoded arguments and the number of the block the call is made at (the best
   * block when the call names none).
   */
  setRuntimeApi(api: string, method: string, answer: RuntimeApiAnswer): void {
    this.#runtimeApis.set(`${api}_${method}`, answer);
  }

  /** Closes every client connection (the server keeps listening). */
  /** Sends `text` as it is to every open connection (a proxy's error page, say). */
  sendRaw(text: string): void {
    for (const socket of this.#sockets) socket.send(text);
  }

  dropConnections(): void {
    for (const socket of this.#sockets) socket.close();
  }

  async close(): Promise<void> {
    this.dropConnections();
    await this.#server?.shutdown();
  }

  /** The raw storage key (the decorated function prefixes it with its length). */
  #storageKey(pallet: string, item: string, keys: unknown[]): string {
    return u8aToHex(compactStripLength(this.#storageEntry(pallet, item)(...keys))[1]);
  }

  // deno-lint-ignore no-explicit-any
  #storageEntry(pallet: string, item: string): any {
    const section = pallet[0].toLowerCase() + pallet.slice(1);
    const name = item[0].toLowerCase() + item.slice(1);
    const entry = this.#decorated.query[section]?.[name];
    if (!entry) throw new Error(`no storage ${pallet}.${item} in the fixture metadata`);
    return entry;
  }

  #pallet(name: string) {
    return this.metadata.asLatest.pallets.find((p) => p.name.eq(name))!;
  }

  #encode(typeId: number, value: unknown): Codec {
    return this.registry.createTypeUnsafe(this.registry.createLookupType(typeId), [value]);
  }

  #header(n: number) {
    return {
      parentHash: n === 0 ? `0x${"00".repeat(32)}` : this.blockHash(n - 1),
      number: `0x${n.toString(16)}`,
      stateRoot: `0x${"00".repeat(32)}`,
      extrinsicsRoot: `0x${"00".repeat(32)}`,
      digest: { logs: [] },
    };
  }

  /** The number of the recent block with hash `hash`, if there is one. */
  #knownBlock(hash: unknown): number | undefined {
    for (let n = this.best; n >= 0 && n > this.best - 512; n--) {
      if (this.blockHash(n) === hash) return n;
    }
    return undefined;
  }

  #blockNumberOf(hash: unknown): number {
    return this.#knownBlock(hash) ?? this.best;
  }

  #send(socket: WebSocket, message: unknown): void {
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  #notify(socket: WebSocket, method: string, subscription: string, result: unknown): void {
    this.#send(socket, { jsonrpc: "2.0", method, params: { subscription, result } });
  }

  #handle(socket: WebSocket, text: string): void {
    const request = JSON.parse(text) as JsonRpcRequest;
    // state_call is recorded with the runtime function it calls.
    this.calls.push(
      request.method === "state_call" ? `state_call ${request.params?.[0]}` : request.method,
    );
    this.onRequest(request.method);
    const reply = (result: unknown) =>
      this.#send(socket, { jsonrpc: "2.0", id: request.id, result });
    const fail = (code: number, message: string, data?: string) =>
      this.#send(socket, { jsonrpc: "2.0", id: request.id, error: { code, message, data } });
    if (this.rawAnswers.has(request.method)) return reply(this.rawAnswers.get(request.method));
    try {
      this.#dispatch(socket, request, reply, fail);
    } catch (error) {
      fail(-32603, error instanceof Error ? error.message : String(error));
    }
  }

  #dispatch(
    socket: WebSocket,
    request: JsonRpcRequest,
    reply: (result: unknown) => void,
    fail: (code: number, message: string, data?: string) => void,
  ): void {
    const params = request.params ?? [];
    switch (request.method) {
      case "rpc_methods":
        return reply({ version: 1, methods: KNOWN_METHODS });
      case "system_chain":
        return reply("Bittensor");
      case "system_properties":
        return reply({ ss58Format: 42, tokenDecimals: 9, tokenSymbol: "TAO" });
      case "system_health":
        return reply({ peers: 1, isSyncing: false, shouldHavePeers: true });
      case "chain_getBlockHash":
        return reply(this.blockHash(params[0] === undefined ? this.best : Number(params[0])));
      case "chain_getFinalizedHead":
        return reply(this.blockHash(this.best));
      case "chain_getHeader":
        return reply(this.#header(this.#blockNumberOf(params[0])));
      case "chain_getBlock": {
        const hash = String(params[0]);
        const n = this.#blockNumberOf(hash);
        return reply({
          block: { header: this.#header(n), extrinsics: this.#blockExtrinsics.get(hash) ?? [] },
          justifications: null,
        });
      }
      case "state_getRuntimeVersion":
        return reply(this.#runtimeVersion);
      case "state_subscribeRuntimeVersion": {
        const id = `sub-${this.#nextSubscription++}`;
        reply(id);
        return this.#notify(socket, "state_runtimeVersion", id, this.#runtimeVersion);
      }
      case "state_getMetadata":
        return reply(this.metadataHex);
      case "state_getStorage": {
        const key = String(params[0]);
        if (this.#failingReads.has(key)) return fail(-32603, `storage ${key} unavailable`);
        const at = params[1] ? this.#blockStorage.get(String(params[1])) : undefined;
        return reply(at?.get(key) ?? this.#storage.get(key) ?? null);
      }
      case "state_queryStorageAt": {
        const keys = (params[0] ?? []) as string[];
        const failing = keys.find((key) => this.#failingReads.has(key));
        if (failing !== undefined) return fail(-32603, `storage ${failing} unavailable`);
        const at = params[1] ? this.#blockStorage.get(String(params[1])) : undefined;
        const changes = keys.map((key) => [key, at?.get(key) ?? this.#storage.get(key) ?? null]);
        return reply([{ block: params[1] ?? this.blockHash(this.best), changes }]);
      }
      case "state_call": {
        const at = params[2] === undefined || params[2] === null
          ? this.best
          : this.#knownBlock(params[2]);
        if (at === undefined) return fail(4003, `Client error: UnknownBlock: ${params[2]}`);
        return reply(this.#stateCall(String(params[0]), String(params[1]), at));
      }
      case "system_accountNextIndex":
        return reply(this.#nonces.get(String(params[0])) ?? 0);
      case "author_submitAndWatchExtrinsic":
        return this.#submit(socket, String(params[0]), reply, fail);
      case "state_unsubscribeRuntimeVersion":
      case "author_unwatchExtrinsic":
        return reply(true);
      default:
        return fail(-32601, `Method not found: ${request.method}`);
    }
  }

  #stateCall(method: string, data: string, block: number): string {
    const hasMetadataApi = (this.#runtimeVersion.apis as [string, number][])
      .some(([id]) => id === METADATA_API_ID);
    if (method.startsWith("Metadata_") && !hasMetadataApi) {
      throw new Error(`runtime call ${method} not available`);
    }
    if (method === "Metadata_metadata_versions") {
      return u8aToHex(this.registry.createType("Vec<u32>", [14, 15, 16]).toU8a());
    }
    if (method === "Metadata_metadata_at_version") {
      const version = this.registry.createType("u32", data).toNumber();
      const opaque = version === 16 ? this.metadataHex : null;
      return u8aToHex(this.registry.createType("Option<OpaqueMetadata>", opaque).toU8a());
    }
    const [apiName, ...rest] = method.split("_");
    const methodName = rest.join("_");
    const api = this.metadata.asLatest.apis.find((a) => a.name.eq(apiName));
    const spec = api?.methods.find((m) => m.name.eq(methodName));
    const answer = method === "AccountNonceApi_account_nonce"
      ? ([account]: unknown[]) => this.#nonces.get(String(account)) ?? 0
      : this.#runtimeApis.get(method);
    if (!spec || !answer) throw new Error(`runtime call ${method} not available`);
    const bytes = hexToU8a(data);
    let offset = 0;
    const args = spec.inputs.map((input) => {
      const codec = this.#encode(input.type.toNumber(), bytes.subarray(offset));
      offset += codec.encodedLength;
      return codec.toJSON();
    });
    // toU8a, not toHex: an Option's toHex leaves out its Some/None byte.
    return u8aToHex(this.#encode(spec.output.toNumber(), answer(args, block)).toU8a());
  }

  #submit(
    socket: WebSocket,
    hex: string,
    reply: (result: unknown) => void,
    fail: (code: number, message: string, data?: string) => void,
  ): void {
    const extrinsic = this.registry.createType("Extrinsic", hex);
    const signer = extrinsic.signer.toString();
    const era = extrinsic.era.isMortalEra
      ? {
        period: extrinsic.era.asMortalEra.period.toNumber(),
        phase: extrinsic.era.asMortalEra.phase.toNumber(),
      }
      : "immortal" as const;
    const submission: Submission = {
      section: extrinsic.method.section,
      method: extrinsic.method.method,
      args: extrinsic.method.toJSON().args as Record<string, unknown>,
      signer,
      signatureValid: this.#verify(extrinsic),
      era,
    };
    this.submissions.push(submission);
    const commitsBefore = this.#values.get(this.#commitsKey(submission));
    const outcome = submission.signatureValid
      ? this.onSubmit(submission)
      : invalidTransaction("Transaction has a bad signature");
    if (outcome.kind === "reject") return fail(outcome.code, outcome.message, outcome.data);
    this.#nonces.set(signer, extrinsic.nonce.toNumber() + 1);
    const id = `sub-${this.#nextSubscription++}`;
    reply(id);
    if (outcome.kind === "pool") return this.#notify(socket, "author_extrinsicUpdate", id, "ready");
    this.best += 1;
    if (
      outcome.kind === "include" && submission.method === "commitWeights" &&
      this.#values.get(this.#commitsKey(submission)) === commitsBefore
    ) {
      this.#recordCommit(submission);
    }
    const blockHash = this.blockHash(this.best);
    this.#blockExtrinsics.set(blockHash, [hex]);
    const events = new Map(this.#storage);
    events.set(this.#storageKey("System", "Events", []), this.#events(outcome));
    this.#blockStorage.set(blockHash, events);
    this.#notify(socket, "author_extrinsicUpdate", id, "ready");
    this.#notify(socket, "author_extrinsicUpdate", id, { inBlock: blockHash });
  }

  #commitsKey(submission: Submission): string {
    return this.#storageKey("SubtensorModule", "WeightCommits", [
      submission.args.netuid,
      submission.signer,
    ]);
  }

  /** Appends an included commit to the signer's `WeightCommits`, in the including block. */
  #recordCommit(submission: Submission): void {
    const netuid = submission.args.netuid;
    const field = this.#epochCounter
      ? Number(
        this.#values.get(this.#storageKey("SubtensorModule", "SubnetEpochIndex", [netuid])) ?? 0,
      )
      : this.best;
    const earlier = (this.#values.get(this.#commitsKey(submission)) ?? []) as unknown[];
    this.setStorage("SubtensorModule", "WeightCommits", [netuid, submission.signer], [
      ...earlier,
      [submission.args.commit_hash, field, 0, 0],
    ]);
  }

  /** Checks the sr25519 signature against every recent block the era could be anchored to. */
  #verify(extrinsic: Codec): boolean {
    // deno-lint-ignore no-explicit-any
    const x = extrinsic as any;
    if (!x.isSigned) return false;
    for (let n = this.best; n > this.best - 256 && n >= 0; n--) {
      const payload = this.registry.createType("ExtrinsicPayload", {
        method: x.method.toHex(),
        era: x.era,
        nonce: x.nonce,
        tip: x.tip,
        mode: 0,
        specVersion: this.specVersion,
        transactionVersion: Number(this.#runtimeVersion.transactionVersion),
        genesisHash: this.blockHash(0),
        blockHash: this.blockHash(n),
      }, { version: 4 });
      const bytes = payload.toU8a({ method: true });
      const message = bytes.length > 256 ? blake2AsHex(bytes, 256) : bytes;
      if (signatureVerify(message, x.signature.toU8a(), x.signer.toString()).isValid) return true;
    }
    return false;
  }

  #events(outcome: SubmitReply): string {
    const dispatchInfo = { weight: { refTime: 0, proofSize: 0 }, class: "Normal", paysFee: "No" };
    const record = (event: Uint8Array) =>
      u8aConcat(new Uint8Array([0, 0, 0, 0, 0]), event, new Uint8Array([0]));
    if (outcome.kind === "fail") {
      const pallet = this.#pallet(outcome.pallet);
      const errors = this.registry.lookup.getSiType(pallet.errors.unwrap().type).def.asVariant;
      const variant = errors.variants.find((v) => v.name.eq(outcome.error));
      if (!variant) throw new Error(`no error ${outcome.pallet}.${outcome.error}`);
      const moduleError = {
        Module: {
          index: pallet.index.toNumber(),
          error: u8aToHex(new Uint8Array([variant.index.toNumber(), 0, 0, 0])),
        },
      };
      const failed = this.#systemEvent("ExtrinsicFailed", [moduleError, dispatchInfo]);
      return u8aToHex(u8aConcat(compactToU8a(1), record(failed)));
    }
    const success = this.#systemEvent("ExtrinsicSuccess", [dispatchInfo]);
    return u8aToHex(u8aConcat(compactToU8a(1), record(success)));
  }

  #systemEvent(name: string, values: unknown[]): Uint8Array {
    const system = this.#pallet("System");
    const events = this.registry.lookup.getSiType(system.events.unwrap().type).def.asVariant;
    const variant = events.variants.find((v) => v.name.eq(name))!;
    return u8aConcat(
      new Uint8Array([system.index.toNumber(), variant.index.toNumber()]),
      ...variant.fields.map((field, i) => this.#encode(field.type.toNumber(), values[i]).toU8a()),
    );
  }
}

const KNOWN_METHODS = [
  "author_submitAndWatchExtrinsic",
  "author_unwatchExtrinsic",
  "chain_getBlock",
  "chain_getBlockHash",
  "chain_getFinalizedHead",
  "chain_getHeader",
  "rpc_methods",
  "state_call",
  "state_getMetadata",
  "state_getRuntimeVersion",
  "state_getStorage",
  "state_queryStorageAt",
  "state_subscribeRuntimeVersion",
  "state_unsubscribeRuntimeVersion",
  "system_accountNextIndex",
  "system_chain",
  "system_health",
  "system_properties",
];
