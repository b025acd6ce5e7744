import { isUtf8 } from "node:buffer";
import { readSync } from "node:fs";
import { repairUtf8, safeCut, sanitizeText } from "./sanitize.ts";
import type { Sink } from "./sink.ts";
import { scanner, type Scanner } from "./scan-wasm.ts";

/**
 * The fast path of `orch tail`: log bytes → the text of a CDATA section, as
 * bytes, at close to disk speed.
 *
 * The output is defined by the string implementation 0.1 shipped (frozen in
 * test/helpers/digest-reference, which the fuzz test compares against): invalid
 * UTF-8 and characters XML 1.0 forbids become U+FFFD, terminal escape sequences
 * are removed, CR LF and lone CR become LF, `]]>` is split across CDATA
 * sections. That version turned bytes into strings, ran four regexes and wrote
 * strings back out, and spent most of its time converting. Here the text stays
 * bytes from read() to write(), and the work is only done where it is needed:
 *
 * - Every rule is about ASCII bytes, and UTF-8 never uses an ASCII byte inside
 *   a multi-byte character, so the scanner can look at bytes, not characters.
 * - Almost every byte needs nothing. The scanner tests 4 bytes at a time (bit
 *   tricks on an Int32Array view of the read buffer) and stores clean words
 *   whole; only the bytes a test flags are looked at one by one.
 * - `isUtf8` (native, several GB/s) tells which read chunks are valid UTF-8;
 *   only the others have their multi-byte characters checked one by one.
 * - A `]]>` split and U+FFFE/U+FFFF (EF BF BE/BF) are rare: three native
 *   searches of each piece tell whether the word test must look for them.
 * - Most pieces are then valid text in which only control characters (and
 *   the `>` of a `]]>`, found by a native search) need work: cleanPlain finds
 *   the end of each clean span without storing anything (four words per
 *   test) and copies the span in one go (a native copy when it is long);
 *   clean(), for the other pieces, stores as it scans, which is faster where
 *   work is dense (hostile logs).
 *
 * The file is read in the same pieces as 0.1 read it (64 KiB reads, cut after
 * the last newline or, in a longer line, where no rule looks across): a `]]>`
 * that straddles two pieces is split where they meet, so the pieces decide a
 * few output bytes and must stay the same.
 */

/** Read size and the longest piece before a forced cut (0.1's values; tests make them small). */
export interface PieceSizes {
  chunk?: number;
  maxLine?: number;
}

/** A span of a file to stream: [start, end). */
export interface Segment {
  start: number;
  end: number;
}

const REPLACEMENT = [0xef, 0xbf, 0xbd] as const;
/** Inserted before the `>` of a `]]>`: ends the section after `]]`, the next one starts with `>`. */
const CDATA_SPLIT = Buffer.from("]]><![CDATA[");
const BODY_MAX = 4096; // longest OSC/DCS body (sanitize.ts BODY_MAX)

const BRACKETS = Buffer.from("]]");
const BRACKET_ESC = Buffer.from("]\x1b");
const NONCHAR_LEAD = Buffer.from([0xef, 0xbf]); // U+FFC0–U+FFFF, U+FFFE and U+FFFF among them
const RIGHT_BRACKET = 0x5d;
const CDATA_END = Buffer.from("]]>");
/** TextStreamer.survey's findings. */
const HAS_BRACKETS = 1;
const HAS_OTHER = 2;
const GT = 0x3e;

/**
 * The read buffer: a Buffer and an Int32Array over the same aligned memory, so
 * the scanner can read words. Where WebAssembly SIMD is there, the memory is
 * the scanner module's own (scan-wasm.ts): cleanPlain's search for the next
 * byte that needs work runs there, 16 bytes a step, on the bytes as read.
 */
