import assert from "node:assert/strict";
import { sr25519PairFromSeed } from "@polkadot/util-crypto";
import { hexToU8a, u8aToHex } from "@polkadot/util";
import {
  sr25519_pubkey as wasmPublicKey,
  sr25519_sign as wasmSign,
  sr25519_verify as wasmVerify,
} from "@polkadot-labs/schnorrkel-wasm";
import {
  cryptoReady,
  Keypair,
  polkadotToCanonicalSecret,
  schnorrkelWasmVerify,
} from "../../bittensor/keypair.ts";
import { sr25519Native } from "../../bittensor/sr25519_native.ts";
import { fileURLToPath } from "node:url";

await cryptoReady();

const GROUP_ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;

function native() {
  const backend = sr25519Native();
  assert.notEqual(
    backend,
    null,
    "the native library builds and loads on a machine with a C compiler",
  );
  return backend!;
}

/** mulberry32 from a fixed seed: the keys, messages and flipped bits are the same at every run,
 * so a failure can be run again (schnorrkel's own signing nonces stay random). */
let seedState = 79;
function next32(): number {
  seedState = (seedState + 0x6D2B79F5) | 0;
  let t = Math.imul(seedState ^ (seedState >>> 15), 1 | seedState);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return (t ^ (t >>> 14)) >>> 0;
}

function random(length: number): Uint8Array {
  return Uint8Array.from({ length }, () => next32() & 0xff);
}

/** WASM schnorrkel panics (throws) on a malformed signature instead of returning false. */
function wasmAccepts(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return wasmVerify(publicKey, message, signature);
  } catch {
    return false;
  }
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[bit >> 3] ^= 1 << (bit & 7);
  return out;
}

function randomInt(below: number): number {
  return Math.floor((next32() / 2 ** 32) * below);
}

function readLe(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
  return value;
}

function writeLe(value: bigint, out: Uint8Array): void {
  for (let i = 0; i < out.length; i++) {
    out[i] = Number(value & 0xffn);
    value >>= 8n;
  }
}

Deno.test("sr25519 native: //Alice public key (known answer)", () => {
  const alice = Keypair.fromUri("//Alice");
  const expected = "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d";
  assert.equal(u8aToHex(alice.publicKey), expected);
  assert.equal(u8aToHex(native().publicKey(alice.privateKey!)), expected);
});

Deno.test("sr25519 native: interoperates with the WASM schnorrkel both ways", () => {
  const sr = native();
  for (let i = 0; i < 400; i++) {
    const pair = sr25519PairFromSeed(random(32));
    const canonical = polkadotToCanonicalSecret(pair.secretKey);
    assert.deepEqual(sr.publicKey(canonical), pair.publicKey);
    assert.deepEqual(wasmPublicKey(pair.secretKey), pair.publicKey);
    const message = random(i % 301);
    const ours = sr.sign(pair.publicKey, canonical, message);
    assert.equal(ours[63] & 0x80, 0x80, "schnorrkel marker bit");
    assert.ok(wasmVerify(pair.publicKey, message, ours), `WASM rejects native signature ${i}`);
    assert.ok(sr.verify(pair.publicKey, message, ours));
    const theirs = wasmSign(pair.publicKey, pair.secretKey, message);
    assert.ok(sr.verify(pair.publicKey, message, theirs), `native rejects WASM signature ${i}`);

    if (message.length > 0) {
      const tampered = flipBit(message, randomInt(message.length * 8));
      assert.equal(sr.verify(pair.publicKey, tampered, ours), false);
    }
    assert.equal(sr.verify(pair.publicKey, message, flipBit(ours, randomInt(256))), false, "R");
    assert.equal(sr.verify(pair.publicKey, message, flipBit(ours, 256 + randomInt(255))), false);
    assert.equal(sr.verify(flipBit(pair.publicKey, randomInt(256)), message, ours), false);
    assert.equal(sr.verify(pair.publicKey, random(i % 301 + 1), ours), false);
  }
});

Deno.test("sr25519 native: the marker bit and a canonical s are required", () => {
  const sr = native();
  for (let i = 0; i < 50; i++) {
    const pair = sr25519PairFromSeed(random(32));
    const canonical = polkadotToCanonicalSecret(pair.secretKey);
    const message = random(i);
    const signature = sr.sign(pair.publicKey, canonical, message);

    const unmarked = signature.slice();
    unmarked[63] &= 0x7f;
    assert.equal(sr.verify(pair.publicKey, message, unmarked), false);
    // The WASM build logs a panic for each rejection: once shows both agree.
    if (i === 0) assert.equal(wasmAccepts(pair.publicKey, message, unmarked), false);

    // s + l is the same scalar mod l but not its canonical encoding.
    const s = readLe(signature.subarray(32)) & ((1n << 255n) - 1n);
    const widened = signature.slice();
    writeLe(s + GROUP_ORDER, widened.subarray(32));
    widened[63] |= 0x80;
    assert.equal(sr.verify(pair.publicKey, message, widened), false);
    if (i === 0) assert.equal(wasmAccepts(pair.publicKey, message, widened), false);

    assert.equal(sr.verify(pair.publicKey.subarray(0, 31), message, signature), false);
    assert.equal(sr.verify(pair.publicKey, message, signature.subarray(0, 63)), false);
  }
});

Deno.test("sr25519 native: signatures differ per call (fresh witness) and all verify", () => {
  const sr = native();
  const pair = sr25519PairFromSeed(random(32));
  const canonical = polkadotToCanonicalSecret(pair.secretKey);
  const message = new TextEncoder().encode("same message");
  const seen = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const signature = sr.sign(pair.publicKey, canonical, message);
    assert.ok(wasmVerify(pair.publicKey, message, signature));
    seen.add(u8aToHex(signature.subarray(0, 32)));
  }
  assert.equal(seen.size, 20);
});

