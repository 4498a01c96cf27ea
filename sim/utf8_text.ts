/**
 * The text of a file a person wrote (a config file, a replay script): UTF-8, a leading byte-order
 * mark dropped, anything else refused by what it is rather than read with replacement characters.
 * @module
 */

/** `bytes` as UTF-8 text; throws `UTF-16 text; save it as UTF-8` or `not UTF-8 text`. */
export function decodeUtf8Text(bytes: Uint8Array): string {
  if (bytes[0] === 0xFF && bytes[1] === 0xFE || bytes[0] === 0xFE && bytes[1] === 0xFF) {
    throw new Error("UTF-16 text; save it as UTF-8");
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new Error("not UTF-8 text");
  }
}
