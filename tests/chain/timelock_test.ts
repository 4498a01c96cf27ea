import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { bls12_381 as bls } from "@noble/curves/bls12-381";
import { hexToU8a, u8aToHex } from "@polkadot/util";
import { timelockedWeightsPayload, timelockRevealRound } from "../../chain/commit.ts";
import {
  QUICKNET,
  quicknetRoundAt,
  serializeGt,
  timelockDecrypt,
  timelockEncrypt,
} from "../../chain/timelock.ts";

// drand quicknet's published signature of round 1000 (api.drand.sh/<chain hash>/public/1000).
const ROUND_1000_SIGNATURE = hexToU8a(
  "0xb44679b9a59af2ec876b1a6b1ad52ea9b1615fc3982b19576350f93447cb1125e342b73a8dd2bacbe47e4b6b63ed5e39",
);
const text = (s: string) => new TextEncoder().encode(s);

/** Deterministic bytes: SHA-256 of a counter, so ciphertexts are reproducible. */
function seeded(seed: number): (length: number) => Uint8Array {
  let counter = seed;
  return (length) => {
    const out = new Uint8Array(length);
    for (let at = 0; at < length; at += 32) {
      const block = createHash("sha256").update(String(counter++)).digest();
      out.set(block.subarray(0, Math.min(32, length - at)), at);
    }
    return out;
  };
}

Deno.test("the target group is serialised as arkworks does: e(G1, G2) matches its known bytes", () => {
  // arkworks' Fq12 serialisation of the pairing of the generators (48-byte little-endian
  // coefficients, c0 first), as published with arkworks-based BLS12-381 bindings; its first
  // coefficient is RELIC's reference value 0x1250ebd8…89b6 byte-reversed.
  const prefix =
    "b68917caaa0543a808c53908f694d1b6e7b38de90ce9d83d505ca1ef1b442d2727d7d06831d8b2a7920afc71" +
    "d8eb50120f17a0ea982a88591d9f43503e94a8f1abaf2e4589f65aafb7923c484540a868883432a5c60e75860b11e5" +
    "465b1c9a08";
  const bytes = serializeGt(bls.pairing(bls.G1.ProjectivePoint.BASE, bls.G2.ProjectivePoint.BASE));
  assert.equal(bytes.length, 576);
  assert.equal(u8aToHex(bytes.subarray(0, prefix.length / 2), -1, false), prefix);
});

Deno.test("a ciphertext for quicknet round 1000 opens with drand's real signature of that round", () => {
  const plaintext = text("weights for subnet 79");
  const sealed = timelockEncrypt(plaintext, 1000n);
  assert.deepEqual(timelockDecrypt(sealed, ROUND_1000_SIGNATURE), plaintext);
  // Fresh randomness each time: the same plaintext never gives the same ciphertext.
  assert.notDeepEqual(timelockEncrypt(plaintext, 1000n), sealed);
});

Deno.test("a ciphertext for another round does not open with round 1000's signature", () => {
  const sealed = timelockEncrypt(text("not yet"), 1001n);
  assert.throws(() => timelockDecrypt(sealed, ROUND_1000_SIGNATURE), /signature does not open it/);
});

Deno.test("the ciphertext has tle's layout: U, V, W, the AES-GCM body and the cipher suite", () => {
  const plaintext = text("0123456789");
  const random = seeded(7);
  const sealed = timelockEncrypt(plaintext, 1000n, { random });
  const expectedRandom = seeded(7);
  const key = expectedRandom(32);
  const sigma = expectedRandom(32);
  const nonce = expectedRandom(12);
  const u64 = (n: number) => "0x" + n.toString(16).padStart(2, "0") + "00".repeat(7);
  const view = (from: number, length: number) => sealed.subarray(from, from + length);
  // U = r·G2 with r = SHA-256(σ ‖ key) read big-endian, modulo the group order.
  const r = bls.fields.Fr.create(
    BigInt("0x" + createHash("sha256").update(sigma).update(key).digest("hex")),
  );
  assert.deepEqual(view(0, 96), bls.G2.ProjectivePoint.BASE.multiply(r).toRawBytes(true));
  assert.equal(u8aToHex(view(96, 8)), u64(32));
  assert.equal(u8aToHex(view(136, 8)), u64(32));
  // W = key ⊕ SHA-256(σ).
  const hashOfSigma = createHash("sha256").update(sigma).digest();
  assert.deepEqual(view(144, 32), key.map((b, i) => b ^ hashOfSigma[i]));
  const sealedLength = plaintext.length + 16;
  assert.equal(u8aToHex(view(176, 8)), u64(8 + sealedLength + 8 + 12));
  assert.equal(u8aToHex(view(184, 8)), u64(sealedLength));
  assert.equal(u8aToHex(view(192 + sealedLength, 8)), u64(12));
  assert.deepEqual(view(200 + sealedLength, 12), nonce);
  assert.equal(u8aToHex(view(212 + sealedLength, 8)), u64(8));
  assert.equal(new TextDecoder().decode(view(220 + sealedLength, 8)), "AES_GCM_");
  assert.equal(sealed.length, 228 + sealedLength);
});

