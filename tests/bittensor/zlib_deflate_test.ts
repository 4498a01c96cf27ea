import assert from "node:assert/strict";
import { inflateSync } from "node:zlib";
import { deflateZlib, deflateZlibText } from "../../bittensor/zlib_deflate.ts";

function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i += 65536) {
    crypto.getRandomValues(bytes.subarray(i, Math.min(length, i + 65536)));
  }
  return bytes;
}

const encoder = new TextEncoder();
const inputs: Record<string, Uint8Array> = {
  empty: new Uint8Array(0),
  json: encoder.encode(JSON.stringify({ "7": { cash: 1.5, orders: [1, 2, 3], name: "h\u00e9" } })),
  repetitive: encoder.encode("0123456789".repeat(100_000)),
  incompressible: randomBytes(300_000),
};

Deno.test("deflated bytes inflate to the input, with the window named in the zlib header", () => {
  for (const [name, input] of Object.entries(inputs)) {
    for (let windowBits = 9; windowBits <= 15; windowBits++) {
      for (const memLevel of [1, windowBits - 7, 8, 9]) {
        const packed = deflateZlib(input, windowBits, memLevel);
        assert.equal(packed[0], ((windowBits - 8) << 4) | 8, `${name} ${windowBits} header`);
        assert.equal((packed[0] * 256 + packed[1]) % 31, 0, `${name} header check`);
        assert.deepEqual(
          new Uint8Array(inflateSync(packed, { windowBits })),
          input,
          `${name} ${windowBits} ${memLevel}`,
        );
      }
    }
  }
});

Deno.test("a view into a larger buffer is compressed from its own bytes only", () => {
  const whole = encoder.encode("abc".repeat(1000) + "payload".repeat(50) + "xyz".repeat(1000));
  const view = whole.subarray(3000, 3000 + 7 * 50);
  const packed = deflateZlib(view, 15, 8);
  assert.equal(new TextDecoder().decode(inflateSync(packed)), "payload".repeat(50));
});

Deno.test("text is compressed as its UTF-8 bytes, non-ASCII and long text included", () => {
  const texts = [
    "",
    JSON.stringify({ name: "h\u00e9 \u20ac \u{1F600}", orders: [1.5, 2, 3] }),
    "\u20ac".repeat(40_000), // each unit 3 bytes: the input outgrows the text's length
    "x".repeat(70_000) + "\u00e9", // grows the pinned input after a short text
    "short again",
  ];
  for (const text of texts) {
    for (const windowBits of [9, 15]) {
      const packed = deflateZlibText(text, windowBits, 8);
      assert.equal(new TextDecoder().decode(inflateSync(packed)), text, text.slice(0, 20));
    }
  }
});

Deno.test("without FFI permission node:zlib compresses, to data that inflates the same", async () => {
  const module = new URL("../../bittensor/zlib_deflate.ts", import.meta.url).href;
  const script = `import { deflateZlib, deflateZlibText } from "${module}";
    const packed = deflateZlib(new TextEncoder().encode("fallback ".repeat(100)), 10, 3);
    const text = deflateZlibText("fallback ".repeat(100), 10, 3);
    console.log(btoa(String.fromCharCode(...packed)), btoa(String.fromCharCode(...text)));`;
  let packed: Uint8Array[];
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, script);
    // No permission flags: the child may not open libraries.
    const { code, stdout } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", "--no-prompt", file],
      stderr: "inherit",
    }).output();
    assert.equal(code, 0);
    packed = new TextDecoder().decode(stdout).trim().split(" ").map((line) =>
      Uint8Array.from(atob(line), (c) => c.charCodeAt(0))
    );
  } finally {
    await Deno.remove(file);
  }
  assert.equal(packed.length, 2);
  for (const p of packed) {
    assert.equal(new TextDecoder().decode(inflateSync(p)), "fallback ".repeat(100));
  }
});
