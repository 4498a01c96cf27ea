/**
 * Values of the reference's XML format read as the reference reads them, or refused or reported
 * where taos would otherwise run something else than the same file runs there.
 */
import assert from "node:assert/strict";
import { importXmlConfig } from "../../sim/xml_config.ts";
import { parseSimConfig, smallPreset } from "../../sim/config.ts";
import { simulationConfigFor } from "../../agents/sdk/state.ts";

const fixture = new URL("./fixtures/simulation_0.xml", import.meta.url);
const reference = () => Deno.readTextFileSync(fixture);

Deno.test("a whole-number attribute with an exponent, which the reference reads by its leading digits, is refused", () => {
  const cases: [string, string, RegExp][] = [
    ['step="5000000000"', 'step="5e9"', /<Simulation> attribute step: '5e9' .*as 5\b/],
    [
      'tau="175000000000"',
      'tau="1.75e11"',
      /<StylizedTraderAgent> attribute tau: '1\.75e11' .*as 1\b/,
    ],
    ['instanceCount="20"', 'instanceCount="2E1"', /<Books> attribute instanceCount: '2E1'/],
    ['historySlots="24"', 'historySlots="2.4e1"', /<FeePolicy> attribute historySlots/],
    [
      'seedInterval="10000000000"',
      'seedInterval="1e10"',
      /<FundamentalPrice> attribute seedInterval: '1e10' .*as 1\b/,
    ],
  ];
  for (const [given, changed, expected] of cases) {
    assert.throws(() => importXmlConfig(reference().replace(given, changed), 1), expected);
  }
  // Read the same by both: an exponent that leaves the leading digits' value, a whole number
  // with a zero fraction, and an attribute the reference reads as a double.
  const same = reference()
    .replace('instanceCount="20"', 'instanceCount="2e0"')
    .replace('step="5000000000"', 'step="5000000000.0"')
    .replace('MFLmean="250000000"', 'MFLmean="2.5e8"');
  const { config } = importXmlConfig(same, 1);
  assert.equal(config.books, 2);
  assert.equal(config.step, 5e9);
  assert.equal(config.agents.stylized?.MFLmean, 2.5e8);
});

Deno.test("a boolean attribute is read as the reference reads it, or refused when it would not be meant", () => {
  const flag = (value: string) =>
    importXmlConfig(
      reference().replace('regimeChangeFlag="0"', `regimeChangeFlag="${value}"`),
      1,
    ).config.agents.stylized?.regimeChangeFlag;
  for (const value of ["1", "true", "True", "yes", "Y"]) assert.equal(flag(value), true, value);
  for (const value of ["0", "false", "FALSE", "no", "N"]) assert.equal(flag(value), false, value);
  // The reference looks at the first character only: 2 and 0.5 are false there, -1 too.
  for (const value of ["2", "0.5", "-1", "", " 1"]) {
    assert.throws(
      () => flag(value),
      /<StylizedTraderAgent> attribute regimeChangeFlag: '.*' is not a boolean/,
      value,
    );
  }
});

Deno.test("an exchange without initialPrice or a <Books> without instanceCount is reported", () => {
  const { config, warnings } = importXmlConfig(
    reference().replace(/ initialPrice="300\.0"/, "").replace(' instanceCount="20"', ""),
    1,
  );
  assert.equal(config.exchange.initialPrice, 300);
  assert.equal(config.books, 1);
  const text = warnings.join("\n");
  assert.match(
    text,
    /<MultiBookExchangeAgent>: attribute initialPrice is missing: .* 0; taken as 300/,
  );
  assert.match(text, /<Books>: attribute instanceCount is missing: .* no books; taken as 1/);
  const counted = importXmlConfig(reference().replace(' instanceCount="20"', ""), 1, { books: 4 });
  assert.equal(counted.config.books, 4);
  assert.deepEqual(counted.warnings, [], "--books gives the count");
});

Deno.test("a group's fee window other than the exchange's is reported when its tiers would differ by it", () => {
  const policy = (window: string, tiers: string) =>
    `<FeePolicy type="tiered" ${window}>${tiers}</FeePolicy>\n    </HighFrequencyTraderAgent>`;
  const two = '<Tier volumeRequired="0" makerFee="0.001" takerFee="0.002"/>' +
    '<Tier volumeRequired="100" makerFee="0" takerFee="0"/>';
  const one = '<Tier volumeRequired="0" makerFee="0" takerFee="0"/>';
  const withPolicy = (window: string, tiers: string) =>
    reference().replace(
      /<FeePolicy[^>]*>\s*<Tier[^>]*\/>\s*<\/FeePolicy>\s*<\/HighFrequencyTraderAgent>/,
      policy(window, tiers),
    );
  const warnings = (window: string, tiers: string) =>
    importXmlConfig(withPolicy(window, tiers), 1).warnings.join("\n");
  assert.match(
    warnings('historySlots="2" slotPeriod="60000000000"', two),
    /<FeePolicy>: historySlots="2" slotPeriod="60000000000" not used: .* exchange's 24 slots of 3600000000000 ns/,
  );
  assert.match(
    warnings('historySlots="2" slotPeriod="3600000000000"', two),
    /historySlots="2" not/,
  );
  assert.doesNotMatch(warnings('historySlots="2" slotPeriod="60000000000"', one), /not used/);
  assert.doesNotMatch(warnings('historySlots="24" slotPeriod="3600000000000"', two), /not used/);
});