class ReadBuffer {
  bytes!: Buffer;
  words!: Int32Array;
  /** Made when a piece first needs the search (a digest of only hostile text never does): undefined until then. */
  private wasm: Scanner | null | undefined;
  constructor(size: number) {
    this.resize(size);
  }
  /** The WebAssembly search over `bytes` (null: the JavaScript one); the bytes move into its memory the first time. */
  scan(): ((i: number, b: number) => number) | null {
    if (this.wasm === undefined) {
      this.wasm = scanner();
      if (this.wasm) {
        const old = this.bytes;
        this.resize(old.length);
        old.copy(this.bytes);
      }
    }
    return this.wasm?.scan ?? null;
  }
  resize(size: number): void {
    if (this.wasm) {
      // Growing keeps the contents; the old views are detached, so new ones are made.
      const { memory } = this.wasm;
      const pages = Math.ceil(((size + 7) & ~3) / 65536) - memory.buffer.byteLength / 65536;
      if (pages > 0) memory.grow(pages);
      this.bytes = Buffer.from(memory.buffer);
      this.words = new Int32Array(memory.buffer);
      return;
    }
    const memory = new ArrayBuffer((size + 7) & ~3);
    const old = this.bytes;
    this.bytes = Buffer.from(memory);
    this.words = new Int32Array(memory);
    if (old) old.copy(this.bytes);
  }
}

/**
 * Streams the clean text of logs into a sink. One instance serves a whole
 * digest (it keeps its buffers); `begin` starts each log's text.
 */
export class TextStreamer {
  private readonly chunk: number;
  private readonly maxLine: number;
  private readonly read: ReadBuffer;
  /** Over the sink's buffer: clean words are stored 4 bytes at a time at any alignment (see clean). */
  private view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  /** Last two bytes of this log's text so far (0 = none): a `]]>` can straddle pieces. */
  private tail0 = 0;
  private tail1 = 0;
  private empty = true;

  constructor(private readonly sink: Sink, sizes: PieceSizes = {}) {
    this.chunk = sizes.chunk ?? 64 * 1024;
    this.maxLine = sizes.maxLine ?? this.chunk;
    this.read = new ReadBuffer(this.maxLine + this.chunk + 16); // what is left of a line, and one read
  }

  begin(): void {
    this.tail0 = 0;
    this.tail1 = 0;
    this.empty = true;
  }

  /** The text so far ends with a newline, or is empty (what the element template needs to know). */
  endsWithNewline(): boolean {
    return this.tail1 === 0x0a;
  }

  isEmpty(): boolean {
    return this.empty;
  }

  /**
   * Stream bytes [start, end) of an open file, cut into pieces as 0.1 did.
   * Throws what readSync throws (the caller reports it in the log's place).
   */
  file(fd: number, segment: Segment): void {
    const { chunk, maxLine } = this;
    let position = segment.start;
    let settled = 0; // bytes at the front of the buffer that are whole characters
    let length = 0; // settled bytes plus the unfinished character after them
    let suspect = false; // the settled bytes may hold invalid UTF-8 (kept as they are: clean() replaces it)
    for (;;) {
      if (length + chunk > this.read.bytes.length) this.read.resize(length + chunk + 8); // a long line that could not be cut yet
      const want = Math.min(chunk, segment.end - position);
      const n = want > 0 ? readSync(fd, this.read.bytes, length, want, position) : 0;
      position += n;
      const final = n === 0;
      // As 0.1: an unfinished character at the end of a read waits for the next one (utf8SafeEnd).
      const regionLength = length + n - settled;
      const end = final ? length + n : settled + safeEnd(this.read.bytes, settled, regionLength);
      if (!suspect && end > settled && !isUtf8(this.read.bytes.subarray(settled, end))) suspect = true;
      settled = end;
      length += n;
      for (;;) {
        let cut = this.cutAt(settled, final, suspect);
        if (cut < 0) {
          // A forced cut inside a long line is placed on repaired bytes (0.1's rule): repair now, in place.
          this.repairFront(settled, length);
          length += this.repairedGrowth;
          settled += this.repairedGrowth;
          suspect = false;
          cut = safeCut(this.read.bytes, settled, false, maxLine);
        }
        if (cut === 0) break;
        this.piece(0, cut, suspect && !isUtf8(this.read.bytes.subarray(0, cut)));
        this.read.bytes.copyWithin(0, cut, length);
        settled -= cut;
        length -= cut;
        suspect = suspect && !isUtf8(this.read.bytes.subarray(0, settled));
        if (final || this.repairedLength(settled, suspect) < maxLine) break;
      }
      if (final) return;
    }
  }

  /** Where 0.1 cut the settled bytes: after the last newline, 0 to wait, -1 for a forced cut (see file()). */
  private cutAt(settled: number, final: boolean, suspect: boolean): number {
    if (final || settled === 0) return settled;
    const nl = this.read.bytes.lastIndexOf(0x0a, settled - 1);
    if (nl >= 0) return nl + 1;
    return this.repairedLength(settled, suspect) < this.maxLine ? 0 : -1;
  }

