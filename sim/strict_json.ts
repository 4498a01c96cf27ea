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
  const data = parsePlaced(text);
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

/**
 * `JSON.parse`, with an unexpected token placed as the parser's other syntax errors are: its own
 * message quotes the text around the token instead (the whole of a small file, line ends and
 * all), which says neither the line nor the column.
 */
function parsePlaced(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const token = /^Unexpected token '[^]*?', .* is not valid JSON$/s.test(
      (error as Error).message,
    );
    if (!token) throw error;
    const at = syntaxErrorOffset(text);
    const shown = JSON.stringify(String.fromCodePoint(text.codePointAt(at)!)).slice(1, -1)
      .replaceAll("'", "\\'");
    throw new SyntaxError(`Unexpected token '${shown}' in JSON at ${place(text, at)}`);
  }
}

/** `position N (line L column C)`, lines ending at CRLF, CR or LF as the parser counts them. */
function place(text: string, offset: number): string {
  const lines = text.slice(0, offset).split(/\r\n|\r|\n/);
  return `position ${offset} (line ${lines.length} column ${lines.at(-1)!.length + 1})`;
}

/**
 * Where the JSON in `text` first goes wrong: the offset of the first character that cannot
 * continue it. Strings and numbers are only skipped over, since the parser places their errors
 * itself. Iterative, so that nesting as deep as the parser takes cannot overflow the stack.
 */
function syntaxErrorOffset(text: string): number {
  const closers: string[] = [];
  let i = 0;
  const skipSpace = () => {
    while (text[i] === " " || text[i] === "\t" || text[i] === "\n" || text[i] === "\r") i++;
  };
  const skipString = () => {
    for (i++; i < text.length && text[i] !== '"'; i += text[i] === "\\" ? 2 : 1);
    i++;
  };
  let expect: "value" | "key" | "after" = "value";
  while (i < text.length) {
    skipSpace();
    const c = text[i];
    if (expect === "key") {
      if (c !== '"') return i;
      skipString();
      skipSpace();
      if (text[i] !== ":") return i;
      i++;
      expect = "value";
    } else if (expect === "after") {
      if (c === ",") {
        i++;
        expect = closers.at(-1) === "}" ? "key" : "value";
      } else if (c !== undefined && c === closers.at(-1)) {
        closers.pop();
        i++;
      } else return i;
    } else if (c === "{" || c === "[") {
      closers.push(c === "{" ? "}" : "]");
      i++;
      skipSpace();
      if (text[i] === closers.at(-1)) {
        closers.pop();
        i++;
        expect = "after";
      } else expect = c === "{" ? "key" : "value";
    } else if (c === '"') {
      skipString();
      expect = "after";
    } else {
      const number = /-?\d+(\.\d+)?([eE][+-]?\d+)?/y;
      number.lastIndex = i;
      const literal = ["true", "false", "null"].find((word) => word[0] === c);
      if (number.test(text)) i = number.lastIndex;
      else if (literal === undefined) return i;
      else {
        for (const letter of literal) {
          if (text[i] !== letter) return i;
          i++;
        }
      }
      expect = "after";
    }
  }
  return i;
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