Deno.test("a maxDepth above detailedDepth is what the config sent to miners reports as book_levels", () => {
  // Miners are told maxDepth, 5 here, as the reference tells them, not detailedDepth (3).
  const deeper = reference().replace('maxDepth="5"', 'maxDepth="5" detailedDepth="3"');
  const { config } = importXmlConfig(deeper, 1);
  assert.equal(config.exchange.detailedDepth, 3);
  assert.equal(config.exchange.maxDepth, 5);
  assert.equal(simulationConfigFor(config).book_levels, 5);
  // Equal, as in the production file, nothing is kept: the config is the embedded one.
  const { config: production } = importXmlConfig(reference(), 1);
  assert.equal(production.exchange.maxDepth, undefined);
  assert.equal(simulationConfigFor(production).book_levels, 5);
  // A JSON config may give it too, never below detailedDepth.
  assert.throws(
    () =>
      parseSimConfig({ ...smallPreset(), exchange: { ...smallPreset().exchange, maxDepth: 2 } }),
    /exchange\.maxDepth: must be at least detailedDepth \(5\)/,
  );
});

Deno.test("an exchange without one of its four decimals is refused naming them, as the reference refuses it", () => {
  // The reference's exchange takes a missing count of decimals as 0 and refuses it: taos would
  // otherwise run quote balances and fees at 2 decimals where the file meant another count.
  assert.throws(
    () => importXmlConfig(reference().replace(' quoteDecimals="10"', ""), 1),
    /line 6 <MultiBookExchangeAgent>: attribute quoteDecimals is missing \(the reference requires it\)$/,
  );
  assert.throws(
    () => importXmlConfig(reference().replace(/ (price|volume|base|quote)Decimals="\d+"/g, ""), 1),
    /attributes priceDecimals, volumeDecimals, baseDecimals, quoteDecimals are missing \(the reference requires them\)$/,
  );
});

Deno.test("a book depth of 0 is refused by attribute, as the reference refuses it", () => {
  const books = (attributes: string) =>
    reference().replace(/<Books [^>]*>/, `<Books instanceCount="2" ${attributes}>`);
  for (
    const [attributes, attribute] of [
      ['maxDepth="0"', "maxDepth"],
      ['maxDepth="5" detailedDepth="0"', "detailedDepth"],
      ['detailedDepth="0.5"', "detailedDepth"],
    ]
  ) {
    assert.throws(
      () => importXmlConfig(books(attributes), 1),
      new RegExp(`line 17 <Books> attribute ${attribute}: '0(\\.5)?' must be at least 1`),
      attributes,
    );
  }
  assert.equal(importXmlConfig(books('maxDepth="1"'), 1).config.exchange.detailedDepth, 1);
});

Deno.test("a <Simulation current>, where the reference would start its clock, is reported as not read", () => {
  const resumed = reference().replace('start="0"', 'start="0" current="43200000000000"');
  const { config, warnings } = importXmlConfig(resumed, 1);
  assert.deepEqual([config.start, config.duration], [0, 86400e9]);
  assert.deepEqual(warnings, [
    "line 3 <Simulation>: attribute current ('43200000000000') not read: the run starts at start " +
    "(0 ns); the reference would start its clock at current and run to start + duration",
  ]);
  // Before start, the reference would start its clock earlier and run longer: reported too.
  const earlier = reference().replace('start="0"', 'start="60000000000" current="0"');
  const before = importXmlConfig(earlier, 1);
  assert.equal(before.config.start, 60e9);
  assert.deepEqual(before.warnings, [
    "line 3 <Simulation>: attribute current ('0') not read: the run starts at start " +
    "(60000000000 ns); the reference would start its clock at current and run to start + duration",
  ]);
  // Equal to start, it changes nothing there either.
  const same = reference().replace('start="0"', 'start="0" current="0"');
  assert.deepEqual(importXmlConfig(same, 1).warnings, []);
});
