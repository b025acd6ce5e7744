// Frozen reference: src/digest/render.ts as 0.1 shipped it (see index.ts). Do not edit.
import { XMLBuilder } from "fast-xml-parser";
import { escapeAttribute, sanitizeText, splitCdataEnd } from "./sanitize.ts";
import { forEachCleanPiece, LogReadError } from "./pieces.ts";
import type { Sink } from "./sink.ts";

/** One `<log>` element: attributes in SPEC §9 order, the text file, its `<ls>` snapshots. */
export interface LogEntry {
  role: string;
  iteration: number;
  /** The `path` attribute. */
  display: string;
  /** The file read for the text. */
  file: string;
  source: string;
  format: string;
  commit?: { short: string; subject: string };
  ls?: { path: string; commit: string; files: string[] }[];
}

/** NUL never survives sanitising, so it cannot collide with anything the builder writes. */
const TEXT_SLOT = "\0";
/** The builder indents by nesting level; the wrapper puts `<log>` at level 1 like the SPEC shape. */
const WRAP_OPEN = "<logs>\n";
const WRAP_CLOSE = "</logs>\n";
const TEXT_INDENT = "    ";
const LS_INDENT = "      ";

/**
 * Streams the digest: the `<logs>` header, then each `<log>` built by
 * fast-xml-parser's builder and written before the next is read, the log text
 * itself streamed in chunks into the builder's CDATA slot. Memory holds one
 * chunk of one log, whatever the number or size of logs.
 */
export class DigestWriter {
  private readonly builder = new XMLBuilder({
    ignoreAttributes: false,
    attributeNamePrefix: "@_",
    cdataPropName: "#cdata",
    format: true,
    indentBy: "  ",
    suppressBooleanAttributes: false,
    // Our own escaping (sanitised, with tab/newline as character references); the builder's would double it.
    processEntities: false,
    attributeValueProcessor: (_name: string, value: unknown) => escapeAttribute(String(value)),
  });
  /** pieces: read sizes (tests make them tiny to force cuts inside long lines). */
  constructor(private readonly sink: Sink, private readonly pieces: { chunk?: number; maxLine?: number } = {}) {}

  begin(header: { prefix: string; count: number; source: string }): void {
    this.sink.write(`<logs prefix="${escapeAttribute(header.prefix)}" count="${header.count}" source="${escapeAttribute(header.source)}">\n`);
  }

  log(entry: LogEntry): void {
    const element: Record<string, unknown> = {
      "@_role": entry.role,
      "@_iter": String(entry.iteration),
      "@_path": entry.display,
      "@_source": entry.source,
      "@_format": entry.format,
    };
    if (entry.commit) {
      element["@_commit"] = entry.commit.short;
      element["@_commit_subject"] = entry.commit.subject;
    }
    element["#cdata"] = TEXT_SLOT;
    if (entry.ls) {
      element.ls = entry.ls.map((ls) => ({
        "@_path": ls.path,
        "@_commit": ls.commit,
        "#cdata": "\n" + ls.files.map((f) => sanitizeText(f) + "\n").join("") + LS_INDENT,
      }));
    }
    const xml = this.builder.build({ logs: { log: element } }) as string;
    const slot = xml.indexOf(TEXT_SLOT);
    this.sink.write(xml.slice(WRAP_OPEN.length, slot));
    this.sink.write("\n");
    const last = this.streamText(entry.file);
    this.sink.write(last === "\n" ? TEXT_INDENT : "\n" + TEXT_INDENT);
    this.sink.write(xml.slice(slot + TEXT_SLOT.length, xml.length - WRAP_CLOSE.length));
  }

  end(): void {
    this.sink.write("</logs>\n");
  }

  /** Copy the cleaned text into the open CDATA section; returns its last character ("" when empty). */
  private streamText(file: string): string {
    let tail = "";
    const emit = (text: string, write: (s: string) => void) => {
      // A `]]>` made of the end of one piece and the start of the next: close and reopen the section between them.
      if ((tail + text.slice(0, 2)).includes("]]>")) this.sink.write("]]><![CDATA[");
      write(splitCdataEnd(text));
      tail = (tail + text).slice(-2);
    };
    try {
      forEachCleanPiece(file, (piece) => emit(piece, (s) => this.sink.writeLatin1(s)), this.pieces);
    } catch (e) {
      if (!(e instanceof LogReadError)) throw e;
      // A log that vanished or cannot be read: say so in its place, keep the digest going.
      const note = sanitizeText(`${tail === "" || tail.endsWith("\n") ? "" : "\n"}<${e.message}>\n`);
      emit(note, (s) => this.sink.write(s));
    }
    return tail.slice(-1);
  }
}
