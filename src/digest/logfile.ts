import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, statSync, type Stats } from "node:fs";
import type { Segment } from "./clean.ts";

/**
 * Which logs `orch tail` reads, and how much of each (SPEC §9 "From 0.2").
 *
 * Log directories are written by agents, so a log may be anything: a symlink
 * to /dev/zero or to a FIFO (0.1 never ended on those), to a file outside the
 * log directory, or a sparse file of a terabyte. Only regular files are read,
 * symlinks only while they stay inside the log directory, and each log is
 * capped: its head and its tail are kept, the middle is left out and said so.
 */

/** A log that can be read: an open descriptor and the byte ranges to show. */
export interface OpenLog {
  fd: number;
  size: number;
  /** One segment, or head and tail of a capped log. */
  segments: Segment[];
  /** Bytes left out between the segments (0: none). */
  truncated: number;
}

/** A log that is not read: why, in one line shown in its place. */
export interface SkippedLog {
  skipped: string;
}

/** The file could not be opened or stat'ed: the message is shown in its place, as 0.1 did. */
export class LogReadError extends Error {
  constructor(readonly file: string, cause: unknown) {
    super(`error reading ${file}: ${(cause as Error).message}`);
  }
}

export interface OpenPolicy {
  /** realpath of the log directory; null when it does not exist (then nothing is found anyway). */
  realRoot: string | null;
  /** tail.max_log_bytes; 0 = no cap. */
  maxBytes: number;
}

/** How far the cut may move to land after a newline (or on a character boundary). */
const CUT_WINDOW = 64 * 1024;

/**
 * Open one log. `checkPath`: it is a symlink, or lies under one (discovery
 * knows), so where it really is must be checked before anything opens it: a
 * device may do something on open. Throws LogReadError for what 0.1 reported
 * too (a missing target, no permission).
 */
export function openLog(file: string, checkPath: boolean, policy: OpenPolicy): OpenLog | SkippedLog {
  // Only a path through a symlink can lead elsewhere; discovery flags those (and directories reached through one).
  if (checkPath) {
    let real: string | null = null;
    try {
      real = realpathSync(file);
    } catch {
      // A dangling link: opening it fails the way 0.1 reported it.
    }
    if (real !== null) {
      if (policy.realRoot === null || !real.startsWith(policy.realRoot + "/")) return { skipped: "it leads outside the log directory; not read" };
      let target: Stats;
      try {
        target = statSync(real);
      } catch (e) {
        throw new LogReadError(file, e);
      }
      if (!target.isFile()) return { skipped: `not a regular file (${kindOf(target)}); not read` };
    }
  }
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO put there after the checks must not block the open (regular files ignore it).
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    throw new LogReadError(file, e);
  }
  let stat: Stats;
  try {
    stat = fstatSync(fd);
  } catch (e) {
    closeSync(fd);
    throw new LogReadError(file, e);
  }
  if (!stat.isFile()) {
    closeSync(fd);
    return { skipped: `not a regular file (${kindOf(stat)}); not read` };
  }
  const size = stat.size;
  if (policy.maxBytes === 0 || size <= policy.maxBytes) return { fd, size, segments: [{ start: 0, end: size }], truncated: 0 };
  try {
    const { headEnd, tailStart } = placeCut(fd, size, policy.maxBytes);
    return { fd, size, segments: [{ start: 0, end: headEnd }, { start: tailStart, end: size }], truncated: tailStart - headEnd };
  } catch (e) {
    closeSync(fd);
    throw new LogReadError(file, e);
  }
}

/**
 * Keep half of the cap from each end. For reading, the head ends after a
 * newline and the tail starts after one when there is one near the cut
 * (within the last/first half of each part, at most 64 KiB away); otherwise
 * the cut moves to a character boundary so no character is broken in two.
 * The head only moves back and the tail only forward: they never overlap.
 */
function placeCut(fd: number, size: number, max: number): { headEnd: number; tailStart: number } {
  const headBytes = Math.floor(max / 2);
  const tailBytes = max - headBytes;
  const window = Math.min(CUT_WINDOW, Math.floor(headBytes / 2), Math.floor(tailBytes / 2));
  let headEnd = headBytes;
  let tailStart = size - tailBytes;
  if (window > 0) {
    const before = readAt(fd, headEnd - window, window + 1); // and the byte at the cut
    const nl = before.lastIndexOf(0x0a, window - 1);
    let back = window;
    while (back > window - 3 && back < before.length && (before[back]! & 0xc0) === 0x80) back--; // onto a lead byte
    headEnd += (nl >= 0 ? nl + 1 : back) - window;
    const after = readAt(fd, tailStart, window);
    const first = after.indexOf(0x0a);
    let forward = 0;
    while (forward < 3 && forward < after.length && (after[forward]! & 0xc0) === 0x80) forward++;
    tailStart += first >= 0 ? first + 1 : forward;
  }
  return { headEnd, tailStart };
}

function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const n = readSync(fd, buf, 0, length, position);
  return buf.subarray(0, n);
}

function kindOf(stat: Stats): string {
  if (stat.isFIFO()) return "a FIFO";
  if (stat.isCharacterDevice()) return "a character device";
  if (stat.isBlockDevice()) return "a block device";
  if (stat.isDirectory()) return "a directory";
  if (stat.isSocket()) return "a socket";
  return "not a file";
}

/** The marker line where a capped log's middle was left out. */
export function truncationMarker(left: number, size: number, max: number): string {
  return `<orch: ${left} of ${size} bytes left out here; logs are capped at tail.max_log_bytes = ${max}>\n`;
}
