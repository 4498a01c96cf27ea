import assert from "node:assert/strict";
import { minerText } from "../../validator/miner_client.ts";

Deno.test("a miner's message is cut and its control characters escaped before it is logged", () => {
  assert.equal(minerText("Timeout: no reply"), "Timeout: no reply");
  const forged = minerText("bad\nERROR taos: forged line\r\u0000");
  assert.equal(forged, "bad\\u000aERROR taos: forged line\\u000d\\u0000");
  assert.ok(!forged.includes("\n"));
  const huge = minerText("x".repeat(2_000_000));
  assert.equal(huge, `${"x".repeat(300)}… (2000000 characters)`);
});
