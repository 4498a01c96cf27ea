/**
 * `taos wallet` flags and the actions they apply to, on real child processes writing real wallets:
 * `create --json` prints what `show --json` would, `list -w` lists that wallet only, and a flag
 * that means nothing to an action is refused rather than ignored.
 */
import assert from "node:assert/strict";
import { testTempDir } from "../temp_dir.ts";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { encryptNacl } from "../../bittensor/keyfile.ts";
import { join } from "node:path";
import { repoRoot, taosWallet } from "../wallet_process.ts";

const ALICE = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
const BOB = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";
const DAVE = "5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy";

/** `taos wallet <args>` run from the repository root. */
const wallet = (...args: string[]) => taosWallet(args, { cwd: repoRoot });

Deno.test("taos wallet create --json prints the new wallet as show --json describes it", async () => {
  const root = testTempDir("taos-wallet-json-");
  const uris = ["--coldkey-uri", "//Alice", "--hotkey-uri", "//Bob"];
  // The human-readable lines are not printed: stdout is one JSON document.
  const created = JSON.parse(
    (await wallet("create", "-p", root, "-w", "j", "--wallet.hotkey", "h", ...uris, "--json"))
      .stdout,
  );
  assert.deepEqual(created, {
    wallet: "j",
    path: join(root, "j"),
    coldkey: ALICE,
    coldkeyError: null,
    coldkeyFile: "plain",
    hotkey: "h",
    hotkeyAddress: BOB,
    hotkeyError: null,
    hotkeyFile: "plain",
    coldkeyKept: false,
    hotkeyKept: false,
  });
  const shown = await wallet("show", "-p", root, "-w", "j", "--wallet.hotkey", "h", "--json");
  const kept = { coldkeyKept: undefined, hotkeyKept: undefined };
  assert.deepEqual({ ...created, ...kept }, { ...JSON.parse(shown.stdout), ...kept });
  // A second hotkey keeps the coldkey, and says so.
  const added = await wallet(
    "create",
    "-p",
    root,
    "-w",
    "j",
    "--wallet.hotkey",
    "h2",
    "--hotkey-uri",
    "//Dave",
    "--json",
  );
  assert.equal(added.code, 0, added.stderr);
  const second = JSON.parse(added.stdout);
  assert.equal(second.coldkey, ALICE);
  assert.equal(second.hotkeyAddress, DAVE);
  assert.equal(second.coldkeyKept, true);
});

Deno.test("taos wallet list -w lists that wallet only, and names one that is not there", async () => {
  const root = testTempDir("taos-wallet-list-");
  for (const [name, uri] of [["a", "//Alice"], ["b", "//Bob"]]) {
    const made = await wallet("create", "-p", root, "-w", name, "--coldkey-uri", uri);
    assert.equal(made.code, 0, made.stderr);
  }
  const listed = JSON.parse((await wallet("list", "-p", root, "-w", "b", "--json")).stdout);
  assert.deepEqual(listed.map((w: { name: string }) => w.name), ["b"]);
  assert.equal(listed[0].coldkey, BOB);
  const text = await wallet("list", "-p", root, "--wallet.name", "a");
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^a {2}coldkey /);
  assert.doesNotMatch(text.stdout, /^b /m);
  // Without -w, every wallet, as before.
  const all = JSON.parse((await wallet("list", "-p", root, "--json")).stdout);
  assert.deepEqual(all.map((w: { name: string }) => w.name), ["a", "b"]);
  const absent = await wallet("list", "-p", root, "-w", "c");
  assert.equal(absent.code, 2);
  assert.match(absent.stderr, /-w\/--wallet\.name: no wallet 'c' in /);
});

Deno.test("taos wallet refuses a flag that means nothing to the action, and empty URIs", async () => {
  const root = testTempDir("taos-wallet-flags-");
  const made = await wallet("create", "-p", root, "-w", "a", "--coldkey-uri", "//Alice");
  assert.equal(made.code, 0, made.stderr);
  const cases: [string[], RegExp][] = [
    [["list", "--encrypt"], /^taos wallet: --encrypt: applies to create, not list$/m],
    [["list", "--wallet.hotkey", "h"], /--wallet\.hotkey: applies to create and show, not list$/m],
    [["show", "-w", "a", "--overwrite"], /--overwrite: applies to create, not show$/m],
    [["show", "-w", "a", "--hotkey-uri", "//Bob"], /--hotkey-uri: applies to create, not show$/m],
    [["list", "-w", ""], /--wallet\.name: must not be empty$/m],
    [["create", "-w", "b", "--hotkey-uri="], /^taos wallet: --hotkey-uri: must not be empty$/m],
    [["create", "-w", "b", "--coldkey-uri="], /^taos wallet: --coldkey-uri: must not be empty$/m],
    // A repeated flag is refused: letting the last count would quietly make wallet c with //Eve's
    // hotkey.
    [
      ["create", "-w", "b", "-w", "c", "--hotkey-uri", "//Bob", "--hotkey-uri", "//Eve"],
      /^taos wallet: --wallet\.name: given twice$/m,
    ],
    [
      ["create", "-w", "b", "--hotkey-uri", "//Bob", "--hotkey-uri=//Eve"],
      /--hotkey-uri: given twice$/m,
    ],
  ];
  for (const [args, expected] of cases) {
    const r = await wallet(...args, "-p", root);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, expected, args.join(" "));
  }
  assert.deepEqual(readdirSync(root), ["a"], "no wallet made by a refused command");
});

