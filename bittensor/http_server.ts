/**
 * An HTTP/1.1 server on `node:http` with the limits an internet-facing server needs and
 * `Deno.serve` lacks. `Deno.serve` keeps a connection that never sends a byte open forever and
 * accepts any number of them, so a few thousand idle connections from one machine take every file
 * descriptor of the process. Here:
 * - at most `maxConnections` connections are open at once (by default 1024, and never more than
 *   half the process's descriptor limit). When a new one would exceed that, the connection that
 *   has waited longest for a request head (new and silent, or kept alive after its reply) is
 *   closed to make room, so that idle connections cannot lock callers out; only when every open
 *   connection is in a request is the new one closed;
 * - at most `maxConnectionsPerIp` are open from one address (by default 16); beyond that, new
 *   ones from it are closed as they arrive;
 * - a request's head must arrive within `headersTimeoutMs` of the connection (or of the previous
 *   reply), else the connection gets a 408 and is closed;
 * - an idle keep-alive connection is closed after `keepAliveTimeoutMs` (5 s, as uvicorn, which
 *   serves the Python axon);
 * - a connection may have at most {@linkcode MAX_PIPELINED_REQUESTS} requests under way: one that
 *   pipelines more is closed. `node:http` calls the handler for every request it parses without
 *   waiting for the earlier replies, and keeps each reply until those before it are sent, so one
 *   connection sending 20 000 requests in 520 KB and reading nothing took the server to 2 GB.
 *
 * Handlers see an {@linkcode Incoming} call (its body read on demand, with a size limit and a
 * deadline) and answer with an {@linkcode Outgoing} reply, sent whole; {@linkcode webHandler}
 * serves a handler written for `Request` and `Response` (less cheaply). A HEAD request gets the reply's status and
 * headers without the body.
 *
 * ```ts
 * const server = await HttpServer.listen(
 *   webHandler(() => new Response("ok")),
 *   { port: 0, hostname: "127.0.0.1" },
 * );
 * console.log(server.port);
 * await server.close();
 * ```
 * @module
 */
import http from "node:http";
import type { Socket } from "node:net";
import { ByteSink } from "./http_client.ts";

/** The address a request came from. */
export interface Peer {
  hostname: string;
  port: number;
}

/** A request's body was too large (413) or did not arrive before the deadline (408). */
export class BodyError extends Error {
  constructor(readonly status: 408 | 413, message: string) {
    super(message);
  }
}

const BODY_TIMEOUT = "Request body not received before the timeout";
const bodyTooLarge = (limit: number) => new BodyError(413, `Request body exceeds ${limit} bytes`);

/** One request as a handler sees it, whatever carried it. */
export interface Incoming {
  method: string;
  /** Path and query, as requested. */
  target: string;
  /** The named header (any case), or null. */
  header(name: string): string | null;
  /** Calls `fn` with every header (names lower-case, repeated ones joined by ", "). */
  forEachHeader(fn: (value: string, name: string) => void): void;
  /**
   * The whole body, read once: at most `limit` bytes, before `deadline` aborts; else a
   * {@linkcode BodyError}.
   */
  body(limit: number, deadline: AbortSignal): Promise<Uint8Array<ArrayBuffer>>;
}

/** A reply, sent whole. */
export interface Outgoing {
  status: number;
  headers: Record<string, string>;
  body: string | Uint8Array<ArrayBuffer>;
}

/** Answers one call. */
export type CallHandler = (incoming: Incoming, peer: Peer) => Outgoing | Promise<Outgoing>;