  /** How long the first `settled` bytes are once repaired (what 0.1 compared with maxLine). */
  private repairedLength(settled: number, suspect: boolean): number {
    // Repair only grows text (one invalid byte → three), so short text needs no count.
    if (!suspect || settled * 3 < this.maxLine) return settled;
    return repairedLength(this.read.bytes, 0, settled);
  }

  private repairedGrowth = 0;
  /** Repair the first `settled` bytes in place, keeping the bytes after them. */
  private repairFront(settled: number, length: number): void {
    const repaired = Buffer.from(repairUtf8(this.read.bytes.subarray(0, settled)));
    const rest = Buffer.from(this.read.bytes.subarray(settled, length));
    this.repairedGrowth = repaired.length - settled;
    if (repaired.length + rest.length + this.chunk > this.read.bytes.length) this.read.resize(repaired.length + rest.length + this.chunk + 8);
    repaired.copy(this.read.bytes, 0);
    rest.copy(this.read.bytes, repaired.length);
  }

  /**
   * Literal text (notes, markers) as 0.1 wrote its notes: sanitizeText, then
   * like a piece (the cleaner leaves clean text alone but for `]]>`).
   */
  text(text: string): void {
    const bytes = Buffer.from(sanitizeText(text), "utf8");
    if (bytes.length + 8 > this.read.bytes.length) this.read.resize(bytes.length + 8);
    bytes.copy(this.read.bytes, 0);
    this.piece(0, bytes.length, false);
  }

  /**
   * What decides the loop for a piece: `]]` (a `]]>` split may be needed),
   * and the rarer bytes that only clean() handles: a `]` before an ESC (an
   * escape sequence removed between two `]` or before a `>` can make a
   * `]]>`) and, in valid text, EF BF (U+FFFE/FFFF; validate checks every
   * multi-byte character anyway). Native searches of the piece, about a
   * microsecond each, that often spare the scanner most of its tests.
   */
  private survey(a: number, b: number, validate: boolean): number {
    const piece = this.read.bytes.subarray(a, b);
    const brackets = piece.indexOf(BRACKETS) >= 0 ? HAS_BRACKETS : 0;
    if (validate && brackets) return brackets; // clean() with every test: nothing more to know
    // EF first on its own: a one-byte search (memchr) is several times faster than a two-byte one.
    const other = piece.indexOf(BRACKET_ESC) >= 0 || (!validate && piece.indexOf(0xef) >= 0 && piece.indexOf(NONCHAR_LEAD) >= 0);
    return brackets | (other ? HAS_OTHER : 0);
  }

  /** Clean read.bytes[a, b) into the sink, then apply 0.1's rule for a `]]>` across the joint with the previous piece. */
  private piece(a: number, b: number, validate: boolean): void {
    const sink = this.sink;
    sink.reserve(5 * (b - a) + CDATA_SPLIT.length); // the most a piece can grow: `]]>` (3 bytes) → 15
    const start = sink.pos;
    if (this.view.buffer !== sink.buf.buffer || this.view.byteOffset !== sink.buf.byteOffset) this.view = new DataView(sink.buf.buffer, sink.buf.byteOffset, sink.buf.length);
    const found = this.survey(a, b, validate);
    const plain = !validate && (found & HAS_OTHER) === 0;
    const scan = plain ? this.read.scan() : null; // may move the bytes: read.bytes is read again below
    // Most pieces are valid text in which only control characters (and the `>` of a `]]>`) need work: the loop for
    // those is faster.
    sink.pos = plain
      ? cleanPlain(this.read.bytes, this.read.words, a, b, sink.buf, this.view, start, (found & HAS_BRACKETS) !== 0, scan)
      : clean(this.read.bytes, this.read.words, a, b, sink.buf, this.view, start, validate, found !== 0);
    const written = sink.pos - start;
    if (written === 0) return; // 0.1 skipped empty pieces: the joint is with the piece before
    const out = sink.buf;
    const p0 = out[start]!;
    const p1 = written > 1 ? out[start + 1]! : 0;
    // 0.1: if (tail + text.slice(0, 2)).includes("]]>"), close and reopen the section at the joint.
    if ((this.tail1 === RIGHT_BRACKET && p0 === RIGHT_BRACKET && p1 === GT) || (this.tail0 === RIGHT_BRACKET && this.tail1 === RIGHT_BRACKET && p0 === GT)) {
      out.copyWithin(start + CDATA_SPLIT.length, start, sink.pos);
      CDATA_SPLIT.copy(out, start);
      sink.pos += CDATA_SPLIT.length;
    }
    // The piece's last two text bytes. A split inserted in the piece only ever comes before a `>`, so the
    // output's last bytes are the text's, except "[>" for "]>": only a `]` at the end matters, and it is kept.
    const total = sink.pos - start;
    if (total >= 2) {
      this.tail0 = out[sink.pos - 2]!;
      this.tail1 = out[sink.pos - 1]!;
    } else {
      this.tail0 = this.tail1;
      this.tail1 = out[sink.pos - 1]!;
    }
    this.empty = false;
  }
}

