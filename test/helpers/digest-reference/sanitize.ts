// Frozen reference: src/digest/sanitize.ts as 0.1 shipped it (see index.ts). Do not edit.
import { isUtf8 } from "node:buffer";

/**
 * Text that always fits in XML 1.0: invalid UTF-8 and every character XML 1.0
 * forbids replaced by U+FFFD, terminal escape sequences removed, line ends
 * normalised.
 *
 * Why line ends: an XML parser turns CR LF and a lone CR into LF, so the text
 * only round-trips (parse(output) === sanitised text) when we do it first.
 *
 * Logs are cleaned as bytes (sanitizeUtf8): every rule is about ASCII, which
 * UTF-8 never uses inside a multi-byte character, so the regexes run over a
 * Latin-1 view of the bytes (one byte per character: half the memory of
 * decoded text, and faster) and the bytes go out unchanged. Other strings
 * (paths, subjects) use sanitizeText, the same rules over decoded text.
 *
 * Every rule looks at most ESC_MAX bytes ahead and never across a newline, so
 * a log cleaned piece by piece (LogPieces) gives exactly the whole-log result.
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
/** C0 controls XML 1.0 forbids (tab and LF are allowed; CR is gone by then). */
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f]/;
const CONTROL_G = new RegExp(CONTROL.source, "g");
/** Also U+FFFE and U+FFFF, for decoded text. */
const NOT_XML_CHAR = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/;
const NOT_XML_CHAR_G = new RegExp(NOT_XML_CHAR.source, "g");
/** U+FFFE and U+FFFF as UTF-8 bytes in a Latin-1 view. */
const NONCHAR_BYTES_G = /\xef\xbf[\xbe\xbf]/g;

export const REPLACEMENT = "\uFFFD";
const REPLACEMENT_BYTES = "\xef\xbf\xbd";

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

/**
 * Clean UTF-8 bytes; returns the clean UTF-8 as a Latin-1 string (one char per
 * byte), to be written with the "latin1" encoding. A BOM is kept: it is text.
 */
export function sanitizeUtf8(bytes: Uint8Array): string {
  const valid = repairUtf8(bytes);
  let s = Buffer.from(valid.buffer, valid.byteOffset, valid.byteLength).toString("latin1");
  if (s.includes("\x1b") || s.includes("\r")) s = s.replace(ESC_OR_CRLF, "");
  if (s.includes("\r")) s = s.replace(LONE_CR_G, "\n");
  if (CONTROL.test(s)) s = s.replace(CONTROL_G, REPLACEMENT_BYTES);
  if (s.includes("\xef\xbf")) s = s.replace(NONCHAR_BYTES_G, REPLACEMENT_BYTES);
  return s;
}

/** The text a Latin-1 view of UTF-8 bytes stands for (tests, small strings). */
export function latin1ToText(latin1: string): string {
  return Buffer.from(latin1, "latin1").toString("utf8");
}

/** Split `]]>` so the text can sit inside CDATA sections (works on text and on Latin-1 views). */
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

/**
 * Where a buffer of raw bytes can be split without splitting a UTF-8
 * character that may be completed by the bytes after it: before the lead byte
 * of an incomplete last character, else at the end. The decoder is in its
 * initial state before any byte that is not a continuation byte, so repairing
 * the two sides apart gives the same text as repairing them together.
 */
export function utf8SafeEnd(bytes: Uint8Array, length: number): number {
  let lead = length - 1;
  while (lead >= 0 && lead > length - 4 && (bytes[lead]! & 0xc0) === 0x80) lead--;
  if (lead < 0) return length;
  const b = bytes[lead]!;
  const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
  return length - lead < need ? lead : length;
}
