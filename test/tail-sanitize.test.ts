import { describe, expect, test, afterAll } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sanitizeText, splitCdataEnd, escapeAttribute, safeCut, ESC_MAX } from "../src/digest/sanitize.ts";
import { parseXml, childElements, leadingCdata } from "./helpers/xmlcheck.ts";
import { DigestWriter } from "../src/digest/render.ts";
import { referenceCleanPieces, referenceSanitizeUtf8 as sanitizeUtf8, latin1ToText } from "./helpers/digest-reference/index.ts";
import { rng, nastyBytes, MemorySink, referenceLog, XMLLINT, xmllint } from "./fixtures/tail/helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "orch-tail-sanitize-"));
afterAll(() => { if (!process.env.KEEPX) rmSync(dir, { recursive: true, force: true }); });

const decode = (b: Uint8Array) => new TextDecoder("utf-8", { fatal: false, ignoreBOM: true }).decode(b);
/** 0.1's byte cleaner (the reference), as text. */
const clean = (b: Uint8Array) => latin1ToText(sanitizeUtf8(b));
const bytes = (...parts: (string | number[] | Buffer)[]) => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "utf8") : Buffer.from(p))));
const withNewline = (s: string) => (s.endsWith("\n") ? s : s + "\n");

/** One <log> written by DigestWriter with these read sizes: its bytes, and its text parsed back. */
function written(file: string, pieces: { chunk?: number; maxLine?: number } = {}): { bytes: Buffer; text: string } {
  const sink = new MemorySink();
  const writer = new DigestWriter(sink, { realRoot: null, maxBytes: 0 }, pieces);
  writer.begin({ prefix: "p", count: 1, source: "logs" });
  writer.log({ role: "galph", iteration: 1, display: file, file, source: "log", format: "text" });
  writer.end();
  const log = childElements(parseXml(sink.text()), "log")[0]!;
  return { bytes: sink.bytes(), text: leadingCdata(log).slice(1, -4) };
}
const writtenText = (file: string, pieces: { chunk?: number; maxLine?: number } = {}) => written(file, pieces).text;
let files = 0;
/** The byte cleaner's text for these bytes, read back from a one-log digest (which ends it with a newline). */
function cleaned(bytes: Uint8Array): string {
  const file = join(dir, `clean-${files++}.log`);
  writeFileSync(file, bytes);
  return writtenText(file);
}

const XML_CHAR_ONLY = /^[\t\n\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]*$/u;

describe("sanitizeText and the byte cleaner", () => {
  test("removes ANSI and other terminal escape sequences", () => {
    expect(sanitizeText("a\x1b[1;31mred\x1b[0m b")).toBe("ared b");
    expect(sanitizeText("\x1b]0;window title\x07after")).toBe("after");
    expect(sanitizeText("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\")).toBe("link");
    expect(sanitizeText("\x1bP1$r\x1b\\x \x1b(B y \x1b7z")).toBe("x  y z");
  });

  test("replaces characters outside XML 1.0 with U+FFFD, keeps tab, newline and the rest", () => {
    expect(sanitizeText("a\0b\x07c\x0bd\x1fe\ufffef\uffff")).toBe("a\ufffdb\ufffdc\ufffdd\ufffde\ufffdf\ufffd");
    expect(sanitizeText("tab\there\nnext \x7f é 😀")).toBe("tab\there\nnext \x7f é 😀");
    expect(sanitizeText("lone \ud800 surrogate \udc00")).toBe("lone \ufffd surrogate \ufffd");
    expect(sanitizeText("a lone ESC \x1b")).toBe("a lone ESC \ufffd");
  });

  test("normalises CR LF and lone CR to LF (what an XML parser would do)", () => {
    expect(sanitizeText("a\r\nb\rc\r")).toBe("a\nb\nc\n");
    expect(sanitizeText("progress 10%\x1b[K\r\n")).toBe("progress 10%\n");
  });

  test("invalid UTF-8 becomes U+FFFD; a BOM is kept", () => {
    for (const text of [clean, cleaned]) {
      expect(text(bytes("a", [0xff], "b", [0xc3, 0x28], "c", [0xed, 0xa0, 0x80], "\n"))).toBe("a\ufffdb\ufffd(c\ufffd\ufffd\ufffd\n");
      expect(text(bytes([0xef, 0xbb, 0xbf], "x\n"))).toBe("\ufeffx\n");
      expect(text(bytes("\uffff and \ufffe \ufffd \uffef\n"))).toBe("\ufffd and \ufffd \ufffd \uffef\n");
    }
  });

  test("the byte cleaner removes what sanitizeText removes", () => {
    const input = bytes("a\x1b[1;31mred\x1b[0m \x1b]0;t\x07\x1b]8;;u\x1b\\l\x1bP1$r\x1b\\ \x1b(B \x1b7z \x1b \0\x07\r\n\rq\r\x1b[65;", "1".repeat(70), "m\n");
    expect(cleaned(input)).toBe(sanitizeText(input.toString("utf8")));
  });

  test("property: the byte cleaner, the reference and sanitizeText agree, and only XML characters remain", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const input = nastyBytes(rng(seed), 1 + (seed % 97) * 7);
      const fromBytes = clean(input);
      expect({ seed, out: fromBytes }).toEqual({ seed, out: sanitizeText(decode(input)) });
      expect({ seed, out: cleaned(input) }).toEqual({ seed, out: withNewline(fromBytes) });
      expect(XML_CHAR_ONLY.test(fromBytes)).toBe(true);
      expect(fromBytes.includes("\x1b")).toBe(false);
      expect(fromBytes.includes("\r")).toBe(false);
    }
  });
});

