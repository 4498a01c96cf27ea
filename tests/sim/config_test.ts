import assert from "node:assert/strict";
import {
  durationProblem,
  formatDuration,
  leastMemory,
  parseDuration,
  parseSimConfig,
  referenceConfig,
  SimConfigError,
  smallPreset,
} from "../../sim/config.ts";
import { importXmlConfig } from "../../sim/xml_config.ts";
import { parseReplayScript } from "../../sim/replay.ts";
import { SimEngine } from "../../sim/engine.ts";
import { nativeParams } from "../../sim/native_sim.ts";

const fixture = new URL("./fixtures/simulation_0.xml", import.meta.url);

Deno.test("durations accept units and reject garbage", () => {
  assert.equal(parseDuration("90s"), 90e9);
  assert.equal(parseDuration("10m"), 600e9);
  assert.equal(parseDuration("1h"), 3600e9);
  assert.equal(parseDuration("1d"), 86400e9);
  assert.equal(parseDuration("250ms"), 250e6);
  assert.equal(parseDuration("1500"), 1500);
  assert.equal(parseDuration("7ns"), 7);
  assert.equal(parseDuration("3us"), 3000);
  assert.equal(parseDuration(" 2 h "), 7200e9);
  assert.equal(parseDuration("ten minutes"), undefined);
  assert.equal(formatDuration(600e9), "10m");
  assert.equal(formatDuration(0), "0ns", "no unit divides 0 to say more");
});

Deno.test("a duration is a whole number of ns, computed exactly; a fraction of one is refused", () => {
  assert.equal(parseDuration("1.1s"), 1_100_000_000);
  assert.equal(parseDuration("0.1m"), 6e9);
  assert.equal(parseDuration("1.5ms"), 1_500_000);
  assert.equal(parseDuration("2.0"), 2);
  // Refused, not rounded without a word (to 2 ns, and to 6000000000 ns).
  for (const text of ["1.5", "6000000000.4", "1.0000001us", "0.5ns"]) {
    assert.equal(parseDuration(text), undefined, text);
    assert.equal(durationProblem(text), `'${text}' is not a whole number of nanoseconds`);
  }
  assert.equal(durationProblem("200d"), "'200d' is longer than the clock's 104 days");
  // The clock's last exact ns is a duration; one past it is not.
  assert.equal(parseDuration("9007199254740991"), Number.MAX_SAFE_INTEGER);
  assert.equal(parseDuration("9007199254740992"), undefined);
});

Deno.test("a run must last longer than one step, and a price must lie above 2 ticks", () => {
  const base = smallPreset();
  assert.throws(
    () => parseSimConfig({ ...base, duration: base.step }),
    /duration: must be longer than the step \(5s\), got 5s/,
  );
  assert.equal(parseSimConfig({ ...base, duration: base.step + 1 }).duration, 5e9 + 1);
  const priced = (initialPrice: number) =>
    parseSimConfig({ ...base, exchange: { ...base.exchange, initialPrice } });
  // 2 decimals: 0.02 is 2 ticks, refused; 0.03 is 3.
  assert.throws(() => priced(0.02), /exchange\.initialPrice: must lie between 2 and 1e6 ticks/);
  assert.equal(priced(0.03).exchange.initialPrice, 0.03);
});

Deno.test("the XML importer maps the reference production config onto the embedded default", () => {
  const { config, warnings } = importXmlConfig(Deno.readTextFileSync(fixture), 1);
  assert.deepEqual(warnings, []);
  assert.deepEqual(config, referenceConfig());
  assert.equal(config.books, 20);
  assert.equal(config.duration, 86400e9);
  assert.equal(config.remoteAgentCount, 256);
  assert.equal(config.agents.stylized?.count, 1000);
});

Deno.test("the XML importer warns about unknown elements and attributes", () => {
  const text = Deno.readTextFileSync(fixture)
    .replace("<DistributedProxyAgent", '<MysteryAgent name="X"/>\n<DistributedProxyAgent')
    .replace('tauHist="200"', 'tauHist="200" wobble="3"');
  const { warnings } = importXmlConfig(text, 1);
  assert.equal(warnings.length, 2);
  assert.match(warnings.join("\n"), /MysteryAgent.*unknown agent type/);
  assert.match(warnings.join("\n"), /unknown attribute 'wobble'/);
});

Deno.test("an XML element named after an Object member is an unknown element, named by line", () => {
  const text = Deno.readTextFileSync(fixture);
  for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
    const { warnings } = importXmlConfig(
      text.replace(
        "<DistributedProxyAgent",
        `<${name} instanceCount="1"/>\n<DistributedProxyAgent`,
      ),
      1,
    );
    assert.match(
      warnings.join("\n"),
      new RegExp(`line \\d+ <${name}>: unknown agent type ignored`),
    );
  }
  assert.throws(
    () =>
      importXmlConfig(
        text.replace(/<VolumeDistribution [^>]*\/>/, '<VolumeDistribution type="constructor"/>'),
        1,
      ),
    /type 'constructor' is not one of lognormal, dirac, gamma/,
  );
});

Deno.test("the XML importer takes the reference's defaults: a latency scale of 0 as 0.235", () => {
  const text = Deno.readTextFileSync(fixture)
    .replace(/opLatencyScaleRay="0\.235"/g, 'opLatencyScaleRay="0"');
  const { config } = importXmlConfig(text, 1);
  assert.equal(config.agents.hft?.opLatencyScaleRay, 0.235);
  assert.equal(config.agents.stylized?.opLatencyScaleRay, 0.235);
  const depth = (books: string) =>
    importXmlConfig(text.replace(/<Books [^>]*>/, `<Books ${books}>`), 1).config.exchange
      .detailedDepth;
  assert.equal(depth('instanceCount="2" maxDepth="8" detailedDepth="20"'), 8, "capped at maxDepth");
  assert.equal(depth('instanceCount="2" maxDepth="8"'), 8, "maxDepth by default");
  assert.equal(depth('instanceCount="2"'), 1024, "1024 without either");
});

