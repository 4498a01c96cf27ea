import assert from "node:assert/strict";
import { inflateSync } from "node:zlib";
import { deflateZlib } from "../../bittensor/zlib_deflate.ts";

/** Random code points below the surrogates: 1 to 3 UTF-8 bytes each, barely compressible. */
function randomText(length: number): string {
  const units = new Uint16Array(length);
  for (let i = 0; i < length; i += 32768) {
    crypto.getRandomValues(units.subarray(i, Math.min(length, i + 32768)));
  }
  return Array.from(units, (u) => String.fromCharCode(u % 0xd800)).join("");
}

const inputs: Record<string, string> = {
  empty: "",
  json: JSON.stringify({ "7": { cash: 1.5, orders: [1, 2, 3], name: "h\u00e9" } }),
  repetitive: "0123456789".repeat(100_000),
  incompressible: randomText(100_000),
};

Deno.test("deflated text inflates to its UTF-8 bytes, with the window named in the zlib header", () => {
  for (const [name, input] of Object.entries(inputs)) {
    for (let windowBits = 9; windowBits <= 15; windowBits++) {
      for (const memLevel of [1, windowBits - 7, 8, 9]) {
        const packed = deflateZlib(input, windowBits, memLevel);
        assert.equal(packed[0], ((windowBits - 8) << 4) | 8, `${name} ${windowBits} header`);
        assert.equal((packed[0] * 256 + packed[1]) % 31, 0, `${name} header check`);
        // FLEVEL 2 is what zlib writes for the default level 6 (Python's zlib.compress).
        assert.equal(packed[1] >> 6, 2, `${name} level`);
        assert.equal(
          new TextDecoder().decode(inflateSync(packed, { windowBits })),
          input,
          `${name} ${windowBits} ${memLevel}`,
        );
      }
    }
  }
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
      const packed = deflateZlib(text, windowBits, 8);
      assert.equal(new TextDecoder().decode(inflateSync(packed)), text, text.slice(0, 20));
    }
  }
});

Deno.test("without FFI permission node:zlib compresses, to data that inflates the same", async () => {
  const module = new URL("../../bittensor/zlib_deflate.ts", import.meta.url).href;
  const script = `import { deflateZlib } from "${module}";
    const packed = deflateZlib("fallback ".repeat(100), 10, 3);
    console.log(btoa(String.fromCharCode(...packed)));`;
  let packed: Uint8Array;
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, script);
    // No permission flags: the child may not open libraries.
    const { code, stdout } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", "--no-prompt", file],
      stderr: "inherit",
    }).output();
    assert.equal(code, 0);
    packed = Uint8Array.from(atob(new TextDecoder().decode(stdout).trim()), (c) => c.charCodeAt(0));
  } finally {
    await Deno.remove(file);
  }
  assert.equal(new TextDecoder().decode(inflateSync(packed)), "fallback ".repeat(100));
  assert.equal(packed[1] >> 6, 2, "default level 6");
});
