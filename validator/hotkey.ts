/**
 * Loads the validator's signing hotkey: from the wallet's hotkey keyfile
 * (`<wallet.path>/<wallet.name>/hotkeys/<wallet.hotkey>`, plain or encrypted, read by
 * `bittensor/wallet.ts`), or from a Substrate URI for development networks
 * (`--hotkey-uri //Alice`).
 *
 * ```ts
 * const { keypair } = await loadHotkey({ walletPath, walletName, walletHotkey, uri: null });
 * console.log(keypair.ss58Address);
 * ```
 * @module
 */
import { Keyring } from "@polkadot/keyring";
import { UsageError } from "../cli/command.ts";
import { cryptoReady, Keypair } from "../bittensor/keypair.ts";
import { missing, Wallet } from "../bittensor/wallet.ts";
import type { HotkeyPair } from "../chain/mod.ts";

/** Where the hotkey comes from. */
export interface HotkeySource {
  walletPath: string;
  walletName: string;
  walletHotkey: string;
  /** A Substrate URI; when set, the wallet is not read. */
  uri: string | null;
  /** The btwallet variables that chose the path or names (`BT_WALLET_NAME=x`), for messages. */
  walletVariables?: string[];
}

/** The hotkey in both forms: for dendrite signatures and for chain extrinsics. */
export interface LoadedHotkey {
  keypair: Keypair;
  /** polkadot-js pair for signing extrinsics. */
  pair: HotkeyPair;
}

/** Loads the hotkey; throws {@linkcode UsageError} naming the file or URI and the problem. */
export async function loadHotkey(source: HotkeySource): Promise<LoadedHotkey> {
  await cryptoReady();
  let keypair: Keypair;
  if (source.uri !== null) {
    try {
      keypair = Keypair.fromUri(source.uri);
    } catch (error) {
      throw new UsageError(`--hotkey-uri: ${(error as Error).message}`);
    }
  } else {
    const wallet = new Wallet({
      root: source.walletPath,
      name: source.walletName,
      hotkey: source.walletHotkey,
    });
    try {
      keypair = await wallet.hotkey();
    } catch (error) {
      const notes = source.walletVariables?.length
        ? [`chosen by ${source.walletVariables.join(", ")}`]
        : [];
      // Only a hotkey that is not there points at the flags: one found but locked (no password,
      // a wrong one) or damaged is not helped by naming another.
      if (missing(wallet.hotkeyPath) === true) {
        notes.push("set -p/-w/-h, or --hotkey-uri for a development key");
      }
      throw new UsageError(
        `hotkey ${source.walletName}/${source.walletHotkey} in ${source.walletPath}: ${
          (error as Error).message
        }${notes.length === 0 ? "" : ` (${notes.join("; ")})`}`,
      );
    }
  }
  const pair = new Keyring({ type: "sr25519", ss58Format: 42 }).addFromPair(
    keypair.toPolkadotPair(),
  );
  return { keypair, pair };
}
