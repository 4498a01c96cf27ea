import assert from "node:assert/strict";
import { ipv6Loopback } from "../ipv6.ts";
import {
  hostAndPort,
  HttpClient,
  RequestTimeout,
  ResponseBodyError,
  ResponseTooLarge,
} from "../../bittensor/http_client.ts";
import { rawServer, readRequest, writeAll } from "./raw_server.ts";
import { fileURLToPath } from "node:url";

const text = new TextEncoder();
const decoder = new TextDecoder();
const LIMITS = { timeoutMs: 5000, maxResponseBytes: 1_000_000 };

function writeText(conn: Deno.Conn, data: string) {
  return writeAll(conn, text.encode(data));
}

/** Answers every request on the connection with `reply`, until the client hangs up. */
function answerEach(reply: string) {
  return async (conn: Deno.Conn) => {
    while (await readRequest(conn) !== null) await writeText(conn, reply);
  };
}

Deno.test("POSTs to Deno.serve reuse one kept-alive connection", async () => {
  const ports: number[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request, info) => {
      ports.push(info.remoteAddr.port);
      return new Response(`${request.headers.get("x-name")}:${await request.text()}`, {
        headers: { "X-Reply": "yes" },
      });
    },
  );
  const client = new HttpClient();
  try {
    for (let i = 0; i < 3; i++) {
      const body = text.encode("x".repeat(60_000) + i);
      const reply = await client.post(
        "127.0.0.1",
        server.addr.port,
        "/Echo",
        { "x-name": `call${i}` },
        body,
        LIMITS,
      );
      assert.equal(reply.status, 200);
      assert.equal(reply.statusText, "OK");
      assert.equal(reply.headers.get("x-reply"), "yes");
      assert.equal(decoder.decode(reply.body), `call${i}:${"x".repeat(60_000)}${i}`);
    }
    assert.equal(ports.length, 3);
    assert.equal(new Set(ports).size, 1);
  } finally {
    client.close();
    await server.shutdown();
  }
});

Deno.test("chunked bodies with extensions and trailers are decoded and the connection reused", async () => {
  const server = rawServer(answerEach(
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n" +
      "5;name=value\r\nhello\r\n6\r\n world\r\nA\r\n, chunked!\r\n0\r\nX-Trailer: t\r\n\r\n",
  ));
  const client = new HttpClient();
  try {
    for (let i = 0; i < 2; i++) {
      const reply = await client.post("127.0.0.1", server.port, "/", {}, text.encode("q"), LIMITS);
      assert.equal(decoder.decode(reply.body), "hello world, chunked!");
      assert.equal(reply.headers.get("X-A"), "1");
    }
    assert.equal(server.accepted, 1);
  } finally {
    client.close();
    await server.close();
  }
});

Deno.test("a body delimited by the server closing is read whole; the connection is not reused", async () => {
  const server = rawServer(async (conn) => {
    await readRequest(conn);
    await writeText(conn, "HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\n\r\npart one, ");
    await new Promise((resolve) => setTimeout(resolve, 20));
    await writeText(conn, "part two");
  });
  const client = new HttpClient();
  try {
    for (let i = 0; i < 2; i++) {
      const reply = await client.post("127.0.0.1", server.port, "/", {}, text.encode("q"), LIMITS);
      assert.equal(reply.status, 201);
      assert.equal(reply.statusText, "Created");
      assert.equal(decoder.decode(reply.body), "part one, part two");
    }
    assert.equal(server.accepted, 2);
  } finally {
    client.close();
    await server.close();
  }
});

Deno.test("Connection: close is honoured: the next request opens a new connection", async () => {
  const server = rawServer(
    answerEach("HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 2\r\n\r\nok"),
  );
  const client = new HttpClient();
  try {
    for (let i = 0; i < 3; i++) {
      const reply = await client.post("127.0.0.1", server.port, "/", {}, text.encode("q"), LIMITS);
      assert.equal(decoder.decode(reply.body), "ok");
    }
    assert.equal(server.accepted, 3);
  } finally {
    client.close();
    await server.close();
  }
});

Deno.test("a body of exactly the cap is taken, declared, chunked or ended by close; one byte more is refused", async () => {
  const body = "z".repeat(20);
  const declared = rawServer(answerEach(`HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n${body}`));
  const chunked = rawServer(answerEach(
    `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n${body.slice(0, 8)}\r\n` +
      `c\r\n${body.slice(8)}\r\n0\r\n\r\n`,
  ));
  // No length: the body ends when the server hangs up, after its one reply.
  const closing = rawServer(async (conn) => {
    await readRequest(conn);
    await writeText(conn, `HTTP/1.1 200 OK\r\n\r\n${body}`);
  });
  const client = new HttpClient();
  try {
    for (const server of [declared, chunked, closing]) {
      const at = { timeoutMs: 5000, maxResponseBytes: 20 };
      const reply = await client.post("127.0.0.1", server.port, "/", {}, text.encode("q"), at);
      assert.equal(decoder.decode(reply.body), body);
      await assert.rejects(
        client.post("127.0.0.1", server.port, "/", {}, text.encode("q"), {
          ...at,
          maxResponseBytes: 19,
        }),
        ResponseTooLarge,
      );
    }
  } finally {
    client.close();
    await declared.close();
    await chunked.close();
    await closing.close();
  }
});

