import assert from "node:assert/strict";
import { sr25519PairFromSeed } from "@polkadot/util-crypto";
import { sr25519_sign as wasmSign } from "@polkadot-labs/schnorrkel-wasm";
import { cryptoReady, schnorrkelWasmVerify } from "../../bittensor/keypair.ts";

await cryptoReady();

const GROUP_ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;

/** Seeded bytes (mulberry32), so that a failure comes back on every run. */
let seedState = 79;
function random(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    seedState = (seedState + 0x6D2B79F5) | 0;
    let t = Math.imul(seedState ^ (seedState >>> 15), 1 | seedState);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = (t ^ (t >>> 14)) & 0xff;
  }
  return out;
}

/** The signature with s replaced by `s` (marker bit set). */
function withScalar(signature: Uint8Array, s: bigint): Uint8Array {
  const out = signature.slice();
  for (let i = 32; i < 64; i++) {
    out[i] = Number(s & 0xffn);
    s >>= 8n;
  }
  out[63] |= 0x80;
  return out;
}

function scalarOf(signature: Uint8Array): bigint {
  let s = 0n;
  for (let i = 63; i >= 32; i--) {
    s = (s << 8n) | BigInt(i === 63 ? signature[i] & 0x7f : signature[i]);
  }
  return s;
}

Deno.test("schnorrkel WASM verify: malformed signatures and keys are refused without reaching it", () => {
  const pair = sr25519PairFromSeed(random(32));
  const message = random(48);
  const signature = wasmSign(pair.publicKey, pair.secretKey, message);
  assert.equal(schnorrkelWasmVerify(pair.publicKey, message, signature), true);

  const unmarked = signature.slice();
  unmarked[63] &= 0x7f;
  const widened = withScalar(signature, scalarOf(signature) + GROUP_ORDER);
  const highest = withScalar(signature, (1n << 255n) - 1n);
  const atOrder = withScalar(signature, GROUP_ORDER);
  const notAPoint = new Uint8Array(32).fill(0xff);
  const negative = pair.publicKey.slice();
  negative[0] |= 1; // an odd s: not a canonical Ristretto255 encoding
  const malformed: [Uint8Array, Uint8Array][] = [
    [pair.publicKey, unmarked],
    [pair.publicKey, widened],
    [pair.publicKey, highest],
    [pair.publicKey, atOrder],
    [notAPoint, signature],
    [negative, signature],
  ];
  // The WASM build panics on each of these instead of returning false, and after about 1,200
  // panics it refuses every signature: a caller could lock out everyone else.
  for (let i = 0; i < 1500; i++) {
    const [key, bad] = malformed[i % malformed.length];
    assert.equal(
      schnorrkelWasmVerify(key, message, bad),
      false,
      `malformed case ${i % malformed.length}`,
    );
  }
  for (let i = 0; i < 20; i++) {
    const other = sr25519PairFromSeed(random(32));
    const text = random(i * 13);
    const good = wasmSign(other.publicKey, other.secretKey, text);
    assert.equal(schnorrkelWasmVerify(other.publicKey, text, good), true, `valid signature ${i}`);
    assert.equal(schnorrkelWasmVerify(other.publicKey, random(i * 13 + 1), good), false);
  }
});

Deno.test("schnorrkel WASM verify: a key array changed after a check is checked again", () => {
  const pair = sr25519PairFromSeed(random(32));
  const message = random(10);
  const signature = wasmSign(pair.publicKey, pair.secretKey, message);
  const key = pair.publicKey.slice();
  assert.equal(schnorrkelWasmVerify(key, message, signature), true);
  key.fill(0xff);
  assert.equal(schnorrkelWasmVerify(key, message, signature), false);
  key.set(pair.publicKey);
  assert.equal(schnorrkelWasmVerify(key, message, signature), true);
});
