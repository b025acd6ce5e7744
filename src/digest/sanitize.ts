import { isUtf8 } from "node:buffer";

/**
 * Text that always fits in XML 1.0: invalid UTF-8 and every character XML 1.0
 * forbids replaced by U+FFFD, terminal escape sequences removed, line ends
 * normalised.
 *
 * Why line ends: an XML parser turns CR LF and a lone CR into LF, so the text
 * only round-trips (parse(output) === sanitised text) when we do it first.
 *
 * Log text is cleaned as bytes by clean.ts, which follows these rules byte for
 * byte; this module has the rules as regexes, for the strings of a digest
 * (paths, subjects, notes), and the cutting rules both share.
 *
 * Every rule looks at most ESC_MAX bytes ahead and never across a newline, so
 * a log cleaned piece by piece gives exactly the whole-log result.
 */

/** Longest escape sequence ESC_SEQ can match (OSC/DCS bodies are capped). */
const BODY_MAX = 4096;
export const ESC_MAX = BODY_MAX + 4;

/**
 * ECMA-48 sequences: CSI (ESC [ params intermediates final), OSC (ESC ] … BEL
 * or ESC \), DCS/SOS/PM/APC (ESC P|X|^|_ … ESC \), nF escapes (ESC, intermediates,
 * final) and two-character escapes (ESC + one of 0x30–0x7E). Sequences never
 * span a newline; a truncated one loses its ESC and the character after it.
 * Also the CR of every CR LF (the LF stays).
 */
const ESC_OR_CRLF = new RegExp(
  "\\x1b(?:" +
    "\\[[0-?]{0,64}[ -/]{0,16}[@-~]" +
    `|\\][^\\x07\\x1b\\n]{0,${BODY_MAX}}(?:\\x07|\\x1b\\\\)` +
    `|[PX^_][^\\x1b\\n]{0,${BODY_MAX}}\\x1b\\\\` +
    "|[ -/]{1,8}[0-~]" +
    "|[0-~]" +
    ")|\\r(?=\\n)",
  "g",
);
const LONE_CR_G = /\r/g;
/** C0 controls XML 1.0 forbids (tab and LF are allowed; CR is gone by then), U+FFFE and U+FFFF. */
const NOT_XML_CHAR = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/;
const NOT_XML_CHAR_G = new RegExp(NOT_XML_CHAR.source, "g");

export const REPLACEMENT = "\uFFFD";

/** Clean one decoded string (a path, a subject; lone surrogates count as invalid). */
export function sanitizeText(text: string): string {
  let s = text.isWellFormed() ? text : text.toWellFormed();
  if (s.includes("\x1b") || s.includes("\r")) s = s.replace(ESC_OR_CRLF, "");
  if (s.includes("\r")) s = s.replace(LONE_CR_G, "\n");
  if (NOT_XML_CHAR.test(s)) s = s.replace(NOT_XML_CHAR_G, REPLACEMENT);
  return s;
}

const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
const encoder = new TextEncoder();
let scratch = Buffer.allocUnsafe(0);

/** Invalid UTF-8 → U+FFFD (WHATWG rules, as every decoder does), as bytes (valid input comes back as is). */
export function repairUtf8(bytes: Uint8Array): Uint8Array {
  if (isUtf8(bytes)) return bytes;
  const text = decoder.decode(bytes);
  if (scratch.length < text.length * 3) scratch = Buffer.allocUnsafe(text.length * 3);
  const { written } = encoder.encodeInto(text, scratch);
  return scratch.subarray(0, written);
}

/** Split `]]>` so the text can sit inside CDATA sections. */
export function splitCdataEnd(text: string): string {
  return text.includes("]]>") ? text.replaceAll("]]>", "]]]]><![CDATA[>") : text;
}

/**
 * An attribute value: cleaned, then escaped. Tab and newline become character
 * references because a parser would otherwise turn them into spaces.
 */
export function escapeAttribute(value: string): string {
  return sanitizeText(value).replace(/[&<>"'\t\n]/g, (c) => ATTR_ESCAPES[c]!);
}

const ATTR_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
  "\t": "&#9;",
  "\n": "&#10;",
};

/**
 * Where valid UTF-8 bytes can be cut so that cleaning the pieces apart equals
 * cleaning them together: after the last newline (no rule crosses one); for a
 * line of maxLine bytes or more, ESC_MAX bytes before the end, moved back to
 * the start of an escape sequence it would split (found by the same regex,
 * scanned from the buffer's start, itself such a cut), to the start of a UTF-8
 * character, and before a CR (whose LF may come next). Returns 0 to wait for
 * more bytes.
 */
export function safeCut(bytes: Buffer, length: number, final: boolean, maxLine: number): number {
  if (final || length === 0) return length;
  const nl = bytes.lastIndexOf(0x0a, length - 1);
  if (nl >= 0) return nl + 1;
  if (length < maxLine) return 0;
  let cut = length - ESC_MAX - 16;
  if (cut <= 0) return 0;
  const view = bytes.toString("latin1", 0, length);
  const seq = new RegExp(ESC_OR_CRLF.source, "g");
  for (let m = seq.exec(view); m && m.index < cut; m = seq.exec(view)) {
    if (m.index + m[0].length > cut) {
      cut = m.index;
      break;
    }
  }
  while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
  if (cut > 0 && bytes[cut - 1] === 0x0d) cut--;
  return cut;
}
