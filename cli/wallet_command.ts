/**
 * `taos wallet create|list|show`: local wallets in the layout and file format the Bittensor
 * tools read, for localnets and tests.
 *
 * ```sh
 * taos wallet create --wallet.name taos --wallet.hotkey miner --hotkey-uri //Bob
 * taos wallet list
 * ```
 * @module
 */
import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { mnemonicGenerate } from "@polkadot/util-crypto";
import { type Command, parseFlags, printOut, UsageError } from "./command.ts";
import { nonEmptyFlag } from "./flag_values.ts";
import { cryptoReady, Keypair } from "../bittensor/keypair.ts";
import {
  checkKeyfileDirectory,
  detectEncryption,
  isTemporaryKeyfile,
  KeyfileError,
  readKeyfile,
  readKeyfileBytes,
} from "../bittensor/keyfile.ts";
import {
  listWallets,
  missing,
  Wallet,
  walletNameProblem,
  walletPart,
  walletRootOf,
} from "../bittensor/wallet.ts";

const help = `Usage: taos wallet <create|list|show> [options]

  create   write a coldkey (coldkey, coldkeypub.txt) and a hotkey (hotkeys/<name>, <name>pub.txt);
           a wallet's existing coldkey is kept (only the hotkey is added) unless
           --overwrite-coldkey is given, which alone keeps an existing hotkey
  list     every wallet under the wallet path with its addresses, or only the one -w names
  show     one wallet's coldkey and hotkey addresses and how each file is stored

Options:
  -p, --wallet.path <dir>     wallet root (default ~/.bittensor/wallets, or BT_WALLET_PATH)
  -w, --wallet.name <name>    wallet name (default BT_WALLET_NAME, else default; for list,
                              only that wallet)
  -h, --wallet.hotkey <name>  hotkey name (default BT_WALLET_HOTKEY, else default; create,
                              show); -h alone or last is help, as in the miner and validator
      --coldkey-uri <uri>     create the coldkey from a URI (//Alice, a mnemonic, 0x seed);
                              default: a new 12-word mnemonic
      --hotkey-uri <uri>      create the hotkey from a URI; default: a new 12-word mnemonic
      --encrypt               encrypt the coldkey ($NACL); password from TAOS_WALLET_PASSWORD,
                              btwallet's BT_PW_<path> or the terminal (typed twice)
      --overwrite             replace an existing hotkey
      --overwrite-coldkey     replace an existing coldkey (with --coldkey-uri or a new mnemonic)
      --json                  machine-readable output (create and show: the wallet as show
                              describes it; list: every wallet)
      --help                  this text

--coldkey-uri, --hotkey-uri, --encrypt and --overwrite* apply to create only, and --wallet.hotkey
to create and show; given to another action, they are refused.`;

/** The actions each flag means something to; any other use is refused rather than ignored. */
const FLAG_ACTIONS: Readonly<Record<string, readonly string[]>> = {
  "wallet.hotkey": ["create", "show"],
  "coldkey-uri": ["create"],
  "hotkey-uri": ["create"],
  encrypt: ["create"],
  overwrite: ["create"],
  "overwrite-coldkey": ["create"],
};

function parse(args: string[]) {
  // A flag given twice is refused: `--hotkey-uri //Bob --hotkey-uri //Eve` must not make a key
  // from whichever came last.
  return parseFlags({
    args,
    allowPositionals: true,
    options: {
      "wallet.path": { type: "string", short: "p" },
      // No default here: `list` tells a name given from none.
      "wallet.name": { type: "string", short: "w" },
      "wallet.hotkey": { type: "string", short: "h" },
      "coldkey-uri": { type: "string" },
      "hotkey-uri": { type: "string" },
      encrypt: { type: "boolean" },
      overwrite: { type: "boolean" },
      "overwrite-coldkey": { type: "boolean" },
      json: { type: "boolean", default: false },
    },
  }, { once: true });
}

