import { openSync, writeSync, closeSync, fsyncSync, renameSync, unlinkSync } from "node:fs";
import { replaceTarget } from "../core/outfile.ts";
import { dirname, basename, join } from "node:path";

/** The reader went away (`orch tail … | head`): stop writing, not an error. */
export class OutputClosed extends Error {
  constructor() {
    super("output closed");
  }
}

const INITIAL = 512 * 1024;

/**
 * Where the digest goes, as bytes. Writers fill `buf` from `pos` directly
 * (after `reserve`), so clean log text is copied once, from the read buffer
 * into this one, and goes out in large writes. `drain` hands over full
 * buffers in order.
 */
export abstract class Sink {
  buf: Buffer = Buffer.allocUnsafe(INITIAL);
  pos = 0;

  /** Make room for `n` more bytes at `buf[pos]` (drains what is there, or grows). */
  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2));
  }

  /** Append text as UTF-8. */
  write(text: string): void {
    if (text.length === 0) return;
    this.reserve(text.length * 3); // the most UTF-8 bytes a UTF-16 string can need
    this.pos += this.buf.write(text, this.pos);
  }

  /** Append bytes. */
  writeBytes(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  flush(): void {
    if (this.pos === 0) return;
    const full = this.pos;
    this.pos = 0;
    this.drain(this.buf.subarray(0, full));
  }

  /** Everything written; for a file, it now appears under its name. */
  abstract close(): void;
  /** Give up: a file output is left untouched. */
  abstract abort(): void;
  /** Take these bytes (the buffer is reused once this returns). */
  protected abstract drain(bytes: Buffer): void;
}

const sleepBuffer = new Int32Array(new SharedArrayBuffer(4));

/** Writes to a file descriptor, coping with short writes, EAGAIN (a non-blocking pipe) and EPIPE. */
export class FdSink extends Sink {
  constructor(protected fd: number) {
    super();
  }

  protected drain(bytes: Buffer): void {
    let offset = 0;
    while (offset < bytes.length) {
      try {
        offset += writeSync(this.fd, bytes, offset, bytes.length - offset);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "EAGAIN") {
          Atomics.wait(sleepBuffer, 0, 0, 2); // a non-blocking pipe is full: let the reader catch up
          continue;
        }
        if (code === "EPIPE") throw new OutputClosed();
        throw e;
      }
    }
  }

  close(): void {
    this.flush();
  }

  abort(): void {
    this.pos = 0;
  }
}

/**
 * `-o FILE`: written to a temporary file beside it and renamed at the end, so
 * a failed run leaves FILE as it was. A FILE that is not a regular file
 * (/dev/null, a FIFO) is written in place (core/outfile.ts).
 */
export class FileSink extends FdSink {
  private readonly tmp: string | null;
  private readonly target: string;
  private done = false;

  constructor(path: string) {
    const { path: target, inPlace } = replaceTarget(path);
    const tmp = inPlace ? null : join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
    super(openSync(tmp ?? target, "w"));
    this.tmp = tmp;
    this.target = target;
  }

  override close(): void {
    if (this.done) return;
    this.flush();
    if (this.tmp) fsyncSync(this.fd);
    closeSync(this.fd);
    this.done = true;
    if (this.tmp) renameSync(this.tmp, this.target);
  }

  override abort(): void {
    if (this.done) return;
    super.abort();
    this.done = true;
    try {
      closeSync(this.fd);
    } catch {}
    if (this.tmp) {
      try {
        unlinkSync(this.tmp);
      } catch {}
    }
  }
}
