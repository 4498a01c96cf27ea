/**
 * Wallets in the standard Bittensor layout, and where their passwords come from.
 *
 * ```
 * <root>/<name>/coldkey               secret coldkey (normally $NACL-encrypted)
 * <root>/<name>/coldkeypub.txt        public coldkey
 * <root>/<name>/hotkeys/<hotkey>      secret hotkey (normally plain JSON)
 * <root>/<name>/hotkeys/<hotkey>pub.txt
 * ```
 *
 * ```ts
 * const wallet = new Wallet({ name: "taos", hotkey: "miner" });
 * const hotkey = await wallet.hotkey(passwordFromEnvOrTty);
 * ```
 * @module
 */
import { Buffer } from "node:buffer";
import { existsSync, readdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import type { Keypair } from "./keypair.ts";
import { expandHome } from "../cli/home_path.ts";
import {
  detectEncryption,
  isTemporaryKeyfile,
  KeyfileError,
  keypairToKeyfileJson,
  readKeyfile,
  readKeyfileBytes,
  writeKeyfile,
} from "./keyfile.ts";

/** `~/.bittensor/wallets`, or `BT_WALLET_PATH` when set (an empty value counts as unset: it would
 * otherwise put the keys in whatever directory the process runs in). */
export function defaultWalletRoot(): string {
  return walletRootOf(undefined).root;
}

/**
 * The wallet root for a `--wallet.path` value (undefined when not given): the value, else
 * {@linkcode defaultWalletRoot}; `source` is what chose it, for messages.
 */
export function walletRootOf(given: string | undefined): { root: string; source: string } {
  if (given !== undefined) return { root: expandHome(given), source: "-p/--wallet.path" };
  const variable = walletPathVariable();
  return variable === undefined
    ? {
      root: expandHome("~/.bittensor/wallets"),
      source: "the default wallet path (-p/--wallet.path or BT_WALLET_PATH sets another)",
    }
    : { root: expandHome(variable), source: "BT_WALLET_PATH" };
}

/** `BT_WALLET_PATH`, undefined when unset or blank. */
function walletPathVariable(): string | undefined {
  return Deno.env.get("BT_WALLET_PATH")?.trim() || undefined;
}

/** btwallet's environment defaults of the wallet and hotkey names. */
const NAME_VARIABLES = { name: "BT_WALLET_NAME", hotkey: "BT_WALLET_HOTKEY" } as const;

/**
 * A wallet or hotkey name as btwallet chooses it: the flag's value, else `BT_WALLET_NAME` or
 * `BT_WALLET_HOTKEY` (blank counts as unset), else `fallback`. `source` is the flag or variable
 * the name came from, for messages (the flag when it is the fallback); `named` is false for the
 * fallback.
 */
export function walletPart(
  part: keyof typeof NAME_VARIABLES,
  given: string | undefined,
  fallback: string,
): { name: string; source: string; named: boolean } {
  const flag = `--wallet.${part}`;
  if (given !== undefined) return { name: given, source: flag, named: true };
  const variable = NAME_VARIABLES[part];
  const fromEnvironment = Deno.env.get(variable)?.trim();
  return fromEnvironment
    ? { name: fromEnvironment, source: variable, named: true }
    : { name: fallback, source: flag, named: false };
}

/**
 * The btwallet variables that chose the wallet's path or names where no flag did, as
 * `BT_WALLET_NAME=x`: a value from the environment is easy to forget when its key is not found.
 */
export function walletVariablesUsed(
  given: { path?: string; name?: string; hotkey?: string },
): string[] {
  const used: string[] = [];
  const path = walletPathVariable();
  if (given.path === undefined && path !== undefined) used.push(`BT_WALLET_PATH=${path}`);
  for (const part of ["name", "hotkey"] as const) {
    const { name, source } = walletPart(part, given[part], "");
    if (source === NAME_VARIABLES[part]) used.push(`${source}=${name}`);
  }
  return used;
}

/** Longest wallet or hotkey name: `<name>pub.txt` must fit a file name, with room to spare. */
const MAX_WALLET_NAME = 128;

/**
 * Why `name` cannot name a wallet or a hotkey, or null when it can. A name is one path component,
 * so `../x` cannot reach outside the wallets directory (or, for a validator, its logging directory).
 */
export function walletNameProblem(name: string): string | null {
  if (name === "") return "must not be empty";
  if (name === "." || name === ".." || /[/\0]/.test(name)) {
    return `'${name}' must be a single file name (no '/', not '.' or '..')`;
  }
  if (name.length > MAX_WALLET_NAME) {
    return `a name of ${name.length} characters is too long (at most ${MAX_WALLET_NAME})`;
  }
  return null;
}

/** Environment variable taos reads a keyfile password from. */
const PASSWORD_ENV = "TAOS_WALLET_PASSWORD";

/**
 * btwallet's per-file password variable: `BT_PW_` + the path with `/` and `.` as `_`,
 * upper-cased. Its value is base64 of the password XOR-ed with the variable's own name.
 */
export function btwalletPasswordVariable(path: string): string {
  return `BT_PW_${path.replaceAll("/", "_").replaceAll(".", "_").toUpperCase()}`;
}

/** Decodes a btwallet `BT_PW_*` value. */
export function decodeBtwalletPassword(variable: string, value: string): string {
  // Node's decoder skips what is not base64: a mangled value must not become a wrong password
  // that costs an Argon2 derivation before it is refused.
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(value)) {
    throw new KeyfileError(`${variable} is not base64 (btwallet's encoding of a password)`);
  }
  const bytes = Buffer.from(value, "base64");
  const key = Buffer.from(variable, "utf8");
  const out = bytes.map((b, i) => b ^ key[i % key.length]);
  return Buffer.from(out).toString("utf8");
}

