import { openSync, writeSync, closeSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { errnoCode, errorMessage } from "../core/errors.ts";
import { branchDir } from "../core/repo.ts";

/** `YYYYmmdd_HHMMSS` in UTC, as the old tool names logs. */
export function logStamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, "").replace("T", "_").slice(0, 15);
}

/**
 * One iteration's log file, appended line by line as the turn goes. A log that
 * cannot be written (disk full, read-only) is reported once and then skipped:
 * the turn goes on, its console output unchanged.
 */
export class IterationLog {
  private fd: number;
  private broken = false;
  constructor(
    readonly path: string,
    fd: number,
    private readonly onFailure: (message: string) => void = () => {},
  ) {
    this.fd = fd;
  }
  write(text: string): void {
    if (this.fd < 0 || this.broken) return;
    const buf = Buffer.from(text);
    let off = 0;
    try {
      while (off < buf.length) off += writeSync(this.fd, buf, off);
    } catch (e) {
      if (errnoCode(e) === "EAGAIN") return this.write(buf.subarray(off).toString());
      this.broken = true;
      this.onFailure(`[log] cannot write ${this.path} (${errorMessage(e)}); the turn goes on without its log`);
    }
  }
  line(text: string): void {
    this.write(text.endsWith("\n") ? text : text + "\n");
  }
  close(): void {
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {}
    }
    this.fd = -1;
  }
}

export interface LogPlace {
  logDir: string;
  branch: string;
  actor: string;
  iteration: number;
  suffix?: string;
  now?: Date;
}

/** `<logdir>/<branch>/<actor>/iter-NNNNN_<UTC stamp><suffix>.log`. */
export function logName(iteration: number, at: Date, suffix = ""): string {
  return `iter-${String(iteration).padStart(5, "0")}_${logStamp(at)}${suffix}.log`;
}

/**
 * Create the log exclusively. A name is never reused: when the second is taken,
 * the stamp moves to the next free second, which keeps the old tool's name
 * format and the names' sort order.
 */
export function createIterationLog(opts: LogPlace, onFailure?: (message: string) => void): IterationLog {
  const dir = join(opts.logDir, branchDir(opts.branch), opts.actor);
  mkdirSync(dir, { recursive: true });
  const base = (opts.now ?? new Date()).getTime();
  for (let bump = 0; ; bump++) {
    const path = join(dir, logName(opts.iteration, new Date(base + bump * 1000), opts.suffix));
    try {
      return new IterationLog(path, openSync(path, "wx"), onFailure);
    } catch (e) {
      if (errnoCode(e) !== "EEXIST" || bump > 3600) throw e;
    }
  }
}

/** Like createIterationLog, but a log that cannot be created is reported and replaced by none (fd -1). */
export function openIterationLog(opts: LogPlace, report: (message: string) => void): IterationLog {
  try {
    return createIterationLog(opts, report);
  } catch (e) {
    const path = join(opts.logDir, branchDir(opts.branch), opts.actor);
    report(`[log] cannot create a log under ${path} (${errorMessage(e)}); the turn goes on without its log`);
    return new IterationLog(join(path, logName(opts.iteration, opts.now ?? new Date(), opts.suffix)), -1, report);
  }
}
