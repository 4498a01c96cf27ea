/**
 * sr25519 (schnorrkel, `substrate` context) through the native library
 * (`native/include/taos_sr25519.h`): about three times faster than the WASM build per signature
 * and per verification. {@linkcode sr25519Native} returns null when the library cannot be built or
 * opened (no C compiler on the machine), and callers then use WASM; the decision is made once.
 *
 * ```ts
 * const sr = sr25519Native();
 * if (sr !== null) {
 *   const signature = sr.sign(publicKey, canonicalSecret, message);
 *   sr.verify(publicKey, message, signature); // true
 * }
 * ```
 * @module
 */
import { native } from "../native/ffi.ts";

/** Native sr25519 operations; secrets are in the canonical (keyfile) form. */
export interface Sr25519Native {
  /** The 32-byte public key of a canonical 64-byte secret. */
  publicKey(canonicalSecret: Uint8Array): Uint8Array;
  /** A 64-byte signature of `message` by the pair (`publicKey` must belong to the secret). */
  sign(publicKey: Uint8Array, canonicalSecret: Uint8Array, message: Uint8Array): Uint8Array;
  /** Whether `signature` is valid for `message` and `publicKey`; false for malformed input. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

let backend: Sr25519Native | null | undefined;

/** The native backend, or null when the library is unavailable (decided on first call). */
export function sr25519Native(): Sr25519Native | null {
  if (backend === undefined) {
    try {
      backend = open();
    } catch {
      backend = null;
    }
  }
  return backend;
}

function open(): Sr25519Native | null {
  const lib = native();
  // Holds the base-point tables; built once and kept for the life of the process.
  const context = lib.tx_sr25519_context_new();
  if (context === null) return null;
  const random = new Uint8Array(32);
  const preparedSize = Number(lib.tx_sr25519_prepared_size());
  // Per public-key object (Keypair.verify reuses one per address): the key's verification
  // tables, so a caller seen again verifies about 1.6 times faster. Preparing costs more than
  // one plain verification, hence only from the second sighting (null marks the first). The C
  // side checks the slot against the key bytes: a reused or mutated array costs time, never a
  // wrong answer.
  const prepared = new WeakMap<Uint8Array, Uint8Array | null>();
  return {
    publicKey(canonicalSecret) {
      if (canonicalSecret.length !== 64) throw new Error("an sr25519 secret key has 64 bytes");
      const out = new Uint8Array(32);
      lib.tx_sr25519_public_key(context, canonicalSecret, out);
      return out;
    },
    sign(publicKey, canonicalSecret, message) {
      if (publicKey.length !== 32) throw new Error("an sr25519 public key has 32 bytes");
      if (canonicalSecret.length !== 64) throw new Error("an sr25519 secret key has 64 bytes");
      // The C side reads no OS randomness; these bytes make every witness fresh.
      crypto.getRandomValues(random);
      const signature = new Uint8Array(64);
      lib.tx_sr25519_sign(
        context,
        publicKey,
        canonicalSecret,
        message,
        BigInt(message.length),
        random,
        signature,
      );
      return signature;
    },
    verify(publicKey, message, signature) {
      if (publicKey.length !== 32 || signature.length !== 64) return false;
      const length = BigInt(message.length);
      let slot = prepared.get(publicKey);
      if (slot === undefined) {
        prepared.set(publicKey, null);
        return lib.tx_sr25519_verify(context, publicKey, message, length, signature) === 1;
      }
      if (slot === null) {
        slot = new Uint8Array(preparedSize);
        prepared.set(publicKey, slot);
      }
      return lib.tx_sr25519_verify_prepared(
        context,
        slot,
        publicKey,
        message,
        length,
        signature,
      ) === 1;
    },
  };
}