Deno.test("the XML importer fills in what the reference's agents do for absent or unusable values", () => {
  const text = Deno.readTextFileSync(fixture)
    .replace('volume="4.0" lambda="0.001155"', 'lambda="0"')
    .replace('MFLmean="1500000000" MFLstd="250000000" ', "")
    .replace('tau="2" delta=', 'tau="2.5" sigmaSqr="-1" delta=')
    .replace(
      'tauHist="200"',
      'tauHist="200" GBM_X0="0.01" GBM_mu="-1" GBM_seed="7" pO_alpha="1.5"',
    );
  const { config, warnings } = importXmlConfig(text, 1);
  assert.equal(config.agents.futures?.volume, 1, "absent: 1");
  assert.equal(config.agents.futures?.lambda, 0.01155, "0: the reference's 0.01155");
  assert.deepEqual([config.agents.algo?.MFLmean, config.agents.algo?.MFLstd], [1e9, 1e9]);
  assert.equal(config.agents.hft?.tau, 2, "read as a whole number");
  assert.match(warnings.join("\n"), /lambda="0" taken as 0\.01155/);
  assert.match(warnings.join("\n"), /tau="2\.5" read as 2/);
  assert.equal(config.agents.stylized?.GBM_X0, 0.01, "the start-up path's level is taken");
  assert.equal(config.agents.stylized?.GBM_mu, 0, "a negative drift: the reference's 0");
  assert.equal(config.agents.stylized?.GBM_sigma, 0.01, "absent: 0.01");
  assert.match(warnings.join("\n"), /GBM_mu="-1" taken as 0/);
  assert.match(warnings.join("\n"), /GBM_seed is not used/);
  assert.equal(config.agents.stylized?.pO_alpha, 0, "1.5, not below 1: the reference's 0");
  assert.equal(config.agents.hft?.sigmaSqr, 1e-5, "negative: the reference's 1e-5");
  assert.match(warnings.join("\n"), /pO_alpha="1\.5" taken as 0/);
  assert.match(warnings.join("\n"), /sigmaSqr="-1" taken as 0\.00001/);
});

Deno.test("the XML importer keeps a start-up path drift or volatility of 0 without a word", () => {
  // Only a negative one is replaced: 0 is a value the reference takes as it is.
  const text = Deno.readTextFileSync(fixture)
    .replace('tauHist="200"', 'tauHist="200" GBM_mu="0" GBM_sigma="0"');
  const { config, warnings } = importXmlConfig(text, 1);
  assert.equal(config.agents.stylized?.GBM_mu, 0);
  assert.equal(config.agents.stylized?.GBM_sigma, 0);
  assert.deepEqual(warnings, []);
});

Deno.test("the XML importer replaces a pO_alpha of exactly 1 or a negative GBM_sigma, and keeps a sigmaSqr of 0", () => {
  // The reference replaces a pO_alpha outside [0, 1), so 1 itself, a negative GBM_sigma by 0.01,
  // but only a negative sigmaSqr.
  const text = Deno.readTextFileSync(fixture)
    .replace('tau="2" delta=', 'tau="2" sigmaSqr="0" delta=')
    .replace('tauHist="200"', 'tauHist="200" pO_alpha="1" GBM_sigma="-0.5"');
  const { config, warnings } = importXmlConfig(text, 1);
  assert.equal(config.agents.stylized?.pO_alpha, 0);
  assert.equal(config.agents.stylized?.GBM_sigma, 0.01);
  assert.equal(config.agents.hft?.sigmaSqr, 0);
  assert.equal(warnings.length, 2, warnings.join("\n"));
  assert.match(
    warnings[0],
    /<StylizedTraderAgent>: GBM_sigma="-0\.5" taken as 0\.01, as the reference does$/,
  );
  assert.match(
    warnings[1],
    /<StylizedTraderAgent>: pO_alpha="1" taken as 0, as the reference does$/,
  );
});

Deno.test("the XML importer clamps a stylized regimeProb into [0, 1], as the reference does", () => {
  const read = (value: string) =>
    importXmlConfig(
      Deno.readTextFileSync(fixture).replace('regimeProb="0.75"', `regimeProb="${value}"`),
      1,
    );
  const high = read("1.5");
  assert.equal(high.config.agents.stylized?.regimeProb, 1);
  assert.match(high.warnings.join("\n"), /regimeProb="1\.5" taken as 1, as the reference does/);
  const low = read("-0.2");
  assert.equal(low.config.agents.stylized?.regimeProb, 0);
  assert.match(low.warnings.join("\n"), /regimeProb="-0\.2" taken as 0, as the reference does/);
  const inside = read("0.25");
  assert.equal(inside.config.agents.stylized?.regimeProb, 0.25);
  assert.deepEqual(inside.warnings, []);
  // The ends of [0, 1] are inside: taken as written, without a warning.
  for (const [value, expected] of [["1", 1], ["0", 0]] as const) {
    const end = read(value);
    assert.equal(end.config.agents.stylized?.regimeProb, expected);
    assert.deepEqual(end.warnings, [], value);
  }
});