/** A new wallet root holding wallet `w`: coldkey //Alice, hotkey `default` //Bob. */
async function aliceAndBob(prefix: string): Promise<string> {
  const root = testTempDir(prefix);
  const created = await wallet(
    "create",
    ...["-p", root, "-w", "w", "--coldkey-uri", "//Alice", "--hotkey-uri", "//Bob"],
  );
  assert.equal(created.code, 0, created.stderr);
  return root;
}

Deno.test("taos wallet create --overwrite-coldkey alone replaces the coldkey and keeps the hotkey", async () => {
  const root = await aliceAndBob("taos-wallet-cold-");
  const createInW = (...flags: string[]) => wallet("create", "-p", root, "-w", "w", ...flags);
  const replaced = await createInW("--overwrite-coldkey", "--coldkey-uri", "//Dave");
  assert.equal(replaced.code, 0, replaced.stderr);
  assert.match(replaced.stdout, /^hotkey kept /m);
  const shown = JSON.parse((await wallet("show", "-p", root, "-w", "w", "--json")).stdout);
  assert.equal(shown.coldkey, DAVE);
  assert.equal(shown.hotkeyAddress, BOB);
  // Naming a hotkey URI (or --overwrite) still asks for the hotkey to be replaced.
  const named = await createInW(
    ...["--overwrite-coldkey", "--coldkey-uri", "//Alice", "--hotkey-uri", "//Dave"],
  );
  assert.equal(named.code, 2);
  assert.match(named.stderr, /hotkeys\/default exists; pass --overwrite to replace it/);
});

Deno.test("taos wallet create writes nothing when a key's path is not a regular file", async () => {
  const root = testTempDir("taos-wallet-dir-");
  mkdirSync(join(root, "w", "hotkeys", "default", "sub"), { recursive: true });
  const r = await wallet(
    "create",
    "-p",
    root,
    "-w",
    "w",
    "--overwrite",
    "--coldkey-uri",
    "//Alice",
    "--hotkey-uri",
    "//Bob",
  );
  assert.equal(r.code, 2);
  assert.match(r.stderr, /hotkeys\/default is not a regular file; nothing was written/);
  assert.equal(r.stdout, "");
  assert.equal(existsSync(join(root, "w", "coldkey")), false, "no coldkey left behind");
  assert.equal(existsSync(join(root, "w", "coldkeypub.txt")), false);
});

