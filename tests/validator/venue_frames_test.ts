/**
 * What `taos validator --simulation.seeding.live` says of a venue that sends no usable trade: frames
 * it cannot read, or an error in answer to its subscription. Loopback venues stand in for both.
 */
import assert from "node:assert/strict";
import { testTempDir } from "../temp_dir.ts";
import { join } from "node:path";
import { Child } from "./processes.ts";

/** What a broken Coinbase feed sends: text that is not JSON, then a trade it cannot read, again
 * and again. */
const NOT_JSON = "not json";
const BAD_TRADE = JSON.stringify({
  channel: "market_trades",
  events: [{ type: "update", trades: [{ product_id: "BTC-USD", price: "abc" }] }],
});

/** Binance's answer to a subscription it refuses. */
const BINANCE_REFUSAL = JSON.stringify({ error: { code: 2, msg: "Invalid request: bad symbol" } });

Deno.test({
  name: "live seeding names a venue's unreadable trades and its refusal of a subscription",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const timers = new Set<ReturnType<typeof setInterval>>();
    const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
      const { socket, response } = Deno.upgradeWebSocket(req);
      const venue = new URL(req.url).pathname;
      socket.onmessage = () => {
        if (venue === "/binance") {
          socket.send(BINANCE_REFUSAL);
          return;
        }
        let sent = 0;
        const timer = setInterval(() => {
          if (socket.readyState === WebSocket.OPEN) {
            socket.send(sent++ === 0 ? NOT_JSON : BAD_TRADE);
          }
        }, 100);
        timers.add(timer);
        socket.onclose = () => clearInterval(timer);
      };
      return response;
    });
    const base = `ws://127.0.0.1:${server.addr.port}`;
    const validator = new Child([
      "main.ts",
      "validator",
      "--local",
      "--hotkey-uri",
      "//Alice",
      "--state",
      join(testTempDir("taos-venue-frames-"), "state.db"),
      "--prometheus.level",
      "OFF",
      "--config",
      "small",
      "--simulation.seeding.live",
      "--simulation.seeding.coinbase_url",
      `${base}/coinbase`,
      "--simulation.seeding.binance_url",
      `${base}/binance`,
    ]);
    try {
      const silent = await validator.waitFor(
        (line) => line.includes("no BTC-USD trade from coinbase"),
        60_000,
        "the switch away from coinbase",
      );
      assert.match(
        silent,
        /no BTC-USD trade from coinbase for \d+ s, though it sent \d+ messages \(the last it could not read: trades\.0\.price: must be a decimal number in a string, got "abc"\); trying binance/,
      );
      const refused = await validator.waitFor(
        (line) => line.includes("btcusdt") && line.includes("error"),
        60_000,
        "binance's refusal",
      );
      assert.match(
        refused,
        /WARNING +price seeding: binance answered the btcusdt subscription with an error: Invalid request: bad symbol$/,
      );
    } finally {
      await validator.stop();
      for (const timer of timers) clearInterval(timer);
      await server.shutdown();
    }
  },
});
