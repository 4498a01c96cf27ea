import assert from "node:assert/strict";
import { testTempDir } from "../temp_dir.ts";
import { Buffer } from "node:buffer";
import { createCipheriv, createHmac, pbkdf2Sync } from "node:crypto";
import {
  existsSync,
  linkSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { u8aToHex } from "@polkadot/util";
import { encodeAddress } from "@polkadot/util-crypto";
import { cryptoReady, DEV_PHRASE, Keypair } from "../../bittensor/keypair.ts";
import {
  argon2iKey,
  decryptAnsibleVault,
  decryptFernet,
  decryptNacl,
  deriveNaclKey,
  detectEncryption,
  encryptNacl,
  KeyfileError,
  keypairFromKeyfileData,
  keypairToKeyfileJson,
  openKeyfile,
  readKeyfile,
  writeKeyfile,
} from "../../bittensor/keyfile.ts";
import {
  btwalletPasswordVariable,
  decodeBtwalletPassword,
  defaultWalletRoot,
  encodeBtwalletPassword,
  passwordFor,
  Wallet,
  walletNameProblem,
  walletPart,
  walletVariablesUsed,
} from "../../bittensor/wallet.ts";
import { needsStrace, traceSyncsAndRenames } from "../strace.ts";
import { passwordFreeEnv, taosWallet } from "../wallet_process.ts";

await cryptoReady();

const ALICE = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";

Deno.test("Argon2i takes an empty password as libsodium (and so btwallet) does", async () => {
  // libsodium's crypto_pwhash (Argon2i, 3 passes over 64 KiB) with the keyfiles' salt; the
  // empty password goes to a second implementation, which must agree with the first.
  const salt = Buffer.from("137183dff15a09bc9c90b5518739e9b1", "hex");
  const small = { iterations: 3, memoryKib: 64 };
  const hex = async (password: string) =>
    Buffer.from(await argon2iKey(password, salt, small)).toString("hex");
  assert.equal(await hex(""), "36b07ec74976d2705bc25cfadc468388f53a488a3cea51451c6c83880d7fc0fb");
  assert.equal(
    await hex("bittensor"),
    "f90b704ee37d1398bbc5f85be52f3739fa0bd2c2ca6d58c6b4e90c09c963bf72",
  );
});

Deno.test("$NACL keyfile vector: Argon2i key, exact file bytes, round trip, wrong key", async () => {
  // One Argon2i derivation (512 MiB, 8 passes): the slow part of this test.
  const key = await deriveNaclKey("bittensor-test-password");
  assert.equal(
    Buffer.from(key).toString("hex"),
    "82203c047bdb97fc7cf193a3d85d191bb5af06d5411c611c8b1469a2308c1f1b",
  );
  const plaintext = new TextEncoder().encode(`{"ss58Address":"${ALICE}"}`);
  const nonce = Uint8Array.from({ length: 24 }, (_, i) => i);
  const file = await encryptNacl(plaintext, { key }, nonce);
  assert.equal(
    Buffer.from(file).toString("hex"),
    "244e41434c000102030405060708090a0b0c0d0e0f1011121314151617f723f6c666d29acd76234249d590a9" +
      "77c2b0e2820caf4bfc118e3586440d20ceab98cd3188c628fda9fee4afb35fb5012540443e6ffcf229179598" +
      "685e6cc2bf170dbd9244cf67c8d4a419f17f4890c32e1f",
  );
  assert.equal(detectEncryption(file), "nacl");
  assert.deepEqual(await decryptNacl(file, { key }), plaintext);
  const wrong = new Uint8Array(32);
  await assert.rejects(() => decryptNacl(file, { key: wrong }), KeyfileError);
  // Prefix, nonce and MAC take 45 bytes: one fewer is cut short, whatever the key.
  await assert.rejects(
    () => decryptNacl(file.subarray(0, 44), { key }),
    /\$NACL file is truncated/,
  );

  // A whole encrypted hotkey file read back through the file API with the derived key.
  const dir = testTempDir("taos-keyfile-");
  const path = join(dir, "coldkey");
  await writeKeyfile(path, keypairToKeyfileJson(Keypair.fromUri("//Alice")), { key });
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const bytes = readFileSync(path);
  const opened = await decryptNacl(bytes, { key });
  assert.equal(
    keypairFromKeyfileData(JSON.parse(new TextDecoder().decode(opened))).ss58Address,
    ALICE,
  );
  await assert.rejects(() => readKeyfile(path), /encrypted \(nacl\) and no password source/);
});

/** Builds an Ansible Vault 1.1 file the way the legacy Python wallet wrote them. */
function ansibleVault(plaintext: string, password: string, lastByte?: number): string {
  const salt = Buffer.alloc(32, 7);
  const derived = pbkdf2Sync(password, salt, 10000, 80, "sha256");
  const pad = 16 - (Buffer.byteLength(plaintext) % 16);
  const padded = Buffer.concat([Buffer.from(plaintext), Buffer.alloc(pad, pad)]);
  if (lastByte !== undefined) padded[padded.length - 1] = lastByte;
  const cipher = createCipheriv("aes-256-ctr", derived.subarray(0, 32), derived.subarray(64, 80));
  const ciphertext = Buffer.concat([cipher.update(padded), cipher.final()]);
  const mac = createHmac("sha256", derived.subarray(32, 64)).update(ciphertext).digest();
  const inner = `${salt.toString("hex")}\n${mac.toString("hex")}\n${ciphertext.toString("hex")}`;
  const hex = Buffer.from(inner).toString("hex").match(/.{1,80}/g)!.join("\n");
  return `$ANSIBLE_VAULT;1.1;AES256\n${hex}\n`;
}

Deno.test("legacy Ansible Vault and Fernet keyfiles are decrypted", async () => {
  const json = keypairToKeyfileJson(Keypair.fromUri("//Alice"));
  const vault = new TextEncoder().encode(ansibleVault(json, "legacy-pw"));
  assert.equal(detectEncryption(vault), "ansible-vault");
  assert.equal(new TextDecoder().decode(decryptAnsibleVault(vault, "legacy-pw")), json);
  assert.throws(() => decryptAnsibleVault(vault, "nope"), /wrong password/);
  // A pad length byte of 0 or 17 is no PKCS#7 padding, however well the MAC checks.
  for (const lastByte of [0, 17]) {
    assert.throws(
      () => decryptAnsibleVault(new TextEncoder().encode(ansibleVault(json, "pw", lastByte)), "pw"),
      /Ansible Vault padding is invalid/,
      `pad byte ${lastByte}`,
    );
  }
  const opened = await openKeyfile(vault, { password: () => "legacy-pw" });
  assert.equal(new TextDecoder().decode(opened), json);

  // Written by the Python SDK's scheme (the `cryptography` package's Fernet, key =
  // urlsafe_b64(PBKDF2-HMAC-SHA256(password, its fixed salt, 10 000 000, 32))).
  const fernet = new TextEncoder().encode(
    "gAAAAABrCMYJ-b2c9eEDPgXEvAgADw4MzCKZ7i_2-psNFRIU3DUmdcresNAqC4tYfr8bZEfOiij7x0F51j4E9azaEa7B" +
      "GWAOFA4aAIRPN3d6q4aq50VaJ2Lo0QWJxY5TTNXyWASQ3QmiYxI0jlcFQ0kDV9nL9cQHKFeUxAKpuiEOVGAVGNoH8AA" +
      "DFxcDcw1Qh3p-baOaLT_S",
  );
  assert.equal(detectEncryption(fernet), "fernet");
  const seed = "0xfac7959dbfe72f052e5a0c3c8d6530f202b02fd8f9f5ca3580ec8deb7797479e";
  const [plain] = await Promise.all([
    openKeyfile(fernet, { password: () => "bittensor-test-password" }),
    assert.rejects(() => openKeyfile(fernet, { password: () => "nope" }), /wrong password/),
  ]);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(plain)), { secretSeed: seed });
  await assert.rejects(
    () => openKeyfile(new TextEncoder().encode("gAAAAABlZ2-cut"), { password: () => "x" }),
    /Fernet token is malformed/,
  );
});

