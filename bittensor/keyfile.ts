/**
 * Bittensor keyfiles: the JSON key record, and the encryption schemes a file may be in —
 * `$NACL` (XSalsa20-Poly1305 with an Argon2i key; current), Ansible Vault 1.1 (legacy, read
 * only) and Fernet (older legacy, read only), or plain JSON.
 *
 * ```ts
 * const keypair = await readKeyfile(path, { password: () => askPassword(path) });
 * await writeKeyfile(path, keypairToKeyfileJson(keypair), { password: "secret" });
 * ```
 * @module
 */
import { Buffer } from "node:buffer";
import { createDecipheriv, createHmac, pbkdf2, pbkdf2Sync, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import {
  closeSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { hexToU8a, u8aToHex } from "@polkadot/util";
import { naclDecrypt, naclEncrypt } from "@polkadot/util-crypto";
import { argon2i } from "hash-wasm";
import { argon2i as nobleArgon2i } from "@noble/hashes/argon2";
import { valueMessage, z } from "../cli/zod_messages.ts";
import { syncDirectory } from "../cli/sync_to_disk.ts";
import { Keypair } from "./keypair.ts";

/** How a keyfile's bytes are protected. */
export type KeyfileEncryption = "none" | "nacl" | "ansible-vault" | "fernet";

/** A keyfile that cannot be read; the message says which file and why. */
export class KeyfileError extends Error {
  override name = "KeyfileError";
}

/** Recognises the scheme from the file's first bytes. */
export function detectEncryption(bytes: Uint8Array): KeyfileEncryption {
  const head = new TextDecoder().decode(bytes.subarray(0, 16));
  if (head.startsWith("$NACL")) return "nacl";
  if (head.startsWith("$ANSIBLE_VAULT")) return "ansible-vault";
  if (head.startsWith("gAAAAA")) return "fernet";
  return "none";
}

// ---------------------------------------------------------------------------------------------
// $NACL

/** The fixed Argon2i salt of Bittensor's `$NACL` keyfiles. */
const NACL_SALT = hexToU8a("0x137183dff15a09bc9c90b5518739e9b1");
const NACL_PREFIX = new TextEncoder().encode("$NACL");

/** libsodium's "sensitive" Argon2i limits, which `$NACL` keyfiles use: 8 passes over 512 MiB. */
const NACL_COST = { iterations: 8, memoryKib: 524288 };

/**
 * Argon2i with one lane and a 32-byte output, as libsodium's `crypto_pwhash` computes it. hash-wasm
 * (WebAssembly, seconds at the keyfile cost) refuses an empty password, which libsodium and so
 * btwallet take; that one is derived by @noble/hashes (plain JavaScript, about a minute).
 */
export async function argon2iKey(
  password: string,
  salt: Uint8Array,
  cost: { iterations: number; memoryKib: number },
): Promise<Uint8Array> {
  if (password === "") {
    return nobleArgon2i(new Uint8Array(0), salt, {
      t: cost.iterations,
      m: cost.memoryKib,
      p: 1,
      dkLen: 32,
    });
  }
  return await argon2i({
    password,
    salt,
    iterations: cost.iterations,
    memorySize: cost.memoryKib,
    parallelism: 1,
    hashLength: 32,
    outputType: "binary",
  });
}

/** The 32-byte secretbox key for `password`. Takes seconds and half a gigabyte; derive once per file. */
export async function deriveNaclKey(password: string): Promise<Uint8Array> {
  return await argon2iKey(password, NACL_SALT, NACL_COST);
}

/** Where the secret comes from: a password (derived here) or an already derived key. */
export type NaclSecret = { password: string } | { key: Uint8Array };

async function naclKey(secret: NaclSecret): Promise<Uint8Array> {
  return "key" in secret ? secret.key : await deriveNaclKey(secret.password);
}

/** `$NACL` ‖ nonce(24) ‖ MAC(16) ‖ ciphertext. A random nonce unless one is given. */
export async function encryptNacl(
  plaintext: Uint8Array,
  secret: NaclSecret,
  nonce?: Uint8Array,
): Promise<Uint8Array> {
  const key = await naclKey(secret);
  const sealed = naclEncrypt(plaintext, key, nonce);
  const out = new Uint8Array(NACL_PREFIX.length + 24 + sealed.encrypted.length);
  out.set(NACL_PREFIX, 0);
  out.set(sealed.nonce, NACL_PREFIX.length);
  out.set(sealed.encrypted, NACL_PREFIX.length + 24);
  return out;
}

/** Opens a `$NACL` file; throws KeyfileError on a wrong password or damaged file. */
export async function decryptNacl(bytes: Uint8Array, secret: NaclSecret): Promise<Uint8Array> {
  if (bytes.length < NACL_PREFIX.length + 24 + 16) {
    throw new KeyfileError("$NACL file is truncated");
  }
  const nonce = bytes.subarray(NACL_PREFIX.length, NACL_PREFIX.length + 24);
  const sealed = bytes.subarray(NACL_PREFIX.length + 24);
  const plain = naclDecrypt(sealed, nonce, await naclKey(secret));
  if (plain === null) throw new KeyfileError("wrong password, or the keyfile is damaged");
  return plain;
}

// ---------------------------------------------------------------------------------------------
// Ansible Vault 1.1 (legacy)

/** Decrypts an Ansible Vault 1.1 AES256 file (PBKDF2-SHA256 ×10000, AES-256-CTR, HMAC-SHA256). */
export function decryptAnsibleVault(bytes: Uint8Array, password: string): Uint8Array {
  const lines = new TextDecoder().decode(bytes).split(/\r?\n/);
  const header = lines[0].split(";");
  if (header[0] !== "$ANSIBLE_VAULT" || header[2]?.trim() !== "AES256") {
    throw new KeyfileError(`unsupported Ansible Vault header '${lines[0]}'`);
  }
  const inner = Buffer.from(lines.slice(1).join("").trim(), "hex").toString("utf8").split("\n");
  if (inner.length < 3) throw new KeyfileError("Ansible Vault body is malformed");
  const salt = Buffer.from(inner[0], "hex");
  const mac = Buffer.from(inner[1], "hex");
  const ciphertext = Buffer.from(inner[2], "hex");
  const derived = pbkdf2Sync(Buffer.from(password, "utf8"), salt, 10000, 80, "sha256");
  const cipherKey = derived.subarray(0, 32);
  const macKey = derived.subarray(32, 64);
  const iv = derived.subarray(64, 80);
  const expected = createHmac("sha256", macKey).update(ciphertext).digest();
  if (expected.length !== mac.length || !timingSafeEqual(expected, mac)) {
    throw new KeyfileError("wrong password, or the keyfile is damaged");
  }
  const decipher = createDecipheriv("aes-256-ctr", cipherKey, iv);
  const padded = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  const pad = padded[padded.length - 1];
  if (pad < 1 || pad > 16) throw new KeyfileError("Ansible Vault padding is invalid");
  return new Uint8Array(padded.subarray(0, padded.length - pad));
}

// ---------------------------------------------------------------------------------------------
// Fernet (older legacy)

/** The fixed PBKDF2 salt of Bittensor's Fernet keyfiles. */
const FERNET_SALT = new TextEncoder().encode(
  "Iguesscyborgslikemyselfhaveatendencytobeparanoidaboutourorigins",
);

/**
 * Decrypts a Fernet keyfile as Bittensor's Python SDK wrote them: the Fernet key is
 * PBKDF2-HMAC-SHA256 of the password (10 000 000 iterations, fixed salt, 32 bytes); the token is
 * version 0x80 ‖ time ‖ IV ‖ AES-128-CBC ciphertext ‖ HMAC-SHA256, in URL-safe base64. btwallet
 * cannot read these (its port derives a random key), so taos reads them itself. The derivation
 * takes several seconds.
 */
export async function decryptFernet(bytes: Uint8Array, password: string): Promise<Uint8Array> {
  const token = Buffer.from(new TextDecoder().decode(bytes).trim(), "base64url");
  // Version, time and IV before the ciphertext (whole AES blocks, at least one), the MAC after.
  const overhead = 1 + 8 + 16 + 32;
  const cipherLength = token.length - overhead;
  if (token[0] !== 0x80 || cipherLength < 16 || cipherLength % 16 !== 0) {
    throw new KeyfileError("Fernet token is malformed");
  }
  const key = await promisify(pbkdf2)(
    Buffer.from(password, "utf8"),
    FERNET_SALT,
    10_000_000,
    32,
    "sha256",
  );
  const signed = token.subarray(0, token.length - 32);
  const mac = createHmac("sha256", key.subarray(0, 16)).update(signed).digest();
  if (!timingSafeEqual(mac, token.subarray(token.length - 32))) {
    throw new KeyfileError("wrong password, or the keyfile is damaged");
  }
  const decipher = createDecipheriv("aes-128-cbc", key.subarray(16), token.subarray(9, 25));
  try {
    return new Uint8Array(Buffer.concat([decipher.update(signed.subarray(25)), decipher.final()]));
  } catch {
    throw new KeyfileError("Fernet padding is invalid");
  }
}

// ---------------------------------------------------------------------------------------------
// The JSON key record

/** Hex of `bytes` bytes, as `0x…`; btwallet also reads it without the prefix. */
const hex = (bytes: number) =>
  z.string().transform((text) => text.startsWith("0x") ? text : `0x${text}`).pipe(
    z.string().regex(
      new RegExp(`^0x[0-9a-fA-F]{${bytes * 2}}$`),
      `expected ${bytes} bytes of hex (0x optional)`,
    ),
  );

const keyfileDataSchema = z.object({
  secretPhrase: z.string().nullish(),
  secretSeed: hex(32).nullish(),
  privateKey: hex(64).nullish(),
  publicKey: hex(32).nullish(),
  accountId: hex(32).nullish(),
  ss58Address: z.string().nullish(),
});

/**
 * Builds the key from a keyfile record with btwallet's precedence (phrase, then seed, then
 * private key, then public-only), and checks it against the stored public key and address.
 */
export function keypairFromKeyfileData(raw: unknown): Keypair {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    // Only its kind: a string there may be the secret itself.
    const kind = raw === null ? "null" : Array.isArray(raw) ? "an array" : `a ${typeof raw}`;
    throw new KeyfileError(`the keyfile is ${kind}, not a JSON object`);
  }
  const parsed = keyfileDataSchema.safeParse(raw, { error: valueMessage });
  if (!parsed.success) {
    throw new KeyfileError(
      parsed.error.issues.map((i) => `${i.path.join(".") || "(file)"}: ${i.message}`).join("; "),
    );
  }
  const data = parsed.data;
  let keypair: Keypair;
  // What the other fields are held against: the secret, or in a public file its address.
  let basis = "the key derived from the secret";
  const fromAddress = (address: string) => {
    try {
      return Keypair.fromAddress(address);
    } catch (error) {
      throw new KeyfileError(`ss58Address: ${(error as Error).message}`);
    }
  };
  if (data.secretPhrase) keypair = Keypair.fromMnemonic(data.secretPhrase);
  else if (data.secretSeed) keypair = Keypair.fromSeed(hexToU8a(data.secretSeed));
  else if (data.privateKey) {
    try {
      keypair = Keypair.fromPrivateKey(hexToU8a(data.privateKey));
    } catch (error) {
      throw new KeyfileError(`privateKey: ${(error as Error).message}`);
    }
  } else if (data.ss58Address) {
    keypair = fromAddress(data.ss58Address);
    basis = "the key of ss58Address";
  } else if (data.publicKey) {
    keypair = Keypair.fromAddress(data.publicKey);
    basis = "publicKey";
  } else {throw new KeyfileError(
      "the keyfile holds no key (no secretPhrase, secretSeed, privateKey or ss58Address)",
    );}
  const publicHex = u8aToHex(keypair.publicKey);
  for (const field of ["publicKey", "accountId"] as const) {
    const stored = data[field];
    if (stored && stored.toLowerCase() !== publicHex) {
      throw new KeyfileError(`${field} does not match ${basis}`);
    }
  }
  if (data.ss58Address && data.ss58Address !== keypair.ss58Address) {
    const stored = fromAddress(data.ss58Address);
    if (u8aToHex(stored.publicKey) !== publicHex) {
      throw new KeyfileError(`ss58Address does not match ${basis}`);
    }
  }
  return keypair;
}

/** The keyfile JSON for `keypair`; `publicOnly` writes the `*pub.txt` form. */
export function keypairToKeyfileJson(keypair: Keypair, publicOnly = false): string {
  const publicKey = u8aToHex(keypair.publicKey);
  const data: Record<string, string> = {
    accountId: publicKey,
    publicKey,
    ss58Address: keypair.ss58Address,
  };
  if (!publicOnly) {
    const secret = keypair.privateKey;
    if (secret === null) {
      throw new KeyfileError("cannot write a secret keyfile for a public-only key");
    }
    data.privateKey = u8aToHex(secret);
    if (keypair.origin.seed) data.secretSeed = u8aToHex(keypair.origin.seed);
    if (keypair.origin.mnemonic) data.secretPhrase = keypair.origin.mnemonic;
  }
  return JSON.stringify(data);
}

// ---------------------------------------------------------------------------------------------
// Files

/** How to get a password when a keyfile turns out to be encrypted. */
export interface ReadKeyfileOptions {
  password?: () => Promise<string> | string;
}

/** Largest keyfile read: real ones are under a kilobyte. */
const MAX_KEYFILE_BYTES = 1024 * 1024;

/**
 * The bytes of a keyfile. Only a regular file of reasonable size is read: a FIFO would block
 * forever and a link to a device could be read until memory runs out.
 */
export function readKeyfileBytes(path: string): Uint8Array {
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new Error("not a regular file");
    if (stat.size > MAX_KEYFILE_BYTES) {
      throw new Error(`${stat.size} bytes, too large for a keyfile`);
    }
    return readFileSync(path);
  } catch (error) {
    throw new KeyfileError(`${path}: cannot read (${(error as Error).message})`);
  }
}

