/**
 * Importer for the reference simulator's XML configuration (`simulation_0.xml` format): maps every
 * element and attribute our model uses onto {@linkcode SimConfig}; elements or attributes we do not
 * know produce warnings, attributes that are known but have no effect are accepted silently.
 * @module
 */
import {
  type ConfigOverrides,
  DEFAULT_FEE_WINDOW,
  parseSimConfig,
  quote,
  type SimConfig,
  SimConfigError,
  type SimConfigInput,
  type SimConfigIssue,
} from "./config.ts";
import { parseXml, type XmlElement } from "./xml.ts";

/** Result of an import: the validated config and human-readable warnings. */
export interface XmlImport {
  config: SimConfig;
  /** At most {@linkcode MAX_WARNINGS} named, then one line counting the rest. */
  warnings: string[];
}

/**
 * Warnings named one by one; a file with thousands of unknown elements would otherwise print
 * thousands of lines.
 */
export const MAX_WARNINGS = 10;

/**
 * A lookup table with no prototype: an element or type named after an Object member
 * (`constructor`, `__proto__`, `toString`) is then just an unknown name.
 */
function table<T>(entries: Record<string, T>): Record<string, T> {
  return Object.assign(Object.create(null), entries);
}

/** Attributes the reference parses but that have no effect on our model (or are logging only). */
const inert: Record<string, string[]> = table({
  Simulation: ["id", "timescale", "enableCheckpointing", "traceTime", "debug", "test"],
  MultiBookExchangeAgent: ["name", "eps"],
  Books: ["algorithm", "maxDepth"],
  Balances: ["seed", "log", "symbol"],
  Base: ["maxLeverage", "maxLoan"],
  Quote: ["maxLeverage", "maxLoan"],
  agent: ["name", "exchange", "debug"],
  StylizedTraderAgent: ["sigmaFRegime", "sigmaCRegime", "sigmaNRegime", "GBM_seed"],
  HighFrequencyTraderAgent: ["historySize", "GBM_X0", "GBM_mu", "GBM_sigma", "GBM_seed"],
  ALGOTraderAgent: ["buyProb", "volumeStatsPeriod", "period"],
  FuturesTraderAgent: ["sigmaN", "tauHist"],
  FeePolicy: ["type"],
  DistributedProxyAgent: [
    "name",
    "host",
    "port",
    "batchSize",
    "bookStateEndpoint",
    "generalMsgEndpoint",
  ],
});

const agentKeys: Record<string, string> = table({
  InitializationAgent: "initialization",
  StylizedTraderAgent: "stylized",
  HighFrequencyTraderAgent: "hft",
  ALGOTraderAgent: "algo",
  FuturesTraderAgent: "futures",
});

/** Attribute names per agent element mapped to our field names (same name unless listed). */
const agentAttributes: Record<string, string[]> = table({
  InitializationAgent: ["tau"],
  StylizedTraderAgent: [
    "MFLmean",
    "MFLstd",
    "minOPLatency",
    "maxOPLatency",
    "opLatencyScaleRay",
    "delayMean",
    "delaySTD",
    "scaleR",
    "sigmaF",
    "sigmaC",
    "sigmaN",
    "tau",
    "tauHist",
    "tauF",
    "sigmaEps",
    "r_aversion",
    "regimeChangeFlag",
    "regimeProb",
    "tauFRegime",
    "pO_alpha",
    "GBM_X0",
    "GBM_mu",
    "GBM_sigma",
  ],
  HighFrequencyTraderAgent: [
    "minMFLatency",
    "minOPLatency",
    "maxOPLatency",
    "opLatencyScaleRay",
    "tau",
    "delta",
    "psiHFT_constant",
    "gHFT",
    "kappa",
    "spread",
    "orderMean",
    "noiseRay",
    "shiftPercentage",
    "sigmaSqr",
  ],
  ALGOTraderAgent: [
    "wakeupProb",
    "volumeProp",
    "MFLmean",
    "MFLstd",
    "VBS",
    "minOPLatency",
    "maxOPLatency",
    "opLatencyScaleRay",
  ],
  FuturesTraderAgent: [
    "MFLmean",
    "MFLstd",
    "minOPLatency",
    "maxOPLatency",
    "opLatencyScaleRay",
    "scaleR",
    "volume",
    "lambda",
    "sigmaEps",
  ],
});

