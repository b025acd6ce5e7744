import { openSync, writeSync, closeSync, mkdirSync } from "node:fs";
import { join } from "node:path";

/** `YYYYmmdd_HHMMSS` in UTC, as the old tool names logs. */
export function logStamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, "").replace("T", "_").slice(0, 15);
}

export function branchDir(branch: string): string {
  return branch.replace(/\//g, "-");
}

/** One iteration's log file, appended line by line as the turn goes. */
export class IterationLog {
  private fd: number;
  constructor(readonly path: string, fd: number) {
    this.fd = fd;
  }
  write(text: string): void {
    if (this.fd < 0) return;
    const buf = Buffer.from(text);
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off);
  }
  line(text: string): void {
    this.write(text.endsWith("\n") ? text : text + "\n");
  }
  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/**
 * Create `<logdir>/<branch>/<actor>/iter-NNNNN_<UTC stamp><suffix>.log` exclusively.
 * A name is never reused: when the second is taken, the stamp moves to the next
 * free second, which keeps the old tool's name format and the names' sort order.
 */
export function createIterationLog(opts: { logDir: string; branch: string; actor: string; iteration: number; suffix?: string; now?: Date }): IterationLog {
  const dir = join(opts.logDir, branchDir(opts.branch), opts.actor);
  mkdirSync(dir, { recursive: true });
  const base = (opts.now ?? new Date()).getTime();
  for (let bump = 0; ; bump++) {
    const name = `iter-${String(opts.iteration).padStart(5, "0")}_${logStamp(new Date(base + bump * 1000))}${opts.suffix ?? ""}.log`;
    const path = join(dir, name);
    try {
      return new IterationLog(path, openSync(path, "wx"));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST" || bump > 3600) throw e;
    }
  }
}
