/**
 * Loading a trading agent the way miners configure one: a directory (or a file), a class name
 * and a `k=v k2=v2` parameter string.
 *
 * In a directory the file `<Name>.ts` (or `.js`, `.mjs`) is imported and its export `<Name>` is
 * the agent class. The example agents shipped with taos (`RandomMakerAgent`,
 * `SimpleRegressorAgent`, ...) load by name when the directory has no such file.
 *
 * ```ts
 * import { DEFAULT_AGENTS_DIR, loadAgent } from "./loader.ts";
 * const agent = await loadAgent({
 *   path: DEFAULT_AGENTS_DIR,
 *   name: "RandomMakerAgent",
 *   params: "min_quantity=0.1 max_quantity=1.0 expiry_period=200",
 *   uid: 5,
 * });
 * ```
 * @module
 */
import { existsSync, lstatSync, readlinkSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { AgentClass, AgentParams, TradingAgent } from "./agent.ts";
import { describeThrown } from "./thrown.ts";
import { valueMessage } from "../../cli/zod_messages.ts";
import { agentFrame, pathOf } from "./failure_site.ts";

/** Where miners keep their agents by default: `~/.taos/agents`. */
export const DEFAULT_AGENTS_DIR: string = join(homedir(), ".taos", "agents");

/** An agent that could not be loaded; the message says what to fix. */
export class AgentLoadError extends Error {
  override name = "AgentLoadError";
}

/**
 * Parses `k=v k2=v2` into params: `true`/`false` (any case) become booleans, decimal and
 * exponent numbers become numbers, anything else stays a string. Throws an AgentLoadError naming
 * a token without exactly one `=`, an empty name, a name given twice, or a number too large for a
 * double.
 */
export function parseAgentParams(text: string | undefined): AgentParams {
  const params: AgentParams = {};
  for (const [key, value] of paramWords(text)) {
    const coerced = coerce(value);
    // A number past the largest double reads as Infinity, which no schema message explains.
    if (coerced === Infinity || coerced === -Infinity) {
      throw new AgentLoadError(`agent parameter '${key}': must be finite, got ${value}`);
    }
    params[key] = coerced;
  }
  return params;
}

/** The `[name, value]` pairs of `k=v k2=v2`, values as written; throws as `parseAgentParams`. */
function paramWords(text: string | undefined): [string, string][] {
  const words: [string, string][] = [];
  const seen = new Set<string>();
  let previous: string | undefined;
  for (const token of (text ?? "").trim().split(/\s+/).filter((t) => t.length > 0)) {
    const parts = token.split("=");
    if (parts.length === 1 && previous !== undefined) {
      // `-m "label=two words"`: the words were split apart, and the second has no `=`.
      throw new AgentLoadError(
        `agent parameter '${previous} ${token}': a value cannot contain white space ` +
          `('${token}' has no '=')`,
      );
    }
    previous = token;
    if (parts.length !== 2) {
      throw new AgentLoadError(
        `agent parameter '${token}' must have the form name=value` +
          (parts.length > 2 ? " (a value cannot contain '=')" : ""),
      );
    }
    const [key, value] = parts;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new AgentLoadError(`agent parameter '${token}': '${key}' is not a valid name`);
    }
    if (seen.has(key)) {
      throw new AgentLoadError(`agent parameter '${key}' is given more than once`);
    }
    seen.add(key);
    words.push([key, value]);
  }
  return words;
}

function coerce(value: string): number | boolean | string {
  if (/^true$/i.test(value)) return true;
  if (/^false$/i.test(value)) return false;
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value)) return Number(value);
  return value;
}

