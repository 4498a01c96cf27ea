import assert from "node:assert/strict";
import { hexToU8a, u8aToHex } from "@polkadot/util";
import { cryptoReady, Keypair } from "../../bittensor/keypair.ts";
import {
  bodyHash,
  newSynapse,
  parseWireJson,
  pythonStr,
  requestSignatureMessage,
  sha3Hex,
  type SynapseKind,
  synapseToHeaders,
  toWireJson,
  versionAsInt,
} from "../../bittensor/synapse.ts";
import { pythonFloat } from "../../bittensor/python_float.ts";
import { z } from "zod";
import { sr25519Sign, sr25519Verify } from "@polkadot/util-crypto";

await cryptoReady();

Deno.test("SS58 addresses and public keys of the dev keys", () => {
  const cases: [string, string, string | null][] = [
    [
      "//Alice",
      "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
      "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d",
    ],
    [
      "//Bob",
      "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty",
      "0x8eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48",
    ],
    // A path alone, starting soft, derives from the dev phrase (btwallet's
    // test_hdkd_nested_soft_hard_path).
    [
      "/Bob//test",
      "5Cwc8tShrshDJUp1P1M21dKUTcYQpV9GcfSa4hUBNmMdV3Cx",
      null,
    ],
    [
      "//Charlie",
      "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y",
      "0x90b5ab205c6974c9ea841be688864633dc9ca8a357843eeacf2314649965fe22",
    ],
  ];
  for (const [uri, ss58, pub] of cases) {
    const key = Keypair.fromUri(uri);
    assert.equal(key.ss58Address, ss58, uri);
    if (pub !== null) assert.equal(u8aToHex(key.publicKey), pub, uri);
  }
});

Deno.test("canonical private key of //Alice and the btwallet private-key vector", () => {
  const alice = Keypair.fromUri("//Alice");
  assert.equal(
    u8aToHex(alice.privateKey!),
    "0x33a6f3093f158a7109f679410bef1a0c54168145e0cecb4df006c1c2fffb1f09" +
      "925a225d97aa00682d6a59b95b18780c10d7032336e88f3442b42361f4a66011",
  );
  const fromFile = Keypair.fromPrivateKey(hexToU8a(
    "0x1f1995bdf3a17b60626a26cfe6f564b337d46056b7a1281b64c649d592ccda0a" +
      "9cffd34d9fb01cae1fba61aeed184c817442a2186d5172416729a4b54dd4b84e",
  ));
  assert.equal(
    u8aToHex(fromFile.publicKey),
    "0xe4359ad3e2716c539a1d663ebd0a51bdc5c98a12e663bb4c4402db47828c9446",
  );
  // A key rebuilt from its stored private key signs for the same address.
  const again = Keypair.fromPrivateKey(alice.privateKey!);
  assert.equal(again.ss58Address, alice.ss58Address);
  assert.ok(Keypair.verify("m", again.sign("m"), alice.ss58Address));
});

Deno.test("dev phrase mini-secret", () => {
  const key = Keypair.fromUri(
    "bottom drive obey lake curtain smoke basket hold race lonely fit walk",
  );
  assert.equal(
    u8aToHex(key.origin.seed!),
    "0xfac7959dbfe72f052e5a0c3c8d6530f202b02fd8f9f5ca3580ec8deb7797479e",
  );
});

const kindWith = (hashFields: string[]): SynapseKind<Record<string, unknown>> => ({
  name: "T",
  fields: z.record(z.string(), z.unknown()),
  requiredFields: [],
  hashFields,
});

Deno.test("body hash vectors", () => {
  assert.equal(
    bodyHash(kindWith([]), {}),
    "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a",
  );
  assert.equal(
    sha3Hex("Hello, world!"),
    "f345a219da005ebe9c1a1eaad97bbf38a10c8473e41d0af7fb617caa0c6aa722",
  );
  assert.equal(
    bodyHash(kindWith(["text"]), { text: "Hello, world!" }),
    "42bcbc1d00c8db8bc37e00165be906abfeed1bbc17eea3a3f7770ed07ad2a29c",
  );
  assert.equal(
    bodyHash(kindWith(["a", "b"]), { a: "hello", b: 42 }),
    "98537fd02b9ea48ef9d11a131d6aceb83eea26b3cb4ef965e692863bb447c573",
  );
  // The list vector is the field hash of the Python text "[1, 2, 3]"; the body hash is its hash.
  const field = sha3Hex(pythonStr([1, 2, 3]));
  assert.equal(field, "059186990f24b4e3cf51bc89e288c8d6e97e8e44cf1de305cbe1f50ee753b50f");
  assert.equal(bodyHash(kindWith(["xs"]), { xs: [1, 2, 3] }), sha3Hex(field));
});

Deno.test("Python text forms", () => {
  assert.equal(pythonFloat(12), "12.0");
  assert.equal(pythonFloat(0.1), "0.1");
  assert.equal(pythonFloat(1e-5), "1e-05");
  assert.equal(pythonFloat(0.0001), "0.0001");
  assert.equal(pythonFloat(1e16), "1e+16");
  assert.equal(pythonFloat(123456789012345.6), "123456789012345.6");
  assert.equal(pythonFloat(-2.5e-7), "-2.5e-07");
  assert.equal(pythonFloat(Infinity), "inf");
  assert.equal(pythonStr(true), "True");
  assert.equal(pythonStr(null), "None");
  assert.equal(pythonStr(["a", "it's", 1.5]), `['a', "it's", 1.5]`);
  assert.equal(pythonStr({ k: "v", n: 2 }), "{'k': 'v', 'n': 2}");
});

