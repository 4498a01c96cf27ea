/** `taos replay -` reads its script from standard input, and names it so when it is no script. */
import assert from "node:assert/strict";
import { main } from "./taos_process.ts";

/** Runs `taos replay -` with `input` on standard input. */
async function replayStdin(input: string | Uint8Array) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, "replay", "-"],
    env: { NO_COLOR: "1" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(typeof input === "string" ? new TextEncoder().encode(input) : input);
  await writer.close();
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("an empty standard input is told as such, not as JSON cut short", async () => {
  for (const input of ["", "\n  \n"]) {
    const run = await replayStdin(input);
    assert.equal(run.stdout, "");
    assert.equal(
      run.stderr,
      "taos replay: standard input is empty: give the script there, or its file in place of -\n",
    );
    assert.equal(run.code, 2);
  }
});

Deno.test("a script on standard input is named as standard input in its errors", async () => {
  const bad = await replayStdin("{");
  assert.match(bad.stderr, /^taos replay: standard input is not valid JSON: /);
  assert.equal(bad.code, 2);
  const invalid = await replayStdin("{}");
  assert.match(invalid.stderr, /^taos replay: standard input: invalid replay script:\n/);
  assert.equal(invalid.code, 2);
  // Text that is not UTF-8 there is refused by the same name.
  const utf16 = await replayStdin(new Uint8Array([0xff, 0xfe, 0x7b, 0x00]));
  assert.equal(
    utf16.stderr,
    "taos replay: cannot read standard input: UTF-16 text; save it as UTF-8\n",
  );
  assert.equal(utf16.code, 2);
});