Deno.test("taos wallet show and list agree on a missing coldkeypub.txt and say why an encrypted hotkey has no address", async () => {
  const root = await aliceAndBob("taos-wallet-pub-");
  rmSync(join(root, "w", "coldkeypub.txt"));
  // An older wallet's encrypted hotkey, with no public file beside it.
  rmSync(join(root, "w", "hotkeys", "defaultpub.txt"));
  const sealed = await encryptNacl(new TextEncoder().encode("{}"), { key: new Uint8Array(32) });
  writeFileSync(join(root, "w", "hotkeys", "default"), sealed);

  const shown = await wallet("show", "-p", root, "-w", "w");
  assert.equal(shown.code, 1, shown.stderr);
  assert.match(shown.stdout, /^coldkey \(no coldkeypub\.txt\) {2}file: plain$/m);
  assert.match(
    shown.stdout,
    /hotkey {2}default {2}\(unreadable: .*default is encrypted and has no defaultpub\.txt to show its address\)/,
  );
  const json = JSON.parse((await wallet("show", "-p", root, "-w", "w", "--json")).stdout);
  assert.equal(json.coldkey, null);
  assert.equal(json.coldkeyError, null);
  // What a write cut off by a crash leaves is not a hotkey.
  writeFileSync(join(root, "w", "hotkeys", `default.${crypto.randomUUID()}.tmp`), "{");
  const listed = await wallet("list", "-p", root);
  assert.doesNotMatch(listed.stdout, /\.tmp/);
  assert.match(listed.stdout, /^w {2}coldkey \(no coldkeypub\.txt\)$/m);
  assert.match(
    listed.stdout,
    /^ {2}default {2}\(unreadable: .*is encrypted and has no defaultpub\.txt/m,
  );
  rmSync(root, { recursive: true, force: true });
});

Deno.test("taos wallet show calls a hotkey file that is not a keyfile unreadable, with why, not plain", async () => {
  const root = await aliceAndBob("taos-wallet-garbage-");
  const hotkeyFile = join(root, "w", "hotkeys", "default");
  // A JSON string may be the secret itself: only its kind is told.
  const secret = `0x${"ab".repeat(32)}`;
  for (
    const [content, problem] of [
      ["", "not valid keyfile JSON"],
      ["not a keyfile\n", "not valid keyfile JSON"],
      [JSON.stringify(secret), "the keyfile is a string, not a JSON object"],
    ]
  ) {
    writeFileSync(hotkeyFile, content);
    const file = `unreadable (${hotkeyFile}: ${problem})`;
    const shown = await wallet("show", "-p", root, "-w", "w");
    assert.equal(shown.code, 0, shown.stderr);
    // The address still comes from defaultpub.txt.
    const line = `hotkey  default  ${BOB}  file: ${file}\n`;
    assert.ok(shown.stdout.includes(line), `${JSON.stringify(content)}: ${shown.stdout}`);
    assert.ok(!shown.stdout.includes(secret.slice(2)), "no secret shown");
    const json = JSON.parse((await wallet("show", "-p", root, "-w", "w", "--json")).stdout);
    assert.equal(json.hotkeyFile, file);
    assert.equal(json.coldkeyFile, "plain");
  }
});

Deno.test("taos wallet show tells an encrypted keyfile by its scheme, unopened, not as unreadable", async () => {
  const root = await aliceAndBob("taos-wallet-sealed-");
  // The public files stay beside them, so both addresses are still shown.
  const sealed = await encryptNacl(new TextEncoder().encode("{}"), { key: new Uint8Array(32) });
  writeFileSync(join(root, "w", "hotkeys", "default"), sealed);
  // Only the head is looked at: a Fernet token's, with no password at hand.
  writeFileSync(join(root, "w", "coldkey"), "gAAAAABnot-opened");
  const shown = await wallet("show", "-p", root, "-w", "w");
  assert.equal(shown.code, 0, shown.stderr);
  assert.ok(
    shown.stdout.includes(`hotkey  default  ${BOB}  file: encrypted (nacl)\n`),
    shown.stdout,
  );
  const json = JSON.parse((await wallet("show", "-p", root, "-w", "w", "--json")).stdout);
  assert.equal(json.coldkeyFile, "encrypted (fernet)");
  assert.equal(json.hotkeyFile, "encrypted (nacl)");
  rmSync(root, { recursive: true, force: true });
});

Deno.test("taos wallet create writes a kept coldkey's missing coldkeypub.txt again, an encrypted one's with its password", async () => {
  // What a create cut off between the coldkey and its public file leaves.
  const root = await aliceAndBob("taos-wallet-repub-");
  rmSync(join(root, "w", "coldkeypub.txt"));
  const again = await wallet("create", "-p", root, "-w", "w", "--wallet.hotkey", "h2");
  assert.equal(again.code, 0, again.stderr);
  // The missing public file is written again, and the line says so rather than calling it kept.
  assert.match(
    again.stdout,
    /^coldkey kept {2}.*\/w\/coldkey \(its missing coldkeypub\.txt written again\)$/m,
  );
  const shown = JSON.parse((await wallet("show", "-p", root, "-w", "w", "--json")).stdout);
  assert.equal(shown.coldkey, ALICE);

  // An encrypted coldkey: without its password the coldkey is kept and a warning says why.
  const sealedRoot = testTempDir("taos-wallet-repub-sealed-");
  const env = { TAOS_WALLET_PASSWORD: "correct horse battery staple" };
  const made = await taosWallet(
    [
      "create",
      "-p",
      sealedRoot,
      "-w",
      "w",
      "--coldkey-uri",
      "//Alice",
      "--hotkey-uri",
      "//Bob",
      "--encrypt",
    ],
    { cwd: repoRoot, env },
  );
  assert.equal(made.code, 0, made.stderr);
  rmSync(join(sealedRoot, "w", "coldkeypub.txt"));
  const blind = await wallet("create", "-p", sealedRoot, "-w", "w", "--wallet.hotkey", "h2");
  assert.equal(blind.code, 0, blind.stderr);
  assert.match(
    blind.stderr,
    /warning: .*\/w\/coldkey has no coldkeypub\.txt, which could not be written again/,
  );
  assert.equal(existsSync(join(sealedRoot, "w", "coldkeypub.txt")), false);
  // Run again as the warning says: the hotkey it made is kept, not refused as existing.
  const told = await taosWallet(
    ["create", "-p", sealedRoot, "-w", "w", "--wallet.hotkey", "h2"],
    { cwd: repoRoot, env },
  );
  assert.equal(told.code, 0, told.stderr);
  assert.match(told.stdout, /its missing coldkeypub\.txt written again/);
  assert.match(told.stdout, /^hotkey kept /m);
  const sealedShown = JSON.parse(
    (await wallet("show", "-p", sealedRoot, "-w", "w", "--json")).stdout,
  );
  assert.equal(sealedShown.coldkey, ALICE);
});

Deno.test("taos wallet takes btwallet's BT_WALLET_NAME and BT_WALLET_HOTKEY when no flag names them", async () => {
  const root = testTempDir("taos-wallet-env-");
  const env = { BT_WALLET_NAME: "envwallet", BT_WALLET_HOTKEY: "envhot" };
  const created = await taosWallet(
    ["create", "-p", root, "--coldkey-uri", "//Alice", "--hotkey-uri", "//Bob"],
    { cwd: repoRoot, env },
  );
  assert.equal(created.code, 0, created.stderr);
  assert.ok(existsSync(join(root, "envwallet", "hotkeys", "envhot")));
  const shown = await taosWallet(["show", "-p", root, "--json"], { cwd: repoRoot, env });
  assert.equal(JSON.parse(shown.stdout).hotkeyAddress, BOB);
  const missing = await taosWallet(["show", "-p", root], {
    cwd: repoRoot,
    env: { ...env, BT_WALLET_HOTKEY: "nosuch" },
  });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /BT_WALLET_HOTKEY: wallet envwallet has no hotkey 'nosuch'/);
  rmSync(root, { recursive: true, force: true });
});