/** A wallet or hotkey name as {@linkcode walletPart} chose it, checked for `taos wallet`. */
function checkName(
  { name: value, source }: { name: string; source: string },
  creating: boolean,
  hotkey = false,
): string {
  // Creation is stricter than reading: a new name should work with every tool and shell, while
  // `show` must still reach a wallet another tool named more freely.
  if (creating && !/^[A-Za-z0-9_.-]*$/.test(value)) {
    throw new UsageError(`${source}: '${value}' is not a valid name (letters, digits, _ . -)`);
  }
  // A hotkey's public file is `<name>pub.txt`: a name of that shape reads as another's.
  if (creating && hotkey && value.endsWith("pub.txt")) {
    throw new UsageError(`${source}: '${value}' ends in pub.txt, the suffix of public key files`);
  }
  // Such a file is taken for a cut-off write of another key, and removed once it is a minute old.
  if (creating && hotkey && isTemporaryKeyfile(value)) {
    throw new UsageError(
      `${source}: '${value}' has the shape of a key file's temporary copy (<name>.<uuid>.tmp)`,
    );
  }
  // Checked before anything is written, so a name the file system refuses leaves no half wallet.
  const problem = walletNameProblem(value);
  if (problem !== null) throw new UsageError(`${source}: ${problem}`);
  return value;
}

function keyFrom(flag: string, uri: string | undefined): Keypair {
  nonEmptyFlag(flag, uri);
  try {
    return uri === undefined ? Keypair.fromMnemonic(mnemonicGenerate(12)) : Keypair.fromUri(uri);
  } catch (error) {
    throw new UsageError(`--${flag}: ${(error as Error).message}`);
  }
}

/**
 * Shows a generated key's mnemonic on the terminal, the way to recover the key; never into a pipe
 * or a log, where a secret would outlive the screen.
 */
function showMnemonic(what: string, key: Keypair, path: string): void {
  if (key.origin.mnemonic === undefined) return;
  if (!Deno.stderr.isTerminal()) {
    // Said, so that no one counts on a phrase that was never shown.
    console.error(
      `note: the new ${what}'s mnemonic is shown on a terminal only; back up ${path}, the one ` +
        `copy of the key`,
    );
    return;
  }
  console.error(
    `${what} mnemonic (write it down: it recovers the key with --${what}-uri "<words>"):\n` +
      `  ${key.origin.mnemonic}`,
  );
}

/**
 * How a keyfile is stored: `plain` only for one that reads as a key, as the miner and validator
 * read it; another plain file (empty, not JSON) is unreadable with their message, which names no
 * secret. An encrypted one is told by its scheme, unopened.
 */
async function storage(path: string): Promise<string> {
  const absent = missing(path);
  if (absent instanceof Error) return `unreadable (${absent.message})`;
  if (absent) return "missing";
  try {
    const scheme = detectEncryption(readKeyfileBytes(path));
    if (scheme !== "none") return `encrypted (${scheme})`;
    await readKeyfile(path);
    return "plain";
  } catch (error) {
    return `unreadable (${(error as Error).message})`;
  }
}

/**
 * Writes a kept coldkey's missing `coldkeypub.txt` again from it and returns the coldkey's file to
 * name: a create cut off between the coldkey and its public file (written in that order) left a
 * coldkey whose address nothing shows. An encrypted one needs its password (a warning says why
 * not otherwise; the coldkey is kept either way).
 */
async function restoreColdkeypub(wallet: Wallet): Promise<string> {
  try {
    await wallet.writeColdkeypub(await wallet.coldkey());
    return `${wallet.coldkeyPath} (its missing coldkeypub.txt written again)`;
  } catch (error) {
    if (!(error instanceof KeyfileError)) throw error;
    console.error(
      `warning: ${wallet.coldkeyPath} has no coldkeypub.txt, which could not be written again ` +
        `(${error.message}); run this again with its password (TAOS_WALLET_PASSWORD, or on a ` +
        "terminal) to restore it",
    );
    return wallet.coldkeyPath;
  }
}

/** True for an error from the file system (it carries an errno code such as ENOENT). */
function isSystemError(error: unknown): error is Error {
  return error instanceof Error && typeof (error as { code?: unknown }).code === "string";
}

