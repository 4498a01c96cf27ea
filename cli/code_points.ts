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
 * it again changes nothing.
 */
export function cutChars(text: string, max: number, room = 0): string {
  if (firstChars(text, max).length === text.length) return text;
  const kept = max - room;
  return `${firstChars(text, kept)}… (${charCount(text) - kept} more characters)`;
}

/** How many characters `text` has. */
export function charCount(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; count++) i += text.codePointAt(i)! > 0xffff ? 2 : 1;
  return count;
}
