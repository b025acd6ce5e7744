/**
 * Shared rendering for readable transcripts (reference §2.3): one line per event,
 * `HH:MM:SS <glyph> <text>` in UTC (both machines' logs line up), tool output cut to
 * a line or two, never thinking. Glyphs, one per event family, so `grep` finds them:
 *   ▶ start   💬 assistant text   🔧 tool call   → tool result   ↻ retry
 *   ⚠ warning / api error   ⛔ usage limit   🧩 subagent / task   ✎ file change   ■ result
 */
import type { TokenCounts, TurnEnd } from "./types.ts";

export const G = { start: "▶", text: "💬", tool: "🔧", result: "→", retry: "↻", warn: "⚠", limit: "⛔", task: "🧩", file: "✎", plan: "☑", done: "■" } as const;

/** 2026-12-01T08:13:40Z: ISO without milliseconds. */
export function isoSecond(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function clock(now: Date): string {
  return now.toISOString().slice(11, 19);
}

export function tline(now: Date, glyph: string, text: string): string {
  return `${clock(now)} ${glyph} ${text}`;
}

/** A continuation line under the previous event (tool result, more assistant text). */
export function cline(now: Date, text: string): string {
  return `${clock(now)}    ${text}`;
}

/** Terminal control sequences and carriage returns out (pty output, coloured CLIs). */
export function cleanLine(line: string): string {
  // eslint-disable-next-line no-control-regex
  return line.replace(/\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g, "").replace(/\r$/, "").replace(/^.*\r(?!$)/, "");
}

/** One line: white space collapsed, cut at max characters. */
export function short(text: string, max = 160): string {
  const one = String(text).replace(/\s+/g, " ").trim();
  return one.length > max ? one.slice(0, max - 1) + "…" : one;
}

function nonEmptyLines(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== "");
}

/**
 * Several lines of assistant text: the first with the glyph, up to maxLines in all,
 * each cut at maxChars, then "… (+N lines)".
 */
export function textBlock(now: Date, glyph: string, text: string, maxLines = 8, maxChars = 240): string[] {
  const lines = nonEmptyLines(text);
  if (lines.length === 0) return [];
  const out = [tline(now, glyph, short(lines[0]!, maxChars))];
  for (const l of lines.slice(1, maxLines)) out.push(cline(now, "  " + short(l, maxChars)));
  if (lines.length > maxLines) out.push(cline(now, `  … (+${lines.length - maxLines} lines)`));
  return out;
}

/**
 * Tool output in one line: "ok (no output)", "exit 1, 60 lines: first | second …".
 * fromEnd shows the last lines (a shell command's verdict is usually at the end).
 */
export function outputSummary(output: string, opts: { error?: boolean; fromEnd?: boolean; status?: string } = {}): string {
  const lines = nonEmptyLines(output);
  const status = opts.status ?? (opts.error ? "error" : "ok");
  if (lines.length === 0) return `${status} (no output)`;
  const pick = opts.fromEnd ? lines.slice(-2) : lines.slice(0, 2);
  const count = lines.length === 1 ? "" : `, ${lines.length} lines`;
  const more = lines.length > pick.length ? " …" : "";
  return `${status}${count}: ${pick.map((l) => short(l, 100)).join(" | ")}${more}`;
}

/** The argument that says what a tool call does (repomirror's order), one line. */
export function keyArgument(input: unknown): string {
  if (!input || typeof input !== "object") return "";
  const o = input as Record<string, unknown>;
  for (const k of ["file_path", "notebook_path", "path", "pattern", "command", "cmd", "query", "url", "skill", "description"]) {
    const v = o[k];
    if (typeof v === "string" && v.trim()) return short(v, 120);
  }
  if (typeof o.prompt === "string") return short(o.prompt, 40);
  if (Array.isArray(o.todos)) {
    const todos = o.todos as { status?: string }[];
    return `${todos.filter((t) => t?.status === "completed").length}/${todos.length} done`;
  }
  return "";
}

/** `/bin/bash -lc 'echo hi'` → `echo hi` (codex wraps every command in a login shell). */
export function unwrapShell(command: string): string {
  const m = /^(?:\/(?:usr\/)?bin\/)?(?:ba|z)?sh -l?c (['"])([\s\S]*)\1$/.exec(command.trim());
  return m ? m[2]!.replace(/'\\''/g, "'") : command;
}

export function fmtDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "?";
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

export function fmtCost(usd: number | null | undefined): string | null {
  if (typeof usd !== "number" || !Number.isFinite(usd)) return null;
  return "$" + (usd === 0 ? "0" : usd < 0.01 ? usd.toPrecision(2) : usd.toFixed(2));
}

export function fmtTokens(t: TokenCounts | null): string | null {
  if (!t) return null;
  const parts = [`in=${t.input}`, `out=${t.output}`];
  if (t.cacheRead !== undefined) parts.push(`cache_r=${t.cacheRead}`);
  if (t.cacheWrite !== undefined) parts.push(`cache_w=${t.cacheWrite}`);
  if (t.reasoning !== undefined) parts.push(`reasoning=${t.reasoning}`);
  return parts.join(" ");
}

/** `■ ok …`, `■ limit until 2026-12-01T08:13:00Z (five_hour): … ·`, `■ auth: … (advice)`. */
export function resultLine(now: Date, end: TurnEnd, stats: (string | null | undefined)[]): string {
  let head: string;
  switch (end.kind) {
    case "ok":
      head = "ok";
      break;
    case "limit":
      head = `limit ${end.resetAt ? "until " + isoSecond(end.resetAt) : "(reset time unknown)"}${end.window ? ` (${end.window})` : ""}: ${short(end.message, 200)}`;
      break;
    case "auth":
      head = `auth: ${short(end.message, 200)} (${end.advice})`;
      break;
    default:
      head = `${end.kind}: ${short(end.message, 200)}`;
  }
  const tail = stats.filter((s): s is string => typeof s === "string" && s !== "");
  return tline(now, G.done, tail.length ? `${head} · ${tail.join(" ")}` : head);
}

/** Keeps the last lines of plain output, bounded in lines and bytes. */
export class TailBuffer {
  private lines: string[] = [];
  private bytes = 0;
  constructor(private readonly maxLines = 40, private readonly maxBytes = 4096) {}
  push(line: string): void {
    this.lines.push(line);
    this.bytes += Buffer.byteLength(line) + 1;
    while (this.lines.length > this.maxLines || (this.bytes > this.maxBytes && this.lines.length > 1)) {
      this.bytes -= Buffer.byteLength(this.lines.shift()!) + 1;
    }
  }
  all(): string[] {
    return [...this.lines];
  }
  last(n: number): string[] {
    return this.lines.filter((l) => l.trim() !== "").slice(-n);
  }
  text(): string | null {
    const t = this.lines.join("\n").trim();
    if (!t) return null;
    return Buffer.byteLength(t) > this.maxBytes ? t.slice(-this.maxBytes) : t;
  }
}

/** Parses one stdout line as a JSON event object, or null for anything else. */
export function parseEvent(line: string): Record<string, unknown> | null {
  const t = line.trim();
  if (!t.startsWith("{")) return null;
  try {
    const v = JSON.parse(t);
    return v && typeof v === "object" && !Array.isArray(v) && typeof v.type === "string" ? v : null;
  } catch {
    return null;
  }
}
