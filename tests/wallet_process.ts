/** Runs `taos wallet` as a child process, as a user would, for the wallet tests of several folders. */
import { fileURLToPath } from "node:url";

/** The repository root, where `main.ts` is. */
export const repoRoot = fileURLToPath(new URL("../", import.meta.url));

/** This process's environment without any wallet password variable, so no test finds one set. */
export function passwordFreeEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([name]) =>
      name !== "TAOS_WALLET_PASSWORD" && !name.startsWith("BT_PW_")
    ),
  );
}

/** Where and with what the child runs. */
export interface WalletProcessOptions {
  /** Variables set on top of the password-free environment. */
  env?: Record<string, string>;
  /** The child's working directory; this process's when not given. */
  cwd?: string;
}

/** Runs `taos wallet <args>` with stdin closed and no password set, so no prompt can hang a test. */
export async function taosWallet(args: string[], options: WalletProcessOptions = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts", "wallet", ...args],
    cwd: options.cwd,
    clearEnv: true,
    env: { ...passwordFreeEnv(), ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}
