/**
 * A lean HTTP/1.1 client for the dendrite: one POST per call over `Deno.connect`, with keep-alive
 * connections pooled per host:port. `fetch` spends a few hundred microseconds of CPU on every
 * request (Request and Headers objects, body streams); a validator round sends one request per
 * miner on a CPU-bound machine, so this client writes the request bytes itself and reads the reply
 * straight from the socket.
 *
 * ```ts
 * const client = new HttpClient();
 * const reply = await client.post("127.0.0.1", 8091, "/Echo", { "content-type": "application/json" }, body, {
 *   timeoutMs: 5000,
 *   maxResponseBytes: 1 << 20,
 * });
 * console.log(reply.status, reply.headers.get("content-type"), reply.body.byteLength);
 * client.close();
 * ```
 * @module
 */
import { OverBudget, type ReplyClaim } from "./reply_budget.ts";

/** `host:port`, an IPv6 address in brackets (`[::1]:8091`), as URLs and Host headers write it. */
export function hostAndPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Limits of one {@linkcode HttpClient.post}. */
export interface PostOptions {
  /** The whole call (connect, send, receive) must finish within this many milliseconds. */
  timeoutMs: number;
  /** Bodies larger than this are not read: the call fails with {@linkcode ResponseTooLarge}. */
  maxResponseBytes: number;
  /**
   * The body's bytes are reserved against this claim as they are read (a body announced by
   * Content-Length at once, before it is read). When the claim is refused or evicted, the call
   * fails with {@linkcode OverBudget} and its connection is closed, never reused.
   */
  claim?: ReplyClaim;
}

/** A complete reply. */
export interface HttpResponse {
  status: number;
  statusText: string;
  headers: Headers;
  body: Uint8Array;
}

/** The deadline passed before the reply was complete; the connection was closed. */
export class RequestTimeout extends Error {}

/** The reply body is larger than the caller's cap; the connection was closed without reading it. */
export class ResponseTooLarge extends Error {}

/** The reply's head arrived but its body could not be read (cut off, bad chunk framing). */
export class ResponseBodyError extends Error {}

/** Replies whose head (status line, headers, chunk trailers) exceeds this are refused. */
const MAX_HEAD_BYTES = 64 * 1024;
/** Initial read buffer of a connection; it grows only while a head is larger. */
const READ_BYTES = 16 * 1024;
/**
 * Bodies up to this size go out in the same write as the head. Larger ones are written apart:
 * copying a 60 KB body costs more CPU (allocation, GC) than a second write.
 */
const COALESCE_BYTES = 4096;
/** Idle connections are dropped after this long: before uvicorn's 5 s keep-alive timeout. */
const IDLE_MS = 4000;
const MAX_IDLE_PER_HOST = 4;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e]*$/;
const PATH = /^\/[\x21-\x7e]*$/;
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: ([^\r\n]*))?$/;
const HEX = /^[0-9A-Fa-f]{1,12}$/;

const utf8 = new TextEncoder();

/** A socket with its read buffer: `buf[start..end)` holds received bytes not yet consumed. */
class Connection {
  buf = new Uint8Array(READ_BYTES);
  start = 0;
  end = 0;
  /** A read started while the connection sat idle; the next reply takes it over. */
  pending: Promise<number | null> | null = null;
  /** `performance.now()` when the connection was pooled; 0 while in use. */
  idleSince = 0;
  closed = false;

