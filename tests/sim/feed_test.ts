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

Deno.test("feed lines: a header is skipped, a bad first price or hex is named by line, CR endings read", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const write = (name: string, text: string) => {
      Deno.writeTextFileSync(`${dir}/${name}`, text);
      return `${dir}/${name}`;
    };
    assert.deepEqual(
      await readFeed("external-feed", write("ok.csv", "count,price\r1,95000.5\r2,95001\r")),
      [95000.5, 95001],
    );
    await assert.rejects(
      readFeed("external-feed", write("neg.csv", "1,-5\n")),
      /--external-feed: .*neg\.csv line 1: no positive price/,
    );
    await assert.rejects(
      readFeed("external-feed", write("hex.csv", "1,95000\n2,0x10\n")),
      /hex\.csv line 2: no positive price/,
    );
    await assert.rejects(
      readFeed("external-feed", write("nan.csv", "1,95000\n2,NaN\n")),
      /--external-feed: .*nan\.csv line 2: no positive price/,
    );
    for (const flag of ["external-feed", "fundamental-feed"]) {
      await assert.rejects(
        readFeed(flag, write("huge.csv", "1,95000\n2,1e308\n")),
        new RegExp(
          `--${flag}: .*huge\\.csv line 2: price 1e308 is above the largest a feed may ` +
            "hold \\(10000000000000\\)",
        ),
      );
    }
    assert.deepEqual(await readFeed("external-feed", write("top.csv", "1,1e13\n")), [1e13]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