/** utf8SafeEnd(bytes.subarray(from), length), without making the view (one per read of thousands of small logs). */
function safeEnd(bytes: Uint8Array, from: number, length: number): number {
  let lead = from + length - 1;
  while (lead >= from && lead > from + length - 4 && (bytes[lead]! & 0xc0) === 0x80) lead--;
  if (lead < from) return length;
  const b = bytes[lead]!;
  const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
  return from + length - lead < need ? lead - from : length;
}

/**
 * A valid UTF-8 character at s[i] (lead byte ≥ 0x80): its length (2–4); or an
 * invalid sequence: minus the bytes that one U+FFFD replaces (WHATWG's
 * "maximal subpart", which TextDecoder and 0.1 use).
 */
function utf8Char(s: Uint8Array, i: number, end: number): number {
  const c = s[i]!;
  let need: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (c < 0xc2) return -1;
  if (c < 0xe0) need = 1;
  else if (c < 0xf0) {
    need = 2;
    if (c === 0xe0) lo = 0xa0; // no overlong forms
    else if (c === 0xed) hi = 0x9f; // no surrogates
  } else if (c < 0xf5) {
    need = 3;
    if (c === 0xf0) lo = 0x90;
    else if (c === 0xf4) hi = 0x8f; // nothing above U+10FFFF
  } else return -1;
  for (let k = 1; k <= need; k++) {
    const b = i + k < end ? s[i + k]! : -1;
    if (b < lo || b > hi) return -k;
    lo = 0x80;
    hi = 0xbf;
  }
  return need + 1;
}

/** Bytes of s[a, b) once invalid sequences are replaced (each by the 3 bytes of U+FFFD). */
export function repairedLength(s: Uint8Array, a: number, b: number): number {
  let n = 0;
  for (let i = a; i < b; ) {
    if (s[i]! < 0x80) {
      n++;
      i++;
      continue;
    }
    const len = utf8Char(s, i, b);
    if (len > 0) {
      n += len;
      i += len;
    } else {
      n += 3;
      i -= len;
    }
  }
  return n;
}

/**
 * Where the escape sequence starting at s[i] (an ESC) ends, or -1 when none
 * matches: the alternatives of sanitize.ts's ESC_OR_CRLF, in its order.
 * Bodies are counted in repaired bytes (0.1 matched after repairing).
 */