Deno.test("sr25519 native: Keypair signs and verifies through it, with <Bytes> wrapping", () => {
  const bob = Keypair.fromUri("//Bob");
  const signature = bob.sign("hello");
  assert.ok(wasmVerify(bob.publicKey, new TextEncoder().encode("hello"), signature));
  assert.ok(Keypair.verify("hello", signature, bob.ss58Address));
  assert.equal(Keypair.verify("hellO", signature, bob.ss58Address), false);
  const wrapped = wasmSign(
    bob.publicKey,
    bob.toPolkadotPair().secretKey,
    new TextEncoder().encode("<Bytes>hello</Bytes>"),
  );
  assert.ok(Keypair.verify("hello", wrapped, bob.ss58Address));
});

Deno.test("sr25519 native: a reused public-key array is re-prepared when its bytes change", () => {
  const sr = native();
  const pairs = [0, 1].map(() => sr25519PairFromSeed(random(32)));
  const message = random(40);
  const signatures = pairs.map((pair) =>
    sr.sign(pair.publicKey, polkadotToCanonicalSecret(pair.secretKey), message)
  );
  const key = pairs[0].publicKey.slice();
  assert.ok(sr.verify(key, message, signatures[0]));
  assert.ok(sr.verify(key, message, signatures[0]));
  key.set(pairs[1].publicKey);
  assert.equal(sr.verify(key, message, signatures[0]), false);
  assert.ok(sr.verify(key, message, signatures[1]));
  key[0] ^= 1; // odd: not an encoding
  assert.equal(sr.verify(key, message, signatures[1]), false);
  key[0] ^= 1;
  assert.ok(sr.verify(key, message, signatures[1]));
});

Deno.test("sr25519 native: the identity public key behaves as in schnorrkel", () => {
  const sr = native();
  const identity = new Uint8Array(32);
  const message = random(10);
  const signature = sr.sign(identity, new Uint8Array(64), message);
  assert.ok(sr.verify(identity, message, signature));
  assert.ok(wasmAccepts(identity, message, signature));
});

Deno.test("sr25519 native: signatures written without a secret pass only where schnorrkel's do", () => {
  const sr = native();
  const message = new TextEncoder().encode("forged");
  const basepoint = hexToU8a("0xe2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76");
  const signature = (r: Uint8Array, s: bigint) => {
    const out = new Uint8Array(64);
    out.set(r);
    writeLe(s, out.subarray(32));
    out[63] |= 0x80;
    return out;
  };
  const zero = new Uint8Array(32);
  // Under the identity key, (R, s) verifies for any message when R = s*B; s + l is the same
  // scalar but not its canonical encoding.
  const identityCases: [Uint8Array, boolean][] = [
    [signature(zero, 0n), true],
    [signature(zero, GROUP_ORDER), false],
    [signature(basepoint, 1n), true],
    [signature(basepoint, GROUP_ORDER + 1n), false],
  ];
  for (const [forged, expected] of identityCases) {
    assert.equal(sr.verify(zero, message, forged), expected);
    assert.equal(schnorrkelWasmVerify(zero, message, forged), expected);
  }
  // Keys that are no Ristretto255 point (RFC 9496 A.2: x^2 not a square, negative xy, s = -1)
  // verify nothing, R = 0 included, on the first sighting and on the prepared path after it.
  const invalidKeys = [
    "0x26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371",
    "0x3eb858e78f5a7254d8c9731174a94f76755fd3941c0ac93735c07ba14579630e",
    "0xecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  ].map((key) => hexToU8a(key));
  for (const key of invalidKeys) {
    for (let sighting = 0; sighting < 3; sighting++) {
      assert.equal(sr.verify(key, message, signature(zero, 1n)), false);
    }
    assert.equal(schnorrkelWasmVerify(key, message, signature(zero, 1n)), false);
  }
});

Deno.test("sr25519: without FFI permission Keypair falls back to WASM, interoperably", async () => {
  const keypair = new URL("../../bittensor/keypair.ts", import.meta.url).href;
  const binding = new URL("../../bittensor/sr25519_native.ts", import.meta.url).href;
  const script = `import { cryptoReady, Keypair } from "${keypair}";
    import { sr25519Native } from "${binding}";
    await cryptoReady();
    const alice = Keypair.fromUri("//Alice");
    const signature = alice.sign("fallback");
    console.log(JSON.stringify({
      native: sr25519Native() !== null,
      verified: Keypair.verify("fallback", signature, alice.ss58Address),
      signature: Array.from(signature),
    }));`;
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  let result: { native: boolean; verified: boolean; signature: number[] };
  try {
    await Deno.writeTextFile(file, script);
    const { code, stdout } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--config",
        fileURLToPath(new URL("../../deno.json", import.meta.url)),
        "--no-prompt",
        "--allow-env",
        "--allow-read",
        "--allow-run",
        file,
      ],
      stderr: "inherit",
    }).output();
    assert.equal(code, 0);
    result = JSON.parse(new TextDecoder().decode(stdout));
  } finally {
    await Deno.remove(file);
  }
  assert.equal(result.native, false);
  assert.ok(result.verified);
  const alice = Keypair.fromUri("//Alice");
  assert.ok(
    native().verify(
      alice.publicKey,
      new TextEncoder().encode("fallback"),
      new Uint8Array(result.signature),
    ),
  );
});
