/**
 * `serve_axon`: a miner (or validator) announces where its axon listens. Like the SDK, nothing is
 * sent when the chain already holds the same endpoint; the chain's own checks (registration, IP,
 * port, serving rate limit) are applied first so the answer is immediate and readable.
 *
 * ```ts
 * const result = await serveAxon(client, hotkey, { netuid: 79, ip: "203.0.113.7", port: 8091 });
 * if (!result.ok) console.error(result.message);
 * ```
 * @module
 */
import { z } from "../cli/zod_messages.ts";
import type { HotkeyPair, SubtensorClient } from "./client.ts";
import { chainRefusal, type EncodedIp, encodeIp } from "./ip.ts";
import { readHyperparameters, SS58_PREFIX } from "./subnet.ts";
import { encodeAddress } from "@polkadot/util-crypto";

/** The SDK version whose wire protocol taos speaks (10.2.0), as the axon's `version` integer. */
export const SDK_VERSION_INT = 10_002_000;

/** The protocol number SDK-served axons announce. */
export const AXON_PROTOCOL = 4;

const ServeAxonOptionsSchema = z.object({
  netuid: z.number().int().min(0).max(65535),
  ip: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  protocol: z.number().int().min(0).max(255).default(AXON_PROTOCOL),
  version: z.number().int().min(0).max(0xffffffff).default(SDK_VERSION_INT),
  waitForInclusion: z.boolean().default(true),
  timeoutMs: z.number().int().positive().default(120_000),
});

/** What to announce: the external address and port clients should use. */
export type ServeAxonOptions = z.input<typeof ServeAxonOptionsSchema>;

/** The outcome of {@link serveAxon}. */
export interface ServeAxonResult {
  /** The chain holds the requested endpoint (newly served or already there). */
  ok: boolean;
  /** An extrinsic was sent and included. */
  changed: boolean;
  message: string;
  /** Extrinsic hash, when one was sent. */
  reference?: string;
}

interface AxonInfoCodec {
  block: { toNumber(): number };
  version: { toNumber(): number };
  ip: { toBigInt(): bigint };
  port: { toNumber(): number };
  ipType: { toNumber(): number };
  protocol: { toNumber(): number };
  placeholder1: { toNumber(): number };
  placeholder2: { toNumber(): number };
}

/**
 * Announces the axon of `hotkey` on `options.netuid`. Returns `ok: false` with the reason when the
 * hotkey is unregistered, the address is refused, the serving rate limit applies, the chain
 * rejects the extrinsic or cannot be reached; throws only for malformed options.
 */
export async function serveAxon(
  client: SubtensorClient,
  hotkey: HotkeyPair,
  options: ServeAxonOptions,
): Promise<ServeAxonResult> {
  const parsed = ServeAxonOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RangeError(`serve_axon ${issue.path.join(".")}: ${issue.message}`);
  }
  const o = parsed.data;
  const ip = encodeIp(o.ip);
  // An IPv6 address is bracketed, as in a URL, so the port stays readable.
  const endpoint = `${ip.ipType === 6 ? `[${o.ip}]` : o.ip}:${o.port}`;
  const refused = chainRefusal(ip);
  if (refused) {
    return { ok: false, changed: false, message: `cannot serve ${endpoint}: ${refused}` };
  }

  const address = encodeAddress(hotkey.publicKey, SS58_PREFIX);
  try {
    return await serveChecked(client, hotkey, address, o, ip, endpoint);
  } catch (error) {
    return {
      ok: false,
      changed: false,
      message: `cannot read the chain: ${(error as Error).message}`,
    };
  }
}

async function serveChecked(
  client: SubtensorClient,
  hotkey: HotkeyPair,
  address: string,
  o: z.output<typeof ServeAxonOptionsSchema>,
  ip: EncodedIp,
  endpoint: string,
): Promise<ServeAxonResult> {
  const query = client.api.query.subtensorModule;
  const [uid, stored, params, block] = await Promise.all([
    query.uids(o.netuid, address) as unknown as Promise<{ isNone: boolean }>,
    query.axons(o.netuid, address) as unknown as Promise<
      { isNone: boolean; unwrap(): AxonInfoCodec }
    >,
    readHyperparameters(client, o.netuid),
    client.bestBlock(),
  ]);
  if (uid.isNone) {
    return {
      ok: false,
      changed: false,
      message: `hotkey ${address} is not registered on subnet ${o.netuid}`,
    };
  }
  if (!stored.isNone) {
    const current = stored.unwrap();
    // Every field the call sets, placeholders included (sent as 0), as the SDK compares them.
    const same = current.ip.toBigInt() === ip.value && current.port.toNumber() === o.port &&
      current.ipType.toNumber() === ip.ipType && current.protocol.toNumber() === o.protocol &&
      current.version.toNumber() === o.version && current.placeholder1.toNumber() === 0 &&
      current.placeholder2.toNumber() === 0;
    if (same) {
      return { ok: true, changed: false, message: `axon already served at ${endpoint}` };
    }
    // Judged in the block that includes the call (the next one); a first serve is never limited.
    const last = current.block.toNumber();
    const since = block + 1 - last;
    if (params.servingRateLimit > 0 && last !== 0 && since < params.servingRateLimit) {
      return {
        ok: false,
        changed: false,
        message: `serving rate limit: axon served ${block - last} blocks ago, ` +
          `${params.servingRateLimit - since} more blocks to wait`,
      };
    }
  }
  const call = client.api.tx.subtensorModule.serveAxon(
    o.netuid,
    o.version,
    ip.value,
    o.port,
    ip.ipType,
    o.protocol,
    0,
    0,
  );
  const outcome = await client.submit(call, hotkey, {
    waitForInclusion: o.waitForInclusion,
    timeoutMs: o.timeoutMs,
  });
  if (!outcome.ok) {
    return {
      ok: false,
      changed: false,
      message: `serve_axon ${endpoint}: ${outcome.message}`,
      reference: outcome.extrinsicHash,
    };
  }
  return {
    ok: true,
    changed: true,
    message: `axon served at ${endpoint} on subnet ${o.netuid}`,
    reference: outcome.extrinsicHash,
  };
}