Deno.test("strings inside lists and dicts escape what Python's repr escapes", () => {
  // Expected texts and digests are CPython 3's `str()` of the same values.
  assert.equal(pythonStr(["a\u00a0b"]), "['a\\xa0b']");
  assert.equal(pythonStr(["\u0085", "\u00ad"]), "['\\x85', '\\xad']");
  assert.equal(pythonStr(["\u200b", "\u2028", "\u3000"]), "['\\u200b', '\\u2028', '\\u3000']");
  assert.equal(pythonStr(["\u{e0001}"]), "['\\U000e0001']");
  assert.equal(pythonStr(["\ud800"]), "['\\ud800']");
  assert.equal(pythonStr({ "k\u00a0": "v" }), "{'k\\xa0': 'v'}");
  // Printable text outside ASCII stays as it is; a space is printable.
  assert.equal(pythonStr(["é", "日本", "😀", "a b"]), "['é', '日本', '😀', 'a b']");
  assert.equal(
    sha3Hex(pythonStr(["a\u00a0b"])).slice(0, 16),
    "6944513e3a23518c",
  );
  // A string that is the whole value is not a repr: Python's str() leaves it as it is.
  assert.equal(pythonStr("a\u00a0b"), "a\u00a0b");
});

Deno.test("a required field travels as base64 of its type's empty JSON value, a float's as 0.0", () => {
  const fields = { price: 1.5, n: 7, big: 10n ** 20n, name: "x", on: true, xs: [1], m: { a: 1 } };
  const kind: SynapseKind<Record<string, unknown>> = {
    ...kindWith([]),
    requiredFields: Object.keys(fields),
  };
  const headers = synapseToHeaders(kind, newSynapse(kind, fields), "");
  const empty = Object.fromEntries(
    Object.keys(fields).map((k) => [k, atob(headers[`bt_header_input_obj_${k}`])]),
  );
  // json.dumps of float(), int(), str(), bool(), list() and dict() in Python.
  assert.deepEqual(empty, {
    price: "0.0",
    n: "0",
    big: "0",
    name: '""',
    on: "false",
    xs: "[]",
    m: "{}",
  });
});

Deno.test("signature message vector verifies with Alice's key; tampering fails", () => {
  const alice = Keypair.fromUri("//Alice");
  const bob = Keypair.fromUri("//Bob");
  const message = requestSignatureMessage(
    1719859200123456789n,
    alice.ss58Address,
    bob.ss58Address,
    "5ecbd69c-1cec-11ee-b0dc-e29ce36fec1a",
    "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a",
  );
  assert.equal(
    message,
    "1719859200123456789.5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY." +
      "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty.5ecbd69c-1cec-11ee-b0dc-e29ce36fec1a." +
      "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a",
  );
  const signature = "0xcc78fdd1eff74581b0af617bf554d4128c3cab811803c045391a5eb9c10a9817" +
    "39975c400999ed2165c984741757a0728c6ce06fdd2aae9d419bb224211a708f";
  assert.ok(Keypair.verify(message, signature, alice.ss58Address));
  assert.ok(!Keypair.verify(message + "x", signature, alice.ss58Address));
  assert.ok(!Keypair.verify(message, signature, bob.ss58Address));
  // Our own signatures verify too, and the <Bytes> wrapping is accepted.
  assert.ok(Keypair.verify(message, alice.signHex(message), alice.ss58Address));
  assert.ok(Keypair.verify(message, alice.sign(`<Bytes>${message}</Bytes>`), alice.ss58Address));
  assert.ok(!Keypair.verify(message, "0x1234", alice.ss58Address));
});

Deno.test("version integers", () => {
  assert.equal(versionAsInt("10.2.0"), 10002000);
  assert.equal(versionAsInt("7.2.0"), 7002000);
  assert.equal(versionAsInt("9.0.0"), 9000000);
  assert.throws(() => versionAsInt("1.2"));
});

Deno.test("nanosecond nonces survive JSON both ways", () => {
  const text = toWireJson({ dendrite: { nonce: 1719859200123456789n } });
  assert.equal(text, '{"dendrite":{"nonce":1719859200123456789}}');
  assert.deepEqual(parseWireJson(text), { dendrite: { nonce: 1719859200123456789n } });
});

Deno.test("signatures verify across implementations (Rust schnorrkel in WASM and pure JS)", () => {
  const alice = Keypair.fromUri("//Alice");
  const message = "1719859200123456789.a.b.c.d";
  const bytes = new TextEncoder().encode(message);
  // Ours (schnorrkel, the code behind Python's sr25519 bindings) verified by @scure/sr25519.
  assert.ok(sr25519Verify(bytes, alice.sign(message), alice.publicKey));
  // @scure/sr25519's signature verified by ours.
  const js = sr25519Sign(bytes, alice.toPolkadotPair());
  assert.ok(Keypair.verify(message, js, alice.ss58Address));
  const flipped = new Uint8Array(js);
  flipped[10] ^= 1;
  assert.ok(!Keypair.verify(message, flipped, alice.ss58Address));
});
