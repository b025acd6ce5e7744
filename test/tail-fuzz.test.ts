// Fuzz: random bytes through the byte-level fast path give exactly the bytes of 0.1's string implementation
// (frozen in test/helpers/digest-reference), xmllint (or the built-in strict reader) accepts them, and each
// log's CDATA parses back to the sanitised text.
import { describe, expect, test, afterAll } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DigestWriter, type LogEntry } from "../src/digest/render.ts";
import { ESC_MAX } from "../src/digest/sanitize.ts";
import { latin1ToText, referenceSanitizeUtf8 } from "./helpers/digest-reference/index.ts";
import { MemorySink, nastyBytes, readDigest, referenceDigest, rng, XMLLINT, xmllint } from "./fixtures/tail/helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "orch-tail-fuzz-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HEADER = { prefix: "fuzz", count: 0, source: "logs" };
type Sizes = { chunk?: number; maxLine?: number };

/** The fast path's digest of these entries (no cap: 0.1 had none). */
function fastDigest(entries: LogEntry[], sizes: Sizes): Buffer {
  const sink = new MemorySink();
  const writer = new DigestWriter(sink, { realRoot: null, maxBytes: 0 }, sizes);
  writer.begin(HEADER);
  for (const entry of entries) writer.log(entry);
  writer.end();
  return sink.bytes();
}

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

/** Escape sequences of every kind, whole, cut short, over-long, with bodies near the 4096-byte cap. */
function escapes(random: () => number): Buffer {
  const body = (n: number) => "b".repeat(n);
  const kinds = [
    "\x1b[31m", "\x1b[1;32;48;5;200m", "\x1b[?25l", "\x1b[" + "1".repeat(64) + "m", "\x1b[" + "1".repeat(65) + "m", "\x1b[" + " ".repeat(17) + "m",
    "\x1b]0;title\x07", "\x1b]8;;http://x\x1b\\", `\x1b]0;${body(4096)}\x07`, `\x1b]0;${body(4097)}\x07`, "\x1b]0;no end\n",
    "\x1bP1;2q\x1b\\", `\x1b_${body(4095)}\x1b\\`, "\x1bX\x07still dcs\x1b\\", "\x1b^", "\x1b(B", "\x1b" + " ".repeat(9) + "0", "\x1b#8",
    "\x1b7", "\x1b", "\x1b\n", "\x1b\x1b[0m", "\x1b\x7f", "\x1b]0;é日\x07",
  ];
  return Buffer.from(pick(random, kinds), "utf8");
}

/** Bytes for one log: nasty atoms, escape sequences, long lines, `]]>` planted where reads and cuts fall. */
function fuzzLog(random: () => number, sizes: Sizes): Buffer {
  const parts: Buffer[] = [];
  const target = Math.floor(random() * (random() < 0.2 ? 120_000 : 12_000));
  let size = 0;
  while (size < target) {
    const r = random();
    let part: Buffer;
    if (r < 0.55) part = nastyBytes(random, 1 + Math.floor(random() * 200));
    else if (r < 0.75) part = escapes(random);
    else if (r < 0.85) part = Buffer.from(pick(random, ["\r\n", "\r", "\n", "\r\r\n", "\n\r", "\t"]));
    else if (r < 0.95) part = Buffer.from(pick(random, [[0xef, 0xbf, 0xbe], [0xef, 0xbf, 0xbf], [0xef, 0xbf, 0xbd], [0x00], [0xff], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xed, 0xa0, 0x80]]));
    else part = Buffer.from("x".repeat(Math.floor(random() * 9000))); // a line longer than a read: a forced cut
    parts.push(part);
    size += part.length;
  }
  const bytes = Buffer.concat(parts);
  // `]]>` (and its pieces) exactly across read-chunk boundaries.
  const chunk = sizes.chunk ?? 64 * 1024;
  for (let at = chunk; at < bytes.length - 3; at += chunk) {
    if (random() < 0.6) Buffer.from(pick(random, ["]]>", "]]]>", "]]>]]>"])).copy(bytes, at - 1 - Math.floor(random() * 3));
  }
  return bytes;
}

/**
 * A log in which no `]]>` split and no U+FFFE/FFFF can arise (no `]]`, no `]` before ESC, no EF BF): the
 * scanner's lighter word test (TextStreamer.rareBytes) is then the one that runs.
 */
function plainLog(random: () => number): Buffer {
  const bytes = Buffer.from(nastyBytes(random, 2000 + Math.floor(random() * 60_000)));
  for (let i = 0; i + 1 < bytes.length; i++) {
    if (bytes[i] === 0x5d && (bytes[i + 1] === 0x5d || bytes[i + 1] === 0x1b)) bytes[i] = 0x78;
    if (bytes[i] === 0xef && bytes[i + 1] === 0xbf) bytes[i] = 0x78;
  }
  return bytes;
}

/**
 * Valid UTF-8 with control characters, escape sequences, CR, tabs, `]]>` (also inside sequences and after one that
 * takes a `]`), but (in half of them) no `]` before ESC and no EF BF: the pieces of such a log go through
 * cleanPlain, the loop for plain text (long spans copied in one go); the others through clean() without validation.
 */
