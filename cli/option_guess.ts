/**
 * The option a mistyped long flag most likely meant, for the refusal of an unknown option: git
 * and cargo name the nearest command the same way.
 * @module
 */

/** Separators differ between commands: the reference's neuron flags use dots, taos's own dashes. */
const canonical = (name: string) => name.replace(/[-._]/g, "-");

/** Edit distance counting insertions, deletions, substitutions and swaps of neighbours. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1);
      }
    }
  }
  return rows[a.length][b.length];
}

/**
 * The known long option `name` (without its dashes) likely stands for: the same words with other
 * separators, else the one within two edits (and within a third of the name's length, so short
 * names are not guessed at), else a known option with a word added (`agent-path` for `agent`).
 * Undefined when none is near or two are equally near.
 */
export function likelyOption(name: string, known: readonly string[]): string | undefined {
  const wanted = canonical(name);
  const sameWords = known.find((option) => canonical(option) === wanted);
  if (sameWords !== undefined) return sameWords;
  let nearest: string | undefined;
  let nearestDistance = Infinity;
  let tied = false;
  for (const option of known) {
    const distance = editDistance(wanted, canonical(option));
    if (distance > 2 || distance * 3 > wanted.length) continue;
    if (distance < nearestDistance) [nearest, nearestDistance, tied] = [option, distance, false];
    else if (distance === nearestDistance) tied = true;
  }
  if (nearest !== undefined) return tied ? undefined : nearest;
  const extended = known.filter((option) => wanted.startsWith(`${canonical(option)}-`));
  return extended.sort((a, b) => b.length - a.length)[0];
}
