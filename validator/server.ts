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

/** Pause before listening again after the server failed (for instance out of descriptors). */
const RESTART_MS = 1000;
/** Free descriptors wanted before listening again. */
const SPARE_DESCRIPTORS = 32;

/**
 * Starts the server; resolves once it listens. If it later fails (a flood of idle connections
 * used up the process's file descriptors), it is told to `onError` and listens again a second
 * later on the same port: the validator itself goes on either way.
 */
export function startMonitoringServer(options: {
  port: number;
  hostname: string;
  metrics: ValidatorMetrics;
  board: StatusBoard;
  onError?: (message: string) => void;
}): Promise<MonitoringServer> {
  const app = monitoringApp(options.metrics, options.board);
  let current: Deno.HttpServer | null = null;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let bound = options.port;
  const listen = (onListen: (port: number) => void) => {
    const server = Deno.serve({
      port: bound,
      hostname: options.hostname,
      onListen: ({ port }) => {
        bound = port;
        onListen(port);
      },
    }, app.fetch);
    current = server;
    server.finished.catch((error) => {
      if (closed) return;
      options.onError?.(`monitoring server failed, listening again: ${(error as Error).message}`);
      const retry = () => {
        // Listening needs descriptors (and Deno aborts the process when one of its own internal
        // registrations finds none): wait until a few can be opened.
        const spare: Deno.FsFile[] = [];
        try {
          while (spare.length < SPARE_DESCRIPTORS) spare.push(Deno.openSync("/dev/null"));
        } catch {
          timer = setTimeout(retry, RESTART_MS);
          return;
        } finally {
          for (const file of spare) file.close();
        }
        try {
          listen(() => {});
        } catch (again) {
          options.onError?.(`monitoring server cannot listen again: ${(again as Error).message}`);
        }
      };
      timer = setTimeout(retry, RESTART_MS);
    });
  };
  return new Promise((resolve, reject) => {
    try {
      listen((port) =>
        resolve({
          port,
          close: async () => {
            closed = true;
            clearTimeout(timer);
            await current?.shutdown();
          },
        })
      );
    } catch (error) {
      reject(error);
    }
  });
}
