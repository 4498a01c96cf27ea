/**
 * Timelock encryption to a future drand quicknet round, in the ciphertext format the subtensor
 * runtime decrypts for timelocked weight commits (commit-reveal v4): the Boneh-Franklin
 * FullIdent scheme on BLS12-381 with identities hashed to G1 and the beacon key in G2, wrapping
 * an AES-256-GCM key, serialised as arkworks' compressed encoding of the Rust `tle` crate's
 * `TLECiphertext`. Nothing here talks to drand: the chain decrypts once the round's pulse is
 * stored, so only the round number is needed.
 *
 * The encoding (integers little-endian, `vec` = u64 length then the bytes):
 * `U` (compressed G2, 96 bytes) · `vec(V)` · `vec(W)` · `vec(vec(aes ciphertext ‖ tag) ·
 * vec(nonce))` · `vec("AES_GCM_")`, with `V = σ ⊕ SHA-256(ser(e(Q_id, r·P_pub)))`,
 * `W = key ⊕ SHA-256(σ)`, `r = SHA-256(σ ‖ key) mod q` (big-endian), `U = r·G2` and
 * `Q_id = hash_to_G1(SHA-256(round as u64 big-endian))` under the quicknet DST. `ser` of a target
 * group element is its 12 base-field coefficients, 48 bytes little-endian each, `c0` first at
 * every level of the tower.
 *
 * ```ts
 * const sealed = timelockEncrypt(new TextEncoder().encode("weights"), 1_000n);
 * const opened = timelockDecrypt(sealed, signatureOfRound1000); // the round's beacon signature
 * ```
 * @module
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { bls12_381 as bls } from "@noble/curves/bls12-381";
import { u8aConcat } from "@polkadot/util";

/** drand quicknet: unchained rounds every 3 s, G1 signatures (RFC 9380 hash-to-curve). */
export const QUICKNET = {
  chainHash: "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971",
  publicKey: "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a" +
    "5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76e" +
    "ae8991ef5ece45a",
  genesisTime: 1_692_803_367,
  periodSeconds: 3,
  dst: "BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_",
} as const;

const CIPHER_SUITE = new TextEncoder().encode("AES_GCM_");
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const G2_BYTES = 96;
const G1 = bls.G1.ProjectivePoint;
const G2 = bls.G2.ProjectivePoint;
const Fr = bls.fields.Fr;
type Gt = ReturnType<typeof bls.pairing>;

function sha256(...parts: Uint8Array[]): Uint8Array {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

function xor32(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = a[i] ^ b[i];
  return out;
}

/** arkworks' serialisation of a target-group element (576 bytes), which `V` hashes. */
export function serializeGt(value: Gt): Uint8Array {
  const out = new Uint8Array(576);
  let at = 0;
  for (const c6 of [value.c0, value.c1]) {
    for (const c2 of [c6.c0, c6.c1, c6.c2]) {
      for (let coefficient of [c2.c0, c2.c1]) {
        for (let i = 0; i < 48; i++, at++) {
          out[at] = Number(coefficient & 0xffn);
          coefficient >>= 8n;
        }
      }
    }
  }
  return out;
}

/** `SHA-256(σ ‖ key)` read big-endian, reduced modulo the group order (never 0 in practice). */
function ibeScalar(sigma: Uint8Array, key: Uint8Array): bigint {
  let value = 0n;
  for (const byte of sha256(sigma, key)) value = (value << 8n) | BigInt(byte);
  return Fr.create(value);
}

/** The G1 identity point of a round: what the beacon signs for it. */
function roundIdentity(round: bigint): InstanceType<typeof G1> {
  const message = new Uint8Array(8);
  new DataView(message.buffer).setBigUint64(0, round, false);
  return G1.fromAffine(bls.G1.hashToCurve(sha256(message), { DST: QUICKNET.dst }).toAffine());
}

function vec(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + bytes.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(bytes.length), true);
  out.set(bytes, 8);
  return out;
}

/** Source of randomness; tests pass a seeded one to get fixed ciphertexts. */
export type RandomBytes = (length: number) => Uint8Array;

const systemRandom: RandomBytes = (length) => new Uint8Array(randomBytes(length));