/** Where to listen and the limits of an {@linkcode HttpServer}. */
export interface HttpServerOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  hostname: string;
  /**
   * Open connections at most (default 1024, capped at half the descriptor limit); when full, the
   * connection waiting longest for a request head makes room for a new one.
   */
  maxConnections?: number;
  /** Open connections from one address at most (default 16). */
  maxConnectionsPerIp?: number;
  /** Time for a request's head to arrive, ms (default 10 000). */
  headersTimeoutMs?: number;
  /** Time for a whole request, body included, to arrive, ms (default 120 000). */
  requestTimeoutMs?: number;
  /** Idle keep-alive connections are closed after this long, ms (default 5 000). */
  keepAliveTimeoutMs?: number;
  /**
   * A connection on which no byte moves either way for this long, ms, is closed (default 120 000,
   * longer than any handler takes): a client that stops reading its reply would otherwise hold it
   * for good, as a request under way that no newcomer can displace.
   */
  stallTimeoutMs?: number;
  /** Largest request head, bytes (default 64 KiB; larger ones get 431). */
  maxHeaderBytes?: number;
  /**
   * Headers sent with every answer the server gives to a request it could read, its own included
   * (a target that is neither a path nor a URL, a handler that failed).
   */
  headers?: Record<string, string>;
  /** Receives handler failures and server errors (default `console.warn`). */
  onError?(message: string): void;
}

const DEFAULT_MAX_CONNECTIONS = 1024;
/**
 * Small against the total: an address holds at most 1/64 of the connections, while a validator
 * needs one or two per axon.
 */
const DEFAULT_MAX_CONNECTIONS_PER_IP = 16;
/**
 * Requests one connection may have under way at once. No client of these servers pipelines (the
 * dendrites, Prometheus and browsers wait for each reply); a keep-alive client's next request can
 * arrive just before its previous reply is counted as done, hence more than 1.
 */
const MAX_PIPELINED_REQUESTS = 4;
/** How long `close` lets requests under way finish: longer than any axon request's timeout. */
const CLOSE_GRACE_MS = 65_000;
const encoder = new TextEncoder();

/** A listening server; {@linkcode HttpServer.listen} starts one. */
export class HttpServer {
  readonly #server: http.Server;
  /** Open connections and the address of each. */
  readonly #open = new Map<Socket, string>();
  readonly #perIp = new Map<string, number>();
  /** Open connections waiting for a request head, longest waiting first. */
  readonly #waiting = new Set<Socket>();
  /** Requests each connection has under way (more than one when pipelined). */
  readonly #underWay = new Map<Socket, number>();
  #closing = false;

  private constructor(server: http.Server) {
    this.#server = server;
  }

