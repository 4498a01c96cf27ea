/**
 * sr25519 key pairs as Bittensor uses them: hotkeys sign dendrite requests, anyone verifies them
 * from an SS58 address.
 *
 * Two byte forms of the 64-byte secret exist (see the wallet spec): Bittensor's keyfiles store the
 * canonical schnorrkel scalar, polkadot-js works with the same scalar times the cofactor 8. This
 * module converts at the boundary so callers only ever see the canonical form.
 *
 * ```ts
 * await cryptoReady();
 * const alice = Keypair.fromUri("//Alice");
 * const signature = alice.sign("hello");
 * Keypair.verify("hello", signature, alice.ss58Address); // true
 * ```
 * @module
 */
import {
  cryptoWaitReady,
  decodeAddress,
  encodeAddress,
  keyExtractSuri,
  keyFromPath,
  mnemonicToMiniSecret,
  mnemonicValidate,
  sr25519Agreement,
  sr25519PairFromSeed,
} from "@polkadot/util-crypto";
import { hexToU8a, stringToU8a, u8aConcat, u8aToBigInt, u8aToHex } from "@polkadot/util";
import {
  sr25519_sign as schnorrkelSign,
  sr25519_verify as schnorrkelVerify,
} from "@polkadot-labs/schnorrkel-wasm";
import { ristretto255 } from "@noble/curves/ed25519";
import { sr25519Native } from "./sr25519_native.ts";

/** What a secret URI may be, for the message refusing one. */
const URI_FORMS = "a mnemonic, a 0x hex seed of 32 bytes or //Name, then any /soft or //hard path";

/** SS58 network prefix of every Bittensor network (generic Substrate). */
const SS58_FORMAT = 42;

/** The Substrate development phrase behind `//Alice`, `//Bob`, ... */
export const DEV_PHRASE = "bottom drive obey lake curtain smoke basket hold race lonely fit walk";

/**
 * Resolves once the WASM crypto backend of key derivation is initialised and the native signer
 * is open (built first if need be); call before using {@linkcode Keypair}.
 */
export async function cryptoReady(): Promise<void> {
  await cryptoWaitReady();
  // Opens (and if need be compiles) the native signer now, so that no request pays for it.
  sr25519Native();
}

