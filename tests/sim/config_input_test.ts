/**
 * Hostile and malformed configuration files handed to `taos sim --config` and `taos validator
 * --config`: each is refused with exit 2 and one message naming the place and the problem, within
 * bounded memory, or (where it is well-formed) read as the reference reads it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { flagOverrides, loadForCommand, loadSimConfig, MAX_CONFIG_BYTES } from "../../sim/load.ts";
import { UsageError } from "../../cli/command.ts";
import { parseSimConfig, smallPreset } from "../../sim/config.ts";
import { importXmlConfig } from "../../sim/xml_config.ts";
import { MAX_XML_DEPTH, MAX_XML_ELEMENTS, parseXml } from "../../sim/xml.ts";
import { taos } from "./taos_process.ts";

const reference = Deno.readTextFileSync(new URL("./fixtures/simulation_0.xml", import.meta.url));

/** Runs `taos sim` on a file and asserts one refusal line matching `message`, no stack trace. */
async function refused(path: string, message: RegExp): Promise<void> {
  const run = await taos("sim", "--config", path, "--duration", "10s", "--quiet");
  assert.equal(run.code, 2, run.stderr);
  const lines = run.stderr.trim().split("\n");
  assert.equal(lines.length, 1, run.stderr);
  assert.match(lines[0], /^taos sim: --config: /);
  assert.match(lines[0], message);
}

