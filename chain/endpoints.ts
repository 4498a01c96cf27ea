/**
 * Subtensor endpoints by the network names the Python tools accept.
 *
 * ```ts
 * resolveEndpoint("finney"); // "wss://entrypoint-finney.opentensor.ai:443"
 * resolveEndpoint("ws://127.0.0.1:9944"); // unchanged
 * ```
 * @module
 */

/** Named networks and their WebSocket endpoints (the SDK's `NETWORK_MAP`). */
export const NAMED_NETWORKS: Readonly<Record<string, string>> = {
  finney: "wss://entrypoint-finney.opentensor.ai:443",
  test: "wss://test.finney.opentensor.ai:443",
  archive: "wss://archive.chain.opentensor.ai:443",
  local: "ws://127.0.0.1:9944",
  "latent-lite": "wss://lite.sub.latent.to:443",
};

/**
 * Turns a network name or a `ws://`/`wss://` URL into an endpoint URL. `local` honours
 * `BT_SUBTENSOR_CHAIN_ENDPOINT` like the SDK does (pass `env` to override where it is read from).
 */
export function resolveEndpoint(
  network: string,
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): string {
  const name = network.trim();
  if (name === "local") return env("BT_SUBTENSOR_CHAIN_ENDPOINT") || NAMED_NETWORKS.local;
  if (Object.hasOwn(NAMED_NETWORKS, name)) return NAMED_NETWORKS[name];
  let url: URL;
  try {
    url = new URL(name);
  } catch {
    throw new RangeError(
      `network: "${network}" is neither a known network (${
        Object.keys(NAMED_NETWORKS).join(", ")
      }) nor a ws:// or wss:// URL`,
    );
  }
  if ((url.protocol !== "ws:" && url.protocol !== "wss:") || url.hostname === "") {
    throw new RangeError(`network: "${network}" must be a ws:// or wss:// URL with a host`);
  }
  return name;
}
