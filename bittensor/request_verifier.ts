/**
 * Checks that a request really comes from the hotkey it names and is fresh: the sr25519 signature
 * over `nonce.dendriteHotkey.ourHotkey.uuid.bodyHash`, and the nonce rules of the Python axon
 * (strictly increasing per caller hotkey and dendrite uuid; on first contact no older than 4 s
 * plus the request's timeout; no upper bound). The Python axon skips the first-contact age check
 * for a caller announcing no version, or one before 7.2.0; the version is not signed, so a
 * replayed request could drop it and pass. Here the check applies to every request. A request
 * signed for another axon hotkey (a validator that has the wrong hotkey for this address) is
 * refused naming both hotkeys, where the Python axon reports a bare signature mismatch.
 *
 * ```ts
 * const verifier = new RequestVerifier(myHotkeySs58);
 * verifier.verify(dendriteInfo, bodyHash, timeoutSeconds, axonHotkey); // throws VerificationError
 * ```
 * @module
 */
import { cutChars } from "../cli/code_points.ts";
import { Keypair } from "./keypair.ts";
import { requestSignatureMessage, type TerminalInfo, timeNs } from "./synapse.ts";

/** Clock skew tolerated on a caller's first request, on top of the request's own timeout. */
const ALLOWED_NONCE_DELTA_NS = 4_000_000_000n;
/** The longest header text a refusal repeats whole. */
const MAX_ECHOED = 300;

/** Why a request failed verification; the message is what the caller sees after `Not Verified with error: `. */
class VerificationError extends Error {
  override name = "VerificationError";
}

/** Options of a {@linkcode RequestVerifier}. */
export interface RequestVerifierOptions {
  /**
   * Reject requests without a signature header. The Python axon skips the check when the header
   * is absent; we require it by default.
   */
  requireSignature?: boolean;
  /** Clock in ns (tests pin it). */
  now?: () => bigint;
}

/** Signature and nonce verification for one axon hotkey; remembers the last nonce per caller. */
export class RequestVerifier {
  readonly #axonHotkey: string;
  readonly #requireSignature: boolean;
  readonly #now: () => bigint;
  readonly #lastNonce = new Map<string, bigint>();

  constructor(axonHotkey: string, options: RequestVerifierOptions = {}) {
    this.#axonHotkey = axonHotkey;
    this.#requireSignature = options.requireSignature ?? true;
    this.#now = options.now ?? timeNs;
  }

  /**
   * Verifies the dendrite's claims for a request with body hash `hash` and timeout
   * `timeoutSeconds`, addressed to the axon hotkey `addressedTo` (its `bt_header_axon_hotkey`);
   * on success records the nonce. Throws {@linkcode VerificationError}.
   */
  verify(
    dendrite: TerminalInfo,
    hash: string,
    timeoutSeconds: number,
    addressedTo: string | null,
  ): void {
    const { hotkey, uuid, nonce, signature } = dendrite;
    if (hotkey === null) throw new VerificationError("Missing dendrite hotkey");
    if (nonce === null) throw new VerificationError("Missing Nonce");
    const endpoint = `${hotkey}:${uuid}`;
    const last = this.#lastNonce.get(endpoint);
    if (last === undefined) {
      const now = this.#now();
      const windowNs = ALLOWED_NONCE_DELTA_NS + BigInt(Math.round(timeoutSeconds * 1e9));
      if (nonce <= now - windowNs) {
        const age = Number(now - nonce) / 1e9;
        const allowed = Number(windowNs) / 1e9;
        throw new VerificationError(
          `Nonce is too old: acceptable delta is ${allowed.toFixed(2)} seconds but request was ${
            age.toFixed(2)
          } seconds old`,
        );
      }
    }
    if (last !== undefined && nonce <= last) {
      throw new VerificationError("Nonce is too old, a newer one was last processed");
    }
    const message = requestSignatureMessage(nonce, hotkey, this.#axonHotkey, String(uuid), hash);
    if (signature === null) {
      if (this.#requireSignature) throw new VerificationError("Missing Signature");
    } else if (!Keypair.verify(message, signature, hotkey)) {
      // A validator with the wrong hotkey for this address (another miner's, say) signs for that
      // one: the mismatch then has a plain cause, which its signature proves.
      if (
        addressedTo !== null && addressedTo !== this.#axonHotkey &&
        Keypair.verify(
          requestSignatureMessage(nonce, hotkey, addressedTo, String(uuid), hash),
          signature,
          hotkey,
        )
      ) {
        throw new VerificationError(
          `Request is addressed to hotkey ${addressedTo}, but this axon's hotkey is ` +
            this.#axonHotkey,
        );
      }
      throw new VerificationError(
        `Signature mismatch with ${echoed(message)} and ${echoed(signature)}`,
      );
    }
    this.#lastNonce.set(endpoint, nonce);
  }
}

/**
 * A caller's header text as a refusal repeats it: cut past 300 characters (a real signature has
 * 130, a signed message about 220), so that a 60 KB header is not sent back three times over.
 * The refusal is sent in a header too: an ASCII ellipsis.
 */
function echoed(text: string): string {
  return cutChars(text, MAX_ECHOED, 0, "...");
}