const booleanFields = new Set(["regimeChangeFlag"]);

/** The exchange element's attributes that are counts, durations or decimals (whole numbers). */
const exchangeCounts = [
  "remoteAgentCount",
  "gracePeriod",
  "priceDecimals",
  "volumeDecimals",
  "baseDecimals",
  "quoteDecimals",
];

/**
 * Attributes the reference reads as whole numbers, from their leading digits only (`5e9` is 5
 * there, `1.5` is 1): by element, the agent groups' included.
 */
const wholeNumbers: Record<string, string[]> = table({
  Simulation: ["start", "duration", "step", "seed"],
  MultiBookExchangeAgent: exchangeCounts,
  Books: ["instanceCount", "maxDepth", "detailedDepth"],
  Processes: ["updatePeriod"],
  FundamentalPrice: ["seedInterval"],
  FuturesSignal: ["seedInterval"],
  FeePolicy: ["historySlots", "slotPeriod"],
  InitializationAgent: ["instanceCount"],
  StylizedTraderAgent: ["instanceCount", "minOPLatency", "maxOPLatency", "tau", "tauHist"],
  HighFrequencyTraderAgent: [
    "instanceCount",
    "minOPLatency",
    "maxOPLatency",
    "minMFLatency",
    "tau",
  ],
  ALGOTraderAgent: ["instanceCount", "minOPLatency", "maxOPLatency"],
  FuturesTraderAgent: ["instanceCount", "minOPLatency", "maxOPLatency"],
});

/** A number as the config format writes them: decimal, with an optional fraction and exponent. */
// One way to match each digit: alternatives that split a run of digits backtrack quadratically.
const DECIMAL = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;

/**
 * A boolean as written: the reference takes a value whose first character is 1, t, T, y or Y as
 * true and anything else as false, so only the spellings that mean what they say are accepted.
 */
const TRUE = /^(1|t|true|y|yes)$/i;
const FALSE = /^(0|f|false|n|no)$/i;

/** A group's fee policy as read, for comparing its history window with the exchange's. */
interface GroupFeePolicy {
  element: XmlElement;
  historySlots?: number;
  slotPeriod?: number;
  tiers: unknown[];
}

/** The warnings an import had given when it was refused with the error they are kept under. */
const refusalWarnings = new WeakMap<object, string[]>();

/**
 * The warnings an XML import had given before it was refused with `error` (none for an error not
 * thrown by {@linkcode importXmlConfig}): a part it ignored may be why the file was refused.
 */
export function warningsBeforeRefusal(error: unknown): string[] {
  return typeof error === "object" && error !== null ? refusalWarnings.get(error) ?? [] : [];
}

/**
 * Where a config field was read from: an element's attribute, the element of an object, or the
 * element whose missing child it would have come from.
 */
interface Origin {
  element: XmlElement;
  attribute?: string;
  child?: string;
}

class Importer {
  readonly #warnings: string[] = [];
  #unnamed = 0;
  /** By config path (`agents.hft.tau`): where the field came from, to place schema errors. */
  readonly origins = new Map<string, Origin>();
  /** By agent group key: the element it was read from. */
  readonly groups = new Map<string, XmlElement>();
  /** The groups' own fee policies, each to be held against the exchange's window. */
  readonly groupFeePolicies: GroupFeePolicy[] = [];
  /** The exchange's `<Books>`, once read. */
  booksElement?: XmlElement;

  warn(element: XmlElement, message: string): void {
    if (this.#warnings.length < MAX_WARNINGS) {
      this.#warnings.push(`line ${element.line} <${element.name}>: ${message}`);
    } else this.#unnamed++;
  }

