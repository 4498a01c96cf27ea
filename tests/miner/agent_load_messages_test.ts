/** What the miner says when its agent's file does not give it the agent class. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { AgentHost } from "../../miner/agent_host.ts";
import { testTempDir } from "../temp_dir.ts";

/** The message of loading agent `name` from `dir`, which must fail. */
async function loadError(dir: string, name: string): Promise<string> {
  const outcome = await AgentHost.start({ path: dir, name, params: "", uid: 1 }).then(
    (host) => {
      host.close();
      return null;
    },
    (error: Error) => error.message,
  );
  assert.notEqual(outcome, null, `${name} loaded`);
  return outcome!;
}

Deno.test("an agent file without the class's export lists what it exports, classes first", async () => {
  const dir = testTempDir("taos-wrong-name-");
  const file = join(dir, "WrongName.ts");
  Deno.writeTextFileSync(
    file,
    `export const LIMIT = 3;
     export function helper() {}
     export class Wrongname { onUpdate() { return []; } }
     export class Other {}\n`,
  );
  // Until this version the message ended at the missing name: which one the file has was a guess.
  assert.equal(
    await loadError(dir, "WrongName"),
    `${file} has no export named 'WrongName'; it exports class Other, class Wrongname, LIMIT, ` +
      "helper",
  );
  Deno.writeTextFileSync(join(dir, "Empty.ts"), "const nothing = 1;\n");
  assert.equal(
    await loadError(dir, "Empty"),
    `${join(dir, "Empty.ts")} has no export named 'Empty'; it exports nothing`,
  );
});

Deno.test("an agent file that is a link to a missing file is said to be one", async () => {
  const dir = testTempDir("taos-dangling-");
  const file = join(dir, "Gone.ts");
  Deno.symlinkSync("moved/Gone.ts", file);
  // Until this version: the import's "Module not found", naming neither the link nor its target.
  assert.equal(
    await loadError(dir, "Gone"),
    `cannot load agent file ${file}: it is a link to ${join(dir, "moved", "Gone.ts")}, a ` +
      "missing file",
  );
});