Deno.test("taos wallet names BT_WALLET_PATH when the wallet path came from it, and create checks the path too", async () => {
  const dir = testTempDir("taos-wallet-root-");
  const file = join(dir, "a-file");
  writeFileSync(file, "not a directory");
  const cases: [string[], Record<string, string>, RegExp][] = [
    [
      ["list"],
      { BT_WALLET_PATH: file },
      /^taos wallet: BT_WALLET_PATH: .*a-file is not a directory$/m,
    ],
    [
      ["show"],
      { BT_WALLET_PATH: file },
      /^taos wallet: BT_WALLET_PATH: .*a-file is not a directory$/m,
    ],
    [
      ["show"],
      { BT_WALLET_PATH: join(dir, "none") },
      /^taos wallet: BT_WALLET_PATH: .*none does not exist$/m,
    ],
    // create refuses the path up front and names the variable that chose it, not -p.
    [
      ["create", "--coldkey-uri", "//Alice", "--hotkey-uri", "//Bob"],
      { BT_WALLET_PATH: file },
      /^taos wallet: BT_WALLET_PATH: .*a-file is not a directory$/m,
    ],
    [
      ["create", "-p", file, "--coldkey-uri", "//Alice", "--hotkey-uri", "//Bob"],
      {},
      /^taos wallet: -p\/--wallet\.path: .*a-file is not a directory$/m,
    ],
    // Neither chose it: the message says it is the default and how to choose another, rather than
    // naming -p/--wallet.path, a flag the user did not give.
    [
      ["show"],
      { HOME: dir, BT_WALLET_PATH: " " },
      /^taos wallet: the default wallet path \(-p\/--wallet\.path or BT_WALLET_PATH sets another\): .*\/\.bittensor\/wallets does not exist$/m,
    ],
  ];
  for (const [args, env, message] of cases) {
    const run = await taosWallet(args, { cwd: repoRoot, env });
    assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
    assert.match(run.stderr, message, args.join(" "));
  }
  rmSync(dir, { recursive: true, force: true });
});

Deno.test("taos wallet show on a wallet directory that cannot be looked at says why, not that there is none", async () => {
  const root = testTempDir("taos-wallet-loop-");
  // A link to itself: looking it up fails (ELOOP) whoever runs the test, root included.
  Deno.symlinkSync("loop", join(root, "loop"));
  const run = await wallet("show", "-p", root, "-w", "loop");
  assert.equal(run.code, 2, run.stderr);
  // Not "no wallet 'loop'": the wallet may be there, and only the lookup failed.
  assert.match(
    run.stderr,
    /-w\/--wallet\.name: cannot look at wallet 'loop' in .*: .*ELOOP|symbolic links/,
  );
  assert.doesNotMatch(run.stderr, /no wallet/);
  rmSync(root, { recursive: true, force: true });
});