function escapeEnd(s: Uint8Array, i: number, end: number, validate: boolean): number {
  if (i + 1 >= end) return -1;
  const c = s[i + 1]!;
  let j = i + 2;
  if (c === 0x5b) {
    // CSI: ESC [ params{0,64} intermediates{0,16} final. The classes are disjoint, so the greedy match is the only one.
    let params = 0;
    while (j < end && s[j]! >= 0x30 && s[j]! <= 0x3f) j++, params++;
    if (params <= 64) {
      let inter = 0;
      while (j < end && s[j]! >= 0x20 && s[j]! <= 0x2f) j++, inter++;
      if (inter <= 16 && j < end && s[j]! >= 0x40 && s[j]! <= 0x7e) return j + 1;
    }
    return i + 2; // not a CSI: ESC [ is still a two-character escape
  }
  if (c === 0x5d || c === 0x50 || c === 0x58 || c === 0x5e || c === 0x5f) {
    // OSC (ESC ] … BEL or ESC \) and DCS/SOS/PM/APC (ESC P|X|^|_ … ESC \), bodies of at most BODY_MAX.
    const osc = c === 0x5d;
    const limit = Math.min(end, j + BODY_MAX + 1);
    let high = false;
    let k = j;
    for (; k < limit; k++) {
      const b = s[k]!;
      if (b === 0x1b || b === 0x0a || (osc && b === 0x07)) break;
      if (b >= 0x80) high = true;
    }
    if (k < end && k - j <= BODY_MAX) {
      const t = s[k]!;
      const close = osc && t === 0x07 ? 1 : t === 0x1b && k + 1 < end && s[k + 1] === 0x5c ? 2 : 0;
      if (close > 0 && (!validate || !high || repairedLength(s, j, k) <= BODY_MAX)) return k + close;
    }
    return i + 2; // no terminator in reach: a two-character escape
  }
  if (c >= 0x20 && c <= 0x2f) {
    // nF: ESC intermediates{1,8} final (no two-character fallback: 0x20–0x2F is not a final).
    let k = i + 1;
    while (k < end && s[k]! >= 0x20 && s[k]! <= 0x2f) k++;
    return k - (i + 1) <= 8 && k < end && s[k]! >= 0x30 && s[k]! <= 0x7e ? k + 1 : -1;
  }
  if (c >= 0x30 && c <= 0x7e) return i + 2;
  return -1;
}

/**
 * Clean s[a, b) (one piece) into out at o, with room for 5× its length;
 * returns the new end of out. `validate`: the piece may hold invalid UTF-8.
 *
 * Bytes that need no work are copied; the others are: C0 controls (tab and
 * LF need nothing, but are found with them), `>` (a `]]>` needs a split),
 * and either every byte of 0x80 and above (`validate`: each multi-byte
 * character is checked) or only EF (valid text: U+FFFE/U+FFFF are EF BF BE/BF).
 * `view` is a DataView over out: clean words are stored 4 bytes at a time
 * whatever the alignment of the output position. `rare`: the piece may need
 * a `]]>` split or hold U+FFFE/FFFF (see TextStreamer.survey); without,
 * the word test looks for control characters (and high bytes) only.
 */
export function clean(s: Buffer, words: Int32Array, a: number, b: number, out: Buffer, view: DataView<ArrayBufferLike>, o: number, validate: boolean, rare = true): number {
  const start = o;
  const wordEnd = b >> 2;
  const work = validate ? WORK_VALIDATE : WORK_VALID;
  let i = a;
  while (i < b) {
    // 1. Copy clean bytes up to the next byte that needs work: one by one up to a word boundary (through the
    // word the word test stopped at), then a word at a time.
    copy: for (;;) {
      const stop = (i & ~3) + 4 < b ? (i & ~3) + 4 : b;
      while (i < stop) {
        const c = s[i]!;
        if (work[c] === 0) {
          out[o++] = c;
          i++;
        } else {
          // With validate, a valid character is clean: copied here rather than below.
          const len = validate && c >= 0x80 ? cleanCharacter(s, i, b) : 0;
          if (len === 0) break copy;
          for (let k = 0; k < len; k++) out[o++] = s[i++]!;
        }
      }
      if (i >= b) break;
      if ((i & 3) !== 0) continue; // a character ran past the boundary
      // Four bytes at a time: (x - 0x20202020) & ~x has the top bit of the lowest byte below 0x20 set, and
      // (y - 0x01010101) & ~y that of the lowest zero byte of y: of x ^ 0x3e3e3e3e for `>`, of x ^ 0xefefefef for
      // EF; `| x` sets it for bytes of 0x80 and above. Each test is exact for a word; the bytes are checked next.
      let w = i >> 2;
      if (validate) {
        while (w < wordEnd) {
          const x = words[w]!;
          const gt = x ^ 0x3e3e3e3e;
          if ((((x - 0x20202020) & ~x) | ((gt - 0x01010101) & ~gt) | x) & 0x80808080) break;
          view.setInt32(o, x, true);
          o += 4;
          w++;
        }
      } else {
        while (w < wordEnd) {
          const x = words[w]!;
          const gt = x ^ 0x3e3e3e3e;
          const ef = x ^ 0xefefefef;
          if ((((x - 0x20202020) & ~x) | ((gt - 0x01010101) & ~gt) | ((ef - 0x01010101) & ~ef)) & 0x80808080) break;
          view.setInt32(o, x, true);
          o += 4;
          w++;
        }
      }
      i = w << 2;
    }
    if (i >= b) break;
    // 2. The byte that needs work.
    const c = s[i]!;
    if (c === GT) {
      // `]]>` in the piece's text: end the section after `]]`, start the next one with `>` (as splitCdataEnd).
      if (o - start >= 2 && out[o - 1] === RIGHT_BRACKET && out[o - 2] === RIGHT_BRACKET) {
        for (let k = 0; k < CDATA_SPLIT.length; k++) out[o++] = CDATA_SPLIT[k]!;
      }
      out[o++] = GT;
      i++;
    } else if (c === 0x1b) {
      const e = escapeEnd(s, i, b, validate);
      if (e > 0) i = e;
      else {
        o = replacement(out, o); // an ESC that starts no sequence
        i++;
      }
    } else if (c === 0x0d) {
      // CR LF → LF (the LF is copied next); a lone CR → LF.
      if (i + 1 >= b || s[i + 1] !== 0x0a) out[o++] = 0x0a;
      i++;
    } else if (c < 0x80) {
      o = replacement(out, o); // a C0 control XML 1.0 forbids
      i++;
    } else {
      // A multi-byte character (in valid text, one that starts with EF), valid (copied) or not; not U+FFFE/FFFF.
      const len = validate ? utf8Char(s, i, b) : 3;
      if (len < 0 || (len === 3 && c === 0xef && s[i + 1] === 0xbf && s[i + 2]! >= 0xbe)) {
        o = replacement(out, o);
        i += len < 0 ? -len : len;
      } else {
        for (let k = 0; k < len; k++) out[o++] = s[i++]!;
      }
    }
  }
  return o;
}