/** Reads and (if needed) decrypts a keyfile into a key. Errors name the file. */
export async function readKeyfile(
  path: string,
  options: ReadKeyfileOptions = {},
): Promise<Keypair> {
  const bytes = readKeyfileBytes(path);
  try {
    return keypairFromKeyfileData(
      JSON.parse(new TextDecoder().decode(await openKeyfile(bytes, options))),
    );
  } catch (error) {
    if (error instanceof SyntaxError) throw new KeyfileError(`${path}: not valid keyfile JSON`);
    throw new KeyfileError(`${path}: ${(error as Error).message}`);
  }
}

/** The plaintext of keyfile bytes in any supported scheme. */
export async function openKeyfile(
  bytes: Uint8Array,
  options: ReadKeyfileOptions = {},
): Promise<Uint8Array> {
  const scheme = detectEncryption(bytes);
  if (scheme === "none") return bytes;
  if (options.password === undefined) {
    throw new KeyfileError(`encrypted (${scheme}) and no password source was given`);
  }
  const password = await options.password();
  if (scheme === "nacl") return await decryptNacl(bytes, { password });
  if (scheme === "fernet") return await decryptFernet(bytes, password);
  return decryptAnsibleVault(bytes, password);
}

/** Where a keyfile is written before it replaces `path`: `<path>.<uuid>.tmp`. */
function temporaryKeyfile(path: string): string {
  return `${path}.${crypto.randomUUID()}.tmp`;
}

