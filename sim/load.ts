/**
 * Loads a simulation configuration from a file (JSON, TOML or the reference's XML) or names a
 * built-in preset, and validates it.
 *
 * ```ts
 * const { config, warnings } = await loadSimConfig("small");
 * ```
 * @module
 */
import { parse as parseToml, TomlError } from "smol-toml";
import { UsageError } from "../cli/command.ts";
import { integerFlag } from "../cli/flag_values.ts";
import {
  type ConfigOverrides,
  durationProblem,
  MAX_BOOKS,
  parseDuration,
  parseSimConfig,
  presets,
  quote,
  type SimConfig,
  SimConfigError,
} from "./config.ts";
import { importXmlConfig, warningsBeforeRefusal } from "./xml_config.ts";
import { parseJson } from "./strict_json.ts";
import { decodeUtf8Text } from "./utf8_text.ts";

/** Largest config file read: the reference's production XML is 5 KB, our JSON of it 4 KB. */
export const MAX_CONFIG_BYTES = 1 << 20;

/**
 * Reads a config file as UTF-8 text, refusing what is not a regular file of at most
 * {@linkcode MAX_CONFIG_BYTES} (a FIFO would block the read, a device or a huge file exhaust memory)
 * or not UTF-8 text.
 */
async function readConfigText(source: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    const info = await Deno.stat(source);
    if (info.isDirectory) throw new Error("a directory, not a file");
    if (!info.isFile) throw new Error("not a regular file");
    if (info.size > MAX_CONFIG_BYTES) throw new Error(tooLarge(info.size));
    using file = await Deno.open(source);
    // Read one byte past the limit: a file that grew since the stat is still caught.
    bytes = new Uint8Array(MAX_CONFIG_BYTES + 1);
    let length = 0;
    for (;;) {
      const n = await file.read(bytes.subarray(length));
      if (n === null) break;
      length += n;
      if (length > MAX_CONFIG_BYTES) throw new Error(tooLarge(length));
    }
    bytes = bytes.subarray(0, length);
  } catch (error) {
    throw new Error(`${source}: cannot read (${(error as Error).message})`);
  }
  try {
    return decodeUtf8Text(bytes);
  } catch (error) {
    throw new Error(`${source}: ${(error as Error).message}`);
  }
}

function tooLarge(size: number): string {
  return `${size} bytes; a config file may have at most ${MAX_CONFIG_BYTES}`;
}

/** A loaded configuration and any warnings about parts of it that were ignored. */
export interface LoadedConfig {
  config: SimConfig;
  warnings: string[];
  /** Where it came from: a preset name or the file path. */
  source: string;
}

/** True for an object of keys (a JSON or TOML table), not an array or a scalar. */
function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `data` with the overrides in place: an object of fields, or else as it is, for the schema. */
function withOverrides(data: unknown, overrides: ConfigOverrides): unknown {
  const given = Object.entries(overrides).filter(([, value]) => value !== undefined);
  if (given.length === 0 || !isTable(data)) return data;
  return { ...data, ...Object.fromEntries(given) };
}

/** The presets' names, as an error lists them. */
const presetNames = () => Object.keys(presets).join(", ");

/**
 * `changes` laid over `base`: tables are merged key by key, at every depth; arrays and scalars
 * replace the base's. A table of another `type` (a balances template or volume distribution of
 * another kind) replaces the base's whole: the other kind's fields would not belong to it.
 */
function merged(base: unknown, changes: unknown): unknown {
  if (!isTable(base) || !isTable(changes)) return changes;
  if (Object.hasOwn(changes, "type") && changes.type !== base.type) return changes;
  // Built with fromEntries: an assignment to a `__proto__` key would set the prototype instead.
  return Object.fromEntries([
    ...Object.entries(base).filter(([key]) => !Object.hasOwn(changes, key)),
    ...Object.entries(changes).map(([key, value]) => [key, merged(own(base, key), value)]),
  ]);
}