async function importModule(file: string): Promise<Record<string, unknown>> {
  try {
    return await import(pathToFileURL(file).href);
  } catch (error) {
    // Deno colours the place in a module error whatever the output is: a log file would keep
    // the escape codes.
    // deno-lint-ignore no-control-regex -- the escape character is what is removed
    const message = describeThrown(error).replace(/\x1b\[[0-9;]*m/g, "");
    throw new AgentLoadError(`cannot load agent file ${file}: ${withPaths(message)}`);
  }
}

/**
 * `message` with each file URL written as the path it names, so that a directory such as
 * `my agents` reads as written rather than as `my%20agents`. A file URL leaves quotes,
 * parentheses and colons unencoded, so it is decoded up to the next space, less the place
 * (`:2:5`) and closing marks at its end: those are the message's text, kept as written (a name
 * that itself ends in one reads the same either way). The name need not exist on disk.
 */
function withPaths(message: string): string {
  return message.replace(/file:\/\/\S+/g, (run) => {
    const [, url, tail] = /^(.*?)((?::\d+)*[)'"`,.;\]]*)$/.exec(run)!;
    return URL.canParse(url) ? pathOf(url) + tail : run;
  });
}

function isAgentClass(value: unknown): value is AgentClass {
  return typeof value === "function" &&
    typeof (value as { prototype?: { onUpdate?: unknown } }).prototype?.onUpdate === "function";
}

/**
 * The file the agent `name` is loaded from: `path` itself when it is a file, else the first of
 * `<path>/<name>.{ts,js,mjs}` that exists; null when there is none (a bundled example, if any).
 */
export function agentFile(path: string, name: string): string | null {
  const full = resolve(path);
  if (!existsSync(full)) return null;
  if (statSync(full).isFile()) return full;
  // A link to a missing file counts as there: loading it says so, where skipping it would run
  // a bundled agent of that name instead.
  const present = (file: string) => existsSync(file) || isLink(file);
  return ["ts", "js", "mjs"].map((ext) => join(full, `${name}.${ext}`)).find(present) ?? null;
}

function isLink(file: string): boolean {
  try {
    return lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

/** The refusal of a reference (Python) agent's file. */
function pythonAgent(file: string, name: string): AgentLoadError {
  return new AgentLoadError(
    `${file} is a Python agent; taos runs TypeScript or JavaScript agents ` +
      `(${name}.ts or .js), so it needs porting (see the bundled examples)`,
  );
}

/**
 * Finds the agent class `name`: in the file `path`, in `<path>/<name>.{ts,js,mjs}`, or among
 * the bundled examples.
 */
export async function loadAgentClass(path: string, name: string): Promise<AgentClass> {
  if (!/^[\p{ID_Start}_$][\p{ID_Continue}$\u200c\u200d]*$/u.test(name)) {
    throw new AgentLoadError(`agent name '${name}' is not a class name`);
  }
  const full = resolve(path);
  // Only the default directory may be missing (the bundled examples then load by name): a path
  // someone gave that does not exist is a typo to report, not a reason to run something else.
  if (!existsSync(full) && full !== resolve(DEFAULT_AGENTS_DIR)) {
    throw new AgentLoadError(`agent path ${full} does not exist`);
  }
  const file = agentFile(full, name) ?? undefined;
  if (file === undefined && existsSync(join(full, `${name}.py`))) {
    // A reference (Python) agent of that name: running a bundled one instead would be a surprise.
    throw pythonAgent(join(full, `${name}.py`), name);
  }
  if (file === undefined) {
    const { exampleAgents } = await import("../examples/mod.ts");
    const bundled = Object.hasOwn(exampleAgents, name) ? exampleAgents[name] : undefined;
    if (bundled !== undefined) return bundled;
    throw new AgentLoadError(
      `agent '${name}' not found: no ${name}.ts/.js in ${full} and no bundled agent of that name` +
        ` (bundled: ${Object.keys(exampleAgents).join(", ")})`,
    );
  }
  if (file.endsWith(".py")) throw pythonAgent(file, name);
  const target = missingLinkTarget(file);
  if (target !== null) {
    // The import's own message would name neither the link nor what it points to.
    throw new AgentLoadError(
      `cannot load agent file ${file}: it is a link to ${target}, a missing file`,
    );
  }
  const module = await importModule(file);
  const candidate = module[name] ??
    (isAgentClass(module.default) && module.default.name === name ? module.default : undefined);
  if (candidate === undefined) {
    throw new AgentLoadError(
      `${file} has no export named '${name}'; it exports ${exportedNames(module)}`,
    );
  }
  if (!isAgentClass(candidate)) {
    throw new AgentLoadError(`'${name}' in ${file} is not an agent class (no onUpdate method)`);
  }
  return candidate;
}

/** What a link at `file` points to when that is missing; null when `file` is no such link. */
function missingLinkTarget(file: string): string | null {
  try {
    if (!lstatSync(file).isSymbolicLink()) return null;
  } catch {
    return null;
  }
  try {
    statSync(file);
    return null;
  } catch {
    return resolve(dirname(file), readlinkSync(file));
  }
}

/** Most exported names a load error lists. */
const MAX_LISTED_EXPORTS = 20;

/** A module's exports for a message: `class A, class B, helper, LIMIT`, classes first. */
function exportedNames(module: Record<string, unknown>): string {
  const isClass = (value: unknown) =>
    typeof value === "function" && /^class\b/.test(Function.prototype.toString.call(value));
  const names = Object.keys(module);
  if (names.length === 0) return "nothing";
  const listed = [
    ...names.filter((n) => isClass(module[n])).map((n) => `class ${n}`),
    ...names.filter((n) => !isClass(module[n])),
  ];
  const left = listed.length - MAX_LISTED_EXPORTS;
  return listed.slice(0, MAX_LISTED_EXPORTS).join(", ") + (left > 0 ? ` and ${left} more` : "");
}

/**
 * Validates params against the class's `paramsSchema` (when it has one), applying its defaults.
 * Errors name the parameter and show its value: `agent parameter 'seed': must be >= 0, got -3`.
 * `written` is the `k=v` text the params were parsed from, when they were: a value coerced to a
 * number or a boolean that the schema refuses is tried as written, so that a parameter the
 * schema takes as text (`label=007`, `mode=1` for `z.enum(["1", "2"])`) gets its text.
 */
export function checkAgentParams(
  agentClass: AgentClass,
  params: AgentParams,
  written?: string,
): AgentParams {
  const schema = agentClass.paramsSchema;
  if (schema === undefined) return params;
  // By shape (an agent file may import its own copy of zod); anything else fails inside with a
  // TypeError.
  if (typeof (schema as { safeParse?: unknown } | null)?.safeParse !== "function") {
    throw new AgentLoadError(
      `${agentClass.name}: paramsSchema must be a zod schema (got ${describeValue(schema)})`,
    );
  }
  const first = parseParams(agentClass, schema, params);
  if (first.success) return first.data;
  const texts = new Map(paramWords(written));
  const coerced = refusedNames(first.error.issues).filter((name) =>
    typeof params[name] !== "string" && texts.has(name)
  );
  let issues = first.error.issues;
  if (coerced.length > 0) {
    const asWritten = (names: string[]) => ({
      ...params,
      ...Object.fromEntries(names.map((name) => [name, texts.get(name)!])),
    });
    const second = parseParams(agentClass, schema, asWritten(coerced));
    if (second.success) return second.data;
    // Only a parameter its text satisfies keeps it: another is told as it was coerced.
    const stillRefused = refusedNames(second.error.issues);
    const kept = coerced.filter((name) => !stillRefused.includes(name));
    if (kept.length > 0) {
      const third = parseParams(agentClass, schema, asWritten(kept));
      if (third.success) return third.data;
      issues = third.error.issues;
    }
  }
  const problems = issues.map((issue) =>
    issue.path.length > 0
      ? `agent parameter '${issue.path.join(".")}': ${issue.message}`
      : `agent parameters: ${issue.message}`
  );
  throw new AgentLoadError(`${agentClass.name}: ${problems.join("; ")}`);
}

type ParamsResult = ReturnType<NonNullable<AgentClass["paramsSchema"]>["safeParse"]>;

/** `schema`'s result on `params`; a schema that throws or returns no result is a load error. */
function parseParams(
  agentClass: AgentClass,
  schema: NonNullable<AgentClass["paramsSchema"]>,
  params: AgentParams,
): ParamsResult {
  // The schema is the agent's code: a refinement or transform of its own may throw.
  let result: ParamsResult;
  try {
    // An agent file may import its own copy of zod, whose `safeParse` ignores this argument.
    result = schema.safeParse(params, { error: (issue) => valueMessage(asGiven(issue, params)) });
  } catch (error) {
    throw new AgentLoadError(
      `${agentClass.name}: its paramsSchema failed on the parameters: ${describeThrown(error)}`,
    );
  }
  if (typeof result !== "object" || result === null) {
    throw new AgentLoadError(
      `${agentClass.name}: its paramsSchema's safeParse returned ${String(result)}, not a result`,
    );
  }
  return result;
}

/**
 * `issue` with the value as given when the schema turned it into NaN (`z.coerce.number()` on
 * `abc`): no parameter is given as NaN, so the message shows what was written instead.
 */
function asGiven<I extends { input?: unknown; path?: PropertyKey[] }>(
  issue: I,
  params: AgentParams,
): I {
  if (!Number.isNaN(issue.input) || typeof issue.input !== "number") return issue;
  let value: unknown = params;
  for (const key of issue.path ?? []) {
    if (value === null || typeof value !== "object" || !Object.hasOwn(value, key)) return issue;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return typeof value === "number" || value === params ? issue : { ...issue, input: value };
}

/** The parameters the issues are about (their path's first name). */
function refusedNames(issues: readonly { path: PropertyKey[] }[]): string[] {
  return [
    ...new Set(issues.flatMap((issue) => issue.path.length > 0 ? [String(issue.path[0])] : [])),
  ];
}

/** A value's type, and the value itself when it is short: for messages. */
function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object" || typeof value === "function") {
    return `${typeof value === "object" ? "an object" : "a function"} with no safeParse method`;
  }
  const text = typeof value === "string" ? JSON.stringify(value) : String(value);
  return `${typeof value} ${text.length > 40 ? text.slice(0, 40) + "…" : text}`;
}

/**
 * Names the given parameters the class's `paramsSchema` does not declare (a schema drops them, so
 * a misspelt name would silently leave the default in place); null when there are none, or when
 * the class declares no object schema. Not an error: a miner's `-m` may carry parameters meant
 * for another agent.
 */
export function unusedAgentParams(agentClass: AgentClass, params: AgentParams): string | null {
  // By shape rather than instanceof: an agent file may import its own copy of zod.
  const shape = (agentClass.paramsSchema as { shape?: unknown } | undefined)?.shape;
  if (typeof shape !== "object" || shape === null) return null;
  const known = Object.keys(shape);
  const unused = Object.keys(params).filter((name) => !known.includes(name));
  if (unused.length === 0) return null;
  return `${agentClass.name} ignores agent parameter${unused.length > 1 ? "s" : ""} ${
    unused.map((name) => `'${name}'`).join(", ")
  } (it takes ${known.length > 0 ? known.join(", ") : "none"})`;
}

/** What {@linkcode loadAgent} needs. */
export interface LoadAgentOptions {
  /** Directory or file; default `~/.taos/agents`. */
  path?: string;
  /** Class name (and file stem in a directory). */
  name: string;
  /** `k=v k2=v2` string or already parsed params. */
  params?: string | AgentParams;
  /** The miner's uid, passed to the constructor. */
  uid: number;
  /** Told of parameters the agent does not take (see {@linkcode unusedAgentParams}). */
  onWarning?: (message: string) => void;
  /** Told of the parameters the agent is constructed with (its schema's output). */
  onParams?: (params: AgentParams) => void;
}

/** The kit's own code: a constructor's error raised there is placed at its caller. */
const KIT = [new URL("./", import.meta.url).href];

/** Why an agent's constructor failed, with the place in the agent's code when its stack has one. */
export function failedToStart(name: string, error: unknown): string {
  const at = agentFrame(error, KIT);
  return `${name} failed to start: ${describeThrown(error)}` + (at === null ? "" : ` (at ${at})`);
}

/** Loads, validates and constructs an agent. Throws AgentLoadError with a clear message. */
export async function loadAgent(options: LoadAgentOptions): Promise<TradingAgent> {
  const agentClass = await loadAgentClass(options.path ?? DEFAULT_AGENTS_DIR, options.name);
  const raw = typeof options.params === "object"
    ? options.params
    : parseAgentParams(options.params);
  const params = checkAgentParams(
    agentClass,
    raw,
    typeof options.params === "string" ? options.params : undefined,
  );
  const unused = unusedAgentParams(agentClass, raw);
  if (unused !== null) options.onWarning?.(unused);
  options.onParams?.(params);
  return await constructAgent(agentClass, options.name, options.uid, params);
}

/**
 * Constructs an agent of `agentClass`, awaiting the promise of the agent a constructor may return
 * (set-up that awaits). Throws AgentLoadError for a constructor that throws or gives no agent.
 */
export async function constructAgent(
  agentClass: AgentClass,
  name: string,
  uid: number,
  params: AgentParams,
): Promise<TradingAgent> {
  let agent: unknown;
  try {
    // Awaited here, so that a failure of the set-up is the agent's failing to start.
    agent = await new agentClass(uid, params);
  } catch (error) {
    throw new AgentLoadError(failedToStart(name, error));
  }
  if (typeof (agent as { onUpdate?: unknown } | null)?.onUpdate !== "function") {
    const what = agent === null || agent === undefined
      ? String(agent)
      : typeof agent === "object"
      ? "an object"
      : `a ${typeof agent}`;
    throw new AgentLoadError(
      `${name}'s constructor gave ${what} without an onUpdate method, not the agent`,
    );
  }
  return agent as TradingAgent;
}
