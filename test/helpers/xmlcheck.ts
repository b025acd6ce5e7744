/**
 * A small strict XML 1.0 reader for checking digests (tests, benchmark) where
 * xmllint is absent: elements, attributes, character and predefined entity
 * references, CDATA sections, comments and the XML declaration. It rejects
 * any character outside XML 1.0's Char production, unescaped `<` or `&`,
 * `]]>` in text, mismatched or unclosed tags, duplicate attributes and
 * anything after the root element. Line ends are normalised as XML requires.
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
}
export type XmlNode = XmlElement | { text: string; cdata: boolean };

export class XmlError extends Error {}

const NAME = /[A-Za-z_:][-A-Za-z0-9_:.]*/y;
const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

export function parseXml(input: string): XmlElement {
  const text = input.replace(/\r\n?/g, "\n");
  checkChars(text);
  let pos = 0;
  const fail = (what: string): never => {
    const line = text.slice(0, pos).split("\n").length;
    throw new XmlError(`${what} at line ${line} (offset ${pos})`);
  };
  const skipSpace = () => {
    while (pos < text.length && " \t\n".includes(text[pos]!)) pos++;
  };
  const name = (): string => {
    NAME.lastIndex = pos;
    const m = NAME.exec(text);
    if (!m) fail("expected a name");
    pos += m![0].length;
    return m![0];
  };
  const decode = (raw: string, where: string): string =>
    raw.replace(/&([^;]*);|&|</g, (m, ref: string | undefined) => {
      if (m === "&" || m === "<") fail(`unescaped '${m}' in ${where}`);
      if (ref! in ENTITIES) return ENTITIES[ref!]!;
      const num = /^#(?:x([0-9a-fA-F]+)|([0-9]+))$/.exec(ref!);
      if (!num) return fail(`unknown entity &${ref};`);
      const code = num[1] !== undefined ? parseInt(num[1], 16) : Number(num[2]);
      if (!isXmlChar(code)) fail(`character reference &${ref}; is not an XML character`);
      return String.fromCodePoint(code);
    });
  const skipMisc = () => {
    for (;;) {
      skipSpace();
      if (text.startsWith("<!--", pos)) {
        const end = text.indexOf("-->", pos + 4);
        if (end < 0) fail("unclosed comment");
        pos = end + 3;
      } else return;
    }
  };

  if (text.startsWith("<?xml", pos)) {
    const end = text.indexOf("?>", pos);
    if (end < 0) fail("unclosed XML declaration");
    pos = end + 2;
  }
  skipMisc();
  if (text[pos] !== "<") fail("expected the root element");

  const element = (): XmlElement => {
    pos++; // "<"
    const el: XmlElement = { name: name(), attrs: {}, children: [] };
    for (;;) {
      const before = pos;
      skipSpace();
      if (text.startsWith("/>", pos)) {
        pos += 2;
        return el;
      }
      if (text[pos] === ">") {
        pos++;
        break;
      }
      if (pos === before) fail("expected whitespace before an attribute");
      const attr = name();
      skipSpace();
      if (text[pos] !== "=") fail(`expected '=' after ${attr}`);
      pos++;
      skipSpace();
      const quote = text[pos];
      if (quote !== '"' && quote !== "'") fail(`expected a quoted value for ${attr}`);
      const end = text.indexOf(quote!, pos + 1);
      if (end < 0) fail(`unclosed value of ${attr}`);
      if (attr in el.attrs) fail(`duplicate attribute ${attr}`);
      // Attribute-value normalisation: literal whitespace becomes a space.
      el.attrs[attr] = decode(text.slice(pos + 1, end).replace(/[\t\n]/g, " "), `attribute ${attr}`);
      pos = end + 1;
    }
    for (;;) {
      if (pos >= text.length) fail(`unclosed element <${el.name}>`);
      if (text.startsWith("<![CDATA[", pos)) {
        const end = text.indexOf("]]>", pos + 9);
        if (end < 0) fail("unclosed CDATA section");
        el.children.push({ text: text.slice(pos + 9, end), cdata: true });
        pos = end + 3;
      } else if (text.startsWith("<!--", pos)) {
        const end = text.indexOf("-->", pos + 4);
        if (end < 0) fail("unclosed comment");
        pos = end + 3;
      } else if (text.startsWith("</", pos)) {
        pos += 2;
        const closing = name();
        if (closing !== el.name) fail(`</${closing}> closes <${el.name}>`);
        skipSpace();
        if (text[pos] !== ">") fail("expected '>'");
        pos++;
        return el;
      } else if (text[pos] === "<") {
        el.children.push(element());
      } else {
        const next = text.indexOf("<", pos);
        const raw = text.slice(pos, next < 0 ? text.length : next);
        if (raw.includes("]]>")) fail("']]>' in text");
        el.children.push({ text: decode(raw, "text"), cdata: false });
        pos += raw.length;
      }
    }
  };

  const root = element();
  skipMisc();
  if (pos !== text.length) fail("content after the root element");
  return root;
}

export function isXmlChar(code: number): boolean {
  return code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
}

function checkChars(text: string): void {
  const bad = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.exec(text);
  if (bad) {
    const line = text.slice(0, bad.index).split("\n").length;
    throw new XmlError(`character U+${bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")} is not allowed in XML 1.0 at line ${line}`);
  }
}

/** Child elements by name. */
export function childElements(el: XmlElement, name?: string): XmlElement[] {
  return el.children.filter((c): c is XmlElement => "name" in c && (name === undefined || c.name === name));
}

/** The CDATA sections directly inside `el` before its first child element, joined (a `<log>`'s text). */
export function leadingCdata(el: XmlElement): string {
  let out = "";
  for (const c of el.children) {
    if ("name" in c) break;
    if (c.cdata) out += c.text;
  }
  return out;
}