  /**
   * Starts listening; resolves once the port is bound. Rejects if it cannot be, with
   * `Deno.errors.AddrInUse`, `PermissionDenied` or `AddrNotAvailable` as `Deno.listen` would.
   */
  static listen(handler: CallHandler, options: HttpServerOptions): Promise<HttpServer> {
    const headersTimeout = options.headersTimeoutMs ?? 10_000;
    const node = http.createServer({
      maxHeaderSize: options.maxHeaderBytes ?? 64 * 1024,
      // How often the head and request timeouts are checked: a fraction of the shorter one.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, headersTimeout / 4)),
      noDelay: true,
    });
    node.headersTimeout = headersTimeout;
    node.requestTimeout = Math.max(options.requestTimeoutMs ?? 120_000, headersTimeout);
    node.keepAliveTimeout = options.keepAliveTimeoutMs ?? 5_000;
    node.timeout = options.stallTimeoutMs ?? 120_000;
    const server = new HttpServer(node);
    const report = options.onError ?? console.warn;
    server.#limitConnections(
      Math.min(
        options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
        Math.max(16, Math.floor(descriptorLimit() / 2)),
      ),
      options.maxConnectionsPerIp ?? DEFAULT_MAX_CONNECTIONS_PER_IP,
    );
    const serve = (req: http.IncomingMessage, res: http.ServerResponse) => {
      if (!server.#trackRequest(req.socket as Socket, res)) return;
      server.#respond(handler, req, res, report, options.headers ?? {}).catch((error) => {
        report(`http server: reply failed: ${messageOf(error)}`);
        res.destroy();
      });
    };
    node.on("request", serve);
    // `Expect: 100-continue` is answered only when the handler reads the body: a request refused
    // without it (a wrong method, a stranger) is not invited to send the body first.
    node.on("checkContinue", serve);
    return new Promise((resolve, reject) => {
      const failed = (error: Error) => reject(listenError(error));
      node.once("error", failed);
      node.listen(options.port, options.hostname, () => {
        node.off("error", failed);
        // Accept failures (out of descriptors elsewhere in the process) leave it listening.
        node.on("error", (error: Error) => report(`http server: ${error.message}`));
        resolve(server);
      });
    });
  }

  /** The bound port. */
  get port(): number {
    const address = this.#server.address();
    return typeof address === "object" && address !== null ? address.port : 0;
  }

  /** Connections open now. */
  get connections(): number {
    return this.#open.size;
  }

  /**
   * Stops listening, lets requests under way finish and closes every connection: at once those
   * waiting for a request head (a silent or half-sent one would otherwise hold the process open,
   * since the head timeout is no longer checked once the server closes), and after `graceMs` the
   * rest, so that a handler that never answers cannot keep it open either.
   */
  close(graceMs = CLOSE_GRACE_MS): Promise<void> {
    this.#closing = true;
    return new Promise((resolve) => {
      const cut = setTimeout(() => this.#server.closeAllConnections(), graceMs);
      this.#server.close(() => {
        clearTimeout(cut);
        resolve();
      });
      this.#server.closeIdleConnections();
      for (const socket of [...this.#waiting]) this.#drop(socket);
    });
  }

  #limitConnections(limit: number, limitPerIp: number): void {
    this.#server.on("connection", (socket: Socket) => {
      const ip = socket.remoteAddress ?? "";
      this.#open.set(socket, ip);
      const fromIp = (this.#perIp.get(ip) ?? 0) + 1;
      this.#perIp.set(ip, fromIp);
      this.#waiting.add(socket);
      socket.once("close", () => this.#forget(socket));
      if (fromIp > limitPerIp) {
        this.#drop(socket);
      } else if (this.#open.size > limit) {
        // The newcomer itself when every other connection is in a request.
        const longestWaiting = this.#waiting.values().next().value as Socket;
        this.#drop(longestWaiting);
      }
    });
  }

  /**
   * A request head arrived on `socket`: it is no longer waiting for one until `res` is done. False
   * when the request is not to be served: its connection is closed, or has just been closed for
   * pipelining past {@linkcode MAX_PIPELINED_REQUESTS} (the parser goes on handing over the
   * requests it has read).
   */
  #trackRequest(socket: Socket, res: http.ServerResponse): boolean {
    if (!this.#open.has(socket)) {
      res.destroy();
      return false;
    }
    const underWay = (this.#underWay.get(socket) ?? 0) + 1;
    if (underWay > MAX_PIPELINED_REQUESTS) {
      this.#drop(socket);
      res.destroy();
      return false;
    }
    this.#waiting.delete(socket);
    this.#underWay.set(socket, underWay);
    res.once("close", () => {
      const left = (this.#underWay.get(socket) ?? 1) - 1;
      if (left > 0) {
        this.#underWay.set(socket, left);
        return;
      }
      this.#underWay.delete(socket);
      if (this.#open.has(socket)) this.#waiting.add(socket);
    });
    return true;
  }

  /** Closes `socket` and stops counting it at once, before its close event. */
  #drop(socket: Socket): void {
    this.#forget(socket);
    socket.destroy();
  }

  #forget(socket: Socket): void {
    const ip = this.#open.get(socket);
    if (ip === undefined) return;
    this.#open.delete(socket);
    this.#waiting.delete(socket);
    this.#underWay.delete(socket);
    const left = (this.#perIp.get(ip) ?? 1) - 1;
    if (left > 0) this.#perIp.set(ip, left);
    else this.#perIp.delete(ip);
  }

  async #respond(
    handler: CallHandler,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    report: (message: string) => void,
    always: Record<string, string>,
  ): Promise<void> {
    const peer = { hostname: req.socket.remoteAddress ?? "", port: req.socket.remotePort ?? 0 };
    const target = originForm(req.url ?? "");
    let reply: Outgoing;
    try {
      reply = target === null
        ? {
          status: 400,
          headers: { "content-type": "text/plain" },
          body: "Bad Request: the request target must be a path or an absolute http URL",
        }
        : await handler(nodeIncoming(req, res, target), peer);
    } catch (error) {
      report(`http server: ${req.method} ${req.url} failed: ${messageOf(error)}`);
      reply = { status: 500, headers: { "content-type": "text/plain" }, body: "Server Error" };
    }
    if (res.destroyed) return;
    const body = typeof reply.body === "string" ? encoder.encode(reply.body) : reply.body;
    const headers: Record<string, string | number> = {};
    for (const [name, value] of Object.entries(reply.headers)) {
      if (!HOP_BY_HOP.has(name.toLowerCase())) headers[name] = value;
    }
    Object.assign(headers, always);
    headers["content-length"] = body.byteLength;
    // Unread body bytes would be taken for the next request's head; a closing server ends the
    // connection with this reply.
    if (!req.complete || this.#closing) headers["connection"] = "close";
    res.writeHead(reply.status, headers);
    res.end(body);
    if (this.#closing) res.once("finish", () => this.#server.closeIdleConnections());
  }
}

/** Headers that describe the connection or framing, which the server sets itself. */
const HOP_BY_HOP = new Set(["connection", "content-length", "keep-alive", "transfer-encoding"]);

/**
 * The path and query of a request target: an origin-form one as it is (`//x` is a path, not a
 * host), an absolute-form one (`http://host/path`, which RFC 9112 has servers accept) without its
 * scheme and host; null for any other form (`*`, `host:port`).
 */
function originForm(target: string): string | null {
  if (target.startsWith("/")) return target;
  if (!/^https?:\/\//i.test(target)) return null;
  try {
    const url = new URL(target);
    return `${url.pathname}${url.search}`;
  } catch {
    return null;
  }
}

/** A node request as an {@linkcode Incoming} call; its body is read only when asked for. */
function nodeIncoming(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  target: string,
): Incoming {
  let continued = false;
  return {
    method: req.method ?? "GET",
    target,
    header(name) {
      const value = req.headers[name.toLowerCase()];
      return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
    },
    forEachHeader(fn) {
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) fn(Array.isArray(value) ? value.join(", ") : value, name);
      }
    },
    body: (limit, deadline) => {
      if (!continued && /100-continue/i.test(String(req.headers.expect ?? ""))) {
        continued = true;
        res.writeContinue();
      }
      return readNodeBody(req, limit, deadline);
    },
  };
}

