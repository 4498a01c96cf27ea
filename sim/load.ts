/**
 * Loads a simulation configuration from a file (JSON, TOML or the reference's XML) or names a
 * built-in preset, and validates it.
 *
 * ```ts
 * const { config, warnings } = await loadSimConfig("small");
 * ```
 * @module
 */
import { parse as parseToml } from "smol-toml";
import { parseSimConfig, presets, type SimConfig } from "./config.ts";
import { importXmlConfig } from "./xml_config.ts";

/** A loaded configuration and any warnings about parts of it that were ignored. */
export interface LoadedConfig {
  config: SimConfig;
  warnings: string[];
  /** Where it came from: a preset name or the file path. */
  source: string;
}

/**
 * Loads `source`: a preset name (`reference`, `small`) or a path ending in `.json`, `.toml` or
 * `.xml`. Throws an Error naming the file and the problem when it cannot be read or is invalid.
 */
export async function loadSimConfig(source: string): Promise<LoadedConfig> {
  const preset = Object.hasOwn(presets, source) ? presets[source] : undefined;
  if (preset !== undefined) return { config: preset(), warnings: [], source };
  const extension = source.toLowerCase().split(".").pop();
  if (extension !== "json" && extension !== "toml" && extension !== "xml") {
    throw new Error(
      `${source}: not a preset (${Object.keys(presets).join(", ")}) ` +
        "nor a .json, .toml or .xml file",
    );
  }
  let text: string;
  try {
    // A byte-order mark some editors write is not JSON: drop it for every format.
    text = (await Deno.readTextFile(source)).replace(/^\uFEFF/, "");
  } catch (error) {
    throw new Error(`${source}: cannot read (${(error as Error).message})`);
  }
  try {
    if (extension === "xml") {
      const { config, warnings } = importXmlConfig(text);
      return { config, warnings, source };
    }
    const data = extension === "json" ? JSON.parse(text) : parseToml(text);
    return { config: parseSimConfig(data), warnings: [], source };
  } catch (error) {
    throw new Error(`${source}: ${(error as Error).message}`);
  }
}