/** Length of the `<uuid>.tmp` that {@linkcode temporaryKeyfile} appends after `<path>.`. */
const TEMPORARY_SUFFIX_LENGTH = 36 + ".tmp".length;

/** True for a file name {@linkcode temporaryKeyfile} gives (a write in progress, or cut off). */
export function isTemporaryKeyfile(name: string): boolean {
  return /\.[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}\.tmp$/.test(name);
}

/**
 * Throws the file system's error when no keyfile can be created in `dir`, by creating and removing
 * a temporary one: permission bits alone would not tell (root ignores them, a read-only or
 * immutable directory refuses root too). Lets a caller writing several keys refuse before the first.
 */
export function checkKeyfileDirectory(dir: string): void {
  const probe = temporaryKeyfile(join(dir, ".probe"));
  closeSync(openSync(probe, "wx", 0o600));
  rmSync(probe, { force: true });
}

/**
 * Writes a keyfile with mode 0600, creating directories; encrypts with `$NACL` if a password is
 * given. The bytes go to a new file that then replaces `path`: a failed write leaves the old key
 * whole, the secret is never in a file others may read, and a link at `path` (a hard-linked
 * backup, a symlink to another key) is replaced rather than written through.
 */
export async function writeKeyfile(
  path: string,
  json: string,
  options: { password?: string; key?: Uint8Array } = {},
): Promise<void> {
  let bytes: Uint8Array = new TextEncoder().encode(json);
  if (options.key !== undefined) bytes = await encryptNacl(bytes, { key: options.key });
  else if (options.password !== undefined) {
    bytes = await encryptNacl(bytes, { password: options.password });
  }
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const temporary = temporaryKeyfile(path);
  try {
    const fd = openSync(temporary, "wx", 0o600);
    try {
      writeFileSync(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
  // The rename is durable only once the directory is: a crash could otherwise bring back the old
  // key, or no key, after the new mnemonic was shown.
  syncDirectory(dir);
  removeAbandonedTemporaries(path);
}

/** A temporary keyfile this old was left by a write that was killed (a write takes milliseconds). */
const ABANDONED_AFTER_MS = 60_000;

/**
 * Removes what killed writes of `path` left (`<path>.<uuid>.tmp`, each holding a key), sparing a
 * recent one that another process may be about to rename.
 */
function removeAbandonedTemporaries(path: string): void {
  const dir = dirname(path);
  const prefix = `${basename(path)}.`;
  const now = Date.now();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return; // A directory that cannot be listed (mode 0733): the new key is in place all the same.
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !isTemporaryKeyfile(name)) continue;
    if (name.length !== prefix.length + TEMPORARY_SUFFIX_LENGTH) continue;
    const leftover = join(dir, name);
    try {
      if (now - lstatSync(leftover).mtimeMs > ABANDONED_AFTER_MS) rmSync(leftover, { force: true });
    } catch {
      // Gone already, or not ours to remove: the new key is written either way.
    }
  }
}