Deno.test("XML counts left out are the reference's: one agent per group, no remote accounts", () => {
  const text = Deno.readTextFileSync(fixture);
  const bare = text
    .replace(/(<HighFrequencyTraderAgent[^>]*?) instanceCount="\d+"/, "$1")
    .replace(' remoteAgentCount="256"', "");
  assert.notEqual(bare, text);
  const { config } = importXmlConfig(bare, 1);
  assert.equal(config.agents.hft?.count, 1);
  assert.equal(config.remoteAgentCount, 0);
});

Deno.test("the stylized traders' start-up path follows GBM_X0, GBM_mu and GBM_sigma", () => {
  const run = (stylized: Record<string, number>) => {
    const base = smallPreset();
    const config = parseSimConfig({
      ...base,
      duration: 60e9,
      agents: { ...base.agents, stylized: { ...base.agents.stylized!, ...stylized } },
    });
    const engine = SimEngine.create({ config, seed: 3, threads: 1 });
    try {
      let last = null;
      for (let state = engine.advance(); state !== null; state = engine.advance()) last = state;
      return JSON.stringify(last);
    } finally {
      engine.close();
    }
  };
  const defaults = run({});
  assert.equal(run({ GBM_X0: 0.001, GBM_mu: 0, GBM_sigma: 0.01 }), defaults, "the defaults");
  assert.notEqual(run({ GBM_sigma: 0.5 }), defaults, "a volatile start-up path trades otherwise");
});

