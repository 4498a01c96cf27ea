import assert from "node:assert/strict";
import { minerText } from "../../validator/miner_client.ts";
import { fileURLToPath } from "node:url";

Deno.test("a miner's message is cut and its control characters escaped before it is logged", () => {
  assert.equal(minerText("Timeout: no reply"), "Timeout: no reply");
  const forged = minerText("bad\nERROR taos: forged line\r\u0000");
  assert.equal(forged, "bad\\u000aERROR taos: forged line\\u000d\\u0000");
  assert.ok(!forged.includes("\n"));
  const huge = minerText("x".repeat(2_000_000));
  assert.equal(huge, `${"x".repeat(300)}… (2000000 characters)`);
});

Deno.test("a round's replies are checked one at a time: five 120 000-instruction replies fit a 128 MB heap", async () => {
  // Each reply inflates to about 28 MB of JSON and takes about 40 MB of heap once parsed; a
  // client that parsed every reply before checking any ran out of this heap (V8 aborts).
  const fixture = fileURLToPath(new URL("./fixtures/large_replies.ts", import.meta.url));
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--max-old-space-size=128", fixture, "5", "120000"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const errors = new TextDecoder().decode(stderr);
  assert.equal(code, 0, errors.slice(-2000));
  const replies = JSON.parse(new TextDecoder().decode(stdout));
  assert.deepEqual(
    replies,
    Array.from({ length: 5 }, () => ({ outcome: "ok", accepted: 400, message: "" })),
  );
});
