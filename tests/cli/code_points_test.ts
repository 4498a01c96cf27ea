import assert from "node:assert/strict";
import { charCount, cutChars, quotedChars } from "../../cli/code_points.ts";

Deno.test("cutChars keeps text of at most max characters whole and counts what it cuts", () => {
  const faces = "😀".repeat(12); // 12 characters, 24 UTF-16 units
  assert.equal(cutChars(faces, 12), faces);
  assert.equal(cutChars(faces, 10), `${"😀".repeat(10)}… (2 more characters)`);
});

Deno.test("cutChars with room for its note stays within max, so a second cut changes nothing", () => {
  const once = cutChars("x".repeat(100), 40, 25);
  assert.equal(once, `${"x".repeat(15)}… (85 more characters)`);
  // 15 kept, the ellipsis, a space and the 20 characters of "(85 more characters)": the note's
  // 25 of room hold it with 3 to spare, so the result is 37, within the 40.
  assert.equal(charCount(once), 37);
  assert.equal(cutChars(once, 40, 25), once);
});

Deno.test("cutChars ends the kept text with the ellipsis given, for text that must stay ASCII", () => {
  assert.equal(cutChars("x".repeat(10), 4, 0, "..."), "xxxx... (6 more characters)");
  assert.equal(cutChars("x".repeat(4), 4, 0, "..."), "xxxx");
});

Deno.test("quotedChars quotes text whole or cut, its note after the closing quote", () => {
  assert.equal(quotedChars("5s", 40), "'5s'");
  const faces = "😀".repeat(50); // 50 characters, 100 UTF-16 units
  assert.equal(quotedChars(faces, 40), `'${"😀".repeat(40)}…' (10 more characters)`);
  assert.equal(quotedChars("x".repeat(41), 40, "..."), `'${"x".repeat(40)}...' (1 more character)`);
});
