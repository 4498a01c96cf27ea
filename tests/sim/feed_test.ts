import assert from "node:assert/strict";
import { createServer } from "node:net";
import { readFeed } from "../../sim/feed.ts";

Deno.test("a feed URL that never answers is an error naming the flag, not a hang", async () => {
  // Accepts connections and never writes a byte.
  const sockets: { destroy(): void }[] = [];
  const server = createServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  try {
    await assert.rejects(
      readFeed("fundamental-feed", `http://127.0.0.1:${port}/seed.csv`, 300),
      /--fundamental-feed: cannot read http:\/\/127\.0\.0\.1:\d+\/seed\.csv \(no answer within 0\.3 s\)/,
    );
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});