Deno.test("taos wallet create from a mnemonic the user gave does not call it new or the one copy", async () => {
  const root = testTempDir("taos-wallet-typed-");
  const phrase = "bottom drive obey lake curtain smoke basket hold race lonely fit walk";
  const run = await wallet("create", "-p", root, "--coldkey-uri", phrase, "--hotkey-uri", "//Bob");
  assert.equal(run.code, 0, run.stderr);
  // The user holds this phrase already: no warning that the mnemonic is shown on a terminal only
  // or is the one copy of the key.
  assert.doesNotMatch(run.stderr, /mnemonic|one copy/);
  assert.doesNotMatch(run.stderr, /bottom drive/, "the phrase is not echoed");
  rmSync(root, { recursive: true, force: true });
});

Deno.test("taos wallet says why a wallet path or a named hotkey cannot be looked at, not that it is not there", async () => {
  const dir = testTempDir("taos-wallet-root-loop-");
  // A link to itself: looking anything up under it fails (ELOOP) whoever runs the test, root
  // included, as a directory without search permission does for another user.
  Deno.symlinkSync("loop", join(dir, "loop"));
  const root = join(dir, "loop", "wallets");
  const cases: [string[], Record<string, string>, RegExp][] = [
    // Not "no wallets in ..." with exit 0: wallets may be there, unseen.
    [["list", "-p", root], {}, /^taos wallet: -p\/--wallet\.path: cannot look at .*wallets: /m],
    // Not "... does not exist": the path may exist and only the lookup failed.
    [
      ["show"],
      { BT_WALLET_PATH: root },
      /^taos wallet: BT_WALLET_PATH: cannot look at .*wallets: /m,
    ],
    [
      ["create", "-p", root, "--coldkey-uri", "//Alice", "--hotkey-uri", "//Bob"],
      {},
      /^taos wallet: -p\/--wallet\.path: cannot look at .*wallets: /m,
    ],
  ];
  for (const [args, env, message] of cases) {
    const run = await taosWallet(args, { cwd: repoRoot, env });
    assert.equal(run.code, 2, `${args.join(" ")}: ${run.stdout}${run.stderr}`);
    assert.match(run.stderr, message, args.join(" "));
    assert.match(run.stderr, /ELOOP|symbolic links/, args.join(" "));
  }
  // A hotkeys directory that cannot be looked at: the named hotkey is shown unreadable and why.
  const wallets = join(dir, "wallets");
  const created = await wallet("create", "-p", wallets, "-w", "w", "--coldkey-uri", "//Alice");
  assert.equal(created.code, 0, created.stderr);
  rmSync(join(wallets, "w", "hotkeys"), { recursive: true });
  Deno.symlinkSync("hotkeys", join(wallets, "w", "hotkeys"));
  const shown = await wallet("show", "-p", wallets, "-w", "w", "--wallet.hotkey", "h");
  // Not "--wallet.hotkey: wallet w has no hotkey 'h'": the hotkey may be there, and show goes on
  // with what it can read.
  assert.doesNotMatch(shown.stderr, /has no hotkey/);
  assert.match(shown.stdout, /^hotkey {2}h {2}\(unreadable: .*(ELOOP|symbolic links)/m);
  assert.match(shown.stdout, new RegExp(`^coldkey ${ALICE}`, "m"));
  rmSync(dir, { recursive: true, force: true });
});

Deno.test("taos wallet list and show to a full disk say that standard output refused the write", async () => {
  // The message names standard output: the system's alone (`taos wallet: No space left on
  // device`) would read as if a wallet file could not be written.
  const root = testTempDir("taos-wallet-full-");
  const made = await wallet("create", "-p", root, "-w", "w", "-h", "h", "--hotkey-uri", "//Bob");
  assert.equal(made.code, 0, made.stderr);
  const main = join(repoRoot, "main.ts");
  for (const action of [["list"], ["show", "-w", "w", "-h", "h"]]) {
    const output = await new Deno.Command("sh", {
      args: ["-c", `"$0" run -A "$@" > /dev/full`, Deno.execPath(), main, "wallet", ...action]
        .concat(["-p", root]),
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 1, stderr);
    assert.equal(
      stderr,
      "taos wallet: cannot write to standard output: No space left on device (os error 28)\n",
    );
  }
});
