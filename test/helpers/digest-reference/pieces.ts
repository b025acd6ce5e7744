// Frozen reference: src/digest/pieces.ts as 0.1 shipped it (see index.ts). Do not edit.
import { openSync, readSync, closeSync } from "node:fs";
import { repairUtf8, safeCut, sanitizeUtf8, utf8SafeEnd } from "./sanitize.ts";

/** The log could not be opened or read (as opposed to the output failing). */
export class LogReadError extends Error {
  constructor(readonly file: string, cause: unknown) {
    super(`error reading ${file}: ${(cause as Error).message}`);
  }
}

/**
 * Read a file a buffer at a time and hand over its clean text as Latin-1 views
 * of UTF-8 (see sanitizeUtf8), in pieces whose concatenation is exactly
 * sanitizeUtf8(whole file). Two stages: raw bytes → valid UTF-8 (split only
 * between characters), then valid bytes → pieces cut by safeCut. Memory is a
 * few buffers of `chunk` bytes, whatever the size of the file.
 */
export function forEachCleanPiece(file: string, onPiece: (latin1: string) => void, opts: { chunk?: number; maxLine?: number } = {}): void {
  const chunk = opts.chunk ?? 64 * 1024;
  const maxLine = opts.maxLine ?? chunk;
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (e) {
    throw new LogReadError(file, e);
  }
  try {
    const raw = Buffer.allocUnsafe(chunk + 4);
    let carry = 0; // bytes of an unfinished character, kept at the front of `raw`
    let pending = Buffer.allocUnsafe(maxLine + 4 * chunk);
    let pendingLength = 0;
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, raw, carry, chunk, null);
      } catch (e) {
        throw new LogReadError(file, e);
      }
      const final = n === 0;
      const length = carry + n;
      const end = final ? length : utf8SafeEnd(raw, length);
      const valid = repairUtf8(raw.subarray(0, end));
      if (pendingLength + valid.length > pending.length) {
        const bigger = Buffer.allocUnsafe((pendingLength + valid.length) * 2); // a line longer than maxLine that safeCut could not cut yet
        pending.copy(bigger, 0, 0, pendingLength);
        pending = bigger;
      }
      pending.set(valid, pendingLength);
      pendingLength += valid.length;
      raw.copy(raw, 0, end, length);
      carry = length - end;
      for (;;) {
        const cut = safeCut(pending, pendingLength, final, maxLine);
        if (cut === 0) break;
        const piece = sanitizeUtf8(pending.subarray(0, cut));
        if (piece.length > 0) onPiece(piece);
        pending.copy(pending, 0, cut, pendingLength);
        pendingLength -= cut;
        if (final || pendingLength < maxLine) break;
      }
      if (final) return;
    }
  } finally {
    closeSync(fd);
  }
}
