import assert from "node:assert/strict";
import { createServer } from "node:net";
import { smallPreset } from "../../sim/config.ts";
import { SimEngine } from "../../sim/engine.ts";
import { feedShortfall, MAX_FEED_BYTES, readFeed, readFeeds } from "../../sim/feed.ts";

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

Deno.test("a feed URL that stops half-way is an error saying so, not that it never answered", async () => {
  // Answers with the headers and the first line of a 100-byte body, then writes nothing more.
  const sockets: { destroy(): void }[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.once(
      "data",
      () => socket.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n1,95000\n"),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  try {
    await assert.rejects(
      readFeed("external-feed", `http://127.0.0.1:${port}/seed.csv`, 300),
      /--external-feed: cannot read http:\/\/127\.0\.0\.1:\d+\/seed\.csv \(not all of it arrived within 0\.3 s\)/,
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
      /--external-feed: .*neg\.csv line 1, price: '-5' is not a positive number/,
    );
    await assert.rejects(
      readFeed("external-feed", write("hex.csv", "1,95000\n2,0x10\n")),
      /hex\.csv line 2, price: '0x10' is not a positive number/,
    );
    await assert.rejects(
      readFeed("external-feed", write("nan.csv", "1,95000\n2,NaN\n")),
      /--external-feed: .*nan\.csv line 2, price: 'NaN' is not a positive number/,
    );
    for (const flag of ["external-feed", "fundamental-feed"]) {
      await assert.rejects(
        readFeed(flag, write("huge.csv", "1,95000\n2,1e308\n")),
        new RegExp(
          `--${flag}: .*huge\\.csv line 2, price: 1e308 is above the largest a feed may ` +
            "hold \\(10000000000000\\)",
        ),
      );
    }
    assert.deepEqual(await readFeed("external-feed", write("top.csv", "1,1e13\n")), [1e13]);
    // A first line is a header only when neither field holds a digit; a count may not be empty.
    await assert.rejects(
      readFeed("external-feed", write("word.csv", "first,95000\n2,95001\n")),
      /word\.csv line 1, count: 'first' is not a whole number/,
    );
    await assert.rejects(
      readFeed("external-feed", write("nocount.csv", "1,95000\n,95001\n")),
      /nocount\.csv line 2, count: '' is not a whole number/,
    );
    await assert.rejects(
      readFeed("fundamental-feed", write("zero.csv", "1,95000\n2,0\n")),
      /zero\.csv line 2, price: '0' is not a positive number/,
    );
    // A long field is quoted to its first 40 characters, none split: an emoji is one character.
    await assert.rejects(
      readFeed("external-feed", write("faces.csv", `1,${"😀".repeat(50)}\n`)),
      new RegExp(
        `faces\\.csv line 1, price: '${"😀".repeat(40)}…' \\(10 more characters\\) is not`,
      ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a feed's time column is the exchange's own text and is not read", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // As the reference's recorder copies it: an ISO date (Coinbase) or milliseconds (Binance).
    const path = `${dir}/external_seed.csv`;
    Deno.writeTextFileSync(path, "1,95000,2025-05-07T00:00:00.123Z\n2,95001,1746576000123\n");
    assert.deepEqual(await readFeed("external-feed", path), [95000, 95001]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a short feed's warning counts its prices in words that agree", () => {
  const s = 1e9;
  assert.equal(
    feedShortfall("fundamental-feed", 1, 10 * s, 60 * s),
    "--fundamental-feed: 1 price covers 00:00:10 of the 00:01:00 run (one per 00:00:10); " +
      "the last price is held for the rest",
  );
  assert.match(feedShortfall("fundamental-feed", 2, 10 * s, 60 * s)!, /: 2 prices cover 00:00:20/);
  assert.equal(feedShortfall("fundamental-feed", 6, 10 * s, 60 * s), null);
});

Deno.test("a run that ends between two updates needs no price for the update it never reaches", async () => {
  // 65 s: fundamental seed updates at 10, 20, ..., 60 s and one external sample, at 60 s.
  const config = { ...smallPreset(), books: 1, duration: 65e9, remoteAgentCount: 0 };
  const fundamental = [95000, 95010, 95020, 95030, 95040, 95050];
  const last = (feed: { fundamental: number[]; external: number[] }) => {
    const engine = SimEngine.create({ config, seed: 3, threads: 1, feed });
    try {
      while (engine.step() !== null) { /* to the end */ }
      return engine.processValues(0);
    } finally {
      engine.close();
    }
  };
  // A seventh price and a second sample change nothing: the run never reaches them.
  assert.deepEqual(
    last({ fundamental: [...fundamental, 1], external: [310, 999] }),
    last({ fundamental, external: [310] }),
  );
  const dir = await Deno.makeTempDir();
  try {
    const write = (name: string, prices: number[]) => {
      Deno.writeTextFileSync(`${dir}/${name}`, prices.map((p, i) => `${i + 1},${p}\n`).join(""));
      return `${dir}/${name}`;
    };
    const warnings = async (sources: { fundamental: string; external?: string }) => {
      const said: string[] = [];
      await readFeeds(sources, config, (message) => said.push(message));
      return said;
    };
    const external = write("e.csv", [310]);
    assert.deepEqual(await warnings({ fundamental: write("f.csv", fundamental), external }), []);
    assert.deepEqual(await warnings({ fundamental: write("f5.csv", fundamental.slice(0, 5)) }), [
      "--fundamental-feed: 5 prices cover 00:00:50 of the 00:01:05 run (one per 00:00:10); " +
      "the last price is held for the rest",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const s = 1e9;
  assert.equal(feedShortfall("external-feed", 1, 60 * s, 119 * s), null);
  assert.match(feedShortfall("external-feed", 1, 60 * s, 120 * s)!, /1 price covers 00:01:00/);
  // Samples are taken at process updates: a 115 s run with 10 s updates has its last at 110 s,
  // before a second 57 s sample would be due.
  assert.equal(feedShortfall("external-feed", 1, 57 * s, 115 * s, 10 * s), null);
  assert.match(feedShortfall("external-feed", 1, 57 * s, 115 * s, 5 * s)!, /1 price covers/);
  assert.equal(feedShortfall("external-feed", 1, 60 * s, 59 * s), null);
});

Deno.test("a header may follow blank lines", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/seed.csv`;
    Deno.writeTextFileSync(path, "\n\ncount,price\n1,95000\n");
    assert.deepEqual(await readFeed("fundamental-feed", path), [95000]);
    // Only the first line that holds anything can be a header.
    Deno.writeTextFileSync(path, "1,95000\ncount,price\n");
    await assert.rejects(
      readFeed("fundamental-feed", path),
      /seed\.csv line 2, count: 'count' is not a whole number/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("feed lines that are not count,price[,time] are named by line and column; a BOM is read", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const write = (name: string, text: string | Uint8Array) => {
      if (typeof text === "string") Deno.writeTextFileSync(`${dir}/${name}`, text);
      else Deno.writeFileSync(`${dir}/${name}`, text);
      return `${dir}/${name}`;
    };
    const fails = (name: string, text: string | Uint8Array, problem: RegExp) =>
      assert.rejects(readFeed("fundamental-feed", write(name, text)), problem);
    // One column of prices: it was taken for a header, then refused at line 2 as "no price".
    await fails(
      "prices.csv",
      "95000\n95001\n",
      /prices\.csv line 1: 1 field where count,price\[,time\] was expected/,
    );
    await fails(
      "wide.csv",
      "1,95000,0,x\n",
      /wide\.csv line 1: 4 fields where count,price\[,time\]/,
    );
    // Another file's columns (time,price) were read as if the first were a count.
    await fails(
      "time.csv",
      "time,price\n2025-01-01T00:00:00,95000\n",
      /--fundamental-feed: .*time\.csv line 2, count: '2025-01-01T00:00:00' is not a whole number$/,
    );
    await fails(
      "empty-price.csv",
      "1,95000\r\n2,\r\n",
      /empty-price\.csv line 2, price: '' is not a positive/,
    );
    await fails(
      "utf16.csv",
      new Uint8Array([0xff, 0xfe, 0x31, 0, 0x2c, 0, 0x39, 0]),
      /cannot read .*utf16\.csv \(not UTF-8 text\)/,
    );
    await assert.rejects(
      readFeed("external-feed", dir),
      /--external-feed: cannot read .* \(a directory\)/,
    );
    assert.deepEqual(
      await readFeed(
        "external-feed",
        write("bom.csv", "\ufeff1,95000\r\n2,95001.5,1700000000\r\n"),
      ),
      [95000, 95001.5],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a feed larger than 256 MiB (or a device that never ends) is refused, not read until memory runs out", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A sparse file: all zero bytes, one past the limit.
    const big = `${dir}/big.csv`;
    using file = await Deno.open(big, { write: true, create: true });
    await file.truncate(MAX_FEED_BYTES + 1);
    await assert.rejects(
      readFeed("fundamental-feed", big),
      /--fundamental-feed: cannot read .*big\.csv \(larger than the 256 MiB a feed may hold\)$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a seed interval that is not a whole number of updates takes a price at every update past it", async () => {
  // 15 s seeds on 10 s updates: a price is taken at 20, 40 and 60 s of a 65 s run, three in all.
  const base = smallPreset();
  const config = {
    ...base,
    books: 1,
    duration: 65e9,
    remoteAgentCount: 0,
    processes: {
      ...base.processes,
      fundamental: { ...base.processes.fundamental, seedInterval: 15e9 },
    },
  };
  const fundamental = [95000, 95100, 95200];
  const last = (prices: number[]) => {
    const engine = SimEngine.create({ config, seed: 3, threads: 1, feed: { fundamental: prices } });
    try {
      while (engine.step() !== null) { /* to the end */ }
      return engine.processValues(0).fundamental;
    } finally {
      engine.close();
    }
  };
  // The third price is reached, a fourth is not.
  assert.notEqual(last(fundamental.slice(0, 2)), last(fundamental));
  assert.equal(last([...fundamental, 1]), last(fundamental));
  const dir = await Deno.makeTempDir();
  try {
    const warnings = async (prices: number[]) => {
      const path = `${dir}/f.csv`;
      Deno.writeTextFileSync(path, prices.map((p, i) => `${i + 1},${p}\n`).join(""));
      const said: string[] = [];
      await readFeeds({ fundamental: path }, config, (message) => said.push(message));
      return said;
    };
    assert.deepEqual(await warnings(fundamental), []);
    // Rounded down to one update, the interval would ask for six prices, one per 10 s.
    assert.deepEqual(await warnings(fundamental.slice(0, 2)), [
      "--fundamental-feed: 2 prices cover 00:00:40 of the 00:01:05 run (one per 00:00:20); " +
      "the last price is held for the rest",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a long count field is quoted to its first 40 characters, as a long price is", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/counts.csv`;
    Deno.writeTextFileSync(path, `${"9".repeat(39)}x${"0".repeat(60)},95000\n`);
    await assert.rejects(
      readFeed("external-feed", path),
      new RegExp(
        `counts\\.csv line 1, count: '${
          "9".repeat(39)
        }x…' \\(60 more characters\\) is not a whole number$`,
      ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
