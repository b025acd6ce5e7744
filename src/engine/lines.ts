/**
 * Splits a byte stream into lines: forwards the complete lines of each chunk
 * as they arrive (one string, possibly many lines, each ending in "\n") and
 * keeps a partial last line until more bytes, or the end, come.
 */
export class LineSplitter {
  private pending = "";
  private readonly decoder = new TextDecoder("utf-8", { fatal: false });
  constructor(private readonly emit: (lines: string) => void) {}

  push(chunk: Uint8Array): void {
    const text = this.pending + this.decoder.decode(chunk, { stream: true });
    const cut = text.lastIndexOf("\n");
    if (cut < 0) {
      this.pending = text;
      // A runaway line without newlines must not grow memory without bound.
      if (this.pending.length > 1 << 20) this.flush();
      return;
    }
    this.pending = text.slice(cut + 1);
    this.emit(text.slice(0, cut + 1));
  }

  flush(): void {
    const rest = this.pending + this.decoder.decode();
    this.pending = "";
    if (rest) this.emit(rest.endsWith("\n") ? rest : rest + "\n");
  }
}
