import assert from "node:assert/strict";
import { charCount, cutChars } from "../../cli/code_points.ts";

Deno.test("cutChars keeps text of at most max characters whole and counts what it cuts", () => {
  const faces = "😀".repeat(12); // 12 characters, 24 UTF-16 units
  assert.equal(cutChars(faces, 12), faces);
  assert.equal(cutChars(faces, 10), `${"😀".repeat(10)}… (2 more characters)`);
});

Deno.test("cutChars with room for its note stays within max, so a second cut changes nothing", () => {
  const once = cutChars("x".repeat(100), 40, 25);
  assert.equal(once, `${"x".repeat(15)}… (85 more characters)`);
  assert.ok(charCount(once) <= 40);
  assert.equal(cutChars(once, 40, 25), once);
});
