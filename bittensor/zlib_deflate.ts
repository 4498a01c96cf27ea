/**
 * zlib deflate (RFC 1950) at the default level 6, through the system's `libz.so.1` when it can be
 * opened, else `node:zlib`. The system library lets one stream per window size be reset and reused:
 * `node:zlib` sets up a new stream, with its window and hash tables, on every call, which costs as
 * much as compressing the few kB of a miner's accounts. Both produce standard zlib data; the bytes
 * may differ between the two libraries, never what they decompress to.
 *
 * ```ts
 * const packed = deflateZlib("{}", 9, 2); // Uint8Array, valid until the next call
 * ```
 * @module
 */
import { Buffer } from "node:buffer";
import { deflateSync } from "node:zlib";

/** zlib's default compression level (what `zlib.compress` uses in Python). */
const LEVEL = 6;

/**
 * Compresses `text` as UTF-8 with the given window (9..15) and memory level (1..9). The result is
 * a view into a buffer the next call reuses: copy or encode it before compressing again.
 */
export function deflateZlib(text: string, windowBits: number, memLevel: number): Uint8Array {
  return (systemZlib ??= openSystemZlib())?.deflate(text, windowBits, memLevel) ??
    deflateSync(Buffer.from(text, "utf8"), { level: LEVEL, windowBits, memLevel });
}

const Z_OK = 0;
const Z_STREAM_END = 1;
const Z_FINISH = 4;
const Z_DEFLATED = 8;
const Z_DEFAULT_STRATEGY = 0;

/** `sizeof(z_stream)` and its field offsets on 64-bit Linux (LP64: pointers and longs 8 bytes). */
const Z_STREAM_BYTES = 112;
const NEXT_IN = 0;
const AVAIL_IN = 8;
const NEXT_OUT = 24;
const AVAIL_OUT = 32;
const TOTAL_OUT = 40;

const SYMBOLS = {
  zlibVersion: { parameters: [], result: "pointer" },
  deflateInit2_: {
    parameters: ["buffer", "i32", "i32", "i32", "i32", "i32", "buffer", "i32"],
    result: "i32",
  },
  deflateReset: { parameters: ["buffer"], result: "i32" },
  deflateBound: { parameters: ["buffer", "u64"], result: "u64" },
  deflate: { parameters: ["buffer", "i32"], result: "i32" },
} as const;

/** Not yet tried: `undefined`; unavailable: `null`. */
let systemZlib: SystemZlib | null | undefined;

function openSystemZlib(): SystemZlib | null {
  if (Deno.build.os !== "linux" || !["x86_64", "aarch64"].includes(Deno.build.arch)) return null;
  try {
    const library = Deno.dlopen("libz.so.1", SYMBOLS);
    const version = library.symbols.zlibVersion();
    if (version === null || !Deno.UnsafePointerView.getCString(version).startsWith("1.")) {
      library.close();
      return null;
    }
    return new SystemZlib(library, Deno.UnsafePointerView.getCString(version));
  } catch {
    // No FFI permission or no libz.so.1: node:zlib does the work.
    return null;
  }
}

/** A growable byte buffer whose memory address is known (it does not move once allocated). */
class PinnedBuffer {
  bytes = new Uint8Array(0);
  address = 0n;

  ensure(length: number): void {
    if (this.bytes.byteLength >= length) return;
    this.bytes = new Uint8Array(new ArrayBuffer(Math.max(length, 2 * this.bytes.byteLength)));
    this.address = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(this.bytes)));
  }
}

class SystemZlib {
  readonly #library: Deno.DynamicLibrary<typeof SYMBOLS>;
  readonly #version: Uint8Array<ArrayBuffer>;
  /**
   * One initialised `z_stream` per window size, kept for the life of the process: zlib's state
   * points back at the struct, so it must stay where it is (an ArrayBuffer's memory does not move).
   */
  readonly #streams = new Map<string, DataView<ArrayBuffer>>();
  readonly #input = new PinnedBuffer();
  readonly #output = new PinnedBuffer();
  readonly #encoder = new TextEncoder();

  constructor(library: Deno.DynamicLibrary<typeof SYMBOLS>, version: string) {
    this.#library = library;
    this.#version = new TextEncoder().encode(`${version}\0`);
  }

  /**
   * The compressed UTF-8 bytes of `text`, or null when zlib refuses (the caller falls back to
   * node:zlib). `encodeInto` writes straight into the pinned input, a fraction of the cost of
   * encoding to a new buffer first (a UTF-8 character takes at most 3 bytes per UTF-16 unit).
   */
  deflate(text: string, windowBits: number, memLevel: number): Uint8Array | null {
    this.#input.ensure(text.length * 3);
    const { written: length } = this.#encoder.encodeInto(text, this.#input.bytes);
    const zlib = this.#library.symbols;
    const stream = this.#stream(windowBits, memLevel);
    if (stream === null) return null;
    const bound = Number(zlib.deflateBound(stream, BigInt(length)));
    this.#output.ensure(bound);
    stream.setBigUint64(NEXT_IN, this.#input.address, true);
    stream.setUint32(AVAIL_IN, length, true);
    stream.setBigUint64(NEXT_OUT, this.#output.address, true);
    stream.setUint32(AVAIL_OUT, bound, true);
    const result = zlib.deflate(stream, Z_FINISH);
    const produced = Number(stream.getBigUint64(TOTAL_OUT, true));
    if (zlib.deflateReset(stream) !== Z_OK || result !== Z_STREAM_END) return null;
    return this.#output.bytes.subarray(0, produced);
  }

  #stream(windowBits: number, memLevel: number): DataView<ArrayBuffer> | null {
    const key = `${windowBits} ${memLevel}`;
    let stream = this.#streams.get(key);
    if (stream === undefined) {
      stream = new DataView(new ArrayBuffer(Z_STREAM_BYTES));
      const result = this.#library.symbols.deflateInit2_(
        stream,
        LEVEL,
        Z_DEFLATED,
        windowBits,
        memLevel,
        Z_DEFAULT_STRATEGY,
        this.#version,
        Z_STREAM_BYTES,
      );
      if (result !== Z_OK) return null;
      this.#streams.set(key, stream);
    }
    return stream;
  }
}