describe("pieces", () => {
  test("property: any read sizes give the reference's bytes, and the text round-trips", () => {
    for (let seed = 1; seed <= 60; seed++) {
      const random = rng(seed * 7919);
      // Long lines (few newlines) so the forced cut is exercised with small buffers.
      let input = nastyBytes(random, 2000 + Math.floor(random() * 20000));
      if (seed % 2 === 0) input = Buffer.from(input.filter((b) => b !== 0x0a));
      const file = join(dir, `piece-${seed}.log`);
      writeFileSync(file, input);
      const whole = sanitizeUtf8(input);
      const sizes = [[7, ESC_MAX + 100], [64, ESC_MAX + 100], [4096, 8192], [65536, 65536]] as const;
      for (const [chunk, maxLine] of seed <= 10 ? [[1, ESC_MAX + 100] as const, ...sizes] : sizes) {
        const pieces: string[] = [];
        referenceCleanPieces(file, (p) => pieces.push(p), { chunk, maxLine });
        expect({ seed, chunk, text: pieces.join("") === whole }).toEqual({ seed, chunk, text: true });
        const out = written(file, { chunk, maxLine });
        expect({ seed, chunk, same: out.bytes.equals(referenceLog(file, { chunk, maxLine })) }).toEqual({ seed, chunk, same: true });
        expect({ seed, chunk, roundTrip: out.text === withNewline(latin1ToText(whole)) }).toEqual({ seed, chunk, roundTrip: true });
      }
    }
  }, 30_000);

  test("`]]>` made of two pieces is still split: long lines of brackets", () => {
    const file = join(dir, "brackets.log");
    const input = Buffer.from(Array.from({ length: 3000 }, (_, i) => "]".repeat(1 + (i % 4)) + (i % 3 ? ">" : "\x1b[0m>")).join(""));
    writeFileSync(file, input);
    let joints = 0;
    let tail = "";
    referenceCleanPieces(file, (p) => {
      if ((tail + p.slice(0, 2)).includes("]]>")) joints++;
      tail = (tail + p).slice(-2);
    }, { chunk: 100, maxLine: ESC_MAX + 100 });
    expect(joints).toBeGreaterThan(0);
    const out = written(file, { chunk: 100, maxLine: ESC_MAX + 100 });
    expect(out.text).toBe(withNewline(clean(input)));
    expect(out.bytes.equals(referenceLog(file, { chunk: 100, maxLine: ESC_MAX + 100 }))).toBe(true);
    if (XMLLINT) expect(xmllint(out.bytes)).toEqual({ ok: true, errors: "" });
  });

  test("a forced cut never splits an escape sequence, a UTF-8 character or CR LF", () => {
    const line = Buffer.alloc(10_000, "x");
    const cases = [
      bytes(line, "\x1b]0;", "t".repeat(3000), "\x07tail"),
      bytes(line, "\x1b]0;", "t".repeat(300), "\x1b\\", "u".repeat(4000)),
      bytes(line, "\x1b]0;", "日".repeat(1000), "\x1b\\", "u".repeat(4000)),
      bytes(line, "日本語".repeat(2000)),
      bytes(line, "\r\n", "v".repeat(5000)),
      bytes(line, "\r".repeat(5000), "\n"),
    ];
    for (const input of cases) {
      for (let end = 9_000; end <= input.length; end += 37) {
        const cut = safeCut(input, end, false, 9_000);
        expect(cut).toBeGreaterThan(0);
        expect(clean(input.subarray(0, cut)) + clean(input.subarray(cut))).toBe(clean(input));
      }
    }
  });
});

describe("CDATA and attributes", () => {
  test("`]]>` is split across CDATA sections and reads back as it was", () => {
    for (const text of ["]]>", "a]]>b]]>", "]]]]>>", "]]]>", "x]]"]) {
      const doc = parseXml(`<r><![CDATA[${splitCdataEnd(text)}]]></r>`);
      expect(doc.children.map((c) => ("text" in c ? c.text : "")).join("")).toBe(text);
    }
  });

  test("attributes are cleaned and escaped, whitespace survives as character references", () => {
    const value = `a&b<c>d"e'f\tg\nh\x1b[31mi\0j`;
    const escaped = escapeAttribute(value);
    expect(escaped).toBe("a&amp;b&lt;c&gt;d&quot;e&apos;f&#9;g&#10;hi\ufffdj");
    expect(parseXml(`<r a="${escaped}"/>`).attrs.a).toBe(sanitizeText(value));
  });
});