function validLog(random: () => number): Buffer {
  const atoms = [
    "\x1b[31m", "\x1b[0m", "\x1b]0;t\x07", "\x1b(B", "\x1b", "\x1b[", "\r\n", "\r", "\n", "\t", "\0", "\x07", "\x0b", "\x1f", "\x7f",
    "é", "日本", "😀", ">", "]", "]]", "]]>", "]]]>", "]]>]]>", "\x1b[1]]>", "\x1b]0;a]]>b\x07>", "]]\r>", "&<", "a".repeat(300), "ok ",
  ];
  const parts: string[] = [];
  const target = Math.floor(random() * (random() < 0.2 ? 150_000 : 20_000));
  for (let size = 0; size < target; ) {
    const part = random() < 0.6 ? "x".repeat(Math.floor(random() * 700)) : pick(random, atoms);
    parts.push(part);
    size += part.length;
  }
  const text = parts.join("");
  // Half of them keep a `]` before ESC and get U+FFFE/U+FFFF: valid text that needs clean()'s rarer tests.
  return Buffer.from(random() < 0.5 ? text.replaceAll("]\x1b", "]x") : text.replaceAll("ok ", "\ufffe]\x1b[0m]>\uffff"), "utf8");
}

/** Attribute values and listed names that need escaping or cleaning. */
function oddText(random: () => number): string {
  return nastyBytes(random, 1 + Math.floor(random() * 40)).toString("utf8");
}

const SIZES: Sizes[] = [{}, { chunk: 7, maxLine: ESC_MAX + 100 }, { chunk: 64, maxLine: ESC_MAX + 100 }, { chunk: 4096, maxLine: 8192 }];

describe("fuzz: the fast path against 0.1's writer", () => {
  if (!XMLLINT) test.skip("xmllint is not installed (apt-get install libxml2-utils); the built-in checker still runs", () => {});

  test("random logs and attributes: byte-identical, well-formed, text round-trips", () => {
    let logs = 0;
    let splits = 0;
    for (let seed = 1; seed <= 80; seed++) {
      const random = rng(seed * 7723);
      const sizes = SIZES[seed % SIZES.length]!;
      const entries: LogEntry[] = [];
      const texts: string[] = [];
      for (let k = 0; k < 1 + Math.floor(random() * 4); k++) {
        const file = join(dir, `fuzz-${seed}-${k}.log`);
        const bytes = k === 1 ? plainLog(random) : k === 2 ? validLog(random) : fuzzLog(random, sizes);
        writeFileSync(file, bytes);
        texts.push(latin1ToText(referenceSanitizeUtf8(bytes)));
        const annotated = random() < 0.7;
        entries.push({
          role: pick(random, ["galph", "ralph"]),
          iteration: Math.floor(random() * 100_000),
          display: random() < 0.5 ? `logs/fuzz/galph/iter-0000${k}_${oddText(random)}.log` : file,
          file,
          source: "log",
          format: "text",
          commit: annotated ? { short: "abc1234", subject: `[SYNC i=${k}] actor=galph \u2192 next=ralph status=ok ${oddText(random)}` } : undefined,
          ls: annotated && random() < 0.6 ? [{ path: "docs", commit: "abc1234", files: Array.from({ length: Math.floor(random() * 4) }, () => `docs/${oddText(random)}`) }, { path: "plans", commit: "abc1234", files: [] }] : undefined,
        });
        logs++;
      }
      const fast = fastDigest(entries, sizes);
      const reference = referenceDigest(HEADER, entries, sizes);
      if (!fast.equals(reference)) {
        let at = 0;
        while (fast[at] === reference[at]) at++;
        throw new Error(`seed ${seed} (${JSON.stringify(sizes)}): first difference at byte ${at}: ${JSON.stringify(fast.subarray(at - 20, at + 20).toString("latin1"))} vs ${JSON.stringify(reference.subarray(at - 20, at + 20).toString("latin1"))}`);
      }
      splits += fast.toString("latin1").split("]]><![CDATA[").length - 1;
      if (XMLLINT) expect({ seed, lint: xmllint(fast) }).toEqual({ seed, lint: { ok: true, errors: "" } });
      const parsed = readDigest(fast.toString("utf8")).logs; // the built-in strict reader, always
      parsed.forEach((log, k) => {
        const expected = texts[k]!.endsWith("\n") ? texts[k]! : texts[k]! + "\n";
        expect({ seed, k, same: log.text === expected }).toEqual({ seed, k, same: true });
      });
    }
    expect(logs).toBeGreaterThan(150);
    expect(splits).toBeGreaterThan(100); // `]]>` split, inside pieces and where they meet
  });

  test("a log that cannot be read is reported in its place as 0.1 did", () => {
    const missing = join(dir, "missing.log");
    const entries: LogEntry[] = [{ role: "galph", iteration: 1, display: "logs/x/galph/iter-00001_x.log", file: missing, source: "log", format: "text" }];
    expect(fastDigest(entries, {}).equals(referenceDigest(HEADER, entries, {}))).toBe(true);
  });
});