/** Encodes a password the way btwallet expects it in `BT_PW_*` (for scripts and tests). */
export function encodeBtwalletPassword(variable: string, password: string): string {
  const bytes = Buffer.from(password, "utf8");
  const key = Buffer.from(variable, "utf8");
  return Buffer.from(bytes.map((b, i) => b ^ key[i % key.length])).toString("base64");
}

/**
 * Reads a password from the terminal without echoing it. Like btwallet's prompt it drops white
 * space around what is typed, so a password typed as btcli would take it opens btcli's files.
 */
async function readHiddenPassword(question: string, variable: string): Promise<string> {
  if (!Deno.stdin.isTerminal()) {
    throw new KeyfileError(
      `a password is needed but there is no terminal; set ${PASSWORD_ENV} or btwallet's ${variable}`,
    );
  }
  const encoder = new TextEncoder();
  // Echo goes off before the prompt shows, so nothing typed at once is echoed.
  Deno.stdin.setRaw(true);
  const chars: number[] = [];
  const buffer = new Uint8Array(1);
  try {
    await Deno.stderr.write(encoder.encode(question));
    for (;;) {
      const n = await Deno.stdin.read(buffer);
      if (n === null) break;
      const c = buffer[0];
      if (c === 13 || c === 10) break;
      if (c === 3 || c === 4) throw new KeyfileError("password entry cancelled");
      if (c === 127 || c === 8) {
        // Backspace erases a whole character: its UTF-8 continuation bytes, then its first byte.
        while ((chars.at(-1) ?? 0) >> 6 === 0b10) chars.pop();
        chars.pop();
      } else chars.push(c);
    }
  } finally {
    Deno.stdin.setRaw(false);
    await Deno.stderr.write(encoder.encode("\n"));
  }
  return new TextDecoder().decode(new Uint8Array(chars)).trim();
}

/** `TAOS_WALLET_PASSWORD`, unless unset or empty (as a blank `BT_WALLET_PATH` is unset). */
/**
 * The password for `path` from the environment: `TAOS_WALLET_PASSWORD`, else btwallet's `BT_PW_*`
 * variable. btwallet names its variable after the path as it spells it (`btwalletPath`: a relative
 * wallet path stays relative); the absolute path and its `~` form are tried too.
 */
function passwordFromEnvironment(path: string, btwalletPath: string): string | undefined {
  const direct = Deno.env.get(PASSWORD_ENV);
  if (direct !== undefined && direct !== "") return direct;
  const tilde = path.startsWith(homedir()) ? `~${path.slice(homedir().length)}` : path;
  for (const form of new Set([btwalletPath, path, tilde])) {
    const variable = btwalletPasswordVariable(form);
    const value = Deno.env.get(variable);
    if (value !== undefined) return decodeBtwalletPassword(variable, value);
  }
  return undefined;
}

/**
 * The password for `path`: from the environment (`TAOS_WALLET_PASSWORD`, else btwallet's
 * `BT_PW_*` variable), else a hidden prompt on the terminal. The password is never printed or
 * logged.
 */