  constructor(readonly tcp: Deno.TcpConn) {}

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.tcp.close();
    } catch {
      // Already closed by the runtime.
    }
  }

  /** Reads more bytes after `end`; false at end of stream. */
  async fill(): Promise<boolean> {
    if (this.end === this.buf.length) {
      if (this.start > 0) {
        this.buf.copyWithin(0, this.start, this.end);
        this.end -= this.start;
        this.start = 0;
      } else {
        const bigger = new Uint8Array(this.buf.length * 2);
        bigger.set(this.buf);
        this.buf = bigger;
      }
    }
    const n = await (this.pending ?? this.tcp.read(this.buf.subarray(this.end)));
    this.pending = null;
    if (n === null) return false;
    this.end += n;
    return true;
  }

  /** The next `n` bytes, from the buffer first and then straight from the socket. */
  async take(n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    await this.readInto(out);
    return out;
  }

  /** Fills `out` with the next bytes, from the buffer first and then straight from the socket. */
  async readInto(out: Uint8Array): Promise<void> {
    const buffered = Math.min(out.byteLength, this.end - this.start);
    out.set(this.buf.subarray(this.start, this.start + buffered));
    this.start += buffered;
    for (let off = buffered; off < out.byteLength;) {
      const got = await this.tcp.read(out.subarray(off));
      if (got === null) throw new ResponseBodyError("connection closed in the response body");
      off += got;
    }
  }

  /** The next line without its line ending; `limit` bounds how far to look for its end. */
  async line(limit: number): Promise<string> {
    // Offsets from `start`: `fill` may move the unread bytes to the front of the buffer.
    for (let scanned = 0;;) {
      const lf = this.buf.subarray(0, this.end).indexOf(10, this.start + scanned);
      if (lf >= 0) {
        const cr = lf > this.start && this.buf[lf - 1] === 13;
        const text = latin1(this.buf, this.start, cr ? lf - 1 : lf);
        this.start = lf + 1;
        return text;
      }
      if (this.end - this.start > limit) throw new ResponseBodyError("chunk framing line too long");
      scanned = this.end - this.start;
      if (!await this.fill()) throw new ResponseBodyError("connection closed in the response body");
    }
  }
}

/** A client with its own connection pool; {@linkcode HttpClient.close} closes idle connections. */
export class HttpClient {
  readonly #idle = new Map<string, Connection[]>();
  #lastSweep = 0;
  #closed = false;

  /**
   * Sends `POST path` with `headers` (plus Host and Content-Length, which the client sets) and
   * resolves with the complete reply. A request is never sent twice: if a pooled connection turns
   * out to be dead, the call fails.
   */
  async post(
    hostname: string,
    port: number,
    path: string,
    headers: Record<string, string>,
    body: Uint8Array,
    options: PostOptions,
  ): Promise<HttpResponse> {
    const host = hostAndPort(hostname, port);
    const request = encodeRequest(host, path, headers, body);
    const call: Call = { conn: null, aborted: false };
    const abort = (reject: (reason: Error) => void, reason: Error) => {
      call.aborted = true;
      call.conn?.close();
      reject(reason);
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expiry = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          abort(reject, new RequestTimeout(`no complete response within ${options.timeoutMs} ms`)),
        options.timeoutMs,
      );
    });
    const claim = options.claim;
    // Evicted by a larger reply's arrival: the read stops and its buffer goes with the connection.
    const evicted = new Promise<never>((_, reject) => {
      claim?.onEvict((reason) => abort(reject, reason));
    });
    try {
      return await Promise.race([
        this.#exchange(hostname, port, host, request, options.maxResponseBytes, claim, call),
        expiry,
        evicted,
      ]);
    } finally {
      clearTimeout(timer);
      // Once the call is over its connection may serve another call: an eviction must not close it.
      claim?.onEvict(null);
    }
  }

  /** Closes every idle connection; replies still under way close theirs when done. */
  close(): void {
    this.#closed = true;
    for (const list of this.#idle.values()) for (const c of list) c.close();
    this.#idle.clear();
  }

  async #exchange(
    hostname: string,
    port: number,
    key: string,
    request: Uint8Array[],
    maxBytes: number,
    claim: ReplyClaim | undefined,
    call: Call,
  ): Promise<HttpResponse> {
    let conn = this.#reuse(key);
    if (conn === null) {
      const tcp = await Deno.connect({ hostname, port });
      conn = new Connection(tcp);
      // A connect that outlived the call is not used; the caller already has its error.
      if (call.aborted) conn.close();
      else tcp.setNoDelay(true);
    }
    call.conn = conn;
    try {
      for (const part of request) {
        for (let off = 0; off < part.byteLength;) off += await conn.tcp.write(part.subarray(off));
      }
      const { response, reusable } = await readResponse(conn, maxBytes, claim);
      if (reusable && !conn.closed && conn.start === conn.end) this.#pool(key, conn);
      else conn.close();
      return response;
    } catch (error) {
      conn.close();
      throw error;
    }
  }

  #reuse(key: string): Connection | null {
    const now = performance.now();
    if (now - this.#lastSweep > 1000) this.#sweep(now);
    const list = this.#idle.get(key);
    if (list === undefined) return null;
    for (let c = list.pop(); c !== undefined; c = list.pop()) {
      if (c.closed) continue;
      if (now - c.idleSince > IDLE_MS) {
        c.close();
        continue;
      }
      c.idleSince = 0;
      c.tcp.ref();
      return c;
    }
    return null;
  }

  /** Closes connections idle too long, also those to hosts no longer called. */
  #sweep(now: number): void {
    this.#lastSweep = now;
    for (const [key, list] of this.#idle) {
      for (const c of list) if (now - c.idleSince > IDLE_MS) c.close();
      const open = list.filter((c) => !c.closed);
      if (open.length === 0) this.#idle.delete(key);
      else this.#idle.set(key, open);
    }
  }

  #pool(key: string, conn: Connection): void {
    let list = this.#idle.get(key);
    if (list === undefined) this.#idle.set(key, list = []);
    if (this.#closed || list.length >= MAX_IDLE_PER_HOST) {
      conn.close();
      return;
    }
    conn.start = conn.end = 0;
    conn.idleSince = performance.now();
    // Idle connections must not keep the process alive.
    conn.tcp.unref();
    // A read kept pending notices at once when the server closes the connection (or sends
    // something unasked): then the connection is dropped rather than handed to the next request.
    const pending = conn.tcp.read(conn.buf);
    conn.pending = pending;
    const dropIfIdle = () => {
      if (conn.idleSince === 0) return; // in use: the reply reader takes what this read got
      conn.close();
      const current = this.#idle.get(key);
      const at = current?.indexOf(conn) ?? -1;
      if (at >= 0) current!.splice(at, 1);
    };
    pending.then(dropIfIdle, dropIfIdle);
    list.push(conn);
  }
}

