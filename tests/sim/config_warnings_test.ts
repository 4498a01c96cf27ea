/** An XML config with thousands of ignored parts: the warnings stay a handful of lines. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { importXmlConfig, MAX_WARNINGS } from "../../sim/xml_config.ts";
import { taos } from "./taos_process.ts";
import { fileURLToPath } from "node:url";

const fixture = fileURLToPath(new URL("./fixtures/simulation_0.xml", import.meta.url));

/** The reference fixture with `count` unknown agent elements, numbered in order. */
function withUnknownAgents(count: number): string {
  const unknown = Array.from({ length: count }, (_, n) => `<Mystery${n}/>`).join("\n");
  return Deno.readTextFileSync(fixture).replace("<Agents>", `<Agents>\n${unknown}`);
}

Deno.test("5000 unknown elements: the first few are named, one line counts the rest", () => {
  const { warnings } = importXmlConfig(withUnknownAgents(5000), 1);
  assert.equal(warnings.length, MAX_WARNINGS + 1);
  for (let n = 0; n < MAX_WARNINGS; n++) {
    assert.match(warnings[n], new RegExp(`^line \\d+ <Mystery${n}>: unknown agent type ignored$`));
  }
  assert.equal(
    warnings[MAX_WARNINGS],
    `${5000 - MAX_WARNINGS} more not shown (5000 warnings in all; the first ${MAX_WARNINGS} ` +
      "are above)",
  );
});

Deno.test("exactly as many warnings as are named: no count line", () => {
  const { warnings } = importXmlConfig(withUnknownAgents(MAX_WARNINGS), 1);
  assert.equal(warnings.length, MAX_WARNINGS);
  assert.match(warnings.at(-1)!, new RegExp(`<Mystery${MAX_WARNINGS - 1}>`));
});

Deno.test("taos sim --config prints a bounded number of warning lines", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "many_unknown.xml");
    await Deno.writeTextFile(path, withUnknownAgents(5000));
    // A depth of 0 is refused after the config (and its warnings) are read.
    const run = await taos("sim", "--config", path, "--depth", "0", "--quiet");
    assert.equal(run.code, 2, run.stderr);
    const lines = run.stderr.split("\n").filter((line) => line.startsWith("warning: "));
    assert.equal(lines.length, MAX_WARNINGS + 1, run.stderr.slice(0, 2000));
    assert.match(lines.at(-1)!, /^warning: 4990 more not shown \(5000 warnings in all/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the warnings of a refused XML config are printed before the refusal", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "misspelt.xml");
    await Deno.writeTextFile(
      path,
      Deno.readTextFileSync(fixture).replace("<Processes ", "<Procesess ").replace(
        "</Processes>",
        "</Procesess>",
      ),
    );
    const run = await taos("sim", "--config", path, "--duration", "1m", "--quiet");
    assert.equal(run.code, 2, run.stderr);
    const lines = run.stderr.trim().split("\n");
    assert.match(lines[0], /^warning: line \d+ <Procesess>: unknown element ignored$/);
    assert.match(lines[1], /^taos sim: --config: .*misspelt\.xml: invalid simulation config:$/);
    assert.match(lines[2], /<Books>: no <Processes> \(processes\)$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