Deno.test("an XML L2 depth other than the flag's default is reported as not read", () => {
  const text = Deno.readTextFileSync(fixture);
  assert.doesNotMatch(importXmlConfig(text, 1).warnings.join("\n"), /depth/, "5: as --depth");
  const deeper = text.replace('<L2 depth="5"/>', '<L2 depth="10"/>');
  assert.notEqual(deeper, text);
  assert.match(
    importXmlConfig(deeper, 1).warnings.join("\n"),
    /<L2>: depth="10" not read: l2-<book>\.csv holds --depth levels per side \(default 5\)/,
  );
  const bare = text.replace('<L2 depth="5"/>', "<L2/>");
  assert.match(
    importXmlConfig(bare, 1).warnings.join("\n"),
    /<L2>: no depth \(the reference's 21\) not read/,
  );
  const same = text.replace('<L2 depth="5"/>', '<L2 depth="5.0"/>');
  assert.doesNotMatch(importXmlConfig(same, 1).warnings.join("\n"), /depth/);
});

Deno.test("the XML importer takes every ALGO volume distribution of the reference", () => {
  const text = Deno.readTextFileSync(fixture);
  const distribution = (element: string) =>
    importXmlConfig(text.replace(/<VolumeDistribution [^>]*\/>/, element), 1).config.agents.algo
      ?.volumeDistribution;
  assert.deepEqual(distribution('<VolumeDistribution type="dirac" loc="2.5"/>'), {
    type: "dirac",
    loc: 2.5,
  });
  assert.deepEqual(distribution('<VolumeDistribution type="gamma" shape="2" scale="0.5"/>'), {
    type: "gamma",
    shape: 2,
    scale: 0.5,
  });
  assert.throws(
    () => distribution('<VolumeDistribution type="pareto" mu="1"/>'),
    /<VolumeDistribution>: type 'pareto' is not one of lognormal, dirac, gamma/,
  );
  assert.throws(
    () => distribution('<VolumeDistribution type="gamma" shape="2"/>'),
    /line 38 <VolumeDistribution> attribute scale: required/,
  );
  assert.throws(
    () => distribution('<VolumeDistribution type="gamma" shape="0" scale="1"/>'),
    /line 38 <VolumeDistribution> attribute shape: Too small/,
  );
  const { warnings } = importXmlConfig(
    text.replace(
      /<VolumeDistribution [^>]*\/>/,
      '<VolumeDistribution type="dirac" loc="1" mu="3"/>',
    ),
    1,
  );
  assert.match(warnings.join("\n"), /unknown attribute 'mu' ignored/);
});

Deno.test("the XML importer names the attribute holding a bad number", () => {
  const text = Deno.readTextFileSync(fixture).replace('kappa="20"', 'kappa="lots"');
  assert.throws(() => importXmlConfig(text, 1), /kappa: 'lots' is not a decimal number/);
});

Deno.test("schema errors of an XML config name the element, attribute and line", () => {
  const text = Deno.readTextFileSync(fixture);
  const cases: [string | RegExp, string, RegExp][] = [
    [
      'instanceCount="20"',
      'instanceCount="1.5"',
      /^ {2}line 17 <Books> attribute instanceCount: /m,
    ],
    [
      'sigma="0.012"',
      'sigma="100"',
      /line 19 <FundamentalPrice> attribute sigma: must be at most 4/,
    ],
    [
      '<FuturesSignal name="external" seedInterval="10000000000"/>',
      '<FuturesSignal name="external" seedInterval="1.5s"/>',
      /line 21 <FuturesSignal> attribute seedInterval: '1\.5s' is not a decimal number/,
    ],
    [
      'makerFee="0.0025"',
      'makerFee="2"',
      /line 11 <Tier> attribute makerFee: Too big: expected number to be <1/,
    ],
    [
      'volumeRequired="200000"',
      'volumeRequired="0"',
      /line 11 <Tier> attribute volumeRequired: must exceed tier 0's by at least one quote unit/,
    ],
    [' tau="2"', "", /line 41 <HighFrequencyTraderAgent> attribute tau: required/],
    [
      'minMFLatency="50000000" minOPLatency="1000000"',
      'minMFLatency="50000000" minOPLatency="50000000"',
      /line 41 <HighFrequencyTraderAgent> attribute minOPLatency: must be less than maxOPLatency/,
    ],
    [
      '<Balances><Base total="500"/><Quote total="150000.0"/></Balances>',
      '<Balances><Base total="-5"/><Quote total="150000.0"/></Balances>',
      /line 45 <Base> attribute total: Too small/,
    ],
    ['shape="2.0"', 'shape="0.5"', /line 24 <Balances> attribute shape: must be at least 1/],
    [
      'start="0"',
      'start="9007199254740991"',
      /line 3 <Simulation> attribute start: .* past the clock/,
    ],
    [
      'duration="86400000000000"',
      'duration="1000000000"',
      /line 3 <Simulation> attribute duration: must be longer than the step \(5s\)/,
    ],
    [
      /<Processes .*?<\/Processes>/s,
      "",
      /line 17 <Books>: no <Processes> \(processes\)$/m,
    ],
    [
      /<FundamentalPrice [^>]*\/>/,
      "",
      /line 18 <Processes>: no <FundamentalPrice> \(processes\.fundamental\)$/m,
    ],
    [
      /<FeePolicy .*?<\/FeePolicy>/s,
      "",
      /line 6 <MultiBookExchangeAgent>: no <FeePolicy> \(exchange\.fees\)$/m,
    ],
    [
      /<VolumeDistribution [^>]*\/>/,
      "",
      /line 34 <ALGOTraderAgent>: no <VolumeDistribution> \(agents\.algo\.volumeDistribution\)$/m,
    ],
    [
      'remoteAgentCount="256"',
      'remoteAgentCount="1000000000"',
      /line 6 <MultiBookExchangeAgent> attribute remoteAgentCount: Too big/,
    ],
    [
      /<Balances><Base total="500"\/><Quote total="150000\.0"\/><\/Balances>\s*<FeePolicy/,
      "<FeePolicy",
      /line 41 <HighFrequencyTraderAgent>: no <Balances> \(agents\.hft\.balances\)$/m,
    ],
  ];
  for (const [from, to, expected] of cases) {
    const changed = text.replace(from, to);
    assert.notEqual(changed, text, String(from));
    assert.throws(() => importXmlConfig(changed, 1), expected);
  }
  // A problem of the whole config has no one place.
  assert.throws(
    () => importXmlConfig(text.replace('wealth="100000.0"', 'wealth="1e12"'), 1),
    /^ {2}\(root\): the accounts of a book could hold up to/m,
  );
});

Deno.test("the XML importer refuses a file without exactly one exchange, or an attribute twice", () => {
  const text = Deno.readTextFileSync(fixture);
  const exchange = /<MultiBookExchangeAgent.*?<\/MultiBookExchangeAgent>/s;
  assert.throws(
    () => importXmlConfig(text.replace(exchange, ""), 1),
    /^Error: line 5: <Agents> has no <MultiBookExchangeAgent>/,
  );
  const twice = text.replace(exchange, (element) => `${element}\n${element}`);
  assert.throws(
    () => importXmlConfig(twice, 1),
    /line \d+: a second <MultiBookExchangeAgent> \(first at line \d+\); a simulation/,
  );
  assert.throws(
    () =>
      importXmlConfig(text.replace('priceDecimals="2"', 'priceDecimals="2" priceDecimals="3"'), 1),
    /XML line 6: attribute 'priceDecimals' given twice in <MultiBookExchangeAgent>/,
  );
  const proto = text.replace('tauHist="200"', 'tauHist="200" __proto__="1"');
  assert.match(importXmlConfig(proto, 1).warnings.join("\n"), /unknown attribute '__proto__'/);
});

Deno.test("the XML importer refuses a second child it reads once, naming both lines", () => {
  const text = Deno.readTextFileSync(fixture);
  const cases: [string | RegExp, (element: string) => string, RegExp][] = [
    [
      /<Books .*?<\/Books>/s,
      (books) => `${books}\n<Books instanceCount="7"/>`,
      /line 24 <Books>: a second <Books> in <MultiBookExchangeAgent> \(first at line 17\)/,
    ],
    [
      /<FundamentalPrice [^>]*\/>/,
      (price) => `${price}\n${price.replace('sigma="0.012"', 'sigma="5.0"')}`,
      /line 21 <FundamentalPrice>: a second <FundamentalPrice> in <Processes> \(first at line 19\)/,
    ],
    [
      /<FuturesSignal [^>]*\/>/,
      (signal) => `${signal}${signal}`,
      /line 21 <FuturesSignal>: a second <FuturesSignal> in <Processes> \(first at line 21\)/,
    ],
    [
      /<Processes .*?<\/Processes>/s,
      (processes) => `${processes}<Processes updatePeriod="1000000000"/>`,
      /line 22 <Processes>: a second <Processes> in <Books> \(first at line 18\)/,
    ],
    [
      /<FeePolicy .*?<\/FeePolicy>/s,
      (fees) => `${fees}\n<FeePolicy historySlots="1"/>`,
      /line 17 <FeePolicy>: a second <FeePolicy> in <MultiBookExchangeAgent> \(first at line 9\)/,
    ],
    [
      '<Balances type="pareto"',
      (balances) => `<Balances/>${balances}`,
      /line 24 <Balances>: a second <Balances> in <MultiBookExchangeAgent> \(first at line 24\)/,
    ],
    [
      '<Balances><Base total="100.0"',
      (balances) => `<Balances/>${balances}`,
      /line 29 <Balances>: a second <Balances> in <InitializationAgent> \(first at line 29\)/,
    ],
    [
      '<Quote total="30000.0"/>',
      (quote) => `${quote}${quote}`,
      /line 29 <Quote>: a second <Quote> in <Balances> \(first at line 29\)/,
    ],
    [
      /<VolumeDistribution [^>]*\/>/,
      (distribution) => `${distribution}\n${distribution}`,
      /line 39 <VolumeDistribution>: a second <VolumeDistribution> in <ALGOTraderAgent> \(first/,
    ],
    [
      /<HighFrequencyTraderAgent .*?<\/FeePolicy>/s,
      (group) => `${group}<FeePolicy historySlots="1"/>`,
      /line 48 <FeePolicy>: a second <FeePolicy> in <HighFrequencyTraderAgent> \(first at line 46\)/,
    ],
    [
      "</Agents>",
      (agents) => `${agents}<Agents/>`,
      /<Agents>: a second <Agents> in <Simulation> \(first at line 5\)/,
    ],
  ];
  for (const [pattern, repeat, expected] of cases) {
    const changed = text.replace(pattern, repeat);
    assert.notEqual(changed, text, String(pattern));
    assert.throws(() => importXmlConfig(changed, 1), expected);
  }
  // Several of a kind are fine where the reference reads each.
  const tiers = text.replace(/(<Tier [^>]*\/>)/, "$1$1");
  assert.throws(() => importXmlConfig(tiers, 1), /must exceed tier 0's/, "both tiers are read");
});

Deno.test("values the reference refuses or reads whole are refused in JSON too, by field", () => {
  for (
    const [group, field, value, message] of [
      ["hft", "tau", 2.5, /agents\.hft\.tau: Invalid input: expected int, received number/],
      ["hft", "spread", 0, /agents\.hft\.spread: Too small: expected number to be >0/],
      ["algo", "volumeProp", 0, /agents\.algo\.volumeProp: Too small: expected number to be >0/],
      [
        "stylized",
        "sigmaEps",
        0,
        /agents\.stylized\.sigmaEps: Too small: expected number to be >0/,
      ],
      // Past these the start-up path overflows and the stylized traders' returns are NaN.
      [
        "stylized",
        "GBM_mu",
        1e300,
        /agents\.stylized\.GBM_mu: Too big: expected number to be <=100/,
      ],
      [
        "stylized",
        "GBM_X0",
        1e7,
        /agents\.stylized\.GBM_X0: Too big: expected number to be <=1000000/,
      ],
      [
        "stylized",
        "GBM_sigma",
        11,
        /agents\.stylized\.GBM_sigma: Too big: expected number to be <=10/,
      ],
    ] as const
  ) {
    const config = structuredClone(smallPreset()) as Record<string, unknown>;
    (config.agents as Record<string, Record<string, unknown>>)[group][field] = value;
    assert.throws(() => parseSimConfig(config), message, `${group}.${field} = ${value}`);
  }
});

Deno.test("a JSON config's ALGO volume distribution takes its own fields only, a dirac loc above 0", () => {
  const parsed = (distribution: Record<string, unknown>) => {
    const config = structuredClone(smallPreset()) as Record<string, unknown>;
    (config.agents as Record<string, Record<string, unknown>>).algo.volumeDistribution =
      distribution;
    return parseSimConfig(config).agents.algo?.volumeDistribution;
  };
  // A sigma of 0 is taken: every child order is then e^mu.
  const constant = { type: "lognormal", mu: 1, sigma: 0 };
  assert.deepEqual(parsed(constant), constant);
  assert.throws(
    () => parsed({ type: "dirac", loc: 0 }),
    /^ {2}agents\.algo\.volumeDistribution\.loc: Too small: expected number to be >0$/m,
  );
  // A field of another distribution is a mistake to name, not one to drop in silence.
  assert.throws(
    () => parsed({ type: "gamma", shape: 2, scale: 0.5, mu: 1 }),
    /^ {2}agents\.algo\.volumeDistribution: Unrecognized key: "mu"$/m,
  );
});

Deno.test("a JSON config's remote balances take each Pareto type, with its own fields only", () => {
  const parsed = (balances: Record<string, unknown>) =>
    parseSimConfig({ ...smallPreset(), remoteBalances: balances }).remoteBalances;
  const half = { type: "pareto-50", scale: 1, shape: 2, wealth: 100000, price: 300 };
  assert.deepEqual(parsed(half), half);
  assert.throws(
    () => parsed({ ...half, type: "pareto", base: 500 }),
    /^ {2}remoteBalances: Unrecognized key: "base"$/m,
  );
});

Deno.test("config validation errors name the field path", () => {
  const bad = structuredClone(smallPreset()) as Record<string, unknown>;
  (bad.exchange as Record<string, unknown>).priceDecimals = 1;
  (bad.agents as Record<string, Record<string, unknown>>).hft.tau = -2;
  bad.step = "five seconds";
  assert.throws(() => parseSimConfig(bad), (error: Error) => {
    assert.match(error.message, /exchange\.priceDecimals/);
    assert.match(error.message, /agents\.hft\.tau/);
    assert.match(error.message, /step: 'five seconds' is not a duration/);
    return true;
  });
  assert.throws(() => parseSimConfig({ ...smallPreset(), surprise: 1 }), /surprise/);
  const margin = structuredClone(smallPreset()) as Record<string, unknown>;
  (margin.exchange as Record<string, unknown>).maintenanceMargin = 0.2; // above 1/(2(1+4))
  assert.throws(() => parseSimConfig(margin), /exchange\.maintenanceMargin/);
});

Deno.test("a huge whole number gets one message: its range, without zod's safe-integer check; a fraction one too", () => {
  const issues = (error: Error) => error.message.split("\n").slice(1);
  const late = { ...smallPreset(), seed: 1e308, start: Number.MAX_SAFE_INTEGER };
  assert.throws(() => parseSimConfig(late), (error: Error) => {
    assert.deepEqual(issues(error), [
      "  seed: Too big: expected number to be <=9007199254740991",
      // The checks of the whole config still run beside it.
      "  start: 9007199254740991ns plus the duration (30m) ends past the clock's 104 days " +
      "(9007199254740991 ns)",
    ]);
    return true;
  });
  const script = JSON.parse(
    Deno.readTextFileSync(new URL("../../sim/examples/replay_example.json", import.meta.url)),
  );
  script.exchange.priceDecimals = -1e308;
  assert.throws(() => parseReplayScript(script), (error: Error) => {
    assert.deepEqual(issues(error), [
      "  exchange.priceDecimals: must be at least 2",
    ]);
    return true;
  });
  // A fraction below the range is told only that it is not whole.
  script.exchange.priceDecimals = 2;
  script.exchange.books = 0.5;
  assert.throws(() => parseReplayScript(script), (error: Error) => {
    assert.deepEqual(issues(error), [
      "  exchange.books: Invalid input: expected int, received number",
    ]);
    return true;
  });
});

Deno.test("the small preset is a valid config of the size the README gives", () => {
  const small = parseSimConfig(smallPreset());
  const reference = referenceConfig();
  // 2 books, 30 min, no grace period, 4 remote accounts; a tenth of the initialization, stylized
  // and futures agents, 3 HFT and 2 ALGO agents with a VBS of 2000; all else the reference's.
  assert.equal(small.books, 2);
  assert.equal(small.duration, 1800e9);
  assert.equal(small.gracePeriod, 0);
  assert.equal(small.remoteAgentCount, 4);
  const counts = Object.fromEntries(
    Object.entries(small.agents).map(([name, group]) => [name, group?.count]),
  );
  assert.deepEqual(counts, { initialization: 50, algo: 2, hft: 3, futures: 10, stylized: 100 });
  assert.equal(small.agents.algo?.VBS, 2000);
  const { algo, ...others } = small.agents;
  assert.deepEqual({ ...algo, count: 5, VBS: 20000 }, reference.agents.algo);
  for (const [name, group] of Object.entries(others)) {
    const full = reference.agents[name as keyof typeof reference.agents];
    assert.deepEqual({ ...group, count: full?.count }, full, name);
  }
  assert.deepEqual(small.exchange, reference.exchange);
  assert.deepEqual(small.processes, reference.processes);
  assert.equal(small.step, reference.step);
});

Deno.test("a missing duration is reported as required, a wrong type with what is expected", () => {
  const base = smallPreset() as unknown as Record<string, unknown>;
  const { duration: _, ...withoutDuration } = base;
  assert.throws(() => parseSimConfig(withoutDuration), /duration: required/);
  assert.throws(
    () => parseSimConfig({ ...base, duration: true }),
    /duration: expected a non-negative integer of ns or a duration such as 90s/,
  );
});

Deno.test("parameters that would crash or never end a run are refused, naming the field", () => {
  const cases: [string[], unknown, RegExp][] = [
    [["agents", "stylized", "sigmaF"], 1e308, /agents\.stylized\.sigmaF: must be at most 1000/],
    [["agents", "futures", "MFLmean"], 0, /agents\.futures\.MFLmean: must be at least 1ms/],
    [["agents", "hft", "delta"], "10us", /agents\.hft\.delta: must be at least 1ms/],
    [["processes", "updatePeriod"], 1, /processes\.updatePeriod: must be at least 1ms/],
    [
      ["processes", "external", "sampleInterval"],
      1,
      /external\.sampleInterval: must be at least 1ms/,
    ],
    [["step"], "10us", /step: must be at least 1ms/],
    [["remoteBalances", "shape"], 0.01, /remoteBalances\.shape: must be at least 1/],
    [["remoteBalances", "scale"], 1e308, /remoteBalances\.scale: scale x 2\^53 x wealth overflows/],
    // Price processes whose one update would leave any meaningful price, or overflow.
    [["processes", "fundamental", "mu"], 1e308, /fundamental\.mu: must be at most 10$/m],
    [["processes", "fundamental", "mu"], 1000, /fundamental\.mu: must be at most 10$/m],
    [["processes", "fundamental", "sigma"], 100, /fundamental\.sigma: must be at most 4$/m],
    [["processes", "fundamental", "lambda"], 2, /fundamental\.lambda: must be at most 1$/m],
    [["processes", "fundamental", "muJump"], 1000, /fundamental\.muJump: must be at most 10$/m],
    [["processes", "fundamental", "sigmaJump"], 11, /fundamental\.sigmaJump: must be at most/],
    [["processes", "external", "sigma"], 15, /processes\.external\.sigma: must be at most 10$/m],
  ];
  // As the reference's agents refuse them.
  const reference: [string[], unknown, RegExp][] = [
    [["agents", "hft", "minOPLatency"], "50ms", /agents\.hft\.minOPLatency: must be less than max/],
    [["agents", "stylized", "minOPLatency"], 0, /agents\.stylized\.minOPLatency: must be positive/],
    [["agents", "algo", "minOPLatency"], "1s", /agents\.algo\.minOPLatency: must be less than/],
    [["agents", "futures", "maxOPLatency"], "90ms", /agents\.futures\.minOPLatency: must be less/],
    [["agents", "stylized", "pO_alpha"], 1, /agents\.stylized\.pO_alpha: must be below 1/],
    [["agents", "stylized", "tauFRegime"], undefined, /agents\.stylized\.tauFRegime: /],
    [["exchange", "detailedDepth"], 5000, /exchange\.detailedDepth: Too big/],
  ];
  cases.push(...reference);
  for (const [path, value, expected] of cases) {
    const config = structuredClone(smallPreset()) as Record<string, unknown>;
    let parent = config as Record<string, unknown>;
    for (const key of path.slice(0, -1)) parent = parent[key] as Record<string, unknown>;
    parent[path.at(-1)!] = value;
    assert.throws(() => parseSimConfig(config), expected, path.join("."));
  }
});

Deno.test("a run must end within the ns clock's 2^53 - 1 ns, where times are still exact", () => {
  const run = (start: number | string, duration: number | string) =>
    parseSimConfig({ ...smallPreset(), start, duration });
  assert.throws(
    () => run(Number.MAX_SAFE_INTEGER, "2m"),
    /\n {2}start: 9007199254740991ns plus the duration \(2m\) ends past the clock's 104 days \(9007199254740991 ns\)$/,
  );
  assert.throws(
    () => run("104d", "1d"),
    /start: 104d plus the duration \(1d\) ends past the clock/,
  );
  assert.equal(run("103d", "1d").start, 103 * 86400e9);
  assert.equal(run(Number.MAX_SAFE_INTEGER - 120e9, "2m").start, Number.MAX_SAFE_INTEGER - 120e9);
});

Deno.test("a simulation larger than this machine's memory is refused before it starts", () => {
  const config = structuredClone(smallPreset()) as Record<string, unknown>;
  config.books = 4096;
  const stylized = (config.agents as Record<string, Record<string, unknown>>).stylized;
  stylized.count = 100_000;
  stylized.balances = { type: "fixed", base: 0.0001, quote: 0.01 };
  assert.throws(
    () => parseSimConfig(config),
    /books: 4096 books x \d+ agents need at least \d+\.\d GiB of memory; this machine has/,
  );
});

Deno.test("the memory a simulation needs is estimated below what its books were measured to take", () => {
  // Peak memory grew by 6.3 MB per reference book and 1.05 MB per small book, one simulated minute
  // into runs of 1 and 41 books; an estimate of 1.1 MB per reference book would let 4096 of them
  // pass the check on a machine that could not hold a third of them.
  const reference = leastMemory({ ...referenceConfig(), books: 1 });
  const small = leastMemory({ ...smallPreset(), books: 1 });
  assert.ok(reference >= 5.5e6 && reference <= 6.3e6, `${reference} bytes per reference book`);
  assert.ok(small >= 0.9e6 && small <= 1.05e6, `${small} bytes per small book`);
  assert.equal(leastMemory({ ...referenceConfig(), books: 20 }), 20 * reference);
});

Deno.test("a group's fee tiers may start above 0, as the exchange's: the first applies below the second", () => {
  const config = structuredClone(smallPreset());
  config.agents.stylized!.fees = {
    tiers: [{ volumeRequired: 5, makerFee: 0, takerFee: 0 }, {
      volumeRequired: 10,
      makerFee: 0.001,
      takerFee: 0.002,
    }],
  };
  SimEngine.create({ config: parseSimConfig(config), threads: 1 }).close();
});

Deno.test("fee tiers are checked as the exchange takes them: whole quote units, rates to 9 decimals", () => {
  const tiers = (...volumes: number[]) => ({
    tiers: volumes.map((volumeRequired) => ({ volumeRequired, makerFee: 0, takerFee: 0.001 })),
  });
  const cases: [(config: ReturnType<typeof smallPreset>) => void, RegExp][] = [
    [
      (c) => c.exchange.fees = { ...c.exchange.fees, ...tiers(0, 1e-300) },
      /exchange\.fees\.tiers\.1\.volumeRequired: must exceed tier 0's by at least one quote unit \(1e-10 at 10 quote decimals\)/,
    ],
    [
      (c) => c.agents.hft!.fees = tiers(5, 5 + 1e-11),
      /agents\.hft\.fees\.tiers\.1\.volumeRequired: must exceed tier 0's/,
    ],
    [
      (c) => c.agents.futures!.fees = tiers(2 ** 32),
      /agents\.futures\.fees\.tiers\.0\.volumeRequired: must be at most 461168601\.\d+ at 10 quote/,
    ],
    [
      (c) => c.exchange.fees.tiers[0].makerFee = 0.9999999999,
      /exchange\.fees\.tiers\.0\.makerFee: must stay inside \(-1, 1\) once rounded to 9 decimals/,
    ],
  ];
  for (const [change, expected] of cases) {
    const config = structuredClone(smallPreset());
    change(config);
    assert.throws(() => parseSimConfig(config), expected, String(expected));
  }
  // One unit apart is two thresholds; the book's exchange takes them.
  const config = structuredClone(smallPreset());
  config.agents.hft!.fees = tiers(5, 5 + 1e-10);
  config.exchange.fees.tiers[0].makerFee = 0.9999999994;
  SimEngine.create({ config: parseSimConfig(config), threads: 1 }).close();
});

Deno.test("fee tiers may be listed in any order: they are sorted by volumeRequired, as the reference sorts them", () => {
  // The production schedule's first two tiers swapped, on the exchange and in a group.
  const text = Deno.readTextFileSync(fixture);
  const first = '<Tier volumeRequired="0" makerFee="0.005" takerFee="0.005"/>';
  const second = '<Tier volumeRequired="200000" makerFee="0.0025" takerFee="0.003"/>';
  const swapped = text.replace(first + "\n        " + second, second + "\n        " + first);
  assert.notEqual(swapped, text);
  const { config: imported } = importXmlConfig(swapped);
  imported.agents.hft!.fees = {
    tiers: [
      { volumeRequired: 10, makerFee: 0.001, takerFee: 0.002 },
      { volumeRequired: 0, makerFee: 0.003, takerFee: 0.004 },
    ],
  };
  const params = nativeParams(parseSimConfig(imported), 1);
  assert.deepEqual(
    [0, 1, 2].map((i) => [params[`fee_volume_${i}`], params[`fee_maker_${i}`]]),
    [[0, 0.005], [200000, 0.0025], [400000, 0.00125]],
  );
  assert.deepEqual(
    [0, 1].map((i) => [params[`hft_fee_volume_${i}`], params[`hft_fee_maker_${i}`]]),
    [[0, 0.003], [10, 0.001]],
  );
  // Two tiers one truncated quote unit apart are one threshold in any order, named by their place.
  const same = structuredClone(smallPreset());
  same.agents.hft!.fees = {
    tiers: [
      { volumeRequired: 7, makerFee: 0, takerFee: 0 },
      { volumeRequired: 0, makerFee: 0, takerFee: 0 },
      { volumeRequired: 7 + 1e-11, makerFee: 0, takerFee: 0 },
    ],
  };
  assert.throws(
    () => parseSimConfig(same),
    /agents\.hft\.fees\.tiers\.2\.volumeRequired: must exceed tier 0's by at least one quote unit/,
  );
});

Deno.test("an XML balance type other than the reference's Pareto ones is refused by name", () => {
  const text = Deno.readTextFileSync(fixture);
  const misspelt = text.replace('type="pareto-50"', 'type="paretto"');
  assert.notEqual(misspelt, text);
  // The reference would read it as fixed totals, and with no <Base>/<Quote> give nothing.
  assert.throws(
    () => importXmlConfig(misspelt, 1),
    /line \d+ <Balances>: type 'paretto' is not one of pareto, pareto-50 \(leave it out for the fixed totals of <Base> and <Quote>\)/,
  );
});

Deno.test("a JSON config's exchange defaults are production's, and its bounds hold at their exact values", () => {
  const base = smallPreset();
  const {
    priceDecimals: _price,
    volumeDecimals: _volume,
    baseDecimals: _base,
    quoteDecimals: _quote,
    detailedDepth: _depth,
    ...exchange
  } = base.exchange;
  const bare = parseSimConfig({
    ...base,
    exchange: { ...exchange, fees: { tiers: exchange.fees.tiers } },
  });
  const { priceDecimals, volumeDecimals, baseDecimals, quoteDecimals } = bare.exchange;
  assert.deepEqual([priceDecimals, volumeDecimals, baseDecimals, quoteDecimals], [2, 4, 4, 10]);
  assert.equal(bare.exchange.detailedDepth, 5);
  assert.deepEqual([bare.exchange.fees.historySlots, bare.exchange.fees.slotPeriod], [24, 3600e9]);
  const withField = (path: string[], value: unknown) => {
    const config = structuredClone(base) as Record<string, unknown>;
    let parent = config;
    for (const key of path.slice(0, -1)) parent = parent[key] as Record<string, unknown>;
    parent[path.at(-1)!] = value;
    return () => parseSimConfig(config);
  };
  // maxDepth may equal detailedDepth (5), not fall below it.
  assert.equal(withField(["exchange", "maxDepth"], 5)().exchange.maxDepth, 5);
  assert.throws(
    withField(["exchange", "maxDepth"], 4),
    /exchange\.maxDepth: must be at least detailedDepth \(5\)/,
  );
  // A reaction time of exactly 1 ms is the least accepted.
  assert.equal(withField(["agents", "futures", "MFLmean"], "1ms")().agents.futures?.MFLmean, 1e6);
  assert.throws(
    withField(["agents", "futures", "MFLmean"], 999_999),
    /MFLmean: must be at least 1ms/,
  );
  // The HFT noise shift is -log(1 - shiftPercentage): 1 would make it infinite.
  assert.equal(
    withField(["agents", "hft", "shiftPercentage"], 0.999)().agents.hft?.shiftPercentage,
    0.999,
  );
  assert.throws(
    withField(["agents", "hft", "shiftPercentage"], 1),
    /agents\.hft\.shiftPercentage: Too big/,
  );
});

Deno.test("a book's accounts may hold exactly 2^62 units of an asset together, and no more", () => {
  const holding = (base: number, quote: number) => () =>
    parseSimConfig({
      ...smallPreset(),
      agents: {},
      remoteAgentCount: 1,
      remoteBalances: { type: "fixed", base, quote },
    });
  // 2^62 units at 4 base and 10 quote decimals.
  const [base, quote] = [2 ** 62 / 1e4, 2 ** 62 / 1e10];
  assert.equal(holding(base, quote)().remoteBalances.type, "fixed");
  assert.throws(holding(base * (1 + 2 ** -52), quote), /could hold up to .* base/);
  assert.throws(holding(base, quote * (1 + 2 ** -52)), /could hold up to .* quote/);
});

Deno.test("a quoted value and a long line of a config problem are cut between characters", () => {
  // Each emoji is two UTF-16 units: a cut by units would end in half of one.
  assert.equal(
    durationProblem("😀".repeat(50)),
    `'${"😀".repeat(40)}…' (10 more characters) is not a duration (e.g. 90s, 10m, 1h)`,
  );
  const error = new SimConfigError([{ path: ["name"], message: "😀".repeat(600), code: "custom" }]);
  assert.equal(
    error.message,
    `invalid simulation config:\n  name: ${"😀".repeat(494)}… (106 more characters)`,
  );
});