Deno.test("a legacy file of a cipher or token version taos does not read is refused at once", async () => {
  const json = keypairToKeyfileJson(Keypair.fromUri("//Alice"));
  const aes128 = ansibleVault(json, "pw").replace(";AES256\n", ";AES\n");
  assert.throws(
    () => decryptAnsibleVault(new TextEncoder().encode(aes128), "pw"),
    /^KeyfileError: unsupported Ansible Vault header '\$ANSIBLE_VAULT;1\.1;AES'$/,
  );
  // Version 0x81 with a well-formed length: refused before the 10 000 000-round derivation,
  // which would only end in "wrong password".
  const token = Buffer.alloc(1 + 8 + 16 + 16 + 32);
  token[0] = 0x81;
  await assert.rejects(
    () => decryptFernet(new TextEncoder().encode(token.toString("base64url")), "pw"),
    /^KeyfileError: Fernet token is malformed$/,
  );
});

Deno.test("keyfile JSON: precedence, public-only, canonical private key, consistency checks", () => {
  const alice = Keypair.fromUri("//Alice");
  const written = JSON.parse(keypairToKeyfileJson(alice));
  assert.equal(written.ss58Address, ALICE);
  assert.equal(written.accountId, written.publicKey);
  assert.equal(
    written.privateKey.slice(0, 66),
    "0x33a6f3093f158a7109f679410bef1a0c54168145e0cecb4df006c1c2fffb1f09",
  );
  assert.equal(written.secretPhrase, undefined); // derived by URI: no phrase or seed, like btcli --uri
  assert.equal(keypairFromKeyfileData(written).ss58Address, ALICE);

  const fromPhrase = Keypair.fromMnemonic(DEV_PHRASE);
  const phraseFile = JSON.parse(keypairToKeyfileJson(fromPhrase));
  assert.equal(phraseFile.secretPhrase, DEV_PHRASE);
  assert.equal(
    phraseFile.secretSeed,
    "0xfac7959dbfe72f052e5a0c3c8d6530f202b02fd8f9f5ca3580ec8deb7797479e",
  );
  // The phrase wins over a (contradicting) private key, as in btwallet.
  const mixed = { ...phraseFile, privateKey: written.privateKey };
  assert.equal(keypairFromKeyfileData(mixed).ss58Address, fromPhrase.ss58Address);

  const pub = keypairFromKeyfileData(JSON.parse(keypairToKeyfileJson(alice, true)));
  assert.equal(pub.ss58Address, ALICE);
  assert.equal(pub.canSign, false);
  assert.throws(() => pub.sign("x"), /public only/);

  assert.throws(
    () =>
      keypairFromKeyfileData({
        ...written,
        publicKey: u8aToHex(Keypair.fromUri("//Bob").publicKey),
      }),
    /^KeyfileError: publicKey does not match the key derived from the secret$/,
  );
  // A public file has no secret: its fields are held against its address, and the message says
  // nothing of a secret.
  const bobKey = u8aToHex(Keypair.fromUri("//Bob").publicKey);
  const alicePub = JSON.parse(keypairToKeyfileJson(alice, true));
  assert.throws(
    () => keypairFromKeyfileData({ ...alicePub, publicKey: bobKey }),
    /^KeyfileError: publicKey does not match the key of ss58Address$/,
  );
  assert.throws(
    () => keypairFromKeyfileData({ publicKey: alicePub.publicKey, accountId: bobKey }),
    /^KeyfileError: accountId does not match publicKey$/,
  );
  // An address that is another key's is refused; the same key in another SS58 format is taken.
  assert.throws(
    () => keypairFromKeyfileData({ ...written, ss58Address: Keypair.fromUri("//Bob").ss58Address }),
    /^KeyfileError: ss58Address does not match the key derived from the secret$/,
  );
  const kusamaAlice = encodeAddress(alice.publicKey, 2);
  assert.equal(keypairFromKeyfileData({ ...written, ss58Address: kusamaAlice }).ss58Address, ALICE);
  // The checksum word is wrong: refused in taos's own words.
  assert.throws(
    () => keypairFromKeyfileData({ secretPhrase: DEV_PHRASE.replace(/walk$/, "fit") }),
    /^Error: the secret phrase is not a valid mnemonic$/,
  );
  assert.throws(
    () => keypairFromKeyfileData({ privateKey: "0x12" }),
    /privateKey: expected 64 bytes of hex \(0x optional\)/,
  );
  // btwallet reads hex without its 0x as well.
  const bare = { privateKey: written.privateKey.slice(2), publicKey: written.publicKey.slice(2) };
  assert.equal(keypairFromKeyfileData(bare).ss58Address, ALICE);
  assert.throws(() => keypairFromKeyfileData({ ss58Address: "5Garbage" }), /^.*ss58Address: /);
  assert.throws(() => keypairFromKeyfileData({}), /holds no key/);
  // A scalar past the group order would lose its top bits and load as another key (this one as
  // the scalar 1); schnorrkel refuses it, and so does taos.
  const nonCanonical = `0x01${"00".repeat(30)}80${"00".repeat(32)}`;
  // The group order itself, little-endian: the first scalar refused; one less still loads.
  const order = `edd3f55c1a631258d69cf7a2def9de14${"00".repeat(15)}10`;
  assert.equal(
    keypairFromKeyfileData({ privateKey: `0xec${order.slice(2)}${"00".repeat(32)}` }).canSign,
    true,
  );
  for (const privateKey of [nonCanonical, `0x${order}${"00".repeat(32)}`, `0x${"ff".repeat(64)}`]) {
    assert.throws(
      () => keypairFromKeyfileData({ privateKey }),
      /privateKey: its first 32 bytes are not a canonical scalar/,
    );
  }
});