/** `table`'s own `key`: an inherited one (`__proto__`) is none of the config's. */
function own(table: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/**
 * A config file's data with the preset its `extends` names filled in under its own fields, for
 * the schema to check whole; data without `extends` as it is. `extends` names only presets: a
 * file it named could name others, and where a config came from would no longer be one file.
 */
function withPreset(data: unknown): unknown {
  if (!isTable(data) || !Object.hasOwn(data, "extends")) return data;
  const { extends: name, ...changes } = data;
  const problem = typeof name !== "string"
    ? `must name a preset (${presetNames()})`
    : !Object.hasOwn(presets, name)
    ? `${quote(name)} is not a preset (${presetNames()})`
    : null;
  if (problem !== null) {
    throw new SimConfigError([{ path: ["extends"], message: problem, code: "custom" }]);
  }
  return merged(presets[name as string](), changes);
}

/**
 * The line a refusal of a JSON or TOML file without `extends` ends with when it left out fields:
 * most such files were meant to change a preset.
 */
function startingHint(extension: "json" | "toml", data: unknown, error: unknown): string {
  const leftOut = error instanceof SimConfigError &&
    error.issues.some((issue) => issue.message === "required");
  if (!leftOut || (isTable(data) && Object.hasOwn(data, "extends"))) return "";
  const line = extension === "json" ? '"extends": "small"' : 'extends = "small"';
  return `\nto change a preset instead, add ${line} (or "reference"); ` +
    "taos sim --print-config prints a complete config";
}

/**
 * Loads `source`: a preset name (`reference`, `small`) or a path ending in `.json`, `.toml` or
 * `.xml`, with `overrides` in place of its own fields. A JSON or TOML file may start from a preset
 * (`"extends": "small"`) and give only what differs. Throws an Error naming the file and the
 * problem when it cannot be read or is invalid.
 */
export async function loadSimConfig(
  source: string,
  overrides: ConfigOverrides = {},
): Promise<LoadedConfig> {
  const preset = Object.hasOwn(presets, source) ? presets[source] : undefined;
  if (preset !== undefined) {
    return { config: parseSimConfig(withOverrides(preset(), overrides)), warnings: [], source };
  }
  const extension = source.toLowerCase().split(".").pop();
  if (extension !== "json" && extension !== "toml" && extension !== "xml") {
    throw new Error(
      `${source}: not a preset (${presetNames()}) ` +
        "nor a .json, .toml or .xml file",
    );
  }
  const text = await readConfigText(source);
  let data: unknown;
  try {
    if (extension === "xml") {
      const { config, warnings } = importXmlConfig(text, undefined, overrides);
      return { config, warnings, source };
    }
    data = extension === "json" ? parseJson(text) : parseToml(text);
    const config = parseSimConfig(withOverrides(withPreset(data), overrides));
    return { config, warnings: [], source };
  } catch (error) {
    // The TOML reader's message quotes the lines around the error: one may be the whole file.
    const message = error instanceof TomlError
      ? `TOML line ${error.line} column ${error.column}: ${
        error.message.split("\n")[0].replace(/^Invalid TOML document: /, "")
      }`
      : (error as Error).message;
    const hint = extension === "xml" ? "" : startingHint(extension, data, error);
    throw new Error(`${source}: ${message}${hint}`, { cause: error });
  }
}

/**
 * The config fields a command's flags give (`--seed`, `--books`, `--duration`,
 * `--intended-dynamics`), each checked as a flag.
 */
export function flagOverrides(values: Record<string, unknown>): ConfigOverrides {
  let duration: number | undefined;
  if (values.duration !== undefined) {
    duration = parseDuration(String(values.duration));
    if (duration === undefined) {
      throw new UsageError(`--duration: ${durationProblem(String(values.duration))}`);
    }
  }
  return {
    seed: integerFlag("seed", values.seed, 0),
    books: integerFlag("books", values.books, 1, MAX_BOOKS),
    duration,
    referenceDynamics: values["intended-dynamics"] === true ? false : undefined,
  };
}

/**
 * {@linkcode loadSimConfig} for a command: its warnings printed (also those given before a
 * refusal: an ignored part may be its cause), and a refusal a UsageError under
 * `flag` (the one that named the file), or under the flag whose value is at fault when every
 * problem is with one the flags gave (`--duration: must be longer than the step (5s), got 2s`): the
 * file was not at fault then.
 */
export async function loadForCommand(
  source: string,
  overrides: ConfigOverrides,
  flag = "--config",
): Promise<LoadedConfig> {
  let loaded: LoadedConfig;
  try {
    loaded = await loadSimConfig(source, overrides);
  } catch (error) {
    for (const warning of warningsBeforeRefusal((error as { cause?: unknown })?.cause)) {
      console.error(`warning: ${warning}`);
    }
    throw new UsageError(
      overrideProblems(error, overrides) ?? `${flag}: ${(error as Error).message}`,
    );
  }
  for (const warning of loaded.warnings) console.error(`warning: ${warning}`);
  return loaded;
}

/** The problems of a config that failed to load as lines naming flags, when all are the flags'. */
function overrideProblems(error: unknown, overrides: ConfigOverrides): string | null {
  const invalid = error instanceof SimConfigError
    ? error
    : (error as { cause?: unknown })?.cause instanceof SimConfigError
    ? (error as { cause: SimConfigError }).cause
    : null;
  if (invalid === null || invalid.issues.length === 0) return null;
  const given = (issue: { path: PropertyKey[] }) =>
    issue.path.length === 1 && overrides[issue.path[0] as keyof ConfigOverrides] !== undefined;
  if (!invalid.issues.every(given)) return null;
  return invalid.issues.map((issue) => `--${String(issue.path[0])}: ${issue.message}`).join("\n");
}
