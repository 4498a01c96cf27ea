/**
 * A minimal XML reader for simulation config files: elements, attributes, comments, the XML
 * declaration and self-closing tags. Text content is ignored (the config format has none).
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

const entities: Record<string, string> = {
  "&lt;": "<",
  "&gt;": ">",
  "&amp;": "&",
  "&quot;": '"',
  "&apos;": "'",
};

function decode(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos);/g, (entity) => entities[entity]);
}

/** Parses an XML document and returns its root element; throws with a line number on errors. */
export function parseXml(text: string): XmlElement {
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
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
  while (position < text.length) {
    const open = text.indexOf("<", position);
    if (open < 0) break;
    if (text.startsWith("<!--", open)) {
      const end = text.indexOf("-->", open + 4);
      if (end < 0) fail("unterminated comment", open);
      position = end + 3;
      continue;
    }
    if (text.startsWith("<?", open) || text.startsWith("<!", open)) {
      const end = text.indexOf(">", open);
      if (end < 0) fail("unterminated declaration", open);
      position = end + 1;
      continue;
    }
    const close = text.indexOf(">", open);
    if (close < 0) fail("unterminated tag", open);
    const tag = text.slice(open + 1, close);
    position = close + 1;
    if (tag.startsWith("/")) {
      const name = tag.slice(1).trim();
      const top = stack.pop();
      if (top === undefined || top.name !== name) fail(`unexpected closing tag </${name}>`, open);
      continue;
    }
    const selfClosing = tag.endsWith("/");
    const body = selfClosing ? tag.slice(0, -1) : tag;
    const nameMatch = /^\s*([A-Za-z_][\w.:-]*)/.exec(body);
    if (nameMatch === null) fail("bad tag name", open);
    const element: XmlElement = {
      name: nameMatch![1],
      // No prototype: an attribute named __proto__ is just an unknown attribute.
      attributes: Object.create(null),
      children: [],
      line: lineAt(open),
    };
    const attributeText = body.slice(nameMatch![0].length);
    const attributePattern = /\s*([A-Za-z_][\w.:-]*)\s*=\s*("([^"]*)"|'([^']*)')/gy;
    let consumed = 0;
    for (const match of attributeText.matchAll(attributePattern)) {
      // Not well-formed XML, and one of the two values would be silently dropped.
      if (Object.hasOwn(element.attributes, match[1])) {
        fail(`attribute '${match[1]}' given twice in <${element.name}>`, open);
      }
      element.attributes[match[1]] = decode(match[3] ?? match[4]);
      consumed = match.index + match[0].length;
    }
    if (attributeText.slice(consumed).trim() !== "") {
      fail(`malformed attributes in <${element.name}>`, open);
    }
    const parent = stack.at(-1);
    if (parent !== undefined) parent.children.push(element);
    else if (root === undefined) root = element;
    else fail("more than one root element", open);
    if (!selfClosing) stack.push(element);
  }
  if (stack.length > 0) throw new Error(`XML: element <${stack.at(-1)!.name}> is not closed`);
  if (root === undefined) throw new Error("XML: no root element");
  return root;
}