Deno.test("a config file that is not a small regular UTF-8 file is refused before it is read", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // Past the limit only by padding a comment: refused by size, not by content.
    const big = join(dir, "big.xml");
    Deno.writeTextFileSync(big, reference + `<!--${" ".repeat(MAX_CONFIG_BYTES)}-->`);
    await refused(
      big,
      /big\.xml: cannot read \(\d+ bytes; a config file may have at most 1048576\)/,
    );
    // A device would be read without end, a FIFO would block the read for ever.
    const zero = join(dir, "zero.xml");
    Deno.symlinkSync("/dev/zero", zero);
    await refused(zero, /zero\.xml: cannot read \(not a regular file\)/);
    const fifo = join(dir, "fifo.json");
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert.equal(made.code, 0);
    await refused(fifo, /fifo\.json: cannot read \(not a regular file\)/);
    const folder = join(dir, "folder.toml");
    Deno.mkdirSync(folder);
    await refused(folder, /folder\.toml: cannot read \(a directory, not a file\)/);
    const latin1 = join(dir, "latin1.xml");
    Deno.writeFileSync(
      latin1,
      new Uint8Array([...new TextEncoder().encode(reference.replace("EXCHANGE", "EXCH")), 0xE9]),
    );
    await refused(latin1, /latin1\.xml: not UTF-8 text/);
    const utf16 = join(dir, "utf16.xml");
    const units = new Uint16Array([0xFEFF, ...[...reference].map((c) => c.charCodeAt(0))]);
    Deno.writeFileSync(utf16, new Uint8Array(units.buffer));
    await refused(utf16, /utf16\.xml: UTF-16 text; save it as UTF-8/);
    // A UTF-8 byte-order mark and CRLF line ends are read as the plain file.
    const bom = join(dir, "bom.xml");
    Deno.writeTextFileSync(bom, "\uFEFF" + reference.replaceAll("\n", "\r\n"));
    const run = await taos("sim", "--config", bom, "--duration", "10s", "--quiet");
    assert.equal(run.code, 0, run.stderr);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a config file of exactly the size limit is read; UTF-16 of either byte order is refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const full = join(dir, "full.json");
    const json = JSON.stringify(smallPreset());
    Deno.writeTextFileSync(full, json + " ".repeat(MAX_CONFIG_BYTES - json.length));
    assert.equal(Deno.statSync(full).size, MAX_CONFIG_BYTES);
    assert.equal((await loadSimConfig(full)).config.books, 2);
    // Big-endian UTF-16 starts FE FF (the little-endian FF FE is refused by a test above).
    const utf16 = join(dir, "utf16be.json");
    const text = [..."\uFEFF{}"].flatMap((c) => [c.charCodeAt(0) >> 8, c.charCodeAt(0) & 0xFF]);
    Deno.writeFileSync(utf16, new Uint8Array(text));
    await assert.rejects(loadSimConfig(utf16), /utf16be\.json: UTF-16 text; save it as UTF-8$/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("malformed or hostile XML is refused with its line, by both commands", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const laughs = join(dir, "laughs.xml");
    const entities = Array.from(
      { length: 9 },
      (_, i) => `<!ENTITY l${i + 1} "${`&l${i};`.repeat(10)}">`,
    ).join("\n");
    Deno.writeTextFileSync(
      laughs,
      reference.replace(
        '<?xml version="1.0"?>',
        `<?xml version="1.0"?>\n<!DOCTYPE Simulation [\n<!ENTITY l0 "lol">\n${entities}\n]>`,
      ).replace('name="EXCHANGE"', 'name="&l9;"'),
    );
    await refused(laughs, /laughs\.xml: XML line 2: a DOCTYPE is not accepted/);
    const validator = await taos(
      "validator",
      "--local",
      "--hotkey-uri",
      "//Alice",
      "--config",
      laughs,
      "--miner",
      "0:5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty@127.0.0.1:8091",
    );
    assert.equal(validator.code, 2, validator.stderr);
    assert.match(
      validator.stderr,
      /^taos validator: --config: .*laughs\.xml: XML line 2: a DOCTYPE is not accepted/,
    );
    assert.equal(validator.stderr.trim().split("\n").length, 1, validator.stderr);
    const cases: [string, string, RegExp][] = [
      [
        "unclosed",
        reference.replace("</Agents>", ""),
        /line 73: unexpected closing tag <\/Simulation> \(<Agents> of line 5 is open\)/,
      ],
      ["trailing", reference + "garbage", /line 74: text outside the root element/],
      ["two roots", reference + "<Simulation/>", /line 74: more than one root element/],
      ["outer CDATA", reference + "<![CDATA[x]]>", /line 74: CDATA outside the root element/],
      [
        "nul",
        reference.replace("<Agents>", "<Agents>\0"),
        /line 5: character U\+0000 is not allowed/,
      ],
      [
        "entity",
        reference.replace('name="EXCHANGE"', 'name="EX&foo;"'),
        /line 6: '&foo;' in the value of attribute name of <MultiBookExchangeAgent> is not an entity/,
      ],
      [
        "ampersand",
        reference.replace('name="EXCHANGE"', 'name="A & B"'),
        /line 6: '&' in the value of attribute name/,
      ],
      [
        "less",
        reference.replace('name="EXCHANGE"', 'name="a<b"'),
        /line 6: '<' in the value of attribute name/,
      ],
      [
        "hex",
        reference.replace('instanceCount="20"', 'instanceCount="0x10"'),
        /line 17 <Books> attribute instanceCount: '0x10' is not a decimal number/,
      ],
      [
        "huge",
        reference.replace('instanceCount="20"', 'instanceCount="1e400"'),
        /line 17 <Books> attribute instanceCount: '1e400' is out of range/,
      ],
      [
        "another matching rule",
        reference.replace('algorithm="PriceTime"', 'algorithm="ProRata"'),
        /line 17 <Books> attribute algorithm: 'ProRata' is not PriceTime, the only matching rule/,
      ],
    ];
    for (const [name, text, message] of cases) {
      const path = join(dir, `${name}.xml`);
      Deno.writeTextFileSync(path, text);
      await refused(path, message);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("XML nesting and element count are bounded", () => {
  const deep = "<a>".repeat(MAX_XML_DEPTH) + "</a>".repeat(MAX_XML_DEPTH);
  assert.throws(
    () => importXmlConfig(reference.replace("<Agents>", `<Agents>${deep}`), 1),
    new RegExp(`XML line 5: elements nested more than ${MAX_XML_DEPTH} deep`),
  );
  assert.throws(
    () =>
      importXmlConfig(
        reference.replace("<Agents>", `<Agents>${"<a/>".repeat(MAX_XML_ELEMENTS)}`),
        1,
      ),
    new RegExp(`XML line 5: more than ${MAX_XML_ELEMENTS} elements`),
  );
  // The bounds themselves are accepted: a document exactly that deep, or with that many elements.
  const nest = (depth: number) => "<a>".repeat(depth) + "</a>".repeat(depth);
  assert.equal(parseXml(nest(MAX_XML_DEPTH)).name, "a");
  assert.throws(() => parseXml(nest(MAX_XML_DEPTH + 1)), /nested more than 64 deep/);
  const wide = (elements: number) => `<r>${"<a/>".repeat(elements - 1)}</r>`;
  assert.equal(parseXml(wide(MAX_XML_ELEMENTS)).children.length, MAX_XML_ELEMENTS - 1);
  assert.throws(() => parseXml(wide(MAX_XML_ELEMENTS + 1)), /more than 10000 elements/);
});

Deno.test("markup inside CDATA, comments and processing instructions is not read as elements", () => {
  for (
    const hidden of [
      "<![CDATA[ a>b <MysteryAgent/> ]]>",
      "<!-- a > b <MysteryAgent/> -->",
      "<?note > <MysteryAgent/> ?>",
    ]
  ) {
    const { warnings } = importXmlConfig(reference.replace("<Agents>", `<Agents>${hidden}`), 1);
    assert.deepEqual(warnings, [], hidden);
  }
});

Deno.test("character references and '>' in attribute values are read as XML defines them", () => {
  const text = reference
    .replace('instanceCount="20"', 'instanceCount="&#51;"')
    .replace('remoteAgentCount="256"', 'remoteAgentCount="&#x34;"')
    .replace('name="EXCHANGE"', 'name="a>b &amp; &lt;c&gt;"');
  const { config, warnings } = importXmlConfig(text, 1);
  assert.deepEqual(warnings, []);
  assert.equal(config.books, 3);
  assert.equal(config.remoteAgentCount, 4);
  // XML allows tab, line feed, carriage return and every character from the space on; the other
  // C0 controls are refused, written as references too.
  assert.equal(
    parseXml('<a v="&#9;&#10;&#13;&#32;&#x10FFFF;"/>').attributes.v,
    "\t\n\r \u{10FFFF}",
  );
  for (const code of ["&#31;", "&#0;", "&#x110000;", "&#xD800;", "&#xFFFE;"]) {
    assert.throws(() => parseXml(`<a v="${code}"/>`), /is not an entity/, code);
  }
});

Deno.test("an XML file without start is refused and one without step is warned about, as the reference reads them", () => {
  assert.match(reference, / start="0"/);
  assert.match(reference, / step="5000000000"/);
  assert.throws(
    () => importXmlConfig(reference.replace(' start="0"', ""), 1),
    /^Error: line \d+ <Simulation>: attribute start is missing \(the reference requires it\)$/,
  );
  const { config, warnings } = importXmlConfig(reference.replace(' step="5000000000"', ""), 1);
  assert.equal(config.step, 5e9);
  assert.deepEqual(warnings.map((w) => w.replace(/^line \d+ /, "")), [
    "<Simulation>: attribute step is missing: the reference would step every 1 ns; taken as 5000000000 (5 s)",
  ]);
});

Deno.test("a second group of one agent type is refused, not dropped", () => {
  const group = /\s*<HighFrequencyTraderAgent[\s\S]*?<\/HighFrequencyTraderAgent>/.exec(reference)!;
  const text = reference.replace(group[0], group[0] + group[0]);
  assert.throws(
    () => importXmlConfig(text, 1),
    /line 50 <HighFrequencyTraderAgent>: a second group of this agent type \(first at line 41\)/,
  );
});

Deno.test("a JSON key given twice is refused by path; a TOML error is one line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const json = join(dir, "twice.json");
    Deno.writeTextFileSync(
      json,
      '{"books": 2, "exchange": {"fees": {"tiers": [{"makerFee": 0, "takerFee": 0,\n' +
        '"volumeRequired": 0, "makerFee": 0.5}]}}, "books": 3}',
    );
    await refused(json, /twice\.json: exchange\.fees\.tiers\.0\.makerFee: key given twice/);
    const again = join(dir, "again.json");
    Deno.writeTextFileSync(again, '{"seed": 1, "note": "\\"books\\":", "seed": 2}');
    await refused(again, /again\.json: seed: key given twice/);
    const toml = join(dir, "deep.toml");
    Deno.writeTextFileSync(toml, `books = ${"[".repeat(5000)}${"]".repeat(5000)}\n`);
    await refused(toml, /deep\.toml: TOML line 1 column \d+: document contains excessively nested/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a JSON syntax error is one line with its line and column, however long the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // The printed small preset with a comma after its last fee tier.
    const lines = JSON.stringify(smallPreset(), null, 2).split("\n");
    const last = lines.findIndex((line, i) => line === "        }" && lines[i + 1] === "      ]");
    lines[last] += ",";
    const path = join(dir, "trailing.json");
    Deno.writeTextFileSync(path, lines.join("\n"));
    await refused(
      path,
      new RegExp(
        `trailing\\.json: Unexpected token '\\]' in JSON at position \\d+ ` +
          `\\(line ${last + 2} column 7\\)$`,
      ),
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a huge value or key is quoted cut short, and read in linear time", () => {
  const digits = "9".repeat(20_000) + "x";
  assert.throws(
    () => importXmlConfig(reference.replace('instanceCount="20"', `instanceCount="${digits}"`), 1),
    (error: Error) => {
      assert.match(error.message, /'9{40}…' \(19961 more characters\) is not a decimal number$/);
      return true;
    },
  );
  const config = {
    ...smallPreset(),
    step: "1" + " ".repeat(20_000) + "x",
    ["k".repeat(20_000)]: 1,
  };
  assert.throws(
    () => parseSimConfig(config),
    (error: Error) => {
      const lines = error.message.split("\n");
      assert.equal(lines.length, 3, error.message.slice(0, 2000));
      assert.ok(lines.every((line) => line.length < 600), "a line quotes the whole value");
      assert.match(error.message, /step: '1 {39}…' \(19962 more characters\) is not a duration/);
      return true;
    },
  );
});

Deno.test("--books takes 1 to 4096, and a count past that is refused as the flag's bound", () => {
  assert.equal(flagOverrides({ books: "4096" }).books, 4096);
  for (const books of ["4097", "0"]) {
    assert.throws(
      () => flagOverrides({ books }),
      (error) =>
        error instanceof UsageError &&
        error.message === `--books: '${books}' must be ${books === "0" ? ">= 1" : "<= 4096"}`,
    );
  }
});

Deno.test("--intended-dynamics sets referenceDynamics false; without it the file's value stands", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(flagOverrides({ "intended-dynamics": true }).referenceDynamics, false);
    // No flag overrides nothing: a file that asks for the intended dynamics keeps them.
    assert.equal(flagOverrides({}).referenceDynamics, undefined);
    const intended = join(dir, "intended.json");
    Deno.writeTextFileSync(
      intended,
      JSON.stringify({ ...smallPreset(), referenceDynamics: false }),
    );
    assert.equal(
      (await loadSimConfig(intended, flagOverrides({}))).config.referenceDynamics,
      false,
    );
    const quirks = join(dir, "quirks.json");
    Deno.writeTextFileSync(quirks, JSON.stringify({ ...smallPreset(), referenceDynamics: true }));
    const flagged = await loadSimConfig(quirks, flagOverrides({ "intended-dynamics": true }));
    assert.equal(flagged.config.referenceDynamics, false);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a config file's extension is read in any case", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const upper = join(dir, "SMALL.JSON");
    Deno.writeTextFileSync(upper, JSON.stringify({ ...smallPreset(), seed: 11 }));
    assert.equal((await loadSimConfig(upper)).config.seed, 11);
    const mixed = join(dir, "small.Toml");
    Deno.writeTextFileSync(mixed, 'seed = 12\nbooks = "two"\n');
    // Read as TOML (its error names the field), not refused as an unknown kind of file.
    await assert.rejects(loadSimConfig(mixed), /small\.Toml: (?:.*\n)*.*books/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a refusal is put on a flag only when every problem is the flag's; else the file is named", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { books: _, ...withoutBooks } = smallPreset();
    const file = join(dir, "no-books.json");
    Deno.writeTextFileSync(file, JSON.stringify(withoutBooks));
    // A duration of 0 and no books: both are told, under --config, since part of the fault is
    // the file's.
    await assert.rejects(
      loadForCommand(file, { duration: 0 }),
      (error: Error) => {
        assert.ok(error instanceof UsageError);
        assert.match(error.message, /^--config: .*no-books\.json: /);
        assert.match(error.message, /^ {2}books: required$/m);
        assert.match(error.message, /^ {2}duration: must be positive$/m);
        return true;
      },
    );
    // Given the books too, only the flag is at fault.
    await assert.rejects(
      loadForCommand(file, { duration: 0, books: 1 }),
      (error: Error) =>
        error instanceof UsageError && error.message === "--duration: must be positive",
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
