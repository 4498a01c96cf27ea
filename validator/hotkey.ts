/**
 * Loads the validator's signing hotkey: from the wallet's hotkey keyfile
 * (`<wallet.path>/<wallet.name>/hotkeys/<wallet.hotkey>`, plain JSON as btwallet writes hotkeys),
 * or from a Substrate URI for development networks (`--hotkey-uri //Alice`).
 *
 * ```ts
 * const { keypair } = await loadHotkey({ walletPath, walletName, walletHotkey, uri: null });
 * console.log(keypair.ss58Address);
 * ```
 * @module
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { hexToU8a } from "@polkadot/util";
import { Keyring } from "@polkadot/keyring";
import { UsageError } from "../cli/command.ts";
import { canonicalToPolkadotSecret, cryptoReady, Keypair } from "../bittensor/keypair.ts";
import type { HotkeyPair } from "../chain/mod.ts";

/** The hotkey in both forms: for dendrite signatures and for chain extrinsics. */
export interface LoadedHotkey {
  keypair: Keypair;
  /** polkadot-js pair for signing extrinsics. */
  pair: HotkeyPair;
}

/** Where the hotkey comes from. */
export interface HotkeySource {
  walletPath: string;
  walletName: string;
  walletHotkey: string;
  /** A Substrate URI; when set, the wallet is not read. */
  uri: string | null;
}

/** The hotkey keyfile path of a wallet. */
export function hotkeyPath(source: HotkeySource): string {
  return join(source.walletPath, source.walletName, "hotkeys", source.walletHotkey);
}

/**
 * Loads the hotkey (secret phrase, then seed, then private key, as btwallet does) and checks it
 * against the file's address. Throws {@linkcode UsageError} naming the file and the problem.
 */
export async function loadHotkey(source: HotkeySource): Promise<LoadedHotkey> {
  await cryptoReady();
  const keyring = new Keyring({ type: "sr25519", ss58Format: 42 });
  if (source.uri !== null) {
    try {
      const keypair = Keypair.fromUri(source.uri);
      return { keypair, pair: keyring.addFromUri(source.uri) };
    } catch (error) {
      throw new UsageError(`--hotkey-uri: ${(error as Error).message}`);
    }
  }
  const path = hotkeyPath(source);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new UsageError(
      `hotkey file ${path} not found (set -p/-w/-h, or --hotkey-uri for a development key)`,
    );
  }
  if (!text.trimStart().startsWith("{")) {
    throw new UsageError(`hotkey file ${path} is encrypted; hotkeys must be stored unencrypted`);
  }
  let file: Record<string, unknown>;
  try {
    file = JSON.parse(text);
  } catch {
    throw new UsageError(`hotkey file ${path} is not valid JSON`);
  }
  let keypair: Keypair;
  let pair: HotkeyPair;
  try {
    if (typeof file.secretPhrase === "string") {
      keypair = Keypair.fromMnemonic(file.secretPhrase);
      pair = keyring.addFromMnemonic(file.secretPhrase);
    } else if (typeof file.secretSeed === "string") {
      keypair = Keypair.fromSeed(hexToU8a(file.secretSeed));
      pair = keyring.addFromSeed(hexToU8a(file.secretSeed));
    } else if (typeof file.privateKey === "string") {
      const secret = hexToU8a(file.privateKey);
      keypair = Keypair.fromPrivateKey(secret);
      pair = keyring.addFromPair({
        publicKey: keypair.publicKey,
        secretKey: canonicalToPolkadotSecret(secret),
      });
    } else throw new Error("it holds no secret (secretPhrase, secretSeed or privateKey)");
  } catch (error) {
    throw new UsageError(`hotkey file ${path}: ${(error as Error).message}`);
  }
  if (typeof file.ss58Address === "string" && file.ss58Address !== keypair.ss58Address) {
    throw new UsageError(`hotkey file ${path}: the secret does not match ss58Address`);
  }
  return { keypair, pair };
}
