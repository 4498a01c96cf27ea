/**
 * JSON parsing that refuses a key given twice in one object, where `JSON.parse` keeps the last in
 * silence: config files and replay scripts both read JSON a person wrote.
 *
 * ```ts
 * parseJson('{"books": 1, "books": 3}'); // throws "books: key given twice"
 * ```
 * @module
 */

/**
 * Parses JSON, refusing a key given twice in one object: JSON.parse keeps the last silently, and a
 * second `"books"` would override the first unseen (TOML and the XML importer refuse theirs too).
 */
export function parseJson(text: string): unknown {
  const data = JSON.parse(text);
  // The text is valid JSON from here on: only strings, brackets, colons and commas matter.
  const open: { keys: Set<string> | null; index: number; key: string }[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "{" || c === "[") {
      open.push({ keys: c === "{" ? new Set() : null, index: 0, key: "" });
    } else if (c === "}" || c === "]") open.pop();
    else if (c === ",") open.at(-1)!.index++;
    else if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      const top = open.at(-1);
      let next = end + 1;
      while (" \t\n\r".includes(text[next])) next++;
      if (top?.keys && text[next] === ":") {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        top.key = key;
        if (top.keys.has(key)) throw new Error(`${pathOf(open)}: key given twice`);
        top.keys.add(key);
      }
      i = end;
    }
  }
  return data;
}

/** Path segments shown at each end of a deeper path: an error line stays short. */
const PATH_ENDS = 6;

/** The dotted path of the innermost open key, e.g. `batches.0.responses.2.payload`. */
function pathOf(open: { keys: Set<string> | null; index: number; key: string }[]): string {
  const names = open.map((o) => o.keys === null ? String(o.index) : o.key);
  if (names.length <= 2 * PATH_ENDS + 1) return names.join(".");
  const left = names.length - 2 * PATH_ENDS;
  return [
    ...names.slice(0, PATH_ENDS),
    `(${left} more)`,
    ...names.slice(-PATH_ENDS),
  ].join(".");
}
