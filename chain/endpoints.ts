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

/** The variable the `local` network's endpoint is read from, as the SDK does. */
export const LOCAL_ENDPOINT_ENV = "BT_SUBTENSOR_CHAIN_ENDPOINT";

/**
 * The endpoint variable holds no usable URL. A caller reports it as it is, not under the flag
 * that named `local`: the flag's value was fine.
 */
export class EndpointVariableError extends RangeError {
  override name = "EndpointVariableError";
}

/**
 * Turns a network name or a `ws://`/`wss://` URL into an endpoint URL. `local` honours
 * `BT_SUBTENSOR_CHAIN_ENDPOINT` like the SDK does (pass `env` to override where it is read from).
 */
export function resolveEndpoint(
  network: string,
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): string {
  const name = network.trim();
  if (name === "local") {
    const given = env(LOCAL_ENDPOINT_ENV);
    if (!given) return NAMED_NETWORKS.local;
    if (!isWebSocketUrl(given.trim())) {
      throw new EndpointVariableError(
        `${LOCAL_ENDPOINT_ENV}: "${given}" must be a ws:// or wss:// URL with a host (it is read ` +
          "for the network local)",
      );
    }
    return given.trim();
  }
  if (Object.hasOwn(NAMED_NETWORKS, name)) return NAMED_NETWORKS[name];
  if (!URL.canParse(name)) {
    throw new RangeError(
      `"${network}" is neither a known network (${
        Object.keys(NAMED_NETWORKS).join(", ")
      }) nor a ws:// or wss:// URL`,
    );
  }
  if (!isWebSocketUrl(name)) {
    throw new RangeError(`"${network}" must be a ws:// or wss:// URL with a host`);
  }
  return name;
}

function isWebSocketUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === "ws:" || url.protocol === "wss:") && url.hostname !== "";
  } catch {
    return false;
  }
}
