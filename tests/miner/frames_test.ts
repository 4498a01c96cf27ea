import assert from "node:assert/strict";
import {
  encodeFrame,
  MAX_AGENT_FRAME_BYTES,
  MAX_FRAME_BYTES,
  readFrames,
} from "../../miner/frames.ts";

/** A stream giving `bytes` in chunks of `size` bytes. */
function chunked(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

function joined(parts: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return all;
}

async function collect(
  stream: ReadableStream<Uint8Array>,
  maxBytes?: number,
): Promise<unknown[]> {
  const values: unknown[] = [];
  for await (const value of readFrames(stream, maxBytes)) values.push(value);
  return values;
}

const messages = [{ kind: "step", id: 1, text: "ä😀".repeat(50) }, null, [1, 2, 3], "x"];
const bytes = joined(messages.flatMap((m) => encodeFrame(m)));

Deno.test("frames are read back in order however the stream cuts them, headers included", async () => {
  for (const size of [1, 3, 4, 5, 7, 64, bytes.length]) {
    assert.deepEqual(await collect(chunked(bytes, size)), messages, `chunks of ${size}`);
  }
});

Deno.test("a stream ending inside a frame, or a frame announcing too much, is an error", async () => {
  await assert.rejects(
    collect(chunked(bytes.subarray(0, bytes.length - 1), 16)),
    /the stream ended inside a frame/,
  );
  // Inside the next frame's header: the first frame whole, then 2 of the 4 header bytes.
  const first = encodeFrame(messages[0]);
  await assert.rejects(
    collect(chunked(bytes.subarray(0, first[0].length + first[1].length + 2), 16)),
    /the stream ended inside a frame/,
  );
  const header = new Uint8Array(4);
  new DataView(header.buffer).setUint32(0, MAX_FRAME_BYTES + 1);
  await assert.rejects(
    collect(chunked(header, 4)),
    /a frame of 384\.0 MiB, more than a message may hold \(384\.0 MiB\)/,
  );
});

Deno.test("a frame of exactly the bound is accepted, on both sides", async () => {
  // A header announcing exactly the bound is read on (the stream then ends inside that frame).
  const header = new Uint8Array(4);
  new DataView(header.buffer).setUint32(0, 16);
  await assert.rejects(collect(chunked(header, 4), 16), /the stream ended inside a frame/);
  // A JSON string of 14 characters and its 2 quotes is 16 bytes: the bound itself.
  const [, body] = encodeFrame("x".repeat(14), 16);
  assert.equal(body.length, 16);
  assert.throws(() => encodeFrame("x".repeat(15), 16), /0\.0 MiB as JSON/);
  assert.deepEqual(await collect(chunked(joined(encodeFrame("x".repeat(14), 16)), 5), 16), [
    "x".repeat(14),
  ]);
});

Deno.test("a value JSON cannot carry is refused as it is framed", () => {
  assert.throws(() => encodeFrame(10n), /BigInt/);
  assert.throws(() => encodeFrame(undefined), /undefined cannot be sent as JSON/);
});

Deno.test("what the agent's process sends is held to a lower bound, on both sides", async () => {
  assert.equal(MAX_AGENT_FRAME_BYTES, 96 * 2 ** 20);
  const header = new Uint8Array(4);
  new DataView(header.buffer).setUint32(0, MAX_AGENT_FRAME_BYTES + 1);
  await assert.rejects(
    collect(chunked(header, 4), MAX_AGENT_FRAME_BYTES),
    /a frame of 96\.0 MiB, more than a message may hold \(96\.0 MiB\)/,
  );
  // 3 bytes of UTF-8 per character: 33 Mi characters are 99 MiB.
  const text = "€".repeat(33 * 2 ** 20);
  assert.throws(
    () => encodeFrame(text, MAX_AGENT_FRAME_BYTES),
    /99\.0 MiB as JSON, more than a message may hold \(96\.0 MiB\)/,
  );
  assert.equal(encodeFrame(text)[1].length, 99 * 2 ** 20 + 2);
});