Deno.test("malformed ciphertexts are refused with the part at fault", () => {
  const sealed = timelockEncrypt(text("x"), 1000n);
  assert.throws(() => timelockDecrypt(sealed.subarray(0, 50), ROUND_1000_SIGNATURE), /U is cut/);
  assert.throws(() => timelockDecrypt(sealed.subarray(0, 120), ROUND_1000_SIGNATURE), /V is cut/);
  const trailing = new Uint8Array(sealed.length + 1);
  trailing.set(sealed);
  assert.throws(() => timelockDecrypt(trailing, ROUND_1000_SIGNATURE), /trailing bytes/);
  const suite = sealed.slice();
  suite[suite.length - 1] ^= 1;
  assert.throws(() => timelockDecrypt(suite, ROUND_1000_SIGNATURE), /cipher suite/);
  const body = sealed.slice();
  body[200] ^= 1; // inside the AES ciphertext: the GCM tag no longer matches
  assert.throws(() => timelockDecrypt(body, ROUND_1000_SIGNATURE));
  assert.throws(() => timelockEncrypt(text("x"), -1n), /u64/);
});

Deno.test("the timelocked payload is SCALE (hotkey: Vec<u8>, uids, values: Vec<u16>, version: u64)", () => {
  const payload = timelockedWeightsPayload({
    hotkey: new Uint8Array(32).fill(1),
    uids: [0, 1],
    values: [65535, 1],
    versionKey: 19n,
  });
  assert.equal(
    u8aToHex(payload),
    "0x80" + "01".repeat(32) + "08" + "0000" + "0100" + "08" + "ffff" + "0100" +
      "1300000000000000",
  );
  assert.throws(
    () =>
      timelockedWeightsPayload({
        hotkey: new Uint8Array(31),
        uids: [],
        values: [],
        versionKey: 0n,
      }),
    /32-byte/,
  );
});

Deno.test("the reveal round is the last one published 3 blocks into the reveal epoch", () => {
  const genesis = QUICKNET.genesisTime;
  assert.equal(quicknetRoundAt(genesis + 300), 100n);
  assert.equal(quicknetRoundAt(genesis - 60), 1n, "rounds start at 1");
  // Between two rounds, the earlier one: round 101 is not out until 303 s.
  assert.equal(quicknetRoundAt(genesis + 302), 100n);
  // 1010 + 3 - 1000 = 13 blocks of 12 s: 156 s on top of round 100's 300 s.
  assert.equal(
    timelockRevealRound({
      nowSeconds: genesis + 300,
      currentBlock: 1000,
      firstRevealBlock: 1010,
      blockSeconds: 12,
    }),
    152n,
  );
  // A reveal epoch already under way: no waiting left.
  assert.equal(
    timelockRevealRound({
      nowSeconds: genesis + 300,
      currentBlock: 2000,
      firstRevealBlock: 1010,
      blockSeconds: 12,
    }),
    100n,
  );
});

Deno.test("a round past u64 is refused, not wrapped to round 0", () => {
  assert.throws(() => timelockEncrypt(text("w"), 1n << 64n), { name: "RangeError" });
  assert.throws(() => timelockEncrypt(text("w"), -1n), { name: "RangeError" });
});
