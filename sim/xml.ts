/**
 * A small, strict XML reader for simulation config files: elements, attributes, comments, CDATA,
 * processing instructions and the XML declaration. Text content is skipped (the config format has
 * none). A DOCTYPE is refused: entity declarations are a way to make a tiny file expand without
 * bound, and the format never needs one. Nesting depth and element count are bounded, so a hostile
 * file is refused instead of exhausting memory.
 * @module
 */

/** One parsed element. */
export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** 1-based line of the opening tag, for messages. */
  line: number;
}

/** Deepest element nesting accepted; the reference's format is 5 deep. */
export const MAX_XML_DEPTH = 64;
/** Most elements accepted in one document; the reference's production file has about 40. */
export const MAX_XML_ELEMENTS = 10_000;

const entities: Record<string, string> = Object.assign(Object.create(null), {
  lt: "<",
  gt: ">",
  amp: "&",
  quot: '"',
  apos: "'",
});

/** Characters XML 1.0 does not allow anywhere in a document (C0 controls but tab, LF, CR). */
// deno-lint-ignore no-control-regex -- the control characters are what it looks for
const FORBIDDEN_CHARACTER = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

const NAME = /[A-Za-z_][\w.:-]*/y;
const ATTRIBUTE = /\s+([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/y;
const TAG_END = /\s*(\/?)>/y;

/** Parses an XML document and returns its root element; throws with a line number on errors. */
export function parseXml(text: string): XmlElement {
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let elements = 0;
  let position = 0;
  // Lines are counted on from the last position asked for: tags come in document order, so the
  // whole parse counts each newline once (counting from the start each time was quadratic).
  let counted = 0;
  let lines = 1;
  const lineAt = (index: number) => {
    if (index < counted) return text.slice(0, index).split("\n").length;
    for (
      let i = text.indexOf("\n", counted);
      i !== -1 && i < index;
      i = text.indexOf("\n", i + 1)
    ) {
      lines++;
    }
    counted = index;
    return lines;
  };
  const fail = (message: string, index: number): never => {
    throw new Error(`XML line ${lineAt(index)}: ${message}`);
  };
  const forbidden = FORBIDDEN_CHARACTER.exec(text);
  if (forbidden !== null) {
    const code = forbidden[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0");
    fail(`character U+${code} is not allowed in XML`, forbidden.index);
  }
  /** Skips from `start` past `terminator`, or fails naming what was left open. */
  const skipPast = (start: number, terminator: string, what: string) => {
    const end = text.indexOf(terminator, start);
    if (end < 0) fail(`unterminated ${what}`, start);
    return end + terminator.length;
  };
  const decode = (value: string, attribute: string, tag: string, at: number) =>
    value.replace(/&([^;&\s]*);?|</g, (match, name: string) => {
      if (match === "<") {
        fail(`'<' in the value of attribute ${attribute} of <${tag}> (write &lt;)`, at);
      }
      const character = match.endsWith(";") ? reference(name) : undefined;
      if (character === undefined) {
        fail(
          `'${match}' in the value of attribute ${attribute} of <${tag}> is not an entity ` +
            "(write & as &amp;)",
          at,
        );
      }
      return character!;
    });
  while (position < text.length) {
    const open = text.indexOf("<", position);
    const textEnd = open < 0 ? text.length : open;
    // Text inside elements is skipped; outside the root it can only be a mistake.
    if (stack.length === 0 && text.slice(position, textEnd).trim() !== "") {
      fail(`text outside the root element`, position + text.slice(position).search(/\S/));
    }
    if (open < 0) break;
    if (text.startsWith("<!--", open)) {
      position = skipPast(open + 4, "-->", "comment");
      continue;
    }
    if (text.startsWith("<![CDATA[", open)) {
      if (stack.length === 0) fail("CDATA outside the root element", open);
      position = skipPast(open + 9, "]]>", "CDATA section");
      continue;
    }
    if (text.startsWith("<?", open)) {
      position = skipPast(open + 2, "?>", "processing instruction");
      continue;
    }
    if (text.startsWith("<!DOCTYPE", open)) {
      fail("a DOCTYPE is not accepted (a config needs no DTD or entity declarations)", open);
    }
    if (text.startsWith("<!", open)) fail("unexpected markup '<!'", open);
    if (text.startsWith("</", open)) {
      NAME.lastIndex = open + 2;
      const name = NAME.exec(text)?.[0] ?? "";
      const close = text.indexOf(">", open);
      if (close < 0) fail("unterminated tag", open);
      if (text.slice(open + 2 + name.length, close).trim() !== "") {
        fail(`malformed closing tag </${name}>`, open);
      }
      const top = stack.pop();
      if (top === undefined || top.name !== name) {
        fail(
          `unexpected closing tag </${name}>` +
            (top === undefined ? "" : ` (<${top.name}> of line ${top.line} is open)`),
          open,
        );
      }
      position = close + 1;
      continue;
    }
    NAME.lastIndex = open + 1;
    const name = NAME.exec(text)?.[0];
    if (name === undefined) fail("bad tag name", open);
    if (++elements > MAX_XML_ELEMENTS) fail(`more than ${MAX_XML_ELEMENTS} elements`, open);
    if (stack.length >= MAX_XML_DEPTH) {
      fail(`elements nested more than ${MAX_XML_DEPTH} deep`, open);
    }
    const element: XmlElement = {
      name: name!,
      // No prototype: an attribute named __proto__ is just an unknown attribute.
      attributes: Object.create(null),
      children: [],
      line: lineAt(open),
    };
    position = open + 1 + name!.length;
    for (;;) {
      ATTRIBUTE.lastIndex = position;
      const match = ATTRIBUTE.exec(text);
      if (match === null) break;
      // Not well-formed XML, and one of the two values would be silently dropped.
      if (Object.hasOwn(element.attributes, match[1])) {
        fail(`attribute '${match[1]}' given twice in <${element.name}>`, open);
      }
      element.attributes[match[1]] = decode(match[2] ?? match[3], match[1], element.name, open);
      position = ATTRIBUTE.lastIndex;
    }
    TAG_END.lastIndex = position;
    const end = TAG_END.exec(text);
    if (end === null) {
      fail(
        text.indexOf(">", position) < 0
          ? "unterminated tag"
          : `malformed attributes in <${element.name}>`,
        open,
      );
    }
    position = TAG_END.lastIndex;
    const parent = stack.at(-1);
    if (parent !== undefined) parent.children.push(element);
    else if (root === undefined) root = element;
    else fail("more than one root element", open);
    if (end![1] !== "/") stack.push(element);
  }
  if (stack.length > 0) {
    const open = stack.at(-1)!;
    throw new Error(`XML: element <${open.name}> of line ${open.line} is not closed`);
  }
  if (root === undefined) throw new Error("XML: no root element");
  return root;
}

/** The character of an entity or character reference (without `&` and `;`), if it is one. */
function reference(name: string): string | undefined {
  if (!name.startsWith("#")) return entities[name];
  const code = /^#x[0-9A-Fa-f]{1,6}$/.test(name)
    ? parseInt(name.slice(2), 16)
    : /^#[0-9]{1,7}$/.test(name)
    ? parseInt(name.slice(1), 10)
    : NaN;
  const allowed = code === 0x9 || code === 0xA || code === 0xD ||
    (code >= 0x20 && code <= 0x10FFFF && !(code >= 0xD800 && code <= 0xDFFF) &&
      code !== 0xFFFE && code !== 0xFFFF);
  return allowed ? String.fromCodePoint(code) : undefined;
}
