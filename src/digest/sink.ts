import { openSync, writeSync, closeSync, fsyncSync, renameSync, unlinkSync } from "node:fs";
import { dirname, basename, join } from "node:path";

/** The reader went away (`orch tail … | head`): stop writing, not an error. */
export class OutputClosed extends Error {
  constructor() {
    super("output closed");
  }
}

/** Where the digest goes: written in order, a bounded buffer at a time. */
export interface Sink {
  write(text: string): void;
  /** Bytes given as a Latin-1 string (one char per byte): clean log text, already UTF-8. */
  writeLatin1(bytes: string): void;
  /** Everything written; for a file, it now appears under its name. */
  close(): void;
  /** Give up: a file output is left untouched. */
  abort(): void;
}

const FLUSH_AT = 256 * 1024;
const sleepBuffer = new Int32Array(new SharedArrayBuffer(4));

/** Buffered writes to a file descriptor; coping with short writes, EAGAIN and EPIPE. */
export class FdSink implements Sink {
  private parts: string[] = [];
  private size = 0;

  constructor(protected fd: number) {}

  write(text: string): void {
    if (text.length === 0) return;
    if (text.length >= FLUSH_AT) {
      // Big pieces (log text) go straight out: no copy into the buffer.
      this.flush();
      this.writeOut(text);
      return;
    }
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= FLUSH_AT) this.flush();
  }

  writeLatin1(bytes: string): void {
    if (bytes.length === 0) return;
    this.flush();
    let written = 0;
    try {
      written = writeSync(this.fd, bytes, null, "latin1");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EPIPE") throw new OutputClosed();
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
    }
    if (written < bytes.length) this.writeBytes(Buffer.from(bytes.slice(written), "latin1"));
  }

  flush(): void {
    if (this.size === 0) return;
    const text = this.parts.length === 1 ? this.parts[0]! : this.parts.join("");
    this.parts = [];
    this.size = 0;
    this.writeOut(text);
  }

  private writeOut(text: string): void {
    let written = 0;
    try {
      written = writeSync(this.fd, text);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EPIPE") throw new OutputClosed();
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
    }
    if (written < Buffer.byteLength(text)) this.writeBytes(Buffer.from(text).subarray(written));
  }

  /** The rest of a short write, waiting out a full non-blocking pipe. */
  private writeBytes(buf: Buffer): void {
    let offset = 0;
    while (offset < buf.length) {
      try {
        offset += writeSync(this.fd, buf, offset, buf.length - offset);
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
    this.parts = [];
    this.size = 0;
  }
}

/** `-o FILE`: written to a temporary file beside it and renamed at the end, so a failed run leaves FILE as it was. */
export class FileSink extends FdSink {
  private readonly tmp: string;
  private done = false;

  constructor(private readonly path: string) {
    const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
    super(openSync(tmp, "w"));
    this.tmp = tmp;
  }

  override close(): void {
    if (this.done) return;
    this.flush();
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.done = true;
    renameSync(this.tmp, this.path);
  }

  override abort(): void {
    if (this.done) return;
    super.abort();
    this.done = true;
    try {
      closeSync(this.fd);
    } catch {}
    try {
      unlinkSync(this.tmp);
    } catch {}
  }
}
