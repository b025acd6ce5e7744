// Frozen copy of the 0.1 digest writer's output interface (see index.ts).

/** Where the reference digest goes: strings, and clean log text as Latin-1 views of UTF-8. */
export interface Sink {
  write(text: string): void;
  writeLatin1(bytes: string): void;
  close(): void;
  abort(): void;
}

/** Collects the reference digest as the bytes a file would receive. */
export class ReferenceMemorySink implements Sink {
  private parts: Buffer[] = [];
  write(text: string): void {
    this.parts.push(Buffer.from(text, "utf8"));
  }
  writeLatin1(bytes: string): void {
    this.parts.push(Buffer.from(bytes, "latin1"));
  }
  close(): void {}
  abort(): void {}
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}