export function passwordFor(path: string, btwalletPath: string = path): () => Promise<string> {
  return async () =>
    passwordFromEnvironment(path, btwalletPath) ??
      await readHiddenPassword(`Password for ${path}: `, btwalletPasswordVariable(btwalletPath));
}

/**
 * The password for a new encrypted keyfile at `path`: from the environment as {@link passwordFor}
 * reads it, or typed twice on the terminal, since a typo would lock the new key away for good.
 */
export function newPasswordFor(path: string, btwalletPath: string = path): () => Promise<string> {
  return async () => {
    const given = passwordFromEnvironment(path, btwalletPath);
    if (given !== undefined) return given;
    const variable = btwalletPasswordVariable(btwalletPath);
    const first = await readHiddenPassword(`Password for ${path}: `, variable);
    const again = await readHiddenPassword("The same password again: ", variable);
    if (first !== again) throw new KeyfileError("the two passwords differ; nothing was written");
    return first;
  };
}

/** Where a wallet lives and which hotkey to use. */
export interface WalletLocation {
  /** Root of all wallets (default `~/.bittensor/wallets`). */
  root?: string;
  /** Wallet (coldkey) name. */
  name: string;
  /** Hotkey name. */
  hotkey: string;
}

/** One wallet: a coldkey and its hotkeys. */
export class Wallet {
  readonly root: string;
  readonly name: string;
  readonly hotkeyName: string;
  /** The root as given, `~` expanded but not made absolute, as btwallet keeps it. */
  readonly #givenRoot: string;

  constructor(location: WalletLocation) {
    this.#givenRoot = expandHome(location.root ?? defaultWalletRoot());
    this.root = resolve(this.#givenRoot);
    this.name = location.name;
    this.hotkeyName = location.hotkey;
  }

  /**
   * A file of this wallet as btwallet spells its path, which names its `BT_PW_*` variable: the
   * root as given, joined as Rust's `PathBuf` joins (a separator added only where none ends it).
   */
  #btwalletPath(...parts: string[]): string {
    const separator = this.#givenRoot.endsWith("/") ? "" : "/";
    return `${this.#givenRoot}${separator}${[this.name, ...parts].join("/")}`;
  }

