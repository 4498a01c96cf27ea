/**
 * A TCP relay on loopback between a client and a server, for tests of connections that stop
 * answering without closing: while `blackhole` is set, the bytes each side sends are read and
 * dropped instead of passed on, and both sockets stay open (no FIN, no RST), as when a network
 * path loses every packet.
 * @module
 */

/** Relays connections to `target` from a free port on 127.0.0.1. */
export class TcpRelay {
  /** While true, nothing is passed on in either direction; both connections stay open. */
  blackhole = false;
  readonly #listener: Deno.TcpListener;
  readonly #target: Deno.ConnectOptions;
  readonly #connections = new Set<Deno.TcpConn>();
  readonly #done: Promise<void>;
  /** Bytes dropped while the blackhole was on. */
  dropped = 0;
  /** Connections accepted so far. */
  accepted = 0;

  private constructor(target: Deno.ConnectOptions) {
    this.#target = target;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#done = this.#accept();
  }

  /** Starts relaying to the server at `url`'s host and port (`ws://127.0.0.1:1234`). */
  static start(url: string): TcpRelay {
    const { hostname, port } = new URL(url);
    return new TcpRelay({ hostname, port: Number(port) });
  }

  /** The `ws://` URL that reaches the server through the relay. */
  get url(): string {
    return `ws://127.0.0.1:${(this.#listener.addr as Deno.NetAddr).port}`;
  }

  /** Connections open on both sides. */
  get open(): number {
    return this.#connections.size / 2;
  }

  async #accept(): Promise<void> {
    for await (const inbound of this.#listener) {
      this.accepted++;
      let outbound: Deno.TcpConn;
      try {
        outbound = await Deno.connect(this.#target);
      } catch {
        inbound.close();
        continue;
      }
      this.#connections.add(inbound).add(outbound);
      const closeBoth = () => {
        for (const conn of [inbound, outbound]) {
          if (this.#connections.delete(conn)) {
            try {
              conn.close();
            } catch {
              // already closed
            }
          }
        }
      };
      Promise.all([this.#pipe(inbound, outbound), this.#pipe(outbound, inbound)]).finally(
        closeBoth,
      );
    }
  }

  /** Copies `from` to `to` until `from` ends, dropping what arrives while the blackhole is on. */
  async #pipe(from: Deno.TcpConn, to: Deno.TcpConn): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    try {
      while (true) {
        const n = await from.read(buffer);
        if (n === null) break;
        if (this.blackhole) {
          this.dropped += n;
          continue;
        }
        let written = 0;
        while (written < n) written += await to.write(buffer.subarray(written, n));
      }
    } catch {
      // the connection was closed
    }
    // Passes the end on, as a relay does: the other side reads it and closes too.
    try {
      if (!this.blackhole) await to.closeWrite();
    } catch {
      // already closed
    }
  }

  /** Closes every relayed connection and stops listening. */
  async close(): Promise<void> {
    this.#listener.close();
    for (const conn of this.#connections) {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
    this.#connections.clear();
    await this.#done.catch(() => {});
  }
}