/** One call's connection, and whether the call was given up (deadline passed, reply evicted). */
interface Call {
  conn: Connection | null;
  aborted: boolean;
}

/** The request as one buffer, or head and body apart when the body is large. */
function encodeRequest(
  host: string,
  path: string,
  headers: Record<string, string>,
  body: Uint8Array,
): Uint8Array[] {
  if (!PATH.test(path)) throw new TypeError(`invalid request path ${JSON.stringify(path)}`);
  if (!FIELD_VALUE.test(host)) throw new TypeError(`invalid host ${JSON.stringify(host)}`);
  let head = `POST ${path} HTTP/1.1\r\nhost: ${host}\r\ncontent-length: ${body.byteLength}\r\n`;
  for (const name in headers) {
    const value = headers[name];
    if (!TOKEN.test(name)) throw new TypeError(`invalid HTTP header name ${JSON.stringify(name)}`);
    if (!FIELD_VALUE.test(value)) {
      throw new TypeError(`invalid value of HTTP header ${name}: not printable ASCII`);
    }
    const lower = name.toLowerCase();
    if (lower === "host" || lower === "content-length" || lower === "transfer-encoding") {
      throw new TypeError(`HTTP header ${name} is set by the client`);
    }
    head += `${name}: ${value}\r\n`;
  }
  head += "\r\n";
  // Every character was checked to be ASCII, so the head's byte length is its string length.
  if (body.byteLength > COALESCE_BYTES) return [utf8.encode(head), body];
  const out = new Uint8Array(head.length + body.byteLength);
  utf8.encodeInto(head, out);
  out.set(body, head.length);
  return [out];
}

