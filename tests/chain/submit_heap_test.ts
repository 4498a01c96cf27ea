import assert from "node:assert/strict";
import { startNode } from "./subnet_fixture.ts";
import { fileURLToPath } from "node:url";

/** Least-squares slope of heap bytes over submissions. */
function bytesPerSubmission(samples: { submissions: number; heapUsed: number }[]): number {
  const n = samples.length;
  const meanX = samples.reduce((sum, s) => sum + s.submissions, 0) / n;
  const meanY = samples.reduce((sum, s) => sum + s.heapUsed, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const s of samples) {
    sxy += (s.submissions - meanX) * (s.heapUsed - meanY);
    sxx += (s.submissions - meanX) ** 2;
  }
  return sxy / sxx;
}

Deno.test("weight submissions watched to inclusion leave nothing behind on the heap", async () => {
  // The client runs in its own process with --expose-gc, so the node's records of every block
  // stay out of its heap. Submissions 1000 to 2200 come after the caches and compiled code have
  // settled (about 1 MB, once). The provider's broken call cache kept about 1.2 kB for each of
  // them and the RPC core's memo of block registries about 0.2 kB; about 0.1 kB is left (85 to
  // 102 bytes in our runs), and with the memo alone kept the slope was 259 to 276 bytes.
  const { node } = startNode();
  try {
    const fixture = fileURLToPath(new URL("./fixtures/submit_heap.ts", import.meta.url));
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--v8-flags=--expose-gc", fixture, node.url, "1000", "300", "2200"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr).slice(-2000));
    const samples = JSON.parse(new TextDecoder().decode(stdout));
    const slope = bytesPerSubmission(samples);
    console.log(JSON.stringify({ slope, samples }));
    assert.ok(slope < 180, `the heap grew by ${slope.toFixed(0)} bytes per submission`);
  } finally {
    await node.close();
  }
});
