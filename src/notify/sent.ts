import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";

/** Local to the clone, like the other files orch keeps in the git dir; never committed or pushed. */
export const SENT_FILE = "orch-notify-sent.json";
/** Enough for weeks of events; old keys fall off the front. */
export const SENT_KEEP = 400;

interface SentFile {
  schema: 1;
  sent: { key: string; at: string }[];
}

/**
 * The keys of events already sent from this clone, persisted in `<git-dir>/orch-notify-sent.json`
 * so a restarted runner that observes the same event again does not send it again. Written by
 * write-to-temporary + rename, so a kill at any point leaves the old or the new list, never half
 * of one. A missing or unreadable file counts as empty (at worst an event is sent twice).
 */
export class SentStore {
  readonly path: string | null;
  constructor(gitDir: string | null) {
    this.path = gitDir ? join(gitDir, SENT_FILE) : null;
  }

  has(key: string): boolean {
    return this.read().some((s) => s.key === key);
  }

  add(key: string, at = new Date().toISOString()): void {
    if (!this.path) return;
    const sent = this.read().filter((s) => s.key !== key);
    sent.push({ key, at });
    const body: SentFile = { schema: 1, sent: sent.slice(-SENT_KEEP) };
    const tmp = `${this.path}.${process.pid}.tmp`;
    const fd = openSync(tmp, "w");
    try {
      writeSync(fd, JSON.stringify(body, null, 1) + "\n");
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
  }

  private read(): SentFile["sent"] {
    if (!this.path) return [];
    try {
      const data = JSON.parse(readFileSync(this.path, "utf8")) as Partial<SentFile>;
      return Array.isArray(data.sent) ? data.sent.filter((s) => s && typeof s.key === "string") : [];
    } catch {
      return [];
    }
  }
}