/** The length of the valid character at s[i] (a byte ≥ 0x80), or 0 if it is invalid or U+FFFE/U+FFFF. */
function cleanCharacter(s: Buffer, i: number, b: number): number {
  const len = utf8Char(s, i, b);
  if (len < 0 || (len === 3 && s[i] === 0xef && s[i + 1] === 0xbf && s[i + 2]! >= 0xbe)) return 0;
  return len;
}

/** What the word test flags, byte by byte: not tab, LF or printable ASCII other than `>` (a table: one load, no branches). */
function workTable(validate: boolean): Uint8Array {
  const table = new Uint8Array(256);
  for (let c = 0; c < 256; c++) table[c] = c < 0x20 ? Number(c !== 0x09 && c !== 0x0a) : c < 0x80 ? Number(c === GT) : Number(validate || c === 0xef);
  return table;
}
const WORK_VALID = workTable(false);
const WORK_VALIDATE = workTable(true);

function replacement(out: Buffer, o: number): number {
  out[o] = REPLACEMENT[0];
  out[o + 1] = REPLACEMENT[1];
  out[o + 2] = REPLACEMENT[2];
  return o + 3;
}

/**
 * clean() for a piece of valid UTF-8 with no `]` before an ESC and no EF BF
 * (TextStreamer.survey): only C0 controls other than tab and LF need work
 * there (ESC, CR, the controls XML 1.0 forbids), and the `>` of a `]]>`.
 * Such pieces are mostly long clean spans, so the loop first finds where a
 * span ends (nextControl: four words per test, nothing stored), then copies
 * it in one go (copySpan), then does the work.
 *
 * `brackets` (the piece has `]]`): only a `>` that follows `]]` in the text
 * can follow `]]` in the output here (what is removed starts with ESC or is
 * the CR of a CR LF, and no `]` precedes an ESC), so the `>` of each `]]>`
 * (a native search) is looked at, and split as clean() does if the output
 * still ends with `]]` there (an escape sequence may have taken a `]`).
 *
 * The work for ESC, CR and the forbidden controls repeats clean()'s on
 * purpose, so each hot loop stays self-contained (no call per control: one
 * shared function measured 8–10 % slower on the hostile corpus);
 * test/tail-fuzz.test.ts holds both to the same output.
 */
