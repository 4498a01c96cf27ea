import assert from "node:assert/strict";
import { Keyring } from "@polkadot/api";
import { expandMetadata, Metadata, TypeRegistry } from "@polkadot/types";
import { hexToU8a, u8aToHex } from "@polkadot/util";
import { cryptoWaitReady, signatureVerify } from "@polkadot/util-crypto";
import { commitHash, commitPreimage, epochOf, firstBlockOfEpoch } from "../../chain/commit.ts";
import { resolveEndpoint } from "../../chain/endpoints.ts";
import { describeSubmitError } from "../../chain/errors.ts";
import { chainRefusal, decodeIp, encodeIp } from "../../chain/ip.ts";

await cryptoWaitReady();
const alice = new Keyring({ type: "sr25519", ss58Format: 42 }).addFromUri("//Alice");
const ALICE_PUBLIC = "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d";

const registry = new TypeRegistry();
const metadata = new Metadata(
  registry,
  Deno.readFileSync(new URL("./fixtures/subtensor_metadata_v16.scale", import.meta.url)),
);
registry.setMetadata(metadata, undefined, undefined, true);
const tx = expandMetadata(registry, metadata).tx.subtensorModule;

Deno.test("the fixture is subtensor's runtime metadata v16", () => {
  assert.equal(metadata.version, 16);
  const pallet = metadata.asLatest.pallets.find((p) => p.name.eq("SubtensorModule"))!;
  assert.equal(pallet.index.toNumber(), 7);
  const apis = metadata.asLatest.apis.map((a) => a.name.toString());
  assert.ok(apis.includes("NeuronInfoRuntimeApi") && apis.includes("SubnetInfoRuntimeApi"));
});

Deno.test("axon IPs encode and decode as the spec's vectors", () => {
  assert.deepEqual(encodeIp("1.2.3.4"), { value: 16909060n, ipType: 4 });
  assert.deepEqual(encodeIp("192.168.1.10"), { value: 3232235786n, ipType: 4 });
  assert.deepEqual(encodeIp("127.0.0.1"), { value: 2130706433n, ipType: 4 });
  assert.deepEqual(encodeIp("2001:db8::1"), {
    value: 42540766411282592856903984951653826561n,
    ipType: 6,
  });
  assert.equal(encodeIp("::ffff:1.2.3.4").value, 0xffff01020304n);
  assert.equal(decodeIp(16909060n), "1.2.3.4");
  assert.equal(decodeIp(42540766411282592856903984951653826561n), "2001:db8::1");
  assert.equal(decodeIp(0n), "0.0.0.0");
  assert.equal(decodeIp(0xffff01020304n), "::ffff:1.2.3.4");
  assert.equal(decodeIp(encodeIp("2001:0:0:1:0:0:0:1").value), "2001:0:0:1::1");
  assert.equal(decodeIp(encodeIp("fe80:1:2:3:4:5:6:7").value), "fe80:1:2:3:4:5:6:7");
  assert.throws(() => encodeIp("1.2.3"), /not an IPv4 or IPv6 address/);
  assert.throws(() => decodeIp(1n << 128n), /out of range/);
});

Deno.test("IPv6 text is RFC 5952: the first longest zero run of two or more is compressed", () => {
  // A single zero group stays written out.
  assert.equal(decodeIp(encodeIp("1:0:2:3:4:5:6:7").value), "1:0:2:3:4:5:6:7");
  // Two runs of equal length: the first is compressed.
  assert.equal(decodeIp(encodeIp("1:0:0:2:0:0:3:4").value), "1::2:0:0:3:4");
  // 2^32 is the first integer past IPv4's range: it reads as IPv6, 2^32 - 1 as 255.255.255.255.
  assert.equal(decodeIp(1n << 32n), "::1:0:0");
  assert.equal(decodeIp((1n << 32n) - 1n), "255.255.255.255");
});