function readNodeBody(
  req: http.IncomingMessage,
  limit: number,
  deadline: AbortSignal,
): Promise<Uint8Array<ArrayBuffer>> {
  if (deadline.aborted) return Promise.reject(new BodyError(408, BODY_TIMEOUT));
  // `complete` only says the parser has every byte; they wait in the stream until read.
  if (req.readableEnded) return Promise.resolve(new Uint8Array(0));
  return new Promise((resolve, reject) => {
    // Copied as they come: node gives each chunk of a chunked body as its own buffer, and a body
    // sent as one-byte chunks kept that way took about 400 bytes per byte.
    const body = new ByteSink(limit);
    const done = (error: Error | null) => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("close", onClose);
      deadline.removeEventListener("abort", onAbort);
      if (error !== null) {
        req.resume(); // the rest is discarded; the reply closes the connection
        reject(error);
        return;
      }
      resolve(body.take());
    };
    const onData = (chunk: Uint8Array) => {
      if (body.length + chunk.byteLength > limit) done(bodyTooLarge(limit));
      else body.push(chunk);
    };
    const onEnd = () => done(null);
    const onClose = () => {
      if (!req.complete) {
        done(new Error("the connection closed before the request body was complete"));
      }
    };
    const onAbort = () => done(new BodyError(408, BODY_TIMEOUT));
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("close", onClose);
    deadline.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Methods a web `Request` cannot carry (the Fetch standard forbids them). They are not an error of
 * the server: a caller asking for one gets 501, and nothing is reported.
 */
const FETCH_FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);

/**
 * Serves a handler written for web `Request`s and `Response`s (request bodies up to 1 MiB,
 * arriving within 30 s; CONNECT, TRACE and TRACK get 501).
 */
export function webHandler(
  fetch: (request: Request) => Response | Promise<Response>,
): CallHandler {
  return async (incoming) => {
    if (FETCH_FORBIDDEN_METHODS.has(incoming.method.toUpperCase())) {
      return {
        status: 501,
        headers: { "content-type": "text/plain" },
        body: `${incoming.method} is not implemented`,
      };
    }
    const bodyless = incoming.method === "GET" || incoming.method === "HEAD";
    const headers = new Headers();
    incoming.forEachHeader((value, name) => headers.append(name, value));
    let body: Uint8Array<ArrayBuffer> | null = null;
    if (!bodyless) {
      try {
        body = await incoming.body(1024 * 1024, AbortSignal.timeout(30_000));
      } catch (error) {
        if (!(error instanceof BodyError)) throw error;
        return {
          status: error.status,
          headers: { "content-type": "text/plain" },
          body: error.message,
        };
      }
    }
    // A HEAD is answered as its GET, whose length the reply's headers give; the server sends no
    // body for it. (Hono answers a HEAD itself with no body, and so a length of 0.)
    const method = incoming.method === "HEAD" ? "GET" : incoming.method;
    // Joined rather than resolved against a base, so that a target such as `//x` stays a path.
    const response = await fetch(
      new Request(`http://localhost${incoming.target}`, { method, headers, body }),
    );
    const replyHeaders: Record<string, string> = {};
    response.headers.forEach((value, name) => replyHeaders[name] = value);
    return {
      status: response.status,
      headers: replyHeaders,
      body: new Uint8Array(await response.arrayBuffer()),
    };
  };
}

/** Node's listen failures as the `Deno.errors` that `Deno.listen` throws for them. */
function listenError(error: Error): Error {
  const code = (error as { code?: string }).code;
  if (code === "EADDRINUSE") return new Deno.errors.AddrInUse("Address already in use");
  if (code === "EACCES" || code === "EPERM") {
    return new Deno.errors.PermissionDenied("Permission denied");
  }
  if (code === "EADDRNOTAVAIL") {
    return new Deno.errors.AddrNotAvailable("Cannot assign requested address");
  }
  return error;
}

/**
 * The process's soft limit on open files (`/proc/self/limits` on Linux); a generous figure where
 * it cannot be read.
 */
function descriptorLimit(): number {
  try {
    const limits = Deno.readTextFileSync("/proc/self/limits");
    const match = /^Max open files\s+(\d+)/m.exec(limits);
    if (match !== null) return Number(match[1]);
  } catch {
    // not Linux, or no permission to read it
  }
  return 2 * DEFAULT_MAX_CONNECTIONS;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const READ_METHODS = new Set(["GET", "HEAD"]);

/**
 * Answers any other method with 405 before its body is read: a body nobody reads would otherwise
 * be waited for, so a client trickling one could hold a connection for the body's whole deadline.
 * The connection closes with the reply, its body unread. A GET or HEAD with a body is answered at
 * once the same way: its body is never waited for either.
 */
export function readOnly(handler: CallHandler): CallHandler {
  return (incoming, peer) =>
    READ_METHODS.has(incoming.method) ? handler(incoming, peer) : {
      status: 405,
      headers: { "content-type": "text/plain", allow: "GET, HEAD" },
      body: `${incoming.method} is not allowed: these endpoints are read with GET`,
    };
}
