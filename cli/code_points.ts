/**
 * Cutting text by characters counted as code points: a cut between the two halves of a surrogate
 * pair would leave half of one, which prints as a replacement character or breaks a JSON body.
 * @module
 */

/** The first `count` characters of `text`. */
export function firstChars(text: string, count: number): string {
  // Never more code points than UTF-16 units.
  if (text.length <= count) return text;
  let end = 0;
  for (let chars = 0; chars < count && end < text.length; chars++) {
    end += text.codePointAt(end)! > 0xffff ? 2 : 1;
  }
  return text.slice(0, end);
}

/**
 * `text` when it has at most `max` characters; else its first `max - room` followed by
 * `… (k more characters)`. A note no longer than `room` keeps the result within `max`, so cutting
 * it again changes nothing. `ellipsis` replaces the `…` where the text must stay ASCII (an HTTP
 * header carries no other).
 */
export function cutChars(text: string, max: number, room = 0, ellipsis = "…"): string {
  if (firstChars(text, max).length === text.length) return text;
  const kept = max - room;
  return `${firstChars(text, kept)}${ellipsis} (${moreChars(charCount(text) - kept)})`;
}

/**
 * `text` in single quotes, cut as {@linkcode cutChars} cuts it to `max` characters, but with the
 * note after the closing quote (`'abc…' (k more characters)`), where it cannot be read as part of
 * the text.
 */
export function quotedChars(text: string, max: number, ellipsis = "…"): string {
  const kept = firstChars(text, max);
  if (kept.length === text.length) return `'${text}'`;
  return `'${kept}${ellipsis}' (${moreChars(charCount(text) - max)})`;
}

/** `k more characters`, for the note after a cut. */
export function moreChars(count: number): string {
  return `${count} more character${count === 1 ? "" : "s"}`;
}

/** How many characters `text` has. */
export function charCount(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; count++) i += text.codePointAt(i)! > 0xffff ? 2 : 1;
  return count;
}