Deno.test("btwallet BT_PW_* password variables", async () => {
  const path = "~/.bittensor/wallets/default/coldkey";
  const variable = btwalletPasswordVariable(path);
  assert.equal(variable, "BT_PW_~__BITTENSOR_WALLETS_DEFAULT_COLDKEY");
  const encoded = encodeBtwalletPassword(variable, "p4ss-word");
  assert.equal(decodeBtwalletPassword(variable, encoded), "p4ss-word");

  const file = "/tmp/some/wallet/coldkey";
  const fileVariable = btwalletPasswordVariable(file);
  Deno.env.set(fileVariable, encodeBtwalletPassword(fileVariable, "from-bt-env"));
  try {
    assert.equal(await passwordFor(file)(), "from-bt-env");
    Deno.env.set("TAOS_WALLET_PASSWORD", "from-taos-env");
    assert.equal(await passwordFor(file)(), "from-taos-env");
  } finally {
    Deno.env.delete(fileVariable);
    Deno.env.delete("TAOS_WALLET_PASSWORD");
  }
  // btcli users name a file under the home directory with `~`, and so does its variable.
  const inHome = join(homedir(), ".bittensor", "wallets", "tilde-test", "coldkey");
  const tildeVariable = btwalletPasswordVariable("~/.bittensor/wallets/tilde-test/coldkey");
  assert.equal(tildeVariable, "BT_PW_~__BITTENSOR_WALLETS_TILDE-TEST_COLDKEY");
  Deno.env.set(tildeVariable, encodeBtwalletPassword(tildeVariable, "from-tilde-env"));
  try {
    assert.equal(await passwordFor(inHome)(), "from-tilde-env");
  } finally {
    Deno.env.delete(tildeVariable);
  }
  // A wallet path given relative: btwallet's spelling of it first, then the absolute path's.
  const absoluteVariable = btwalletPasswordVariable(inHome);
  Deno.env.set(absoluteVariable, encodeBtwalletPassword(absoluteVariable, "from-absolute-env"));
  try {
    assert.equal(await passwordFor(inHome, "tilde-test/coldkey")(), "from-absolute-env");
    // Set but empty, it is an empty password, as btwallet reads it, not a missing one.
    Deno.env.set(absoluteVariable, "");
    assert.equal(await passwordFor(inHome)(), "");
  } finally {
    Deno.env.delete(absoluteVariable);
  }
});

Deno.test("a BT_PW_* value that is not base64 is refused before any derivation", () => {
  const variable = btwalletPasswordVariable("/w/coldkey");
  assert.throws(
    () => decodeBtwalletPassword(variable, "!!!notb64"),
    /BT_PW__W_COLDKEY is not base64/,
  );
  assert.throws(() => decodeBtwalletPassword(variable, "abc"), /is not base64/);
  assert.equal(decodeBtwalletPassword(variable, ""), "");
});

