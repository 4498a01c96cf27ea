/**
 * The validator's HTTP server (Hono): Prometheus metrics at `/metrics`, the live status page at
 * `/` and its data at `/status.json`. It serves GET and HEAD only.
 *
 * ```ts
 * const server = startMonitoringServer({ port: 9001, hostname: "0.0.0.0", metrics, board });
 * console.log(server.port);
 * await server.close();
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import { Hono } from "hono";
import { HttpServer, readOnly, webHandler } from "../bittensor/http_server.ts";
import type { ValidatorMetrics } from "./metrics.ts";
import type { StatusBoard } from "./status.ts";
import { STATUS_PAGE_HTML } from "./status_page.ts";

/** The page's one inline element of `tag`, as a CSP source: `'sha256-<base64 digest>'`. */
function inlineSource(tag: "script" | "style"): string {
  const text = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(STATUS_PAGE_HTML)![1];
  return `'sha256-${createHash("sha256").update(text).digest("base64")}'`;
}

/** The page runs its own script and style and fetches its data from the server, nothing else:
 * text that ever reached it from a miner or the chain could not run as a script. */
const PAGE_POLICY = [
  "default-src 'none'",
  `script-src ${inlineSource("script")}`,
  `style-src ${inlineSource("style")}`,
  "connect-src 'self'",
  "img-src data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Sent with every answer: no client may guess another type than the one given, nor frame it. */
const GUARD_HEADERS = { "x-content-type-options": "nosniff", "x-frame-options": "DENY" };

/** How long one rendering of `/metrics` is served (scrapes come every few seconds at most). */
const METRICS_CACHE_MS = 1000;

/** The Hono app: exposed separately so it can be served or called directly. */
export function monitoringApp(metrics: ValidatorMetrics, board: StatusBoard): Hono {
  const app = new Hono();
  // Rendering walks every series (megabytes with many uids and books) on the thread that runs
  // the market: a flood of scrapes shares one rendering a second instead of stalling the rounds.
  let cached: { at: number; body: Promise<string> } | null = null;
  app.get("/metrics", async (c) => {
    const now = performance.now();
    if (cached === null || now - cached.at > METRICS_CACHE_MS) {
      cached = { at: now, body: metrics.registry.metrics() };
    }
    return c.body(await cached.body, 200, { "content-type": metrics.registry.contentType });
  });
  app.get("/status.json", (c) => c.body(board.json(), 200, { "content-type": "application/json" }));
  app.get("/", (c) => c.html(STATUS_PAGE_HTML, 200, { "content-security-policy": PAGE_POLICY }));
  return app;
}

/** A running monitoring server. */
export interface MonitoringServer {
  /** The bound port (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

/**
 * Starts the server; resolves once it listens. Its connection limits keep a flood of idle
 * connections from taking the process's file descriptors; errors go to `onError`.
 */
export function startMonitoringServer(options: {
  port: number;
  hostname: string;
  /** Open connections from one address at most (default 16, as the axon's). */
  maxConnectionsPerIp?: number;
  metrics: ValidatorMetrics;
  board: StatusBoard;
  onError?: (message: string) => void;
}): Promise<MonitoringServer> {
  const app = monitoringApp(options.metrics, options.board);
  return HttpServer.listen(readOnly(webHandler((request) => app.fetch(request))), {
    port: options.port,
    hostname: options.hostname,
    headers: GUARD_HEADERS,
    maxConnectionsPerIp: options.maxConnectionsPerIp,
    onError: options.onError,
  });
}
