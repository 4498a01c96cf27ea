/**
 * The validator's HTTP server (Hono): Prometheus metrics at `/metrics`, the live status page at
 * `/` and its data at `/status.json`.
 *
 * ```ts
 * const server = startMonitoringServer({ port: 9001, hostname: "0.0.0.0", metrics, board });
 * console.log(server.port);
 * await server.close();
 * ```
 * @module
 */
import { Hono } from "hono";
import type { ValidatorMetrics } from "./metrics.ts";
import type { StatusBoard } from "./status.ts";
import { STATUS_PAGE_HTML } from "./status_page.ts";

/** The Hono app: exposed separately so it can be served or called directly. */
export function monitoringApp(metrics: ValidatorMetrics, board: StatusBoard): Hono {
  const app = new Hono();
  app.get("/metrics", async (c) => {
    const body = await metrics.registry.metrics();
    return c.body(body, 200, { "content-type": metrics.registry.contentType });
  });
  app.get("/status.json", (c) => c.json(board.view()));
  app.get("/", (c) => c.html(STATUS_PAGE_HTML));
  return app;
}

/** A running monitoring server. */
export interface MonitoringServer {
  /** The bound port (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

/** Starts the server; resolves once it listens. */
export function startMonitoringServer(options: {
  port: number;
  hostname: string;
  metrics: ValidatorMetrics;
  board: StatusBoard;
}): Promise<MonitoringServer> {
  const app = monitoringApp(options.metrics, options.board);
  return new Promise((resolve, reject) => {
    try {
      const server = Deno.serve({
        port: options.port,
        hostname: options.hostname,
        onListen: ({ port }) => resolve({ port, close: () => server.shutdown() }),
      }, app.fetch);
    } catch (error) {
      reject(error);
    }
  });
}