/** The key's address, or null and why it could not be read. */
async function addressOf(load: () => Promise<Keypair>) {
  try {
    return { address: (await load()).ss58Address, error: null };
  } catch (error) {
    if (error instanceof KeyfileError) return { address: null, error: error.message };
    throw error;
  }
}

/** What `show` prints of a wallet and one of its hotkeys, read without a password. */
async function describe(wallet: Wallet) {
  // A missing coldkeypub.txt is no error, as `list` shows it.
  const coldkey = missing(wallet.coldkeypubPath) === true
    ? { address: null, error: null }
    : await addressOf(() => wallet.coldkeypub());
  const hotkey = await addressOf(() => wallet.hotkeypub());
  return {
    wallet: wallet.name,
    path: wallet.path,
    coldkey: coldkey.address,
    coldkeyError: coldkey.error,
    coldkeyFile: await storage(wallet.coldkeyPath),
    hotkey: wallet.hotkeyName,
    hotkeyAddress: hotkey.address,
    hotkeyError: hotkey.error,
    hotkeyFile: await storage(wallet.hotkeyPath),
  };
}

/** The wallet root must be a directory when it exists (or, when `mustExist`, exist); `source`
 * is the flag or variable that named it. */
function checkRoot(root: string, source: string, mustExist: boolean): void {
  // A root that cannot be looked at (a parent without search permission) is not an absent one.
  const absent = missing(root);
  if (absent instanceof Error) {
    throw new UsageError(`${source}: cannot look at ${root}: ${absent.message}`);
  }
  if (absent) {
    if (mustExist) throw new UsageError(`${source}: ${root} does not exist`);
    return;
  }
  if (!statSync(root).isDirectory()) {
    throw new UsageError(`${source}: ${root} is not a directory`);
  }
}

