/**
 * An HTTP/1.1 server for handlers written against the web `Request` and `Response`, on
 * `node:http`, with the limits an internet-facing server needs and `Deno.serve` lacks. `Deno.serve`
 * keeps a connection that never sends a byte open forever and accepts any number of them, so a
 * few thousand idle connections from one machine take every file descriptor of the process. Here:
 * - at most `maxConnections` connections are open at once (by default 1024, and never more than
 *   half the process's descriptor limit), and at most `maxConnectionsPerIp` from one address;
 *   connections beyond either are closed as they arrive, while those already open are served;
 * - a request's head must arrive within `headersTimeoutMs` of the connection (or of the previous
 *   reply), else the connection gets a 408 and is closed;
 * - an idle keep-alive connection is closed after `keepAliveTimeoutMs` (5 s, as uvicorn, which
 *   serves the Python axon).
 *
 * Request bodies stream to the handler; response bodies are sent whole. A HEAD request gets the
 * GET reply's status and headers without the body.
 *
 * ```ts
 * const server = await HttpServer.listen((request) => new Response("ok"), {
 *   port: 0, hostname: "127.0.0.1",
 * });
 * console.log(server.port);
 * await server.close();
 * ```
 * @module
 */
import http from "node:http";
import type { Socket } from "node:net";

/** The address a request came from. */
export interface Peer {
  hostname: string;
  port: number;
}

/** Answers one request. */
export type HttpHandler = (request: Request, peer: Peer) => Response | Promise<Response>;

/** Where to listen and the limits of an {@linkcode HttpServer}. */
export interface HttpServerOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  hostname: string;
  /** Open connections at most (default 1024, capped at half the descriptor limit). */
  maxConnections?: number;
  /** Open connections from one address at most (default 64). */
  maxConnectionsPerIp?: number;
  /** Time for a request's head to arrive, ms (default 10 000). */
  headersTimeoutMs?: number;
  /** Time for a whole request, body included, to arrive, ms (default 120 000). */
  requestTimeoutMs?: number;
  /** Idle keep-alive connections are closed after this long, ms (default 5 000). */
  keepAliveTimeoutMs?: number;
  /** Largest request head, bytes (default 64 KiB; larger ones get 431). */
  maxHeaderBytes?: number;
  /** Receives handler failures and server errors (default `console.warn`). */
  onError?(message: string): void;
}

const DEFAULT_MAX_CONNECTIONS = 1024;
const DEFAULT_MAX_CONNECTIONS_PER_IP = 64;

/** A listening server; {@linkcode HttpServer.listen} starts one. */
export class HttpServer {
  readonly #server: http.Server;
  readonly #perIp = new Map<string, number>();
  #closing = false;

  private constructor(server: http.Server) {
    this.#server = server;
  }

  /**
   * Starts listening; resolves once the port is bound. Rejects if it cannot be, with
   * `Deno.errors.AddrInUse`, `PermissionDenied` or `AddrNotAvailable` as `Deno.listen` would.
   */
  static listen(handler: HttpHandler, options: HttpServerOptions): Promise<HttpServer> {
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
    node.maxConnections = Math.min(
      options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      Math.max(16, Math.floor(descriptorLimit() / 2)),
    );
    const server = new HttpServer(node);
    const report = options.onError ?? console.warn;
    server.#limitPerIp(options.maxConnectionsPerIp ?? DEFAULT_MAX_CONNECTIONS_PER_IP);
    node.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
      server.#respond(handler, req, res, report).catch((error) => {
        report(`http server: reply failed: ${messageOf(error)}`);
        res.destroy();
      });
    });
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
    let open = 0;
    for (const n of this.#perIp.values()) open += n;
    return open;
  }

  /** Stops listening, lets requests under way finish and closes every connection. */
  close(): Promise<void> {
    this.#closing = true;
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeIdleConnections();
    });
  }

  #limitPerIp(limit: number): void {
    this.#server.on("connection", (socket: Socket) => {
      const ip = socket.remoteAddress ?? "";
      const open = (this.#perIp.get(ip) ?? 0) + 1;
      this.#perIp.set(ip, open);
      socket.once("close", () => {
        const left = (this.#perIp.get(ip) ?? 1) - 1;
        if (left > 0) this.#perIp.set(ip, left);
        else this.#perIp.delete(ip);
      });
      if (open > limit) socket.destroy();
    });
  }

  async #respond(
    handler: HttpHandler,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    report: (message: string) => void,
  ): Promise<void> {
    const request = toRequest(req);
    if (request === null) {
      res.writeHead(400, { "content-type": "text/plain", connection: "close" });
      res.end("Bad Request");
      return;
    }
    const peer = { hostname: req.socket.remoteAddress ?? "", port: req.socket.remotePort ?? 0 };
    let response: Response;
    try {
      response = await handler(request, peer);
    } catch (error) {
      report(`http server: ${req.method} ${req.url} failed: ${messageOf(error)}`);
      response = new Response("Internal Server Error", { status: 500 });
    }
    const body = new Uint8Array(await response.arrayBuffer());
    if (res.destroyed) return;
    res.statusCode = response.status;
    for (const [name, value] of response.headers) {
      if (!HOP_BY_HOP.has(name)) res.setHeader(name, value);
    }
    res.setHeader("content-length", body.byteLength);
    // Unread body bytes would be taken for the next request's head; a closing server ends the
    // connection with this reply.
    if (!req.complete || this.#closing) res.setHeader("connection", "close");
    res.end(body);
    if (this.#closing) res.once("finish", () => this.#server.closeIdleConnections());
  }
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

/** Headers that describe the connection or framing, which the server sets itself. */
const HOP_BY_HOP = new Set(["connection", "content-length", "keep-alive", "transfer-encoding"]);

/** The web `Request` of a node request, its body streamed; null when its target is no path. */
function toRequest(req: http.IncomingMessage): Request | null {
  const target = req.url ?? "/";
  if (!target.startsWith("/")) return null;
  let url: URL;
  try {
    url = new URL(target, "http://localhost");
  } catch {
    return null;
  }
  const headers = new Headers();
  const raw = req.rawHeaders;
  try {
    for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i], raw[i + 1]);
  } catch {
    return null;
  }
  const method = req.method ?? "GET";
  const bodyless = method === "GET" || method === "HEAD";
  return new Request(url, {
    method,
    headers,
    body: bodyless ? null : bodyStream(req),
  });
}

/** The request body as a web stream, pausing the socket while the reader lags behind. */
function bodyStream(req: http.IncomingMessage): ReadableStream<Uint8Array> {
  let settled = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      req.on("data", (chunk: Uint8Array) => {
        if (settled) return;
        controller.enqueue(chunk);
        if ((controller.desiredSize ?? 0) <= 0) req.pause();
      });
      req.on("end", () => {
        if (settled) return;
        settled = true;
        controller.close();
      });
      req.on("close", () => {
        if (settled) return;
        settled = true;
        controller.error(new Error("the connection closed before the request body was complete"));
      });
    },
    pull() {
      req.resume();
    },
    cancel() {
      settled = true;
      req.resume(); // discard the rest; the reply closes the connection
    },
  }, { highWaterMark: 4 });
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