Deno.test("the chain refuses exactly loopback and all-ones axon addresses", () => {
  assert.match(chainRefusal(encodeIp("255.255.255.255"))!, /255\.255\.255\.255 is refused/);
  assert.match(chainRefusal(encodeIp("127.0.0.1"))!, /127\.0\.0\.1 is refused/);
  assert.match(chainRefusal(encodeIp("::1"))!, /::1 is refused/);
  assert.match(
    chainRefusal(encodeIp("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))!,
    /all-ones IPv6 address is refused/,
  );
  // Their neighbours, private ranges and the unspecified addresses pass.
  for (const ip of ["255.255.255.254", "127.0.0.2", "0.0.0.0", "10.0.0.1", "::", "::2"]) {
    assert.equal(chainRefusal(encodeIp(ip)), undefined, ip);
  }
});

Deno.test("the CR v2 commit hash matches the spec's SCALE preimage and digest", () => {
  const commitment = {
    hotkey: alice.publicKey,
    storageIndex: 1,
    uids: [0, 1, 2],
    values: [65535, 32768, 1],
    salt: [1, 2, 3, 4, 5, 6, 7, 8],
    versionKey: 0n,
  };
  assert.equal(
    u8aToHex(commitPreimage(commitment)),
    ALICE_PUBLIC + "0100" + "0c000001000200" + "0cffff00800100" +
      "2001000200030004000500060007000800" + "0000000000000000",
  );
  assert.equal(
    commitHash(commitment),
    "0xf659ae7db54e83c3a01551769e722eb6a3ee70e1074431713f2b2d8b8261f72d",
  );
});

Deno.test("epochs follow (block + netuid + 1) / (tempo + 1)", () => {
  assert.equal(epochOf(1000, 79, 360), 2);
  assert.equal(firstBlockOfEpoch(3, 79, 360), 1003);
  assert.equal(epochOf(1002, 79, 360), 2);
  assert.equal(epochOf(1003, 79, 360), 3);
});

Deno.test("weight and serve calls encode to the documented SCALE layout", () => {
  // set_weights: pallet 7, call 0, netuid u16, dests Vec<u16>, weights Vec<u16>, version_key u64.
  assert.equal(
    tx.setWeights(79, [0, 1], [65535, 32768], 19).toHex(),
    "0x0700" + "4f00" + "0800000100" + "08ffff0080" + "1300000000000000",
  );
  // serve_axon: call 4, netuid, version u32, ip u128, port u16, ip_type, protocol, 2 placeholders.
  assert.equal(
    tx.serveAxon(79, 10002000, 3232235786n, 8091, 4, 4, 0, 0).toHex(),
    "0x0704" + "4f00" + "509e9800" + "0a01a8c0000000000000000000000000" + "9b1f" + "04" + "04" +
      "00" + "00",
  );
  // commit_weights: call 96, netuid, H256.
  const hash = "0x" + "ab".repeat(32);
  assert.equal(tx.commitWeights(79, hash).toHex(), "0x0760" + "4f00" + "ab".repeat(32));
  // reveal_weights: call 97, netuid, uids, values, salt, version_key.
  assert.equal(
    tx.revealWeights(79, [1], [65535], [7, 8], 19).toHex(),
    "0x0761" + "4f00" + "040100" + "04ffff" + "0807000800" + "1300000000000000",
  );
});

Deno.test("a signed weight extrinsic has the v4 layout and a valid sr25519 signature", () => {
  const call = tx.setWeights(79, [1], [65535], 19);
  const extrinsic = registry.createType("Extrinsic", call);
  const genesisHash = "0x" + "11".repeat(32);
  const blockHash = "0x" + "22".repeat(32);
  const era = registry.createType("ExtrinsicEra", { current: 1000, period: 128 });
  extrinsic.sign(alice, {
    blockHash,
    genesisHash,
    era,
    nonce: 5,
    runtimeVersion: { specVersion: 381, transactionVersion: 1 } as never,
    signedExtensions: registry.signedExtensions,
  });
  const bytes = hexToU8a(extrinsic.toHex());
  const body = bytes.subarray(registry.createType("Compact<u32>", bytes).encodedLength);
  assert.equal(body[0], 0x84, "signed, version 4");
  assert.equal(body[1], 0x00, "MultiAddress::Id");
  assert.equal(u8aToHex(body.subarray(2, 34)), ALICE_PUBLIC);
  assert.equal(body[34], 0x01, "MultiSignature::Sr25519");
  const tail = u8aToHex(body.subarray(99));
  // era (mortal, period 128, phase 1000 % 128 = 104), nonce 5, tip 0, metadata-hash mode 0, call
  assert.equal(
    tail,
    "0x" + u8aToHex(era.toU8a()).slice(2) + "14" + "00" + "00" + call.toHex().slice(2),
  );
  const payload = registry.createType("ExtrinsicPayload", {
    method: call.toHex(),
    era,
    nonce: 5,
    tip: 0,
    mode: 0,
    specVersion: 381,
    transactionVersion: 1,
    genesisHash,
    blockHash,
  }, { version: 4 });
  const verified = signatureVerify(
    payload.toU8a({ method: true }),
    body.subarray(35, 99),
    alice.address,
  );
  assert.equal(verified.isValid, true);
});

Deno.test("pool rejections are described by name", () => {
  assert.match(
    describeSubmitError(new Error("1010: Invalid Transaction: Custom error: 6")),
    /^rejected by the transaction pool: RateLimitExceeded \(/,
  );
  assert.match(
    describeSubmitError(new Error("1010: Invalid Transaction: Custom error: 19")),
    /UidNotFound \(the hotkey has no uid on the subnet\)/,
  );
  // The pool's checks map several pallet errors to one code: say what each covers.
  assert.match(
    describeSubmitError(new Error("1010: Invalid Transaction: Custom error: 1")),
    /StakeAmountTooLow \(.*StakeThreshold needed to set weights\)/,
  );
  assert.match(
    describeSubmitError(new Error("1010: Invalid Transaction: Custom error: 17")),
    /CommitBlockNotInRevealRange \(.*too early or too late\)/,
  );
  assert.equal(
    describeSubmitError(new Error("1010: Invalid Transaction: Custom error: 99")),
    "rejected by the transaction pool: custom error 99",
  );
  assert.match(
    describeSubmitError(new Error("1014: Priority is too low: (0 vs 0)")),
    /already pending.*\(node said: 1014: Priority is too low/,
  );
  assert.equal(describeSubmitError("boom"), "submission failed: boom");
});

Deno.test("networks resolve by name or URL", () => {
  const noEnv = () => undefined;
  assert.equal(resolveEndpoint("finney", noEnv), "wss://entrypoint-finney.opentensor.ai:443");
  assert.equal(resolveEndpoint("test", noEnv), "wss://test.finney.opentensor.ai:443");
  assert.equal(resolveEndpoint("local", noEnv), "ws://127.0.0.1:9944");
  assert.equal(
    resolveEndpoint(
      "local",
      (name) => name === "BT_SUBTENSOR_CHAIN_ENDPOINT" ? "ws://node.internal:9944" : undefined,
    ),
    "ws://node.internal:9944",
  );
  // An empty variable counts as unset, as the SDK's `os.getenv(...) or` default does.
  assert.equal(resolveEndpoint("local", () => ""), "ws://127.0.0.1:9944");
  assert.equal(resolveEndpoint("wss://node.example:443", noEnv), "wss://node.example:443");
  // Surrounding spaces (a quoted flag value) are not part of a name or a URL.
  assert.equal(resolveEndpoint(" finney\n", noEnv), "wss://entrypoint-finney.opentensor.ai:443");
  assert.equal(resolveEndpoint(" ws://node.example:9944 ", noEnv), "ws://node.example:9944");
  assert.throws(
    () => resolveEndpoint("http://node.example", noEnv),
    /must be a ws:\/\/ or wss:\/\//,
  );
  assert.throws(() => resolveEndpoint("mainnet", noEnv), /neither a known network/);
  assert.throws(
    () => resolveEndpoint("local", () => "not a url at all"),
    /BT_SUBTENSOR_CHAIN_ENDPOINT: "not a url at all" must be a ws:\/\/ or wss:\/\/ URL/,
  );
});