/** Shifts a 32-byte little-endian scalar left (`bits` > 0) or right (`bits` < 0). */
function shiftScalar(scalar: Uint8Array, bits: number): Uint8Array {
  let value = 0n;
  for (let i = 31; i >= 0; i--) value = (value << 8n) | BigInt(scalar[i]);
  value = bits > 0 ? value << BigInt(bits) : value >> BigInt(-bits);
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    out[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return out;
}

/** Converts a canonical schnorrkel secret (keyfile `privateKey`) to the polkadot-js form. */
function canonicalToPolkadotSecret(secret: Uint8Array): Uint8Array {
  if (secret.length !== 64) throw new Error("an sr25519 secret key has 64 bytes");
  return u8aConcat(shiftScalar(secret.subarray(0, 32), 3), secret.subarray(32));
}

/** Converts a polkadot-js sr25519 secret to the canonical schnorrkel form stored in keyfiles. */
export function polkadotToCanonicalSecret(secret: Uint8Array): Uint8Array {
  if (secret.length !== 64) throw new Error("an sr25519 secret key has 64 bytes");
  return u8aConcat(shiftScalar(secret.subarray(0, 32), -3), secret.subarray(32));
}

/** Where a key pair came from, kept so a keyfile can be written back with the same fields. */
export interface KeypairOrigin {
  /** BIP-39 mnemonic, when created from one. */
  mnemonic?: string;
  /** 32-byte mini-secret, when created from a mnemonic or seed. */
  seed?: Uint8Array;
}

/** An sr25519 key pair, or a public key alone (then it can verify but not sign). */
export class Keypair {
  /** 32-byte public key. */
  readonly publicKey: Uint8Array;
  /** SS58 address (format 42). */
  readonly ss58Address: string;
  /** Canonical 64-byte secret, or null for a public-only key. */
  readonly #canonicalSecret: Uint8Array | null;
  /** polkadot-js form of the secret, used for signing. */
  readonly #signingSecret: Uint8Array | null;
  readonly #origin: KeypairOrigin;

  private constructor(
    publicKey: Uint8Array,
    polkadotSecret: Uint8Array | null,
    origin: KeypairOrigin = {},
  ) {
    this.publicKey = publicKey;
    this.ss58Address = encodeAddress(publicKey, SS58_FORMAT);
    this.#signingSecret = polkadotSecret;
    this.#canonicalSecret = polkadotSecret === null
      ? null
      : polkadotToCanonicalSecret(polkadotSecret);
    this.#origin = origin;
  }

  /**
   * Mnemonic/seed the pair was derived from, if any. Held in a private field, as the secret is,
   * so that printing or serialising a key pair shows neither.
   */
  get origin(): KeypairOrigin {
    return this.#origin;
  }

  /** A key pair from a 32-byte mini-secret (keyfile `secretSeed`). */
  static fromSeed(seed: Uint8Array, origin: KeypairOrigin = {}): Keypair {
    if (seed.length !== 32) throw new Error("an sr25519 seed has 32 bytes");
    const pair = sr25519PairFromSeed(seed);
    return new Keypair(pair.publicKey, pair.secretKey, { seed, ...origin });
  }

  /** A key pair from a BIP-39 mnemonic (keyfile `secretPhrase`), empty password. */
  static fromMnemonic(mnemonic: string): Keypair {
    const phrase = mnemonic.trim().split(/\s+/).join(" ");
    if (!mnemonicValidate(phrase)) throw new Error("the secret phrase is not a valid mnemonic");
    return Keypair.fromSeed(mnemonicToMiniSecret(phrase), { mnemonic: phrase });
  }

  /**
   * A key pair from a Substrate URI: `//Alice`, `<mnemonic>//hard/soft`, or `0x<seed>`. Derived
   * keys keep no mnemonic or seed, exactly like keyfiles created with `--uri`.
   */
  static fromUri(uri: string): Keypair {
    // Spaces around and between the words of a mnemonic are tidied as in a keyfile; the
    // derivation path after the first "/" is kept as given.
    const slash = uri.indexOf("/");
    const phrasePart = slash < 0 ? uri : uri.slice(0, slash);
    const tidied = phrasePart.trim().split(/\s+/).join(" ") + (slash < 0 ? "" : uri.slice(slash));
    // A URI that is only a path (soft or hard) derives from the dev phrase, as sp_core's does.
    const withPhrase = tidied.startsWith("/") ? `${DEV_PHRASE}${tidied}` : tidied;
    let suri: ReturnType<typeof keyExtractSuri>;
    try {
      suri = keyExtractSuri(withPhrase);
    } catch {
      // The URI is not repeated: it may be a real secret.
      throw new Error(`not a secret URI (${URI_FORMS})`);
    }
    const { phrase, path, password } = suri;
    if (password !== undefined) throw new Error("password-protected URIs are not supported");
    let seed: Uint8Array;
    if (phrase.startsWith("0x")) {
      if (!/^0x[0-9a-fA-F]{64}$/.test(phrase)) {
        throw new Error("a hex seed must be 0x and 64 hex digits (32 bytes)");
      }
      seed = hexToU8a(phrase);
    } else {
      try {
        seed = mnemonicToMiniSecret(phrase);
      } catch {
        throw new Error(
          "not a valid mnemonic (12, 15, 18, 21 or 24 BIP39 words, the last a checksum)",
        );
      }
    }
    const base = sr25519PairFromSeed(seed);
    if (path.length === 0) {
      return new Keypair(
        base.publicKey,
        base.secretKey,
        phrase.startsWith("0x") ? { seed } : {
          mnemonic: phrase,
          seed,
        },
      );
    }
    const derived = keyFromPath(base, path, "sr25519");
    return new Keypair(derived.publicKey, derived.secretKey);
  }

  /** A key pair from a canonical 64-byte secret (keyfile `privateKey`). */
  static fromPrivateKey(canonicalSecret: Uint8Array): Keypair {
    // schnorrkel refuses a scalar at or above the group order; shifted into polkadot-js's form,
    // its top bits would be lost and the file would load as another key.
    const scalar = u8aToBigInt(canonicalSecret.subarray(0, 32), { isLe: true });
    if (scalar >= ristretto255.Point.Fn.ORDER) {
      throw new Error(
        "its first 32 bytes are not a canonical scalar (at or above the group order)",
      );
    }
    const polkadotSecret = canonicalToPolkadotSecret(canonicalSecret);
    return new Keypair(publicKeyOfSecret(polkadotSecret), polkadotSecret);
  }

  /** A verify-only key from an SS58 address. */
  static fromAddress(ss58Address: string): Keypair {
    return new Keypair(decodeAddress(ss58Address), null);
  }

  /** True when this key can sign. */
  get canSign(): boolean {
    return this.#signingSecret !== null;
  }

  /** The canonical 64-byte secret (as stored in keyfiles), or null for a public-only key. */
  get privateKey(): Uint8Array | null {
    return this.#canonicalSecret;
  }

  /**
   * The pair in polkadot-js form (`Keyring.addFromPair` input), for signing extrinsics.
   * Throws for a public-only key.
   */
  toPolkadotPair(): { publicKey: Uint8Array; secretKey: Uint8Array } {
    if (this.#signingSecret === null) {
      throw new Error(`key ${this.ss58Address} is public only and cannot sign`);
    }
    return { publicKey: this.publicKey, secretKey: this.#signingSecret };
  }

  /** Signs UTF-8 text (or bytes) with the `substrate` context; 64 random-nonce bytes. */
  sign(message: string | Uint8Array): Uint8Array {
    if (this.#signingSecret === null) {
      throw new Error(`key ${this.ss58Address} is public only and cannot sign`);
    }
    const bytes = typeof message === "string" ? stringToU8a(message) : message;
    const native = sr25519Native();
    if (native !== null && this.#canonicalSecret !== null) {
      return native.sign(this.publicKey, this.#canonicalSecret, bytes);
    }
    // Without a C compiler: schnorrkel (the crate Python's bindings use) compiled to WASM, about
    // twice as fast as @polkadot/wasm-crypto's, with the same secret form.
    return schnorrkelSign(this.publicKey, this.#signingSecret, bytes);
  }

  /** Signs and returns `0x`-prefixed lowercase hex, the form of the signature headers. */
  signHex(message: string | Uint8Array): string {
    return u8aToHex(this.sign(message));
  }

  /**
   * Verifies a signature over `message` by `ss58Address`. Accepts the plain message and the
   * `<Bytes>…</Bytes>` wrapping browser wallets apply, as the Python SDK does. Never throws.
   */
  static verify(
    message: string | Uint8Array,
    signature: string | Uint8Array,
    ss58Address: string,
  ): boolean {
    try {
      const sig = typeof signature === "string" ? hexToU8a(signature) : signature;
      if (sig.length !== 64) return false;
      const publicKey = publicKeyOf(ss58Address);
      const bytes = typeof message === "string" ? stringToU8a(message) : message;
      const native = sr25519Native();
      const check = native === null
        ? (m: Uint8Array) => schnorrkelWasmVerify(publicKey, m, sig)
        : (m: Uint8Array) => native.verify(publicKey, m, sig);
      if (check(bytes)) return true;
      return check(u8aConcat(stringToU8a("<Bytes>"), bytes, stringToU8a("</Bytes>")));
    } catch {
      return false;
    }
  }
}

/** Order l of the Ristretto255 group: a signature's s must lie below it. */
const GROUP_ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;

/** Keys checked for the WASM verifier, by array (the ones {@linkcode publicKeyOf} keeps per
 * caller); the bytes are kept too, so that an array changed since costs a check, not a panic. */
const checkedKeys = new WeakMap<Uint8Array, { bytes: Uint8Array; valid: boolean }>();

function isRistrettoPoint(publicKey: Uint8Array): boolean {
  const known = checkedKeys.get(publicKey);
  if (known !== undefined && known.bytes.every((byte, i) => byte === publicKey[i])) {
    return known.valid;
  }
  let valid = true;
  try {
    ristretto255.Point.fromBytes(publicKey);
  } catch {
    valid = false;
  }
  checkedKeys.set(publicKey, { bytes: publicKey.slice(), valid });
  return valid;
}

/**
 * Verification through the WASM build of schnorrkel, for machines without the native library.
 * That build panics instead of returning false when the signature lacks schnorrkel's marker bit,
 * its s is not below l, or the key is no Ristretto255 point, and a panic does not unwind its
 * stack: after about 1,200 of them it refuses every signature, so a caller sending malformed
 * signatures would lock everyone out. Such input is refused here and never reaches it.
 */
export function schnorrkelWasmVerify(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (publicKey.length !== 32 || signature.length !== 64 || (signature[63] & 0x80) === 0) {
    return false;
  }
  let s = 0n;
  for (let i = 63; i >= 32; i--) {
    s = (s << 8n) | BigInt(i === 63 ? signature[i] & 0x7f : signature[i]);
  }
  if (s >= GROUP_ORDER) return false;
  return isRistrettoPoint(publicKey) && schnorrkelVerify(publicKey, message, signature);
}

/** Callers a busy axon has seen recently: decoding an address costs a checksum hash each time. */
const PUBLIC_KEY_CACHE_SIZE = 4096;
const publicKeys = new Map<string, Uint8Array>();

/** The public key behind an SS58 address, remembered for the most recent callers. */
function publicKeyOf(ss58Address: string): Uint8Array {
  let key = publicKeys.get(ss58Address);
  if (key === undefined) {
    key = decodeAddress(ss58Address);
    if (publicKeys.size >= PUBLIC_KEY_CACHE_SIZE) publicKeys.clear();
    publicKeys.set(ss58Address, key);
  }
  return key;
}

/** Compressed Ristretto255 base point. */
const RISTRETTO_BASEPOINT = hexToU8a(
  "0xe2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76",
);

/**
 * The public key (scalar·B) of a polkadot-form secret. The library has no direct call for this;
 * key agreement with the base point computes exactly scalar·B in compressed form.
 */
function publicKeyOfSecret(polkadotSecret: Uint8Array): Uint8Array {
  return sr25519Agreement(polkadotSecret, RISTRETTO_BASEPOINT);
}
