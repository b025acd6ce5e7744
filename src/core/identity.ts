/**
 * Who is running: the host, a random id per clone (kept in the git dir), and
 * the pid. A running mark names its runner with an `Orch-Runner` trailer, so
 * every machine can tell its own crashed run from someone else's live one.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { join } from "node:path";
import { openSync, readFileSync, writeSync, closeSync, renameSync } from "node:fs";
import { errnoCode } from "./errors.ts";

export interface Runner {
  host: string;
  clone: string;
  pid: number;
}

const CLONE_ID_FILE = "orch-clone-id";

/** The host name as it is shown and recorded (never empty). */
export function hostName(): string {
  return hostname().trim() || "unknown-host";
}

/** This clone's id: created once (atomically) and then read back; 16 hex digits. */
export function cloneId(gitDir: string): string {
  const file = join(gitDir, CLONE_ID_FILE);
  const read = () => {
    try {
      const id = readFileSync(file, "utf8").trim();
      return /^[0-9a-f]{8,64}$/.test(id) ? id : null;
    } catch (e) {
      if (errnoCode(e) === "ENOENT") return null;
      throw e;
    }
  };
  const existing = read();
  if (existing) return existing;
  const id = randomBytes(8).toString("hex");
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, id + "\n");
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  return read() ?? id;
}

export function thisRunner(gitDir: string): Runner {
  return { host: hostName(), clone: cloneId(gitDir), pid: process.pid };
}

/** `host=<host> clone=<id> pid=<pid>`: the value of the Orch-Runner trailer. */
export function formatRunner(r: Runner): string {
  return `host=${r.host.replace(/\s+/g, "_")} clone=${r.clone} pid=${r.pid}`;
}

export function parseRunner(value: string): Runner | null {
  const fields = new Map(
    value
      .trim()
      .split(/\s+/)
      .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)] as const)
      .filter(([k]) => k.length > 0),
  );
  const host = fields.get("host");
  const clone = fields.get("clone");
  const pid = Number(fields.get("pid"));
  return host && clone && Number.isInteger(pid) && pid > 0 ? { host, clone, pid } : null;
}

/** Git trailers of a commit message body: `Key: value` lines of its last paragraph. */
export function parseTrailers(message: string): Map<string, string> {
  const paragraphs = message.trimEnd().split(/\n\s*\n/);
  const last = paragraphs.length > 1 ? paragraphs[paragraphs.length - 1]! : "";
  const out = new Map<string, string>();
  for (const line of last.split("\n")) {
    const m = /^([A-Za-z0-9-]+):\s?(.*)$/.exec(line);
    if (m) out.set(m[1]!, m[2]!.trim());
  }
  return out;
}

/** Whether a process of this host is alive (a pid of another host tells nothing). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) === "EPERM";
  }
}