/** Encrypts `plaintext` so that it opens with the quicknet signature of `round`. */
export function timelockEncrypt(
  plaintext: Uint8Array,
  round: bigint,
  options: { random?: RandomBytes } = {},
): Uint8Array {
  if (round < 0n || round >= 1n << 64n) throw new RangeError("round must be a u64");
  const random = options.random ?? systemRandom;
  const beacon = G2.fromHex(QUICKNET.publicKey);
  const key = random(32);
  const sigma = random(32);
  const r = ibeScalar(sigma, key);
  const u = G2.BASE.multiply(r);
  const shared = bls.pairing(roundIdentity(round), beacon.multiply(r));
  const v = xor32(sigma, sha256(serializeGt(shared)));
  const w = xor32(key, sha256(sigma));

  const nonce = random(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  const sealed = u8aConcat(cipher.update(plaintext), cipher.final(), cipher.getAuthTag());
  const body = u8aConcat(vec(sealed), vec(nonce));
  return u8aConcat(u.toRawBytes(true), vec(v), vec(w), vec(body), vec(CIPHER_SUITE));
}

/** Reads the `vec` at `at`; throws when it runs past the end. */
function readVec(bytes: Uint8Array, at: number, what: string): [Uint8Array, number] {
  if (at + 8 > bytes.length) throw new Error(`timelock ciphertext: ${what} is cut short`);
  const length = new DataView(bytes.buffer, bytes.byteOffset + at, 8).getBigUint64(0, true);
  if (length > BigInt(bytes.length - at - 8)) {
    throw new Error(`timelock ciphertext: ${what} is cut short`);
  }
  const end = at + 8 + Number(length);
  return [bytes.subarray(at + 8, end), end];
}

/**
 * Opens a ciphertext of {@link timelockEncrypt} with the beacon's signature of its round
 * (compressed G1, 48 bytes), as the chain does. Throws when the signature is not the round's or
 * the ciphertext is malformed.
 */
export function timelockDecrypt(ciphertext: Uint8Array, signature: Uint8Array): Uint8Array {
  if (ciphertext.length < G2_BYTES) throw new Error("timelock ciphertext: U is cut short");
  const u = G2.fromHex(ciphertext.subarray(0, G2_BYTES));
  const [v, afterV] = readVec(ciphertext, G2_BYTES, "V");
  const [w, afterW] = readVec(ciphertext, afterV, "W");
  const [body, afterBody] = readVec(ciphertext, afterW, "body");
  const [suite, end] = readVec(ciphertext, afterBody, "cipher suite");
  if (end !== ciphertext.length) throw new Error("timelock ciphertext: trailing bytes");
  if (v.length !== 32 || w.length !== 32) {
    throw new Error("timelock ciphertext: V and W must be 32 bytes");
  }
  if (suite.length !== CIPHER_SUITE.length || !suite.every((b, i) => b === CIPHER_SUITE[i])) {
    throw new Error("timelock ciphertext: the cipher suite is not AES_GCM_");
  }
  const sigma = xor32(v, sha256(serializeGt(bls.pairing(G1.fromHex(signature), u))));
  const key = xor32(w, sha256(sigma));
  if (!G2.BASE.multiply(ibeScalar(sigma, key)).equals(u)) {
    throw new Error("timelock ciphertext: the signature does not open it");
  }
  const [sealed, afterSealed] = readVec(body, 0, "AES ciphertext");
  const [nonce, bodyEnd] = readVec(body, afterSealed, "AES nonce");
  if (bodyEnd !== body.length || nonce.length !== NONCE_BYTES || sealed.length < TAG_BYTES) {
    throw new Error("timelock ciphertext: malformed AES-GCM body");
  }
  const decipher = createDecipheriv("aes-256-gcm", key, nonce);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  return u8aConcat(
    decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)),
    decipher.final(),
  );
}

/** The latest quicknet round published by `unixSeconds` (rounds start at 1). */
export function quicknetRoundAt(unixSeconds: number): bigint {
  const round = Math.floor((unixSeconds - QUICKNET.genesisTime) / QUICKNET.periodSeconds);
  return BigInt(Math.max(1, round));
}
