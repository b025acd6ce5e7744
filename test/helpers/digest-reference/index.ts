/**
 * The digest writer as 0.1 shipped it (string-based: regexes over Latin-1
 * views of the bytes, fast-xml-parser's builder for each `<log>`), frozen here
 * so tests can demand that the byte-level fast path in src/digest gives exactly
 * the same bytes for any input. Do not "fix" these files: they are the
 * definition of the expected output (apart from what 0.2 added on purpose:
 * regular files only, the size cap).
 */
export { DigestWriter as ReferenceDigestWriter, type LogEntry as ReferenceLogEntry } from "./render.ts";
export { sanitizeUtf8 as referenceSanitizeUtf8, latin1ToText } from "./sanitize.ts";
export { forEachCleanPiece as referenceCleanPieces } from "./pieces.ts";
export { ReferenceMemorySink } from "./sink.ts";