export function cleanPlain(
  s: Buffer,
  words: Int32Array,
  a: number,
  b: number,
  out: Buffer,
  view: DataView<ArrayBufferLike>,
  o: number,
  brackets = false,
  /** nextControl in WebAssembly, over the memory `s` views from its start (ReadBuffer). */
  scan: ((i: number, b: number) => number) | null = null,
): number {
  const start = o;
  const text = s.subarray(0, b);
  let span = a; // s[span, i) is clean text not yet in out
  let gt = brackets ? cdataEnd(text, a, a) : b; // the next `>` to look at, or b
  for (let i = a; ; ) {
    i = scan ? scan(i, gt) : nextControl(s, words, i, gt);
    if (i === gt) {
      if (gt === b) break;
      o = copySpan(s, words, span, gt, out, view, o);
      span = gt;
      if (o - start >= 2 && out[o - 1] === RIGHT_BRACKET && out[o - 2] === RIGHT_BRACKET) for (let k = 0; k < CDATA_SPLIT.length; k++) out[o++] = CDATA_SPLIT[k]!;
      i = gt + 1; // the `>` starts the next span
      gt = cdataEnd(text, a, i);
      continue;
    }
    o = copySpan(s, words, span, i, out, view, o);
    const c = s[i]!;
    if (c === 0x1b) {
      const e = escapeEnd(s, i, b, false);
      if (e > 0) i = e;
      else {
        o = replacement(out, o); // an ESC that starts no sequence
        i++;
      }
    } else if (c === 0x0d) {
      // CR LF → LF (the LF starts the next span); a lone CR → LF.
      if (i + 1 >= b || s[i + 1] !== 0x0a) out[o++] = 0x0a;
      i++;
    } else {
      o = replacement(out, o); // a C0 control XML 1.0 forbids
      i++;
    }
    span = i;
    if (gt < i) gt = cdataEnd(text, a, i); // an escape sequence took it
  }
  return copySpan(s, words, span, b, out, view, o);
}

/** The `>` at or after `from` that ends a `]]>` in text[a, end), or text.length. */
function cdataEnd(text: Buffer, a: number, from: number): number {
  const at = text.indexOf(CDATA_END, Math.max(a, from - 2));
  return at < 0 ? text.length : at + 2;
}

/**
 * The first C0 control other than tab and LF in s[i, b), or b. Whole words
 * are tested four at a time ((x - 0x20202020) & ~x flags a word with a byte
 * below 0x20); a flagged word is then looked at byte by byte (its byte below
 * 0x20 may be a tab or a LF, which need nothing).
 */
export function nextControl(s: Buffer, words: Int32Array, i: number, b: number): number {
  for (; i < b && (i & 3) !== 0; i++) if (NEEDS_WORK[s[i]!] !== 0) return i;
  const wordEnd = b >> 2;
  for (let w = i >> 2; w < wordEnd; w++) {
    for (; w + 4 <= wordEnd; w += 4) {
      const x0 = words[w]!, x1 = words[w + 1]!, x2 = words[w + 2]!, x3 = words[w + 3]!;
      if ((((x0 - 0x20202020) & ~x0) | ((x1 - 0x20202020) & ~x1) | ((x2 - 0x20202020) & ~x2) | ((x3 - 0x20202020) & ~x3)) & 0x80808080) break;
    }
    while (w < wordEnd && ((words[w]! - 0x20202020) & ~words[w]! & 0x80808080) === 0) w++;
    if (w >= wordEnd) break;
    const at = w << 2;
    for (let k = at; k < at + 4; k++) if (NEEDS_WORK[s[k]!] !== 0) return k;
  }
  for (let k = Math.max(i, wordEnd << 2); k < b; k++) if (NEEDS_WORK[s[k]!] !== 0) return k;
  return b;
}

/** C0 controls but tab and LF: what cleanPlain works on. */
const NEEDS_WORK = Uint8Array.from({ length: 256 }, (_, c) => Number(c < 0x20 && c !== 0x09 && c !== 0x0a));

/**
 * Append s[from, to) to out at o. A native copy (memcpy) costs about what
 * copying 256 bytes here costs, so shorter spans are copied a word at a time
 * (aligned loads from `words`, stores at any alignment through `view`).
 */
function copySpan(s: Buffer, words: Int32Array, from: number, to: number, out: Buffer, view: DataView<ArrayBufferLike>, o: number): number {
  if (to - from >= 256) {
    s.copy(out, o, from, to);
    return o + (to - from);
  }
  for (; from < to && (from & 3) !== 0; from++) out[o++] = s[from]!;
  for (; from + 4 <= to; from += 4, o += 4) view.setInt32(o, words[from >> 2]!, true);
  for (; from < to; from++) out[o++] = s[from]!;
  return o;
}