  /** The warnings named, then how many more there were. */
  get warnings(): string[] {
    if (this.#unnamed === 0) return [...this.#warnings];
    const total = MAX_WARNINGS + this.#unnamed;
    return [
      ...this.#warnings,
      `${this.#unnamed} more not shown (${total} warnings in all; the first ${MAX_WARNINGS} are above)`,
    ];
  }

  number(element: XmlElement, attribute: string): number | undefined {
    const text = element.attributes[attribute];
    if (text === undefined) return undefined;
    const at = `line ${element.line} <${element.name}> attribute ${attribute}`;
    // Decimal only: JavaScript's Number() would also take 0x10, 0b11, 0o7 and Infinity.
    if (!DECIMAL.test(text)) throw new Error(`${at}: ${quote(text)} is not a decimal number`);
    const value = Number(text);
    if (!Number.isFinite(value)) throw new Error(`${at}: ${quote(text)} is out of range`);
    // A negative value is refused by the schema, whatever the reference makes of it.
    if (value >= 0 && /[eE]/.test(text) && wholeNumbers[element.name]?.includes(attribute)) {
      const leading = Number(/^\s*\+?(\d*)/.exec(text)![1] || "0");
      if (leading !== value) {
        throw new Error(
          `${at}: ${quote(text)} is read by the reference as ${leading} (a whole number, from ` +
            "its leading digits); write it in digits",
        );
      }
    }
    return value;
  }

  /** A `<Books>` depth attribute: the reference reads it as a whole number and refuses 0. */
  depth(books: XmlElement, attribute: "maxDepth" | "detailedDepth"): number | undefined {
    const value = this.number(books, attribute);
    if (value !== undefined && value < 1) {
      throw new Error(
        `line ${books.line} <${books.name}> attribute ${attribute}: ` +
          `${quote(books.attributes[attribute])} must be at least 1 (the reference refuses a ` +
          "book depth of 0)",
      );
    }
    return value;
  }

  /** Reads the boolean attribute that becomes the config field `path`, noting where it is. */
  flag(path: string, element: XmlElement, attribute: string): boolean | undefined {
    this.origins.set(path, { element, attribute });
    const text = element.attributes[attribute];
    if (text === undefined) return undefined;
    if (TRUE.test(text)) return true;
    if (FALSE.test(text)) return false;
    throw new Error(
      `line ${element.line} <${element.name}> attribute ${attribute}: ${quote(text)} is not a ` +
        "boolean (1, true, yes or 0, false, no; the reference reads only the first character, " +
        "true for 1, t or y and false for anything else)",
    );
  }

  /**
   * Warns about a group's fee-history window where it differs from the exchange's and the group
   * has tiers for it to choose between: taos keeps one window for every policy.
   */
  checkGroupFeeWindows(exchange: { historySlots?: unknown; slotPeriod?: unknown }): void {
    const window = {
      historySlots: exchange.historySlots ?? DEFAULT_FEE_WINDOW.historySlots,
      slotPeriod: exchange.slotPeriod ?? DEFAULT_FEE_WINDOW.slotPeriod,
    };
    for (const policy of this.groupFeePolicies) {
      if (policy.tiers.length < 2) continue;
      const differing = (["historySlots", "slotPeriod"] as const).filter((name) =>
        policy[name] !== undefined && policy[name] !== window[name]
      );
      if (differing.length === 0) continue;
      this.warn(
        policy.element,
        `${differing.map((name) => `${name}="${policy[name]}"`).join(" ")} not used: a group's ` +
          `tiers are chosen on the exchange's ${window.historySlots} slots of ` +
          `${window.slotPeriod} ns (the reference keeps a window per group)`,
      );
    }
  }

  /** Reads the number attribute that becomes the config field `path`, noting where it is. */
  read(path: string, element: XmlElement, attribute: string): number | undefined {
    this.origins.set(path, { element, attribute });
    return this.number(element, attribute);
  }

  /** Notes the element the config object at `path` is read from. */
  place(path: string, element: XmlElement): void {
    this.origins.set(path, { element });
  }

  /** Notes that the config object at `path` would have come from `element`'s child `child`. */
  absent(path: string, element: XmlElement, child: string): void {
    this.origins.set(path, { element, child });
  }

  /**
   * A schema issue of the converted config, told at the XML it came from: the attribute (`line 17
   * <Books> attribute instanceCount: ...`), or else the closest element (with the config path).
   */
  locate(issue: SimConfigIssue): string {
    const path = issue.path.join(".");
    for (let n = issue.path.length; n > 0; n--) {
      const origin = this.origins.get(issue.path.slice(0, n).join("."));
      if (origin === undefined) continue;
      const { element, attribute, child } = origin;
      const at = `line ${element.line} <${element.name}>`;
      if (child !== undefined && n === issue.path.length && issue.code === "invalid_type") {
        return `${at}: no <${child}> (${path})`;
      }
      if (attribute === undefined || n < issue.path.length) {
        return `${at} (${path}): ${issue.message}`;
      }
      const absent = element.attributes[attribute] === undefined;
      const message = absent && issue.code === "invalid_type" ? "required" : issue.message;
      return `${at} attribute ${attribute}: ${message}`;
    }
    return `${path || "(root)"}: ${issue.message}`;
  }

  /** Warns about attributes that are neither used nor known to be inert. */
  checkAttributes(element: XmlElement, used: string[], inertKey = element.name): void {
    const known = new Set([...used, ...(inert[inertKey] ?? []), ...(inert[element.name] ?? [])]);
    for (const name of Object.keys(element.attributes)) {
      if (!known.has(name)) this.warn(element, `unknown attribute '${name}' ignored`);
    }
  }

  /**
   * Warns about unknown children, and refuses a second child of a name in `once`: only one of
   * those is read, so another would be silently ignored (or would silently override the first).
   */
  checkChildren(element: XmlElement, once: string[], many: string[] = []): void {
    const first = new Map<string, XmlElement>();
    for (const child of element.children) {
      if (once.includes(child.name)) {
        const earlier = first.get(child.name);
        if (earlier !== undefined) {
          throw new Error(
            `line ${child.line} <${child.name}>: a second <${child.name}> in <${element.name}> ` +
              `(first at line ${earlier.line})`,
          );
        }
        first.set(child.name, child);
      } else if (!many.includes(child.name)) this.warn(child, "unknown element ignored");
    }
  }

  balances(element: XmlElement | undefined, path: string): unknown {
    if (element === undefined) return undefined;
    this.place(path, element);
    const type = element.attributes.type;
    if (type === "pareto" || type === "pareto-50") {
      this.checkAttributes(element, ["type", "scale", "shape", "wealth", "price"]);
      return {
        type,
        scale: this.read(`${path}.scale`, element, "scale"),
        shape: this.read(`${path}.shape`, element, "shape"),
        wealth: this.read(`${path}.wealth`, element, "wealth"),
        price: this.read(`${path}.price`, element, "price"),
      };
    }
    // The reference reads any other type as fixed totals, so a misspelt `pareto` would give every
    // account nothing: refused by name instead.
    if (type !== undefined) {
      throw new Error(
        `line ${element.line} <${element.name}>: type '${type}' is not one of pareto, pareto-50 ` +
          "(leave it out for the fixed totals of <Base> and <Quote>)",
      );
    }
    this.checkAttributes(element, ["type"]);
    this.checkChildren(element, ["Base", "Quote"]);
    const base = element.children.find((c) => c.name === "Base");
    const quote = element.children.find((c) => c.name === "Quote");
    for (const side of [base, quote]) if (side) this.checkAttributes(side, ["total"]);
    return {
      type: "fixed",
      base: base ? this.read(`${path}.base`, base, "total") ?? 0 : 0,
      quote: quote ? this.read(`${path}.quote`, quote, "total") ?? 0 : 0,
    };
  }

  /** An ALGO `<VolumeDistribution>`: the reference's three types, each with its own attributes. */
  volumeDistribution(element: XmlElement, path: string): unknown {
    const parameters = table({
      lognormal: ["mu", "sigma"],
      dirac: ["loc"],
      gamma: ["shape", "scale"],
    });
    const type = element.attributes.type ?? "";
    const names = parameters[type];
    if (names === undefined) {
      throw new Error(
        `line ${element.line} <${element.name}>: type '${type}' is not one of lognormal, dirac, ` +
          "gamma",
      );
    }
    this.checkAttributes(element, ["type", ...names]);
    this.place(path, element);
    return Object.fromEntries([
      ["type", type],
      ...names.map((n) => [n, this.read(`${path}.${n}`, element, n)]),
    ]);
  }

  fees(element: XmlElement, path: string): unknown {
    this.checkAttributes(element, ["historySlots", "slotPeriod"]);
    this.checkChildren(element, [], ["Tier"]);
    this.place(path, element);
    return {
      historySlots: this.read(`${path}.historySlots`, element, "historySlots"),
      slotPeriod: this.read(`${path}.slotPeriod`, element, "slotPeriod"),
      tiers: element.children.filter((c) => c.name === "Tier").map((tier, i) => {
        this.checkAttributes(tier, ["volumeRequired", "makerFee", "takerFee"]);
        const at = `${path}.tiers.${i}`;
        this.place(at, tier);
        return {
          volumeRequired: this.read(`${at}.volumeRequired`, tier, "volumeRequired"),
          makerFee: this.read(`${at}.makerFee`, tier, "makerFee"),
          takerFee: this.read(`${at}.takerFee`, tier, "takerFee"),
        };
      }),
    };
  }

  exchange(element: XmlElement, input: Record<string, unknown>): void {
    const used = [...exchangeCounts, "initialPrice", "maxLeverage", "maxLoan", "maintenanceMargin"];
    this.checkAttributes(element, used);
    this.checkChildren(element, ["FeePolicy", "Books", "Balances", "Logging"]);
    input.remoteAgentCount = this.read("remoteAgentCount", element, "remoteAgentCount") ?? 0;
    input.gracePeriod = this.read("gracePeriod", element, "gracePeriod");
    this.place("exchange", element);
    const exchange: Record<string, unknown> = {};
    for (const name of used.slice(2)) exchange[name] = this.read(`exchange.${name}`, element, name);
    if (exchange.initialPrice === undefined) {
      this.warn(
        element,
        "attribute initialPrice is missing: the reference would start every price at 0; taken " +
          "as 300",
      );
      exchange.initialPrice = 300;
    }
    // The reference reads a missing count of decimals as 0 and refuses it.
    const missing = used.slice(2, 6).filter((name) => exchange[name] === undefined);
    if (missing.length > 0) {
      const [noun, verb, pronoun] = missing.length === 1
        ? ["attribute", "is", "it"]
        : ["attributes", "are", "them"];
      throw new Error(
        `line ${element.line} <${element.name}>: ${noun} ${missing.join(", ")} ${verb} missing ` +
          `(the reference requires ${pronoun})`,
      );
    }
    input.exchange = exchange;
    const feePolicy = element.children.find((c) => c.name === "FeePolicy");
    if (feePolicy) exchange.fees = this.fees(feePolicy, "exchange.fees");
    else this.absent("exchange.fees", element, "FeePolicy");
    const balances = element.children.find((c) => c.name === "Balances");
    input.remoteBalances = this.balances(balances, "remoteBalances") ??
      { type: "fixed", base: 0, quote: 0 };
    const books = element.children.find((c) => c.name === "Books");
    if (books === undefined) throw new Error(`line ${element.line}: <Books> is missing`);
    this.checkAttributes(books, ["instanceCount", "detailedDepth"]);
    // The reference builds price-time books only and refuses any other name; absent, it is ours.
    const algorithm = books.attributes.algorithm;
    if (algorithm !== undefined && algorithm !== "PriceTime") {
      throw new Error(
        `line ${books.line} <Books> attribute algorithm: '${algorithm}' is not PriceTime, the ` +
          "only matching rule there is",
      );
    }
    this.checkChildren(books, ["Processes"]);
    input.books = this.read("books", books, "instanceCount");
    this.booksElement = books;
    // As in the reference: detailed levels default to maxDepth (1024 when absent), and never
    // exceed it.
    const maxDepth = this.depth(books, "maxDepth") ?? 1024;
    const depth = this.depth(books, "detailedDepth");
    const detailedDepth = Math.min(depth ?? maxDepth, maxDepth);
    exchange.detailedDepth = detailedDepth;
    const depthFrom = depth === undefined || depth > maxDepth ? "maxDepth" : "detailedDepth";
    this.origins.set("exchange.detailedDepth", { element: books, attribute: depthFrom });
    // Miners are told maxDepth as the config's book levels: kept where it says more.
    if (maxDepth > detailedDepth) {
      exchange.maxDepth = maxDepth;
      this.origins.set("exchange.maxDepth", { element: books, attribute: "maxDepth" });
    }
    const processes = books.children.find((c) => c.name === "Processes");
    if (processes) input.processes = this.processes(processes);
    else this.absent("processes", books, "Processes");
    const logging = element.children.find((c) => c.name === "Logging");
    if (logging) {
      this.checkAttributes(logging, ["startDate"]);
      this.checkChildren(logging, [], ["L2", "L3", "FeeLog"]);
      // The reference logs the depth its L2 element names (21 without one); ours is a flag, 5 by
      // default as in the production file, so only another depth is worth a word.
      for (const l2 of logging.children.filter((c) => c.name === "L2")) {
        const depth = l2.attributes.depth;
        if (depth === undefined || Number(depth) !== 5) {
          const given = depth === undefined ? "no depth (the reference's 21)" : `depth="${depth}"`;
          this.warn(
            l2,
            `${given} not read: l2-<book>.csv holds --depth levels per side (default 5)`,
          );
        }
      }
    }
  }

  processes(element: XmlElement): unknown {
    this.checkAttributes(element, ["updatePeriod"]);
    this.checkChildren(element, ["FundamentalPrice", "FuturesSignal"], ["GBM", "JumpDiffusion"]);
    this.place("processes", element);
    this.absent("processes.fundamental", element, "FundamentalPrice");
    const result: Record<string, unknown> = {
      updatePeriod: this.read("processes.updatePeriod", element, "updatePeriod"),
    };
    for (const child of element.children) {
      if (child.name === "FundamentalPrice") {
        const fields = ["seedInterval", "mu", "sigma", "lambda", "muJump", "sigmaJump"];
        this.checkAttributes(child, ["name", ...fields]);
        this.place("processes.fundamental", child);
        const fundamental: Record<string, unknown> = {};
        for (const field of fields) {
          fundamental[field] = this.read(`processes.fundamental.${field}`, child, field);
        }
        result.fundamental = fundamental;
      } else if (child.name === "FuturesSignal") {
        this.checkAttributes(child, ["name", "seedInterval"]);
        this.place("processes.external", child);
        result.external = {
          seedInterval: this.read("processes.external.seedInterval", child, "seedInterval"),
        };
      } else if (child.name === "GBM" || child.name === "JumpDiffusion") {
        this.warn(child, "process type not used by any background agent; ignored");
      }
    }
    return result;
  }

  /**
   * What the reference's agents make of absent or out-of-range attributes: stylized traders take
   * the default start-up path level, drift or volatility, or order-price exponent `pO_alpha`, for
   * an out-of-range one, and clamp `regimeProb` into [0, 1], futures traders a `volume` of 1 and a `lambda` of 0.01155 in their place,
   * ALGO traders a market-feed latency of 1 s (mean and deviation), and HFT agents the default
   * `sigmaSqr` for a negative one and read `tau` as a whole number.
   */
  referenceFallbacks(element: XmlElement, group: Record<string, unknown>): void {
    const replace = (name: string, fallback: number) => {
      const value = group[name] as number | undefined;
      if (value !== undefined && value > 0) return;
      if (value !== undefined) {
        this.warn(element, `${name}="${value}" taken as ${fallback}, as the reference does`);
      }
      group[name] = fallback;
    };
    const fallback = (name: string, bad: (v: number) => boolean, value: number) => {
      const given = group[name] as number | undefined;
      if (given === undefined || !bad(given)) return;
      this.warn(element, `${name}="${given}" taken as ${value}, as the reference does`);
      group[name] = value;
    };
    if (element.name === "StylizedTraderAgent") {
      // The start-up price path: a level that is not positive, or a negative drift or
      // volatility, takes the default.
      fallback("GBM_X0", (v) => v <= 0, 0.001);
      fallback("GBM_mu", (v) => v < 0, 0);
      fallback("GBM_sigma", (v) => v < 0, 0.01);
      fallback("pO_alpha", (v) => v < 0 || v >= 1, 0);
      // The reference clamps the regime switching probability into [0, 1].
      fallback("regimeProb", (v) => v > 1, 1);
      fallback("regimeProb", (v) => v < 0, 0);
      if (element.attributes.GBM_seed !== undefined) {
        this.warn(
          element,
          "GBM_seed is not used: the start-up price path is drawn from the simulation's seed",
        );
      }
    } else if (element.name === "FuturesTraderAgent") {
      replace("volume", 1);
      replace("lambda", 0.01155);
    } else if (element.name === "ALGOTraderAgent") {
      group.MFLmean ??= 1e9;
      group.MFLstd ??= 1e9;
    } else if (element.name === "HighFrequencyTraderAgent") {
      fallback("sigmaSqr", (v) => v < 0, 1e-5);
      const whole = typeof group.tau === "number" ? Math.trunc(group.tau) : group.tau;
      if (whole !== group.tau) {
        this.warn(
          element,
          `tau="${group.tau}" read as ${whole}: the reference reads a whole number`,
        );
        group.tau = whole;
      }
    }
  }

  agent(element: XmlElement, agents: Record<string, unknown>): void {
    const key = agentKeys[element.name];
    const attributes = agentAttributes[element.name];
    // The reference runs every group; taos has one per type, and dropping one would silently run
    // another population than the file describes.
    const first = this.groups.get(key);
    if (first !== undefined) {
      throw new Error(
        `line ${element.line} <${element.name}>: a second group of this agent type ` +
          `(first at line ${first.line}); taos runs one group per type`,
      );
    }
    this.groups.set(key, element);
    this.checkAttributes(element, ["instanceCount", ...attributes], "agent");
    this.checkChildren(element, ["Balances", "FeePolicy", "VolumeDistribution"]);
    const path = `agents.${key}`;
    this.place(path, element);
    const group: Record<string, unknown> = {
      count: this.read(`${path}.count`, element, "instanceCount") ?? 1,
    };
    for (const name of attributes) {
      const value = booleanFields.has(name)
        ? this.flag(`${path}.${name}`, element, name)
        : this.read(`${path}.${name}`, element, name);
      // A latency scale of 0 means the default (0.235), as in the reference.
      if (value === undefined || (name === "opLatencyScaleRay" && value === 0)) continue;
      group[name] = value;
    }
    this.referenceFallbacks(element, group);
    const balances = element.children.find((c) => c.name === "Balances");
    group.balances = this.balances(balances, `${path}.balances`);
    if (balances === undefined) this.absent(`${path}.balances`, element, "Balances");
    const feePolicy = element.children.find((c) => c.name === "FeePolicy");
    if (feePolicy) {
      // The group's history window is the exchange's: only its tiers are taken (a window of its
      // own is reported once the exchange's is known).
      const policy = this.fees(feePolicy, `${path}.fees`) as Omit<GroupFeePolicy, "element">;
      this.groupFeePolicies.push({ element: feePolicy, ...policy });
      group.fees = { tiers: policy.tiers };
    }
    const distribution = element.children.find((c) => c.name === "VolumeDistribution");
    if (distribution) {
      group.volumeDistribution = this.volumeDistribution(
        distribution,
        `${path}.volumeDistribution`,
      );
    } else this.absent(`${path}.volumeDistribution`, element, "VolumeDistribution");
    agents[key] = group;
  }
}

/** Imports a reference XML configuration; throws on malformed XML or invalid values. */
export function importXmlConfig(
  text: string,
  seed?: number,
  overrides: ConfigOverrides = {},
): XmlImport {
  const root = parseXml(text);
  if (root.name !== "Simulation") {
    throw new Error(`line ${root.line}: the root element is <${root.name}>, not <Simulation>`);
  }
  const importer = new Importer();
  try {
    return convert(root, importer, seed, overrides);
  } catch (error) {
    if (typeof error === "object" && error !== null) {
      refusalWarnings.set(error, importer.warnings);
    }
    throw error;
  }
}

/** The `<Simulation>` element `root` as a validated config, through `importer`. */
function convert(
  root: XmlElement,
  importer: Importer,
  seed: number | undefined,
  overrides: ConfigOverrides,
): XmlImport {
  const used = ["start", "duration", "step", "seed"];
  importer.checkAttributes(root, [...used, "current"]);
  const input: Record<string, unknown> = {
    start: importer.read("start", root, "start"),
    duration: importer.read("duration", root, "duration"),
    step: importer.read("step", root, "step"),
    seed: importer.read("seed", root, "seed") ?? seed,
  };
  // As the reference reads them: no start is an error, no step is 1 ns, which nobody means (a
  // publish every nanosecond) and taos takes as the subnet's 5 s, saying so.
  if (input.start === undefined) {
    throw new Error(
      `line ${root.line} <Simulation>: attribute start is missing (the reference requires it)`,
    );
  }
  // The time a checkpoint resumes at: the reference's clock starts there, shortening the run.
  const current = root.attributes.current;
  if (current !== undefined && Number(current) !== input.start) {
    importer.warn(
      root,
      `attribute current (${quote(current)}) not read: the run starts at start ` +
        `(${input.start} ns); the reference would start its clock at current and run to ` +
        "start + duration",
    );
  }
  if (input.step === undefined) {
    importer.warn(
      root,
      "attribute step is missing: the reference would step every 1 ns; taken as 5000000000 (5 s)",
    );
    input.step = 5e9;
  }
  importer.checkChildren(root, ["Agents"]);
  const agentsElement = root.children.find((c) => c.name === "Agents");
  if (agentsElement === undefined) {
    throw new Error(`line ${root.line} <Simulation>: <Agents> is missing`);
  }
  const exchanges = agentsElement.children.filter((c) => c.name === "MultiBookExchangeAgent");
  if (exchanges.length === 0) {
    throw new Error(
      `line ${agentsElement.line}: <Agents> has no <MultiBookExchangeAgent> (the exchange, its ` +
        "books and accounts)",
    );
  }
  if (exchanges.length > 1) {
    throw new Error(
      `line ${exchanges[1].line}: a second <MultiBookExchangeAgent> (first at line ` +
        `${exchanges[0].line}); a simulation has one exchange`,
    );
  }
  const agents: Record<string, unknown> = {};
  for (const child of agentsElement.children) {
    if (child.name === "MultiBookExchangeAgent") importer.exchange(child, input);
    else if (child.name in agentKeys) importer.agent(child, agents);
    else if (child.name === "DistributedProxyAgent") importer.checkAttributes(child, []);
    else importer.warn(child, "unknown agent type ignored");
  }
  input.agents = agents;
  importer.checkGroupFeeWindows((input.exchange as { fees?: object }).fees ?? {});
  for (const [field, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    input[field] = value;
    // A problem with it is not the file's: told by field, without a line.
    importer.origins.delete(field);
  }
  // The reference's exchange makes no books without a count; `--books` may give it.
  if (input.books === undefined) {
    importer.warn(
      importer.booksElement!,
      "attribute instanceCount is missing: the reference would make no books; taken as 1",
    );
    input.books = 1;
  }
  try {
    return { config: parseSimConfig(input as SimConfigInput), warnings: importer.warnings };
  } catch (error) {
    if (!(error instanceof SimConfigError)) throw error;
    throw new SimConfigError(error.issues, (issue) => importer.locate(issue));
  }
}
