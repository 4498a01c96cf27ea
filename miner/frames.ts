/**
 * JSON messages over a byte stream (the connection between a miner and its agent's process), each
 * framed by its length: 4 bytes, big-endian, then that many bytes of UTF-8 JSON.
 *
 * ```ts
 * const writer = conn.writable.getWriter();
 * await writeFrame(writer, encodeFrame({ kind: "step", id: 1 }));
 * for await (const message of readFrames(conn.readable)) handle(message);
 * ```
 * @module
 */

/**
 * The largest frame either side accepts, bytes: a state update may hold 256 MiB of JSON, and a
 * JavaScript string cannot be much longer than 512 Mi characters.
 */
export const MAX_FRAME_BYTES = 384 * 2 ** 20;

/**
 * The largest frame the agent's process sends, bytes: its largest message is a reply of 64 MiB of
 * JSON (what a validator reads), or that reply compressed, in base64 (4/3 of its size at worst).
 */
export const MAX_AGENT_FRAME_BYTES = 96 * 2 ** 20;

const HEADER_BYTES = 4;

/** A frame that cannot be sent or read; the message says why. */
export class FrameError extends Error {
  override name = "FrameError";
}

/** A frame larger than a message may hold; the message says how large. */
export class FrameSizeError extends FrameError {
  override name = "FrameSizeError";
}

/**
 * `value` as a frame's two parts (header, body); throws when JSON cannot carry it or it would be
 * larger than `maxBytes`.
 */
export function encodeFrame(
  value: unknown,
  maxBytes = MAX_FRAME_BYTES,
): [Uint8Array, Uint8Array] {
  const text = JSON.stringify(value);
  if (text === undefined) throw new FrameError(`${typeof value} cannot be sent as JSON`);
  const body = new TextEncoder().encode(text);
  if (body.length > maxBytes) {
    throw new FrameSizeError(
      `${mib(body.length)} MiB as JSON, more than a message may hold (${mib(maxBytes)} MiB)`,
    );
  }
  const header = new Uint8Array(HEADER_BYTES);
  new DataView(header.buffer).setUint32(0, body.length);
  return [header, body];
}

/** Writes a frame from {@linkcode encodeFrame}; the writer keeps frames in order. */
export async function writeFrame(
  writer: WritableStreamDefaultWriter<Uint8Array>,
  [header, body]: [Uint8Array, Uint8Array],
): Promise<void> {
  await Promise.all([writer.write(header), writer.write(body)]);
}

/** `bytes` in MiB, to one decimal. */
export function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}

/**
 * The JSON values framed in `stream`, in order, until it ends. A frame announcing more than
 * `maxBytes`, or a stream ending inside a frame, throws.
 */
export async function* readFrames(
  stream: ReadableStream<Uint8Array>,
  maxBytes = MAX_FRAME_BYTES,
): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  let pending: Uint8Array = new Uint8Array(0);
  /** The body being filled once its header is read, and how much of it is. */
  let body: Uint8Array | null = null;
  let filled = 0;
  for await (const chunk of stream) {
    let at = 0;
    while (at < chunk.length) {
      if (body === null) {
        // Headers may arrive split across chunks.
        const need = HEADER_BYTES - pending.length;
        const part = chunk.subarray(at, at + need);
        pending = concat(pending, part);
        at += part.length;
        if (pending.length < HEADER_BYTES) break;
        const length = new DataView(pending.buffer, pending.byteOffset).getUint32(0);
        if (length > maxBytes) {
          throw new FrameSizeError(
            `a frame of ${mib(length)} MiB, more than a message may hold ` +
              `(${mib(maxBytes)} MiB)`,
          );
        }
        pending = new Uint8Array(0);
        body = new Uint8Array(length);
        filled = 0;
      }
      const part = chunk.subarray(at, at + body.length - filled);
      body.set(part, filled);
      filled += part.length;
      at += part.length;
      if (filled === body.length) {
        const text = decoder.decode(body);
        body = null;
        yield JSON.parse(text);
      }
    }
  }
  if (body !== null || pending.length > 0) throw new FrameError("the stream ended inside a frame");
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}
