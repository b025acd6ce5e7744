/**
 * Transcripts for the HTML page: only for the turns the page embeds (the newest
 * `maxTurns`), each cut to a head and a tail of at most `capBytes` together. A
 * log is read from this clone when it is here (only the bytes kept are read),
 * else from the shipped copy on the logs ref.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { basename, isAbsolute, relative, resolve } from "node:path";
import type { Git } from "../core/git.ts";
import { readShippedLogs } from "./sources.ts";
import type { Turn } from "./types.ts";

export interface Transcript {
  text: string;
  /** Bytes left out in the middle (0 when the whole log is shown). */
  omitted: number;
  source: "local" | "shipped";
}

export const TRANSCRIPT_CAP_BYTES = 32 * 1024;
export const TRANSCRIPT_MAX_TURNS = 200;
/** Share of the cap kept from the start of the log (the command, the prompt); the rest is its end (the result). */
const HEAD_SHARE = 0.25;

/**
 * `roots`: the directories a log may be read from (the clone and the log directory). A receipt
 * comes from the shared branch, so a path pointing elsewhere (`../../.ssh/…`) is not followed.
 */
export async function readTranscripts(
  git: Git,
  top: string,
  where: { remote: string; branch: string; roots: string[] },
  turns: Turn[],
  opts: { capBytes?: number; maxTurns?: number } = {},
): Promise<Map<string, Transcript>> {
  const cap = opts.capBytes ?? TRANSCRIPT_CAP_BYTES;
  const inside = (path: string) => where.roots.some((root) => {
    const rel = relative(root, path);
    return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
  });
  const shown = turns.filter((t) => t.log).slice(-(opts.maxTurns ?? TRANSCRIPT_MAX_TURNS));
  const out = new Map<string, Transcript>();
  const missing: Turn[] = [];
  for (const t of shown) {
    const path = resolve(top, t.log!);
    const local = inside(path) ? readLocal(path, cap) : null;
    if (local) out.set(t.stamp_commit, { ...local, source: "local" });
    else missing.push(t);
  }
  if (missing.length > 0) {
    const blobs = await readShippedLogs(git, where.remote, where.branch, missing.map((t) => ({ actor: t.actor, name: basename(t.log!) })));
    missing.forEach((t, i) => {
      const blob = blobs[i];
      if (blob) out.set(t.stamp_commit, { ...cut(blob, cap), source: "shipped" });
    });
  }
  return out;
}

function readLocal(path: string, cap: number): { text: string; omitted: number } | null {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return null;
  }
  try {
    const size = fstatSync(fd).size;
    if (size <= cap) {
      const buf = Buffer.alloc(size);
      readSync(fd, buf, 0, size, 0);
      return { text: clean(buf.toString("utf8")), omitted: 0 };
    }
    const headLen = Math.floor(cap * HEAD_SHARE);
    const tailLen = cap - headLen;
    const head = Buffer.alloc(headLen);
    const tail = Buffer.alloc(tailLen);
    readSync(fd, head, 0, headLen, 0);
    readSync(fd, tail, 0, tailLen, size - tailLen);
    return joined(head, tail, size - cap);
  } finally {
    closeSync(fd);
  }
}

function cut(bytes: Uint8Array, cap: number): { text: string; omitted: number } {
  if (bytes.length <= cap) return { text: clean(Buffer.from(bytes).toString("utf8")), omitted: 0 };
  const headLen = Math.floor(cap * HEAD_SHARE);
  return joined(Buffer.from(bytes.subarray(0, headLen)), Buffer.from(bytes.subarray(bytes.length - (cap - headLen))), bytes.length - cap);
}

function joined(head: Buffer, tail: Buffer, omitted: number): { text: string; omitted: number } {
  return { text: `${clean(head.toString("utf8"))}\n\n… ${omitted} bytes left out …\n\n${clean(tail.toString("utf8"))}`, omitted };
}

/** Terminal escapes and control characters out (tabs and newlines stay); CR line ends become LF. */
export function clean(text: string): string {
  return text
    .replace(/\x1b\][^\x07\x1b]*(\x07|\x1b\\)/g, "")
    .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, "")
    .replace(/\r\n?/g, "\n")
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, "");
}