/** `taos wallet`. */
export const command: Command = {
  name: "wallet",
  summary: "create, list and show local Bittensor wallets",
  help,
  async run(args: string[]): Promise<number> {
    const { values, positionals } = parse(args);
    const [action, ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
    for (const [flag, actions] of Object.entries(FLAG_ACTIONS)) {
      if (values[flag as keyof typeof values] === undefined) continue;
      // An unknown action is named as such below.
      if (["create", "list", "show"].includes(action) && !actions.includes(action)) {
        throw new UsageError(`--${flag}: applies to ${actions.join(" and ")}, not ${action}`);
      }
    }
    const given = values["wallet.path"];
    if (given?.trim() === "") throw new UsageError("-p/--wallet.path: empty (give a directory)");
    const { root, source: rootSource } = walletRootOf(given);
    await cryptoReady();
    if (action === "list") {
      checkRoot(root, rootSource, false);
      let wallets;
      try {
        wallets = await listWallets(root);
      } catch (error) {
        if (!isSystemError(error)) throw error;
        throw new UsageError(`${rootSource}: cannot list ${root}: ${error.message}`);
      }
      const only = values["wallet.name"];
      if (only !== undefined) {
        const name = checkName({ name: only, source: "--wallet.name" }, false);
        wallets = wallets.filter((w) => w.name === name);
        if (wallets.length === 0) {
          throw new UsageError(`-w/--wallet.name: no wallet '${only}' in ${root}`);
        }
      }
      if (values.json) printOut(JSON.stringify(wallets, null, 2));
      else if (wallets.length === 0) printOut(`no wallets in ${root}`);
      else {
        for (const w of wallets) {
          if (w.error !== undefined) {
            printOut(`${w.name}  (unreadable: ${w.error})`);
            continue;
          }
          const coldkey = w.coldkey ??
            (w.coldkeyError === undefined
              ? "(no coldkeypub.txt)"
              : `(unreadable: ${w.coldkeyError})`);
          printOut(`${w.name}  coldkey ${coldkey}`);
          for (const h of w.hotkeys) {
            printOut(`  ${h.name}  ${h.address ?? `(unreadable: ${h.error})`}`);
          }
        }
      }
      return 0;
    }
    const name = walletPart("name", values["wallet.name"], "default");
    const hotkeyPart = walletPart("hotkey", values["wallet.hotkey"], "default");
    const wallet = new Wallet({
      root,
      name: checkName(name, action === "create"),
      hotkey: checkName(hotkeyPart, action === "create", true),
    });
    if (action === "create") {
      checkRoot(root, rootSource, false);
      // The coldkey is the wallet's identity (its funds, its registrations): a wallet that has
      // one, even only as coldkeypub.txt, keeps it unless its replacement is asked for by name.
      const hasColdkey = existsSync(wallet.coldkeyPath) || existsSync(wallet.coldkeypubPath);
      const replaceColdkey = values["overwrite-coldkey"] === true;
      if (hasColdkey && !replaceColdkey && values["coldkey-uri"] !== undefined) {
        throw new UsageError(
          `--coldkey-uri: wallet ${wallet.name} already has a coldkey; ` +
            "pass --overwrite-coldkey to replace it",
        );
      }
      if (hasColdkey && !replaceColdkey && values.encrypt) {
        throw new UsageError(
          `--encrypt: wallet ${wallet.name} keeps its existing coldkey; --encrypt applies to a ` +
            "new one (--overwrite-coldkey)",
        );
      }
      // A coldkey replaced on its own keeps the wallet's hotkey, as btcli's `new_coldkey` does.
      const hasHotkey = existsSync(wallet.hotkeyPath) || existsSync(wallet.hotkeypubPath);
      // So does a rerun that finds its kept coldkey without coldkeypub.txt (a create cut off
      // between the two): it writes that file again and leaves the hotkey be.
      const repairsColdkey = hasColdkey && !replaceColdkey && !existsSync(wallet.coldkeypubPath);
      const keepHotkey = hasHotkey && (replaceColdkey || repairsColdkey) && !values.overwrite &&
        values["hotkey-uri"] === undefined;
      if (hasHotkey && !keepHotkey && !values.overwrite) {
        const path = existsSync(wallet.hotkeyPath) ? wallet.hotkeyPath : wallet.hotkeypubPath;
        throw new UsageError(`${path} exists; pass --overwrite to replace it`);
      }
      const hotkey = keepHotkey ? null : keyFrom("hotkey-uri", values["hotkey-uri"]);
      const coldkey = hasColdkey && !replaceColdkey
        ? null
        : keyFrom("coldkey-uri", values["coldkey-uri"]);
      // Checked before anything is written, so that a hotkey that cannot be written does not
      // leave a new coldkey behind.
      const targets = [
        ...(coldkey === null
          ? (repairsColdkey ? [wallet.coldkeypubPath] : [])
          : [wallet.coldkeyPath, wallet.coldkeypubPath]),
        ...(hotkey === null ? [] : [wallet.hotkeyPath, wallet.hotkeypubPath]),
      ];
      for (const path of targets) {
        if (existsSync(path) && !statSync(path).isFile()) {
          throw new UsageError(`${path} is not a regular file; nothing was written`);
        }
      }
      let password: string | undefined;
      if (coldkey !== null && values.encrypt) {
        try {
          password = await wallet.coldkeyPassword(true)();
        } catch (error) {
          if (!(error instanceof KeyfileError)) throw error;
          throw new UsageError(`--encrypt: ${error.message}`);
        }
        const problem = newPasswordProblem(password);
        if (problem !== null) throw new UsageError(`--encrypt: ${problem}; nothing was written`);
      }
      try {
        // Both directories made and tried first, so an unwritable path leaves no half-made wallet
        // behind (a coldkey without the hotkey the command was asked for).
        mkdirSync(join(wallet.path, "hotkeys"), { recursive: true, mode: 0o700 });
        for (const dir of new Set(targets.map((path) => dirname(path)))) {
          try {
            checkKeyfileDirectory(dir);
          } catch (error) {
            if (!isSystemError(error)) throw error;
            const code = (error as Error & { code: string }).code;
            throw new UsageError(
              `${rootSource}: cannot write in ${dir} (${code}); nothing was written`,
            );
          }
        }
        if (coldkey === null) {
          const kept = repairsColdkey ? await restoreColdkeypub(wallet) : wallet.coldkeypubPath;
          if (!values.json) printOut(`coldkey kept  ${kept}`);
        } else {
          await wallet.writeColdkey(coldkey, password);
          if (!values.json) printOut(`coldkey ${coldkey.ss58Address}  ${wallet.coldkeyPath}`);
          if (password === undefined) {
            console.error(
              "note: the coldkey is stored unencrypted; for a key that will hold funds, create it " +
                "with --encrypt",
            );
          }
          // A phrase the user gave is theirs already: only a generated one is shown.
          if (values["coldkey-uri"] === undefined) {
            showMnemonic("coldkey", coldkey, wallet.coldkeyPath);
          }
        }
        if (hotkey === null) {
          const kept = existsSync(wallet.hotkeypubPath) ? wallet.hotkeypubPath : wallet.hotkeyPath;
          if (!values.json) printOut(`hotkey kept   ${kept}`);
        } else {
          await wallet.writeHotkey(hotkey);
          if (values["hotkey-uri"] === undefined) showMnemonic("hotkey", hotkey, wallet.hotkeyPath);
        }
      } catch (error) {
        if (!isSystemError(error)) throw error;
        throw new UsageError(`${rootSource}: cannot write ${wallet.path}: ${error.message}`);
      }
      if (values.json) {
        const kept = { coldkeyKept: coldkey === null, hotkeyKept: hotkey === null };
        printOut(JSON.stringify({ ...await describe(wallet), ...kept }, null, 2));
      } else if (hotkey !== null) {
        printOut(`hotkey  ${hotkey.ss58Address}  ${wallet.hotkeyPath}`);
      }
      return 0;
    }
    if (action === "show") {
      checkRoot(root, rootSource, true);
      const source = name.source === "--wallet.name" ? "-w/--wallet.name" : name.source;
      // Only a wallet that is not there is "no wallet": one that cannot be looked at says why.
      const absent = missing(wallet.path);
      if (absent instanceof Error) {
        throw new UsageError(
          `${source}: cannot look at wallet '${wallet.name}' in ${root}: ${absent.message}`,
        );
      }
      if (absent || !statSync(wallet.path).isDirectory()) {
        throw new UsageError(`${source}: no wallet '${wallet.name}' in ${root}`);
      }
      // A hotkey asked for by name (flag or variable) must exist; the default one may be absent.
      // One that cannot be looked at is shown unreadable, with why.
      if (
        hotkeyPart.named && missing(wallet.hotkeyPath) === true &&
        missing(wallet.hotkeypubPath) === true
      ) {
        throw new UsageError(
          `${hotkeyPart.source}: wallet ${wallet.name} has no hotkey '${wallet.hotkeyName}'`,
        );
      }
      const info = await describe(wallet);
      if (values.json) printOut(JSON.stringify(info, null, 2));
      else {
        const shown = (address: string | null, error: string | null) =>
          address ?? `(unreadable: ${error})`;
        printOut(`wallet  ${info.wallet}  (${info.path})`);
        const coldkey = info.coldkey === null && info.coldkeyError === null
          ? "(no coldkeypub.txt)"
          : shown(info.coldkey, info.coldkeyError);
        printOut(`coldkey ${coldkey}  file: ${info.coldkeyFile}`);
        printOut(
          `hotkey  ${info.hotkey}  ${shown(info.hotkeyAddress, info.hotkeyError)}  ` +
            `file: ${info.hotkeyFile}`,
        );
      }
      return info.coldkey === null && info.hotkeyAddress === null ? 1 : 0;
    }
    throw new UsageError(
      action === undefined ? "missing action (create, list or show)" : `unknown action '${action}'`,
    );
  },
};

/**
 * Why a new coldkey's password is refused: btwallet takes at least 6 characters (its strength
 * score is not applied), and its prompt drops white space around what is typed, so a password
 * from the environment that has some could never be typed.
 */
function newPasswordProblem(password: string): string | null {
  if (password !== password.trim()) {
    return "the password starts or ends with white space, which a password prompt drops";
  }
  // In bytes of UTF-8, as btwallet counts it.
  if (new TextEncoder().encode(password).length < 6) {
    return "the password is shorter than 6 bytes (btwallet's minimum)";
  }
  return null;
}
