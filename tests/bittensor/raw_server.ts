/**
 * Raw HTTP/1.1 on loopback for the client tests: a TCP server that hands each connection to a
 * function writing whatever bytes the test needs (well-formed or not), and the request reader it
 * uses.
 */

const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder();

/** Reads one request (head and Content-Length body) off a raw connection; null at end of stream. */
export async function readRequest(
  conn: Deno.Conn,
): Promise<{ head: string; body: string } | null> {
  let bytes = new Uint8Array(0);
  const chunk = new Uint8Array(65536);
  for (;;) {
    // Latin-1 maps each byte to one character, so string positions are byte offsets.
    const received = latin1.decode(bytes);
    const end = received.indexOf("\r\n\r\n");
    if (end >= 0) {
      const length = Number(/content-length: *(\d+)/i.exec(received.slice(0, end))?.[1] ?? 0);
      if (bytes.byteLength >= end + 4 + length) {
        return {
          head: received.slice(0, end),
          body: utf8.decode(bytes.subarray(end + 4, end + 4 + length)),
        };
      }
    }
    const n = await conn.read(chunk).catch(() => null);
    if (n === null) return null;
    const more = new Uint8Array(bytes.byteLength + n);
    more.set(bytes);
    more.set(chunk.subarray(0, n), bytes.byteLength);
    bytes = more;
  }
}

/** Writes all of `bytes`. */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.byteLength;) off += await conn.write(bytes.subarray(off));
}

/**
 * A TCP server on loopback that hands each accepted connection to `serve` and closes it when
 * `serve` is done; `accepted` counts the connections, `served` the ones whose `serve` returned.
 */
export function rawServer(serve: (conn: Deno.Conn) => Promise<void>, hostname = "127.0.0.1") {
  const listener = Deno.listen({ hostname, port: 0 });
  const conns: Deno.Conn[] = [];
  const handlers: Promise<void>[] = [];
  let served = 0;
  const accepting = (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      handlers.push(
        serve(conn).catch(() => {}).finally(() => {
          served++;
          close(conn);
        }),
      );
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    get accepted() {
      return conns.length;
    },
    get served() {
      return served;
    },
    async close() {
      listener.close();
      await accepting;
      for (const conn of conns) close(conn);
      await Promise.all(handlers);
    },
  };
}

function close(conn: Deno.Conn) {
  try {
    conn.close();
  } catch {
    // Closed already.
  }
}