  /** The password source of the secret hotkey file. */
  hotkeyPassword(): () => Promise<string> {
    return passwordFor(this.hotkeyPath, this.#btwalletPath("hotkeys", this.hotkeyName));
  }

  /** The password source of the secret coldkey file; `create` asks a new one twice. */
  coldkeyPassword(create = false): () => Promise<string> {
    const ask = create ? newPasswordFor : passwordFor;
    return ask(this.coldkeyPath, this.#btwalletPath("coldkey"));
  }

  /** Directory of this wallet. */
  get path(): string {
    return join(this.root, this.name);
  }
  /** The secret coldkey file. */
  get coldkeyPath(): string {
    return join(this.path, "coldkey");
  }
  /** The public coldkey file. */
  get coldkeypubPath(): string {
    return join(this.path, "coldkeypub.txt");
  }
  /** The secret hotkey file. */
  get hotkeyPath(): string {
    return join(this.path, "hotkeys", this.hotkeyName);
  }
  /** The public hotkey file. */
  get hotkeypubPath(): string {
    return join(this.path, "hotkeys", `${this.hotkeyName}pub.txt`);
  }

  /** Loads the hotkey (able to sign); asks `password` only if the file is encrypted. */
  async hotkey(password: () => Promise<string> = this.hotkeyPassword()): Promise<Keypair> {
    const key = await readKeyfile(this.hotkeyPath, { password });
    if (!key.canSign) throw new KeyfileError(`${this.hotkeyPath}: holds no secret key`);
    return key;
  }

  /**
   * The hotkey's public key without a password: its `<name>pub.txt`, else its secret file when
   * that is not encrypted (older wallets have no public file).
   */
  async hotkeypub(): Promise<Keypair> {
    if (existsSync(this.hotkeypubPath)) return await readKeyfile(this.hotkeypubPath);
    if (
      missing(this.hotkeyPath) === false &&
      detectEncryption(readKeyfileBytes(this.hotkeyPath)) !== "none"
    ) {
      throw new KeyfileError(
        `${this.hotkeyPath} is encrypted and has no ${this.hotkeyName}pub.txt to show its address`,
      );
    }
    return await readKeyfile(this.hotkeyPath);
  }

  /** Loads the public coldkey. */
  async coldkeypub(): Promise<Keypair> {
    return await readKeyfile(this.coldkeypubPath);
  }

  /** Loads the secret coldkey; asks for its password when encrypted. */
  async coldkey(password: () => Promise<string> = this.coldkeyPassword()): Promise<Keypair> {
    return await readKeyfile(this.coldkeyPath, { password });
  }

  /** Writes a coldkey (encrypted when `password` is given) and its public file. */
  async writeColdkey(key: Keypair, password?: string): Promise<void> {
    await writeKeyfile(this.coldkeyPath, keypairToKeyfileJson(key), { password });
    await this.writeColdkeypub(key);
  }

  /** Writes the coldkey's public file alone (`coldkeypub.txt`, what shows its address). */
  async writeColdkeypub(key: Keypair): Promise<void> {
    await writeKeyfile(this.coldkeypubPath, keypairToKeyfileJson(key, true));
  }

  /** Writes the hotkey (plain unless `password` is given) and its public file. */
  async writeHotkey(key: Keypair, password?: string): Promise<void> {
    await writeKeyfile(this.hotkeyPath, keypairToKeyfileJson(key), { password });
    await writeKeyfile(this.hotkeypubPath, keypairToKeyfileJson(key, true));
  }
}

/** A wallet found on disk, as `taos wallet list` shows it. */
export interface WalletSummary {
  name: string;
  /** Coldkey SS58 address, null when `coldkeypub.txt` is missing or unreadable. */
  coldkey: string | null;
  /** Why an existing `coldkeypub.txt` could not be read. */
  coldkeyError?: string;
  hotkeys: { name: string; address: string | null; error?: string }[];
  /** Set when the entry itself cannot be read (a dangling link, an unreadable directory). */
  error?: string;
}

/**
 * Every wallet under `root`, with addresses read from public files (no password needed). An
 * entry that cannot be read is listed with its error rather than failing the whole listing;
 * only an unreadable `root` throws.
 */
export async function listWallets(root: string = defaultWalletRoot()): Promise<WalletSummary[]> {
  if (!existsSync(root)) return [];
  const out: WalletSummary[] = [];
  for (const name of readdirSync(root).sort()) {
    const dir = join(root, name);
    try {
      if (!statSync(dir).isDirectory()) continue;
      out.push(await summarize(root, name));
    } catch (error) {
      out.push({ name, coldkey: null, hotkeys: [], error: (error as Error).message });
    }
  }
  return out;
}

async function summarize(root: string, name: string): Promise<WalletSummary> {
  const wallet = new Wallet({ root, name, hotkey: "" });
  let coldkey: string | null = null;
  let coldkeyError: string | undefined;
  try {
    coldkey = (await wallet.coldkeypub()).ss58Address;
  } catch (error) {
    if (missing(wallet.coldkeypubPath) !== true) coldkeyError = (error as Error).message;
  }
  const hotkeys: WalletSummary["hotkeys"] = [];
  const hotDir = join(wallet.path, "hotkeys");
  if (missing(hotDir) === false) {
    for (const file of hotkeyNames(readdirSync(hotDir))) {
      const hot = new Wallet({ root, name, hotkey: file });
      try {
        hotkeys.push({ name: file, address: (await hot.hotkeypub()).ss58Address });
      } catch (error) {
        hotkeys.push({ name: file, address: null, error: (error as Error).message });
      }
    }
  }
  return coldkeyError === undefined
    ? { name, coldkey, hotkeys }
    : { name, coldkey, coldkeyError, hotkeys };
}

/**
 * The hotkeys in a `hotkeys/` directory: each secret file, and each `<name>pub.txt` without its
 * secret file (a public-only hotkey). A file is a secret file when its `…pub.txt` is beside it,
 * so a hotkey may itself be named `…pub.txt`.
 */
function hotkeyNames(entries: string[]): string[] {
  const files = new Set(entries.filter((entry) => !isTemporaryKeyfile(entry)));
  const names = new Set<string>();
  for (const file of files) {
    const base = file.endsWith("pub.txt") ? file.slice(0, -"pub.txt".length) : null;
    if (files.has(`${file}pub.txt`) || base === null) names.add(file);
    else if (!files.has(base)) names.add(base);
  }
  return [...names].sort();
}

/**
 * Whether `path` is absent: true when it does not exist, false when it does, and the error when
 * it cannot be told (a permission refused on the way).
 */
export function missing(path: string): boolean | Error {
  try {
    statSync(path);
    return false;
  } catch (error) {
    const code = (error as { code?: string }).code;
    return code === "ENOENT" || code === "ENOTDIR" ? true : error as Error;
  }
}
