import { closeSync } from "node:fs";
import { escapeAttribute, sanitizeText, splitCdataEnd } from "./sanitize.ts";
import { TextStreamer, type PieceSizes } from "./clean.ts";
import { LogReadError, openLog, truncationMarker, type OpenPolicy } from "./logfile.ts";
import type { Sink } from "./sink.ts";

/** One `<log>` element: attributes in SPEC §9 order, the text file, its `<ls>` snapshots. */
export interface LogEntry {
  role: string;
  iteration: number;
  /** The `path` attribute. */
  display: string;
  /** The file read for the text. */
  file: string;
  /** The file is a symlink or lies under one: check where it leads before opening (see logfile.ts). */
  checkPath?: boolean;
  /** Discovery found no file there but this (a FIFO, a directory): reported, never opened. */
  notAFile?: string;
  source: string;
  format: string;
  commit?: { short: string; subject: string };
  ls?: { path: string; commit: string; files: string[] }[];
}

/** Indentation of the SPEC §9 shape: `<log>` at two spaces, its children at four, `<ls>` text at six. */
const TEXT_INDENT = "    ";
const LS_INDENT = "      ";
/** Listed names kept ready (a few MB at most, for trees of many thousand files). */
const NAMES_KEPT = 20_000;

/**
 * Streams the digest: the `<logs>` header, then each `<log>` from a template
 * (the bytes fast-xml-parser's builder wrote in 0.1, which the tests hold it
 * to), its text streamed by TextStreamer into the open CDATA section. Memory
 * holds one read buffer and one output buffer, whatever the number or size of
 * logs.
 */
export class DigestWriter {
  private readonly text: TextStreamer;
  private readonly names = new Map<string, Buffer>();

  /** pieces: read sizes (tests make them tiny to force cuts inside long lines). */
  constructor(private readonly sink: Sink, private readonly policy: OpenPolicy, pieces: PieceSizes = {}) {
    this.text = new TextStreamer(sink, pieces);
  }

  begin(header: { prefix: string; count: number; source: string }): void {
    this.sink.write(`<logs prefix="${escapeAttribute(header.prefix)}" count="${header.count}" source="${escapeAttribute(header.source)}">\n`);
  }

  log(entry: LogEntry): void {
    let opened;
    let failure: string | null = null;
    try {
      opened = entry.notAFile ? { skipped: `not a regular file (${entry.notAFile}); not read` } : openLog(entry.file, entry.checkPath ?? false, this.policy);
    } catch (e) {
      if (!(e instanceof LogReadError)) throw e;
      failure = e.message; // a log that vanished or cannot be read: said in its place, the digest goes on
    }
    let head = `  <log${attribute("role", entry.role)}${attribute("iter", String(entry.iteration))}${attribute("path", entry.display)}${attribute("source", entry.source)}${attribute("format", entry.format)}`;
    if (entry.commit) head += attribute("commit", entry.commit.short) + attribute("commit_subject", entry.commit.subject);
    if (opened && "fd" in opened && opened.truncated > 0) head += attribute("truncated", String(opened.truncated));
    this.sink.write(head + `>\n${TEXT_INDENT}<![CDATA[\n`);

    this.text.begin();
    if (opened && "skipped" in opened) failure = `${entry.file}: ${opened.skipped}`;
    else if (opened) {
      try {
        opened.segments.forEach((segment, i) => {
          if (i > 0) this.note(truncationMarker(opened.truncated, opened.size, this.policy.maxBytes));
          this.text.file(opened.fd, segment);
        });
      } catch (e) {
        failure = new LogReadError(entry.file, e).message;
      } finally {
        closeSync(opened.fd);
      }
    }
    if (failure !== null) this.note(`<${failure}>\n`);

    this.sink.write((this.text.endsWithNewline() ? TEXT_INDENT : "\n" + TEXT_INDENT) + "]]>\n");
    for (const ls of entry.ls ?? []) {
      this.sink.write(`${TEXT_INDENT}<ls${attribute("path", ls.path)}${attribute("commit", ls.commit)}>\n${LS_INDENT}<![CDATA[\n`);
      for (const f of ls.files) this.sink.writeBytes(this.listedName(f));
      this.sink.write(`${LS_INDENT}]]>\n${TEXT_INDENT}</ls>\n`);
    }
    this.sink.write("  </log>\n");
  }

  /**
   * One line of an `<ls>` section: the name cleaned, any `]]>` in it split,
   * a newline after it, as bytes. The listings of neighbouring stamps are
   * nearly the same names (the same strings: see snapshots.ts), so each is
   * made once. Splitting name by name is splitting the whole section: a `]]>`
   * never spans a newline.
   */
  private listedName(name: string): Buffer {
    let line = this.names.get(name);
    if (line === undefined) {
      if (this.names.size >= NAMES_KEPT) this.names.clear();
      line = Buffer.from(splitCdataEnd(sanitizeText(name) + "\n"));
      this.names.set(name, line);
    }
    return line;
  }

  end(): void {
    this.sink.write("</logs>\n");
  }

  /** A line of orch's own in the text, on a line of its own. */
  private note(line: string): void {
    this.text.text(this.text.isEmpty() || this.text.endsWithNewline() ? line : "\n" + line);
  }
}

function attribute(name: string, value: string): string {
  return ` ${name}="${escapeAttribute(value)}"`;
}
