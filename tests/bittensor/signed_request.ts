/** A synapse request built and signed by hand, for the axon tests that send what no dendrite would. */
import type { Keypair } from "../../bittensor/keypair.ts";
import {
  bodyHash,
  newSynapse,
  requestSignatureMessage,
  SDK_VERSION_INT,
  type SynapseKind,
  synapseToBody,
  synapseToHeaders,
  timeNs,
  toWireJson,
} from "../../bittensor/synapse.ts";

/** What a hand-built request may change from an honest one. */
export interface Tampering {
  signer: Keypair;
  /** The hotkey of the axon the request is signed for. */
  axonHotkey: string;
  claimedHotkey?: string;
  nonce?: bigint;
  uuid?: string;
  /** The synapse's timeout in seconds; 12 when not given. */
  timeout?: number;
  /** Replaces the body. */
  body?: string;
  /** Keys added to the body beside the synapse's own. */
  extra?: Record<string, unknown>;
}

/** A signed request of `kind` built part by part, so a test can tamper with any part of it. */
export function signedSynapse<F>(
  kind: SynapseKind<F>,
  fields: F,
  options: Tampering,
): { headers: Record<string, string>; body: string } {
  const synapse = newSynapse(kind, fields, options.timeout ?? 12);
  const hash = bodyHash(kind, fields);
  const nonce = options.nonce ?? timeNs();
  const hotkey = options.claimedHotkey ?? options.signer.ss58Address;
  const uuid = options.uuid ?? crypto.randomUUID();
  synapse.dendrite = {
    ...synapse.dendrite,
    ip: "127.0.0.1",
    version: SDK_VERSION_INT,
    nonce,
    uuid,
    hotkey,
    signature: options.signer.signHex(
      requestSignatureMessage(nonce, hotkey, options.axonHotkey, uuid, hash),
    ),
  };
  synapse.axon = { ...synapse.axon, hotkey: options.axonHotkey };
  const headers = synapseToHeaders(kind, synapse, hash);
  headers["content-type"] = "application/json";
  return {
    headers,
    body: options.body ?? toWireJson({ ...synapseToBody(synapse), ...options.extra }),
  };
}
