import assert from "node:assert/strict";
import { commitHash, timelockedWeightsPayload, type WeightCommitment } from "../../chain/commit.ts";

const commitment: WeightCommitment = {
  hotkey: new Uint8Array(32).fill(1),
  storageIndex: 79,
  uids: [0, 1, 2],
  values: [65535, 32768, 1],
  salt: [1, 2, 3, 4, 5, 6, 7, 8],
  versionKey: 19n,
};

Deno.test("a commit hash refuses a field the chain's u16 or u64 cannot hold", () => {
  const refused: [Partial<WeightCommitment>, RegExp][] = [
    [{ storageIndex: 65536 }, /^storageIndex must be a u16 \(0 to 65535\), not 65536$/],
    [{ uids: [0, 70000] }, /^uids\[1\] must be a u16 \(0 to 65535\), not 70000$/],
    [{ values: [-1] }, /^values\[0\] must be a u16 \(0 to 65535\), not -1$/],
    [{ values: [1.5] }, /^values\[0\] must be a u16 \(0 to 65535\), not 1\.5$/],
    [{ salt: [1, 2, 65536] }, /^salt\[2\] must be a u16 \(0 to 65535\), not 65536$/],
    [{ versionKey: -1n }, /^versionKey must be a u64 \(0 to 18446744073709551615\), not -1$/],
    [{ versionKey: 1n << 64n }, /^versionKey must be a u64 .*, not 18446744073709551616$/],
  ];
  for (const [change, message] of refused) {
    assert.throws(() => commitHash({ ...commitment, ...change }), { name: "RangeError", message });
  }
  // The bounds themselves encode.
  commitHash({ ...commitment, storageIndex: 65535, uids: [0], versionKey: (1n << 64n) - 1n });
});

Deno.test("a timelocked payload refuses uids, values and a version key out of range", () => {
  const { hotkey, uids, values, versionKey } = commitment;
  const weights = { hotkey, uids, values, versionKey };
  const refused: [Partial<typeof weights>, RegExp][] = [
    [{ uids: [65536] }, /^uids\[0\] must be a u16/],
    [{ values: [1, -2] }, /^values\[1\] must be a u16 \(0 to 65535\), not -2$/],
    [{ versionKey: -19n }, /^versionKey must be a u64 .*, not -19$/],
  ];
  for (const [change, message] of refused) {
    assert.throws(() => timelockedWeightsPayload({ ...weights, ...change }), {
      name: "RangeError",
      message,
    });
  }
});