Deno.test("interim 1xx replies before the answer are skipped", async () => {
  const server = rawServer(answerEach(
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n" +
      "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
  ));
  const client = new HttpClient();
  try {
    const reply = await client.post("127.0.0.1", server.port, "/", {}, text.encode("q"), LIMITS);
    assert.equal(reply.status, 201);
    assert.equal(decoder.decode(reply.body), "ok");
  } finally {
    client.close();
    await server.close();
  }
});

Deno.test("a body over the cap fails early, declared or streamed", async () => {
  let streamed = 0;
  const endless = rawServer(async (conn) => {
    await readRequest(conn);
    await writeText(conn, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    const block = text.encode(`10000\r\n${"y".repeat(0x10000)}\r\n`);
    for (;;) streamed += await conn.write(block);
  });
  const declared = rawServer(
    answerEach("HTTP/1.1 200 OK\r\nContent-Length: 50000000\r\n\r\nstart of a long body"),
  );
  const client = new HttpClient();
  const limits = { timeoutMs: 10_000, maxResponseBytes: 200_000 };
  try {
    for (const server of [endless, declared]) {
      const started = performance.now();
      await assert.rejects(
        client.post("127.0.0.1", server.port, "/", {}, text.encode("q"), limits),
        (error) => error instanceof ResponseTooLarge && /larger than 200000/.test(error.message),
      );
      assert.ok(performance.now() - started < 5000);
    }
    // The client stopped reading: the server got stuck far short of sending everything.
    assert.ok(streamed < 20_000_000, `server wrote ${streamed} bytes`);
  } finally {
    client.close();
    await endless.close();
    await declared.close();
  }
});

Deno.test("a header section that never ends fails instead of hanging", async () => {
  const server = rawServer(async (conn) => {
    await readRequest(conn);
    await writeText(conn, "HTTP/1.1 200 OK\r\n");
    for (;;) await writeText(conn, `X-Filler: ${"z".repeat(1000)}\r\n`);
  });
  const client = new HttpClient();
  try {
    await assert.rejects(
      client.post("127.0.0.1", server.port, "/", {}, text.encode("q"), {
        ...LIMITS,
        timeoutMs: 10_000,
      }),
      /response head larger than 65536 bytes/,
    );
  } finally {
    client.close();
    await server.close();
  }
});

Deno.test("malformed replies are errors: status line, chunk framing, early close", async () => {
  const badStatus = rawServer(answerEach("HTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
  const badChunk = rawServer(
    answerEach("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"),
  );
  const cut = rawServer(async (conn) => {
    await readRequest(conn);
    await writeText(conn, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this");
  });
  const client = new HttpClient();
  try {
    const post = (port: number) =>
      client.post("127.0.0.1", port, "/", {}, text.encode("q"), LIMITS);
    await assert.rejects(post(badStatus.port), /malformed status line "HTP\/1.1 200 OK"/);
    await assert.rejects(
      post(badChunk.port),
      (error) => error instanceof ResponseBodyError && /invalid chunk size/.test(error.message),
    );
    await assert.rejects(
      post(cut.port),
      (error) =>
        error instanceof ResponseBodyError && /closed in the response body/.test(error.message),
    );
  } finally {
    client.close();
    await badStatus.close();
    await badChunk.close();
    await cut.close();
  }
});

Deno.test("a kept-alive connection the server closed while idle is not reused", async () => {
  const server = rawServer(async (conn) => {
    await readRequest(conn);
    await writeText(conn, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst");
    // Like uvicorn after its keep-alive timeout: close without a word.
  });
  const client = new HttpClient();
  try {
    const first = await client.post("127.0.0.1", server.port, "/", {}, text.encode("q"), LIMITS);
    assert.equal(decoder.decode(first.body), "first");
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = await client.post("127.0.0.1", server.port, "/", {}, text.encode("q"), LIMITS);
    assert.equal(decoder.decode(second.body), "first");
    assert.equal(server.accepted, 2);
  } finally {
    client.close();
    await server.close();
  }
});

Deno.test("a server that never answers times out and the connection is closed", async () => {
  let hungUp = false;
  const server = rawServer(async (conn) => {
    await readRequest(conn);
    hungUp = await conn.read(new Uint8Array(1)) === null;
  });
  const client = new HttpClient();
  try {
    const started = performance.now();
    await assert.rejects(
      client.post("127.0.0.1", server.port, "/", {}, text.encode("q"), {
        ...LIMITS,
        timeoutMs: 200,
      }),
      RequestTimeout,
    );
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 190 && elapsed < 2000, `${elapsed} ms`);
    for (let i = 0; i < 100 && !hungUp; i++) await new Promise((r) => setTimeout(r, 10));
  } finally {
    client.close();
    await server.close();
  }
  assert.ok(hungUp);
});

Deno.test("the request goes out as sent; header names and values are checked", async () => {
  let received: { head: string; body: string } | null = null;
  const server = rawServer(async (conn) => {
    received = await readRequest(conn);
    await writeText(conn, "HTTP/1.1 204 No Content\r\n\r\n");
  });
  const client = new HttpClient();
  try {
    const reply = await client.post(
      "127.0.0.1",
      server.port,
      "/Synapse",
      { bt_header_axon_ip: "127.0.0.1", "content-type": "application/json" },
      text.encode('{"a":1}'),
      LIMITS,
    );
    assert.equal(reply.status, 204);
    assert.equal(reply.body.byteLength, 0);
    assert.deepEqual(received, {
      head: `POST /Synapse HTTP/1.1\r\nhost: 127.0.0.1:${server.port}\r\ncontent-length: 7\r\n` +
        "bt_header_axon_ip: 127.0.0.1\r\ncontent-type: application/json",
      body: '{"a":1}',
    });
    const post = (headers: Record<string, string>) =>
      client.post("127.0.0.1", server.port, "/", headers, new Uint8Array(0), LIMITS);
    await assert.rejects(post({ "x-evil": "a\r\nInjected: 1" }), /header x-evil/);
    await assert.rejects(post({ "bad name": "v" }), /header name "bad name"/);
    await assert.rejects(post({ "x-text": "héllo" }), /header x-text/);
    assert.equal(server.accepted, 1);
  } finally {
    client.close();
    await server.close();
  }
});

Deno.test({
  name: "IPv6 targets are reached and named in brackets",
  ignore: !ipv6Loopback,
  fn: async () => {
    let head = "";
    const server = rawServer(async (conn) => {
      head = (await readRequest(conn))?.head ?? "";
      await writeText(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nv6");
    }, "::1");
    const client = new HttpClient();
    try {
      const reply = await client.post("::1", server.port, "/", {}, text.encode("q"), LIMITS);
      assert.equal(decoder.decode(reply.body), "v6");
      assert.match(head, new RegExp(`\\r\\nhost: \\[::1\\]:${server.port}\\r\\n`));
    } finally {
      client.close();
      await server.close();
    }
  },
});

Deno.test("a complete header section over 64 KiB is refused; one just under is read", async () => {
  const head = (bytes: number) =>
    `HTTP/1.1 200 OK\r\nX-Filler: ${"z".repeat(bytes)}\r\nContent-Length: 2\r\n\r\nok`;
  for (const [filler, accepted] of [[60_000, true], [70_000, false], [120_000, false]] as const) {
    const server = rawServer(async (conn) => {
      await readRequest(conn);
      await writeText(conn, head(filler));
    });
    const client = new HttpClient();
    try {
      const request = client.post("127.0.0.1", server.port, "/", {}, text.encode("q"), LIMITS);
      if (accepted) assert.equal((await request).status, 200);
      else await assert.rejects(request, /response head larger than 65536 bytes/);
    } finally {
      client.close();
      await server.close();
    }
  }
});

Deno.test("hostAndPort writes an IPv6 address in brackets, as a URL has it", () => {
  assert.equal(hostAndPort("::1", 8091), "[::1]:8091");
  assert.equal(hostAndPort("2001:db8::1", 9000), "[2001:db8::1]:9000");
  assert.equal(hostAndPort("127.0.0.1", 8091), "127.0.0.1:8091");
});

Deno.test("a reply sent as a million one-byte chunks is read within a 64 MB heap", async () => {
  // An array per chunk, about 100 bytes of heap apiece, ran this heap out (V8 aborts): a miner
  // could take a validator to 800 MB in one 3 s round while its reply budget counted 1 MB.
  const fixture = fileURLToPath(new URL("./fixtures/one_byte_chunks.ts", import.meta.url));
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--max-old-space-size=64", fixture, "client", "1000000"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, decoder.decode(stderr).slice(-2000));
  assert.deepEqual(JSON.parse(decoder.decode(stdout)), { status: 200, length: 1_000_000 });
});
