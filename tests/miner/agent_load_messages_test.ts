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

Deno.test("a load error names the agent's file by its path, not a percent-encoded URL", async () => {
  // Until this version the place read file:///.../my%20%C3%A4gents/Broken.ts:2:..., and a path
  // with a quote or a parenthesis (which file URLs leave as they are) was decoded only up to it.
  for (const name of ["my ägents", "it's (v2) 100%"]) {
    const dir = join(testTempDir("taos-spaced-"), name);
    Deno.mkdirSync(dir);
    const file = join(dir, "Broken.ts");
    Deno.writeTextFileSync(file, "export class Broken {\n  onUpdate( { return [] }\n}\n");
    const message = await loadError(dir, "Broken");
    assert.match(message, /SyntaxError/);
    assert.ok(message.includes(`at ${file}:2:`), message);
    assert.doesNotMatch(message, /%20|%25|%C3|file:\/\//);
  }
});

Deno.test("a load error names a missing file by its whole path, its name decoded too", async () => {
  const dir = join(testTempDir("taos-missing-import-"), "it's (v2)");
  Deno.mkdirSync(dir);
  Deno.writeTextFileSync(
    join(dir, "Importer.ts"),
    'import "./gone (old)/no such ä.ts";\nexport class Importer { onUpdate() { return []; } }\n',
  );
  const message = await loadError(dir, "Importer");
  // Until this version the name read as far as the last directory that exists:
  // ".../it's (v2)/gone%20(old)/no%20such%20%C3%A4.ts".
  assert.ok(message.includes(`"${join(dir, "gone (old)", "no such ä.ts")}"`), message);
  assert.ok(message.includes(`at ${join(dir, "Importer.ts")}:1:`), message);
  assert.doesNotMatch(message, /%20|%C3|file:\/\//);
});

Deno.test("an agent that ends itself while loading fails to load, like one that throws", async () => {
  const dir = testTempDir("taos-top-exit-");
  Deno.writeTextFileSync(
    join(dir, "TopExit.ts"),
    "Deno.exit(7);\nexport class TopExit { onUpdate() { return []; } }\n",
  );
  Deno.writeTextFileSync(
    join(dir, "CtorExit.ts"),
    "export class CtorExit {\n  constructor() { Deno.exit(8); }\n  onUpdate() { return []; }\n}\n",
  );
  Deno.writeTextFileSync(
    join(dir, "ProcessExit.ts"),
    'import process from "node:process";\n' +
      "export class ProcessExit {\n  constructor() { process.exit(9); }\n" +
      "  onUpdate() { return []; }\n}\n",
  );
  // Until this version both started and were replaced at every update, answering nothing.
  assert.equal(await loadError(dir, "TopExit"), "TopExit ended itself (exit code 7)");
  assert.equal(await loadError(dir, "CtorExit"), "CtorExit ended itself (exit code 8)");
  assert.equal(await loadError(dir, "ProcessExit"), "ProcessExit ended itself (exit code 9)");
});

Deno.test("an agent class may have any JavaScript class name, Unicode letters included", async () => {
  const dir = testTempDir("taos-unicode-name-");
  Deno.writeTextFileSync(join(dir, "Ünï.ts"), "export class Ünï { onUpdate() { return []; } }\n");
  const host = await AgentHost.start({ path: dir, name: "Ünï", params: "", uid: 1 });
  host.close();
  assert.equal(await loadError(dir, "Bad-Name"), "agent name 'Bad-Name' is not a class name");
});

Deno.test("work an agent's constructor leaves to a zero-delay timer does not count against its load time", async () => {
  const dir = testTempDir("taos-deferred-work-");
  // The constructor returns at once; the warm-up it schedules takes 1.5 s, past the 1 s limit.
  Deno.writeTextFileSync(
    join(dir, "WarmUp.ts"),
    `export class WarmUp {
       ready = false;
       constructor() {
         setTimeout(() => {
           const end = Date.now() + 1500;
           while (Date.now() < end) { /* warming up */ }
           this.ready = true;
         }, 0);
       }
       onUpdate() { return []; }
     }\n`,
  );
  // Until this version the load failed, the message blaming the constructor.
  const host = await AgentHost.start({ path: dir, name: "WarmUp", params: "", uid: 1 }, {
    loadTimeoutMs: 1000,
  });
  host.close();
});