async function readResponse(
  conn: Connection,
  maxBytes: number,
  claim: ReplyClaim | undefined,
): Promise<{ response: HttpResponse; reusable: boolean }> {
  let head = await readHead(conn);
  // Interim replies (100 Continue and the like) precede the real one.
  while (head.status < 200) head = await readHead(conn);
  const { status, statusText, fields } = head;
  let reusable = head.http11;
  let contentLength: string | null = null;
  let transferEncoding: string | null = null;
  const headers = new Headers();
  for (const [name, value] of fields) {
    headers.append(name, value);
    const lower = name.toLowerCase();
    if (lower === "content-length") {
      if (contentLength !== null && contentLength !== value) {
        throw new Error("conflicting content-length headers");
      }
      contentLength = value;
    } else if (lower === "transfer-encoding") transferEncoding = value;
    else if (lower === "connection" && /(^|,)\s*close\s*(,|$)/i.test(value)) reusable = false;
  }
  if (contentLength !== null && !/^\d{1,15}$/.test(contentLength)) {
    throw new Error(`invalid content-length ${JSON.stringify(contentLength)}`);
  }
  let body: Uint8Array;
  try {
    if (status === 204 || status === 304) body = new Uint8Array(0);
    else if (transferEncoding !== null) {
      // Both framings at once is how request smuggling starts: read this reply, then hang up.
      if (contentLength !== null) reusable = false;
      if (/(^|,)\s*chunked\s*$/i.test(transferEncoding)) {
        body = await readChunked(conn, maxBytes, claim);
      } else {
        reusable = false;
        body = await readToEnd(conn, maxBytes, claim);
      }
    } else if (contentLength !== null) {
      const length = Number(contentLength);
      // The whole body is claimed before it is read: the round may refuse it unread.
      admitBodyBytes(0, length, maxBytes, claim);
      body = await conn.take(length);
    } else {
      reusable = false;
      body = await readToEnd(conn, maxBytes, claim);
    }
  } catch (error) {
    if (
      error instanceof ResponseTooLarge || error instanceof ResponseBodyError ||
      error instanceof OverBudget
    ) throw error;
    throw new ResponseBodyError(error instanceof Error ? error.message : String(error));
  }
  return { response: { status, statusText, headers, body }, reusable };
}

async function readHead(
  conn: Connection,
): Promise<{ http11: boolean; status: number; statusText: string; fields: [string, string][] }> {
  // Offsets from `start`: `fill` may move the unread bytes to the front of the buffer.
  let scanned = 0;
  let end = -1;
  while (end < 0) {
    // The head ends at an empty line; bare LF line endings are tolerated as hyper does.
    const buf = conn.buf.subarray(0, conn.end);
    for (let lf = buf.indexOf(10, conn.start + scanned); lf >= 0; lf = buf.indexOf(10, lf + 1)) {
      const next = buf[lf + 1] === 13 ? lf + 2 : lf + 1;
      if (next < buf.length && buf[next] === 10) {
        end = next + 1;
        break;
      }
    }
    if (end >= 0 && end - conn.start <= MAX_HEAD_BYTES) break;
    if (end >= 0 || conn.end - conn.start > MAX_HEAD_BYTES) {
      throw new Error(`response head larger than ${MAX_HEAD_BYTES} bytes`);
    }
    // Resume the search just before the new bytes: an empty line may straddle two reads.
    scanned = Math.max(0, conn.end - conn.start - 2);
    const received = conn.end > conn.start;
    if (!await conn.fill()) {
      throw new Error(
        received ? "connection closed in the response head" : "connection closed before a response",
      );
    }
  }
  const lines = latin1(conn.buf, conn.start, end).split("\n");
  conn.start = end;
  const statusLine = lines[0].endsWith("\r") ? lines[0].slice(0, -1) : lines[0];
  const match = STATUS_LINE.exec(statusLine);
  if (match === null) {
    throw new Error(`malformed status line ${JSON.stringify(statusLine.slice(0, 100))}`);
  }
  const fields: [string, string][] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i].endsWith("\r") ? lines[i].slice(0, -1) : lines[i];
    if (line === "") continue;
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon) : "";
    if (!TOKEN.test(name)) {
      throw new Error(`malformed header line ${JSON.stringify(line.slice(0, 100))}`);
    }
    fields.push([name, line.slice(colon + 1).trim()]);
  }
  return {
    http11: match[1] === "1",
    status: Number(match[2]),
    statusText: match[3] ?? "",
    fields,
  };
}

/**
 * Lets `more` body bytes in after the `held` ones: past `maxBytes` the reply is refused
 * ({@linkcode ResponseTooLarge}), within it they are claimed from the round's budget.
 */