Deno.test("taos wallet create --encrypt refuses a password btcli could not type or would refuse", async () => {
  const root = testTempDir("taos-wallets-");
  try {
    const cases: [string, RegExp][] = [
      [
        " padded pw ",
        /--encrypt: the password starts or ends with white space, which a password prompt drops; nothing was written/,
      ],
      ["abcde", /--encrypt: the password is shorter than 6 bytes \(btwallet's minimum\); nothing/],
      // An empty variable is no password at all; there is no terminal to ask on.
      ["", /--encrypt: a password is needed but there is no terminal/],
    ];
    for (const [password, expected] of cases) {
      const r = await taosWallet(["create", "-p", root, "-w", "enc", "--encrypt"], {
        env: { TAOS_WALLET_PASSWORD: password },
      });
      assert.equal(r.code, 2, JSON.stringify(password));
      assert.match(r.stderr, expected);
      assert.equal(existsSync(join(root, "enc")), false, "nothing written");
    }
    // btwallet's variable set but empty is an empty password, as btwallet reads it: too short.
    const variable = btwalletPasswordVariable(join(root, "enc", "coldkey"));
    const empty = await taosWallet(["create", "-p", root, "-w", "enc", "--encrypt"], {
      env: { [variable]: "" },
    });
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /the password is shorter than 6 bytes \(btwallet's minimum\)/);
    assert.equal(existsSync(join(root, "enc")), false, "nothing written");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

Deno.test("taos wallet create --encrypt counts a password's length in bytes of UTF-8", async () => {
  const root = testTempDir("taos-wallets-");
  try {
    const create = (name: string, password: string) =>
      taosWallet(["create", "-p", root, "-w", name, "--coldkey-uri", "//Alice", "--encrypt"], {
        env: { TAOS_WALLET_PASSWORD: password },
      });
    // Three characters, five bytes: short. Three characters, six bytes: btwallet's minimum.
    const short = await create("short", "\u00e9\u00e91");
    assert.equal(short.code, 2);
    assert.match(short.stderr, /the password is shorter than 6 bytes/);
    const enough = await create("enough", "\u00e9\u00e9\u00e9");
    assert.equal(enough.code, 0, enough.stderr);
    const wallet = new Wallet({ root, name: "enough", hotkey: "default" });
    assert.equal(detectEncryption(readFileSync(wallet.coldkeyPath)), "nacl");
    const opened = await readKeyfile(wallet.coldkeyPath, { password: () => "\u00e9\u00e9\u00e9" });
    assert.equal(opened.ss58Address, ALICE);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

Deno.test("taos wallet create/list/show in a child process", async () => {
  const root = testTempDir("taos-wallets-");
  const run = async (...args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "main.ts", "wallet", ...args, "--wallet.path", root],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
  };
  const created = await run(
    "create",
    "--wallet.name",
    "taos",
    "--wallet.hotkey",
    "miner",
    "--coldkey-uri",
    "//Alice",
    "--hotkey-uri",
    "//Bob",
  );
  assert.equal(created.code, 0, created.stderr);
  for (const dir of [join(root, "taos"), join(root, "taos", "hotkeys")]) {
    assert.equal(statSync(dir).mode & 0o777, 0o700, dir);
  }
  const again = await run("create", "--wallet.name", "taos", "--wallet.hotkey", "miner");
  assert.equal(again.code, 2);
  assert.match(again.stderr, /exists; pass --overwrite/);
  // A second hotkey joins the existing wallet; the coldkey stays. `-h <name>` names the hotkey,
  // as in the miner and validator.
  const second = await run("create", "-w", "taos", "-h", "validator", "--hotkey-uri", "//Charlie");
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /coldkey kept/);

  const listed = JSON.parse((await run("list", "--json")).stdout);
  assert.deepEqual(listed, [{
    name: "taos",
    coldkey: ALICE,
    hotkeys: [
      { name: "miner", address: "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty" },
      { name: "validator", address: "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y" },
    ],
  }]);
  const shown = JSON.parse(
    (await run("show", "--wallet.name", "taos", "--wallet.hotkey", "miner", "--json")).stdout,
  );
  assert.equal(shown.coldkeyFile, "plain");
  assert.equal(shown.hotkeyAddress, "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty");

  // The wallet API loads the hotkey the command wrote, able to sign.
  const hotkey = await new Wallet({ root, name: "taos", hotkey: "miner" }).hotkey();
  assert.ok(Keypair.verify("m", hotkey.sign("m"), hotkey.ss58Address));

  const bad = await run("frobnicate");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown action 'frobnicate'/);
  writeFileSync(join(root, "taos", "hotkeys", "broken"), "{not json");
  const withBroken = JSON.parse((await run("list", "--json")).stdout);
  assert.equal(withBroken[0].hotkeys[0].address, null);
});

Deno.test("taos wallet create --encrypt writes a $NACL coldkey with the password from the environment", async () => {
  const root = testTempDir("taos-wallets-");
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts", "wallet", "create", "-p", root, "-w", "cold", "--encrypt"],
    env: { TAOS_WALLET_PASSWORD: "correct horse" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const printed = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.ok(!printed.includes("correct horse"), "the password must never be printed");
  const wallet = new Wallet({ root, name: "cold", hotkey: "default" });
  const bytes = readFileSync(wallet.coldkeyPath);
  assert.equal(detectEncryption(bytes), "nacl");
  assert.equal(statSync(wallet.coldkeyPath).mode & 0o777, 0o600);
  // Without a password source the secret stays closed; the public file still reads.
  await assert.rejects(() => readKeyfile(wallet.coldkeyPath), /encrypted \(nacl\)/);
  assert.match((await wallet.coldkeypub()).ss58Address, /^5/);
});

Deno.test("taos wallet create keeps a wallet's coldkey unless --overwrite-coldkey is given", async () => {
  const root = testTempDir("taos-wallets-");
  const run = (...args: string[]) => taosWallet([...args, "-p", root]);
  const wallet = new Wallet({ root, name: "v", hotkey: "a" });
  let r = await run("create", "-w", "v", "--wallet.hotkey", "a", "--coldkey-uri", "//Alice");
  assert.equal(r.code, 0, r.stderr);
  const coldkeyBytes = readFileSync(wallet.coldkeyPath);

  // --overwrite replaces the hotkey only.
  r = await run(
    "create",
    "-w",
    "v",
    "--wallet.hotkey",
    "a",
    "--overwrite",
    "--hotkey-uri",
    "//Bob",
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /coldkey kept/);
  assert.deepEqual(readFileSync(wallet.coldkeyPath), coldkeyBytes);
  assert.equal((await wallet.coldkeypub()).ss58Address, ALICE);
  assert.equal((await wallet.hotkey()).ss58Address, Keypair.fromUri("//Bob").ss58Address);

  // A named coldkey for a wallet that has one needs the explicit flag.
  r = await run("create", "-w", "v", "--wallet.hotkey", "b", "--coldkey-uri", "//Dave");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--coldkey-uri: wallet v already has a coldkey; pass --overwrite-coldkey/);
  r = await run("create", "-w", "v", "--wallet.hotkey", "b", "--encrypt");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--encrypt: wallet v keeps its existing coldkey/);
  r = await run(
    "create",
    "-w",
    "v",
    "--wallet.hotkey",
    "b",
    "--coldkey-uri",
    "//Dave",
    "--overwrite-coldkey",
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await wallet.coldkeypub()).ss58Address, Keypair.fromUri("//Dave").ss58Address);

  // A watch-only wallet (coldkeypub.txt alone) keeps its public coldkey and gets no secret one.
  const watch = new Wallet({ root, name: "watch", hotkey: "h" });
  await writeKeyfile(watch.coldkeypubPath, keypairToKeyfileJson(Keypair.fromUri("//Alice"), true));
  r = await run("create", "-w", "watch", "--wallet.hotkey", "h");
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await watch.coldkeypub()).ss58Address, ALICE);
  assert.equal(existsSync(watch.coldkeyPath), false);
});

Deno.test("a keyfile that is a FIFO or a device is refused, not read forever", async () => {
  const root = testTempDir("taos-wallets-");
  try {
    const created = await taosWallet(["create", "-p", root, "-w", "w", "--wallet.hotkey", "h"]);
    assert.equal(created.code, 0, created.stderr);
    const hotkey = join(root, "w", "hotkeys", "h");
    Deno.removeSync(hotkey);
    Deno.removeSync(`${hotkey}pub.txt`);
    const fifo = await new Deno.Command("mkfifo", { args: [hotkey] }).output();
    assert.equal(fifo.code, 0);
    Deno.symlinkSync("/dev/zero", `${hotkey}pub.txt`);
    const listed = await taosWallet(["list", "-p", root]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout + listed.stderr, /not a regular file/);
    const shown = await taosWallet(["show", "-p", root, "-w", "w", "--wallet.hotkey", "h"]);
    assert.match(
      shown.stdout,
      /hotkey {2}h {2}\(unreadable: .*hpub\.txt: cannot read \(not a regular file\)\)/,
    );
    assert.match(
      await readKeyfile(hotkey).then(() => "", (e: Error) => e.message),
      /h: cannot read \(not a regular file\)/,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

Deno.test("taos wallet reports bad paths and missing keys by flag, and lists around broken entries", async () => {
  const root = testTempDir("taos-wallets-");
  const file = join(root, "a-file");
  writeFileSync(file, "not a directory");
  let r = await taosWallet(["create", "-p", root, "-w", "v", "--wallet.hotkey", "a"]);
  assert.equal(r.code, 0, r.stderr);

  const cases: [string[], RegExp][] = [
    [["list", "-p", file], /-p\/--wallet\.path: .*a-file is not a directory/],
    [["show", "-p", file, "-w", "v"], /-p\/--wallet\.path: .*a-file is not a directory/],
    [["create", "-p", join(file, "x"), "-w", "a"], /-p\/--wallet\.path: cannot write .*ENOTDIR/],
    [["show", "-p", root, "-w", "v", "--wallet.hotkey", "nosuch"], /--wallet\.hotkey: .*'nosuch'/],
    [["show", "-p", root, "-w", "nosuch"], /-w\/--wallet\.name: no wallet 'nosuch'/],
    // No password variable and stdin is not a terminal.
    [["create", "-p", root, "-w", "enc", "--encrypt"], /--encrypt: a password is needed/],
    [
      ["create", "-p", root, "-w", "long", "--wallet.hotkey", "h".repeat(250)],
      /--wallet\.hotkey: a name of 250 characters is too long \(at most 128\)/,
    ],
    [["create", "-p", "", "-w", "here"], /-p\/--wallet\.path: empty/],
    [["create", "-p", root, "-w", ".."], /--wallet\.name: '\.\.' must be a single file name/],
    [["show", "-p", root, "-w", "../v"], /--wallet\.name: '\.\.\/v' must be a single file name/],
    [["create", "-p", root, "-w", "a b"], /--wallet\.name: 'a b' is not a valid name/],
    // Accepted, a key of that name would be removed a minute later as another key's cut-off write.
    [
      ["create", "-p", root, "-w", "t", "-h", "default.12345678-1234-1234-1234-123456789abc.tmp"],
      /--wallet\.hotkey: '.*\.tmp' has the shape of a key file's temporary copy/,
    ],
  ];
  for (const [args, expected] of cases) {
    r = await taosWallet(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, expected);
    assert.doesNotMatch(r.stderr, /\bat .*\.ts:\d+/, "no stack trace");
  }
  assert.equal(existsSync(join(root, "enc")), false, "nothing written without a password");

  symlinkSync(join(root, "gone"), join(root, "dangling"));
  r = await taosWallet(["list", "-p", root, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const listed = JSON.parse(r.stdout) as { name: string; error?: string }[];
  assert.deepEqual(listed.map((w) => w.name), ["dangling", "v"]);
  assert.match(listed[0].error ?? "", /ENOENT/);
  r = await taosWallet(["list", "-p", root]);
  assert.match(r.stdout, /^dangling {2}\(unreadable: .*ENOENT/m);
  assert.match(r.stdout, /^v {2}coldkey 5/m);
});

/**
 * Makes `dir` refuse new files even to root (the immutable attribute), or by its mode for another
 * user; returns how to undo it, or null where neither works (a file system without attributes).
 */
function lockDirectory(dir: string): (() => void) | null {
  const chattr = (flag: string) =>
    new Deno.Command("chattr", { args: [flag, dir], stdout: "null", stderr: "null" }).outputSync();
  try {
    if (chattr("+i").success) return () => void chattr("-i");
  } catch { /* no chattr */ }
  if (Deno.uid() === 0) return null;
  Deno.chmodSync(dir, 0o500);
  return () => Deno.chmodSync(dir, 0o700);
}

const lockable = (() => {
  const dir = testTempDir("taos-lock-");
  const unlock = lockDirectory(dir);
  unlock?.();
  rmSync(dir, { recursive: true });
  return unlock !== null;
})();

Deno.test({
  name: "taos wallet create refuses a hotkeys directory it cannot write before writing the coldkey",
  ignore: !lockable,
  fn: async () => {
    const root = testTempDir("taos-wallets-");
    const hotkeys = join(root, "w", "hotkeys");
    Deno.mkdirSync(hotkeys, { recursive: true });
    const unlock = lockDirectory(hotkeys)!;
    try {
      const r = await taosWallet(["create", "-p", root, "-w", "w"]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        /-p\/--wallet\.path: cannot write in .*hotkeys \((EPERM|EACCES)\); nothing was written/,
      );
      assert.deepEqual(readdirSync(join(root, "w")), ["hotkeys"], "no coldkey left behind");
    } finally {
      unlock();
    }
    assert.equal((await taosWallet(["create", "-p", root, "-w", "w"])).code, 0);
    assert.deepEqual(readdirSync(join(root, "w")).sort(), [
      "coldkey",
      "coldkeypub.txt",
      "hotkeys",
    ]);
    assert.deepEqual(readdirSync(hotkeys).sort(), ["default", "defaultpub.txt"]);
    rmSync(root, { recursive: true });
  },
});

Deno.test("a mnemonic URI with stray spaces gives the same key; derivation paths are kept", () => {
  const spaced = `  ${DEV_PHRASE.replaceAll(" ", "   ")} `;
  assert.equal(Keypair.fromUri(spaced).ss58Address, Keypair.fromMnemonic(DEV_PHRASE).ss58Address);
  assert.equal(Keypair.fromUri(`${spaced.trimEnd()}//Alice`).ss58Address, ALICE);
});

Deno.test("taos wallet: ~ paths everywhere, public hotkey files kept, hotkeys listed by their files", async () => {
  const home = testTempDir("taos-home-");
  try {
    const inHome = { env: { HOME: home } };
    let r = await taosWallet(["create", "-p", "~/w", "-w", "v", "--wallet.hotkey", "h1"], inHome);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /the coldkey is stored unencrypted/);
    assert.doesNotMatch(
      r.stderr,
      /write it down|(\b[a-z]+ ){11}[a-z]+\b/,
      "no secret words into a pipe",
    );
    // Said instead, so that no one counts on a phrase never shown.
    assert.match(
      r.stderr,
      /the new coldkey's mnemonic is shown on a terminal only; back up .*coldkey/,
    );
    assert.match(r.stderr, /the new hotkey's mnemonic is shown on a terminal only; back up .*h1/);
    r = await taosWallet(["list", "-p", "~/w"], inHome);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^v {2}coldkey 5/m);
    assert.match(r.stdout, /^ {2}h1 {2}5/m);
    r = await taosWallet(["show", "-p", "~/w", "-w", "v", "--wallet.hotkey", "h1"], inHome);
    assert.equal(r.code, 0, r.stderr);

    // A hotkey whose secret file is gone keeps its public file, and is listed by it.
    const hotkeys = join(home, "w", "v", "hotkeys");
    const publicFile = readFileSync(join(hotkeys, "h1pub.txt"), "utf8");
    rmSync(join(hotkeys, "h1"));
    r = await taosWallet(["create", "-p", "~/w", "-w", "v", "--wallet.hotkey", "h1"], inHome);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /h1pub\.txt exists; pass --overwrite/);
    assert.equal(readFileSync(join(hotkeys, "h1pub.txt"), "utf8"), publicFile);
    r = await taosWallet(["list", "-p", "~/w"], inHome);
    assert.match(r.stdout, /^ {2}h1 {2}5/m);

    r = await taosWallet(["create", "-p", "~/w", "-w", "v", "--wallet.hotkey", "zpub.txt"], inHome);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--wallet\.hotkey: 'zpub\.txt' ends in pub\.txt/);

    // A coldkeypub.txt that cannot be read is said so, not taken for a missing one.
    writeFileSync(join(home, "w", "v", "coldkeypub.txt"), "{ not json");
    r = await taosWallet(["list", "-p", "~/w"], inHome);
    assert.match(r.stdout, /^v {2}coldkey \(unreadable: /m);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

/** `taos wallet <args>` on a pseudo-terminal (util-linux `script`), typing `lines` one by one. */
async function taosWalletOnTerminal(args: string[], lines: string[]) {
  const child = new Deno.Command("script", {
    args: [
      "-qec",
      [Deno.execPath(), "run", "-A", "main.ts", "wallet", ...args].join(" "),
      "/dev/null",
    ],
    clearEnv: true,
    env: passwordFreeEnv(),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  for (const line of lines) {
    // Each answer once its prompt is up: a pty drops what arrives before raw mode.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await writer.write(new TextEncoder().encode(`${line}\r`));
  }
  const out = await child.output();
  return new TextDecoder().decode(out.stdout);
}

Deno.test({
  name: "taos wallet create --encrypt on a terminal asks twice and shows the new mnemonic",
  ignore: !existsSync("/usr/bin/script"),
}, async () => {
  const root = testTempDir("taos-wallets-");
  try {
    let screen = await taosWalletOnTerminal(["create", "-p", root, "-w", "typo", "--encrypt"], [
      "first",
      "second",
    ]);
    assert.match(screen, /the two passwords differ; nothing was written/);
    assert.equal(existsSync(join(root, "typo")), false);
    screen = await taosWalletOnTerminal(["create", "-p", root, "-w", "ok", "--encrypt"], [
      "same-pw",
      "same-pw",
    ]);
    assert.match(screen, /coldkey mnemonic \(write it down[^\n]*\n\s+(\w+ ){11}\w+/);
    const words = screen.match(/coldkey mnemonic[^\n]*\n\s+((\w+ ){11}\w+)/)![1];
    const coldkey = await new Wallet({ root, name: "ok", hotkey: "default" }).coldkey(() =>
      Promise.resolve("same-pw")
    );
    assert.equal(coldkey.ss58Address, Keypair.fromMnemonic(words).ss58Address);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

/** Whether util-linux `script` is here to give a child process a terminal. */
const hasScript = (() => {
  try {
    return new Deno.Command("script", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "a typed password is trimmed as btwallet's prompt does, and backspace erases a character",
  ignore: !hasScript,
  fn: async () => {
    const probe = `import { passwordFor } from "./bittensor/wallet.ts";
console.log(JSON.stringify(await passwordFor("/nowhere/coldkey")()));`;
    const child = new Deno.Command("script", {
      args: ["-qec", `${Deno.execPath()} eval '${probe}'`, "/dev/null"],
      cwd: fileURLToPath(new URL("../../", import.meta.url)),
      clearEnv: true,
      env: { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.getReader();
    let seen = "";
    const readMore = async () => {
      const { value, done } = await reader.read();
      if (value) seen += new TextDecoder().decode(value);
      return !done;
    };
    while (!seen.includes("Password for") && await readMore());
    const typing = child.stdin.getWriter();
    // " hé", backspace, "i ", Enter: btcli would take "hi".
    await typing.write(new Uint8Array([0x20, 0x68, 0xc3, 0xa9, 0x7f, 0x69, 0x20, 0x0d]));
    while (await readMore());
    await typing.close();
    await child.status;
    assert.match(seen, /\r\n"hi"\r\n/, JSON.stringify(seen));
    assert.ok(!seen.includes("\u00e9"), `typing was echoed: ${JSON.stringify(seen)}`);
  },
});

Deno.test({
  name: "a new keyfile's password comes from btwallet's BT_PW_ variable on a terminal too, unasked",
  ignore: !hasScript,
  fn: async () => {
    const path = "/nowhere/coldkey";
    const variable = btwalletPasswordVariable(path);
    const probe = `import { newPasswordFor } from "./bittensor/wallet.ts";
console.log(JSON.stringify(await newPasswordFor("${path}")()));`;
    const child = new Deno.Command("script", {
      args: ["-qec", `${Deno.execPath()} eval '${probe}'`, "/dev/null"],
      cwd: fileURLToPath(new URL("../../", import.meta.url)),
      clearEnv: true,
      env: {
        PATH: Deno.env.get("PATH") ?? "",
        HOME: Deno.env.get("HOME") ?? "",
        [variable]: encodeBtwalletPassword(variable, "from-env"),
      },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // Nothing is typed: a prompt would wait until the input closes and read an empty password.
    const timer = setTimeout(() => child.stdin.close().catch(() => {}), 5_000);
    const out = await child.output();
    clearTimeout(timer);
    const seen = new TextDecoder().decode(out.stdout);
    assert.ok(!seen.includes("Password for"), `it asked: ${JSON.stringify(seen)}`);
    assert.match(seen, /"from-env"/);
  },
});

Deno.test("writing a keyfile replaces the file, never what a link at its path points to", async () => {
  const root = testTempDir("taos-wallets-");
  try {
    const wallet = new Wallet({ root, name: "w", hotkey: "default" });
    await wallet.writeHotkey(Keypair.fromUri("//Alice"));
    const before = readFileSync(wallet.hotkeyPath, "utf8");
    // A backup made as a hard link, and another wallet's key reached through a symlink.
    linkSync(wallet.hotkeyPath, join(root, "backup"));
    const other = new Wallet({ root, name: "other", hotkey: "default" });
    await other.writeHotkey(Keypair.fromUri("//Bob"));
    const otherBefore = readFileSync(other.hotkeyPath, "utf8");
    rmSync(wallet.hotkeypubPath);
    symlinkSync(other.hotkeyPath, wallet.hotkeypubPath);

    await wallet.writeHotkey(Keypair.fromUri("//Charlie"));
    assert.equal(readFileSync(join(root, "backup"), "utf8"), before);
    assert.equal(readFileSync(other.hotkeyPath, "utf8"), otherBefore);
    assert.equal(
      (await wallet.hotkey()).ss58Address,
      Keypair.fromUri("//Charlie").ss58Address,
    );
    assert.equal((await readKeyfile(wallet.hotkeypubPath)).privateKey, null);
    assert.equal(statSync(wallet.hotkeyPath).mode & 0o777, 0o600);
    // The directories a write makes are owner-only as well.
    assert.equal(statSync(wallet.path).mode & 0o777, 0o700);
    assert.equal(statSync(join(wallet.path, "hotkeys")).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(join(wallet.path, "hotkeys")).sort(), [
      "default",
      "defaultpub.txt",
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

Deno.test("a keyfile write removes what killed writes of it left, sparing a recent one", async () => {
  const root = testTempDir("taos-wallets-");
  try {
    const wallet = new Wallet({ root, name: "w", hotkey: "default" });
    await wallet.writeHotkey(Keypair.fromUri("//Alice"));
    const hotkeys = join(wallet.path, "hotkeys");
    const leftover = (name: string, ageSeconds: number) => {
      const path = join(hotkeys, `${name}.${crypto.randomUUID()}.tmp`);
      writeFileSync(path, "secret", { mode: 0o600 });
      const then = new Date(Date.now() - ageSeconds * 1000);
      utimesSync(path, then, then);
      return path;
    };
    const abandoned = leftover("default", 600);
    const recent = leftover("default", 1);
    const otherKeys = leftover("other", 600);
    // A hotkey may be named `default.<uuid>`: its leftovers start with `default.` too.
    const longerName = leftover(`default.${crypto.randomUUID()}`, 600);
    const notOurs = join(hotkeys, "default.backup.tmp");
    writeFileSync(notOurs, "kept");
    await wallet.writeHotkey(Keypair.fromUri("//Bob"));
    assert.equal(existsSync(abandoned), false, "a write killed ten minutes ago is cleared");
    assert.ok(existsSync(recent), "a write that may still be under way is left");
    assert.ok(existsSync(otherKeys), "another key's leftovers are left to its own writes");
    assert.ok(existsSync(longerName), "so are those of a key whose name starts with this one's");
    assert.ok(existsSync(notOurs), "a file taos did not name is left");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

Deno.test({
  ...needsStrace("a keyfile is flushed before its rename and its directory after"),
  fn: async () => {
    const dir = testTempDir("taos-wallets-");
    try {
      const path = join(dir, "coldkey");
      const keyfile = fileURLToPath(new URL("../../bittensor/keyfile.ts", import.meta.url));
      const script = `const { writeKeyfile } = await import(${JSON.stringify(keyfile)});
        await writeKeyfile(${JSON.stringify(path)}, '{"ss58Address":"x"}');`;
      const mine = (await traceSyncsAndRenames(script, dir, /coldkey\.[0-9a-f-]+\.tmp/))
        .map((call) => call.replace(/\.[0-9a-f-]{36}\.tmp$/, ".<uuid>.tmp"));
      assert.deepEqual(mine, [`fsync ${path}.<uuid>.tmp`, "rename", `fsync ${dir}`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
});

Deno.test("printing or serialising a key pair shows no secret", () => {
  const key = Keypair.fromMnemonic(DEV_PHRASE);
  const seed = u8aToHex(key.origin.seed!).slice(2);
  for (const shown of [Deno.inspect(key, { depth: 10 }), JSON.stringify(key), String(key)]) {
    assert.ok(!shown.includes("bottom drive"), shown);
    assert.ok(!shown.includes("250, 199, 149") && !shown.includes('"0":250'), shown);
    assert.ok(!shown.includes(seed), shown);
  }
  assert.match(Deno.inspect(key), /5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV/);
  // What keyfiles are written from is still there.
  assert.equal(key.origin.mnemonic, DEV_PHRASE);
});

Deno.test("a wallet name may have 128 characters, not 129; a blank BT_WALLET_NAME is unset", () => {
  assert.equal(walletNameProblem("a".repeat(128)), null);
  assert.equal(
    walletNameProblem("a".repeat(129)),
    "a name of 129 characters is too long (at most 128)",
  );
  const saved = Deno.env.get("BT_WALLET_NAME");
  try {
    Deno.env.set("BT_WALLET_NAME", "  ");
    assert.deepEqual(walletPart("name", undefined, "default"), {
      name: "default",
      source: "--wallet.name",
      named: false,
    });
    assert.deepEqual(walletVariablesUsed({ path: "/w", hotkey: "h" }), []);
    Deno.env.set("BT_WALLET_NAME", " cold ");
    assert.deepEqual(walletPart("name", undefined, "default"), {
      name: "cold",
      source: "BT_WALLET_NAME",
      named: true,
    });
  } finally {
    if (saved === undefined) Deno.env.delete("BT_WALLET_NAME");
    else Deno.env.set("BT_WALLET_NAME", saved);
  }
});

Deno.test("BT_WALLET_PATH names the wallet root; set but empty it counts as unset", () => {
  const saved = Deno.env.get("BT_WALLET_PATH");
  try {
    Deno.env.set("BT_WALLET_PATH", "/srv/keys");
    assert.equal(defaultWalletRoot(), "/srv/keys");
    for (const empty of ["", "  "]) {
      Deno.env.set("BT_WALLET_PATH", empty);
      assert.equal(defaultWalletRoot(), join(homedir(), ".bittensor", "wallets"));
      assert.equal(
        new Wallet({ name: "w", hotkey: "h" }).path,
        join(homedir(), ".bittensor", "wallets", "w"),
      );
    }
  } finally {
    if (saved === undefined) Deno.env.delete("BT_WALLET_PATH");
    else Deno.env.set("BT_WALLET_PATH", saved);
  }
});

Deno.test("a hotkey not found names the btwallet variables that chose its path or names", async () => {
  const root = testTempDir("taos-wallets-");
  try {
    const run = async (args: string[], env: Record<string, string>) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "main.ts", ...args],
        env: { ...passwordFreeEnv(), ...env },
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
    };
    const miner = await run(
      ["miner", "--local", "-n", "RandomMakerAgent", "--prometheus.level", "OFF"],
      { BT_WALLET_PATH: root, BT_WALLET_NAME: "nosuch" },
    );
    assert.equal(miner.code, 2, miner.stderr);
    assert.match(
      miner.stderr,
      new RegExp(`chosen by BT_WALLET_PATH=${root}, BT_WALLET_NAME=nosuch;`),
    );
    const validator = await run(
      ["validator", "--local", "-p", root, "--config", "small"],
      { BT_WALLET_HOTKEY: "hk" },
    );
    assert.equal(validator.code, 2, validator.stderr);
    assert.match(validator.stderr, /hotkey taos\/hk in .*\(chosen by BT_WALLET_HOTKEY=hk; set -p/);
    // Given as flags, the names are the user's own: nothing to point at.
    const flagged = await run(["validator", "--local", "-p", root, "-h", "hk"], {});
    assert.doesNotMatch(flagged.stderr, /chosen by/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

Deno.test("a BT_PW_* variable named as btwallet names it for a relative wallet path opens the key", async () => {
  const dir = testTempDir("taos-relative-wallet-");
  const main = fileURLToPath(new URL("../../main.ts", import.meta.url));
  const alice = Keypair.fromUri("//Alice");
  try {
    const wallet = join(dir, "wallets", "w");
    // A legacy Ansible Vault coldkey: read with a password, at a few milliseconds' cost.
    await writeKeyfile(join(wallet, "coldkey"), "");
    writeFileSync(join(wallet, "coldkey"), ansibleVault(keypairToKeyfileJson(alice), "vault-pw"));
    await writeKeyfile(join(wallet, "hotkeys", "default"), keypairToKeyfileJson(alice));
    // A create that finds the coldkey without its coldkeypub.txt writes that file from it.
    const create = async (path: string, env: Record<string, string>) => {
      rmSync(join(wallet, "coldkeypub.txt"), { force: true });
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", main, "wallet", "create", "-p", path, "-w", "w"],
        cwd: dir,
        clearEnv: true,
        env: { ...passwordFreeEnv(), ...env },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      return {
        code: out.code,
        stdout: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr),
      };
    };
    // btwallet keeps the path as given and joins it as Rust's PathBuf does.
    for (
      const [path, variable] of [
        ["wallets", "BT_PW_WALLETS_W_COLDKEY"],
        ["./wallets/", "BT_PW___WALLETS_W_COLDKEY"],
      ]
    ) {
      const none = await create(path, {});
      assert.match(
        none.stdout,
        new RegExp(`set TAOS_WALLET_PASSWORD or btwallet's ${variable}\\)`),
      );
      assert.ok(!existsSync(join(wallet, "coldkeypub.txt")));
      const r = await create(path, { [variable]: encodeBtwalletPassword(variable, "vault-pw") });
      assert.equal(r.code, 0, r.stdout);
      assert.match(r.stdout, /its missing coldkeypub\.txt written again/);
      assert.equal((await readKeyfile(join(wallet, "coldkeypub.txt"))).ss58Address, ALICE);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