function admitBodyBytes(
  held: number,
  more: number,
  maxBytes: number,
  claim: ReplyClaim | undefined,
): void {
  if (held + more > maxBytes) throw new ResponseTooLarge(`larger than ${maxBytes} bytes`);
  claim?.reserve(more);
}

async function readChunked(
  conn: Connection,
  maxBytes: number,
  claim: ReplyClaim | undefined,
): Promise<Uint8Array> {
  const body = new ByteSink(maxBytes);
  for (;;) {
    const line = await conn.line(MAX_HEAD_BYTES);
    const semicolon = line.indexOf(";"); // chunk extensions are ignored
    const sizeText = (semicolon >= 0 ? line.slice(0, semicolon) : line).trim();
    if (!HEX.test(sizeText)) throw new ResponseBodyError("invalid chunk size");
    const size = parseInt(sizeText, 16);
    if (size === 0) break;
    admitBodyBytes(body.length, size, maxBytes, claim);
    await conn.readInto(body.room(size));
    if (await conn.line(2) !== "") throw new ResponseBodyError("chunk not followed by CRLF");
  }
  // Trailers are read and dropped, within the same bound as a head.
  for (let trailers = 0; trailers <= MAX_HEAD_BYTES;) {
    const line = await conn.line(MAX_HEAD_BYTES - trailers);
    if (line === "") return body.take();
    trailers += line.length + 2;
  }
  throw new ResponseBodyError(`trailers larger than ${MAX_HEAD_BYTES} bytes`);
}

/** A body delimited by the server closing the connection. */
async function readToEnd(
  conn: Connection,
  maxBytes: number,
  claim: ReplyClaim | undefined,
): Promise<Uint8Array> {
  const body = new ByteSink(maxBytes);
  for (;;) {
    const received = conn.end - conn.start;
    if (received > 0) {
      admitBodyBytes(body.length, received, maxBytes, claim);
      body.push(conn.buf.subarray(conn.start, conn.end));
    }
    conn.start = conn.end = 0;
    if (!await conn.fill()) return body.take();
  }
}

/** Room a {@linkcode ByteSink} starts with. */
const SINK_START_BYTES = 64 * 1024;

/**
 * A body that arrives in pieces, copied into one array that doubles as it fills (never past its
 * limit unless a piece asks for it). Keeping each piece instead costs an object per piece, 100 to
 * 200 bytes of heap: a body sent as one-byte chunks then took a hundred times its size.
 */
export class ByteSink {
  #bytes: Uint8Array<ArrayBuffer>;
  #length = 0;
  readonly #limit: number;

  /** `limit`: the size the array grows to at most when doubling (the caller enforces it). */
  constructor(limit: number) {
    this.#limit = limit;
    this.#bytes = new Uint8Array(Math.min(SINK_START_BYTES, limit));
  }

  /** Bytes held. */
  get length(): number {
    return this.#length;
  }

  /** Room for the next `n` bytes, counted as held: the caller fills the view it gets. */
  room(n: number): Uint8Array {
    const needed = this.#length + n;
    if (needed > this.#bytes.byteLength) {
      const grown = new Uint8Array(
        Math.max(needed, Math.min(this.#limit, this.#bytes.byteLength * 2)),
      );
      grown.set(this.#bytes.subarray(0, this.#length));
      this.#bytes = grown;
    }
    const view = this.#bytes.subarray(this.#length, needed);
    this.#length = needed;
    return view;
  }

  /** Copies `piece` in. */
  push(piece: Uint8Array): void {
    this.room(piece.byteLength).set(piece);
  }

  /** The bytes held, in an array of their own length; the sink is spent. */
  take(): Uint8Array<ArrayBuffer> {
    return new Uint8Array(this.#bytes.buffer.transfer(this.#length));
  }
}

/** Header bytes as text, one character per byte (obs-text survives as Latin-1, as in fetch). */
function latin1(bytes: Uint8Array, start: number, end: number): string {
  let text = "";
  for (let i = start; i < end; i += 8192) {
    text += String.fromCharCode(...bytes.subarray(i, Math.min(end, i + 8192)));
  }
  return text;
}
