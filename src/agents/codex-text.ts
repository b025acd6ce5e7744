/**
 * codex exec without --json (the 0.1 argv): stderr is a human transcript made of blocks
 * that start with a header line (`codex`, `exec`, `thinking`, `tokens used`, …) or a
 * prefixed line (`ERROR: `, `warning: `), after a banner and **the whole prompt echoed**.
 * This reader turns it into the same one-line-per-event transcript as JSON mode, drops
 * the echo and the thinking, and keeps what classification needs (the ERROR lines).
 */
import { clock, cline, G, outputSummary, short, textBlock, tline, unwrapShell } from "./transcript.ts";

type Block =
  | { kind: "codex"; lines: string[] }
  | { kind: "exec"; command: string | null; status: string | null; out: string[] }
  | { kind: "skip" }
  | { kind: "tokens" }
  | { kind: "file"; paths: string[] }
  | { kind: "plan"; lines: string[] };

const BLOCK_HEADERS: Record<string, () => Block> = {
  codex: () => ({ kind: "codex", lines: [] }),
  exec: () => ({ kind: "exec", command: null, status: null, out: [] }),
  thinking: () => ({ kind: "skip" }),
  "tokens used": () => ({ kind: "tokens" }),
  "file update": () => ({ kind: "file", paths: [] }),
  "file update:": () => ({ kind: "file", paths: [] }),
  "Plan update": () => ({ kind: "plan", lines: [] }),
};
const LINE_PREFIXES = ["ERROR: ", "warning: ", "deprecated: ", "mcp: ", "mcp startup: ", "WARNING: ", "🌐 ", "tool ", "collab ", "codex session "];
const EXEC_STATUS = /\s*(succeeded|exited (-?\d+)) in ([\d.]+\s*\w*):$/;

export function isCodexHeader(line: string): boolean {
  return line in BLOCK_HEADERS || LINE_PREFIXES.some((p) => line.startsWith(p)) || EXEC_STATUS.test(line) || /^(task interrupted|context compacted|apply_patch\()/.test(line);
}

export class CodexTextReader {
  version: string | null = null;
  model: string | null = null;
  sessionId: string | null = null;
  totalTokens: number | null = null;
  lastMessage: string | null = null;
  /** ERROR lines that are not reconnect notices, latest last (the failure reason). */
  errors: string[] = [];
  private state: "pre" | "banner" | "afterBanner" | "echo" | "body" = "pre";
  private banner: Record<string, string> = {};
  private dashes = 0;
  private block: Block | null = null;
  private echo: string[] | null;
  private echoAt = 0;
  private lastError = "";

  constructor(prompt?: string) {
    this.echo = prompt === undefined ? null : prompt.replace(/\r\n/g, "\n").split("\n");
  }

  /** One line of the human transcript; returns transcript lines. */
  line(line: string, now: Date): string[] {
    switch (this.state) {
      case "pre":
        if (/^OpenAI Codex v/.test(line)) {
          this.version = /^OpenAI Codex v(\S+)/.exec(line)![1]!;
          this.state = "banner";
          return [];
        }
        if (line === "Reading prompt from stdin...") return [];
        return this.body(line, now);
      case "banner": {
        if (line.startsWith("--------")) {
          if (++this.dashes >= 2) return this.endBanner(now);
          return [];
        }
        const kv = /^([a-z][a-z ]*): (.*)$/.exec(line);
        if (kv) this.banner[kv[1]!] = kv[2]!;
        return [];
      }
      case "afterBanner":
        if (line === "user") {
          this.state = "echo";
          return [];
        }
        this.state = "body";
        return this.body(line, now);
      case "echo":
        return this.skipEcho(line, now);
      default:
        return this.body(line, now);
    }
  }

  private endBanner(now: Date): string[] {
    const b = this.banner;
    this.model = b.model ?? null;
    this.sessionId = b["session id"] ?? null;
    this.state = "afterBanner";
    const parts = [`codex ${this.version ?? "?"}`, `model=${this.model ?? "?"}`, `session=${this.sessionId ?? "?"}`];
    for (const [k, label] of [["sandbox", "sandbox"], ["approval", "approval"], ["reasoning effort", "reasoning"]] as const) if (b[k]) parts.push(`${label}=${b[k]}`);
    return [tline(now, G.start, parts.join(" "))];
  }

  /** The prompt comes back verbatim after `user`: drop it, exactly when the prompt is known. */
  private skipEcho(line: string, now: Date): string[] {
    if (this.echo) {
      if (this.echoAt < this.echo.length && line === this.echo[this.echoAt]) {
        this.echoAt++;
        return [];
      }
      if (line.trim() === "" && this.echoAt >= this.echo.length - 1) return [];
      // Not the prompt we were given (codex rewrote it?): fall back to skipping up to a header.
      if (this.echoAt < this.echo.length - 1) this.echo = null;
    }
    if (!this.echo && !isCodexHeader(line)) return [];
    this.state = "body";
    return this.body(line, now);
  }

  private body(line: string, now: Date): string[] {
    if (line in BLOCK_HEADERS) {
      const out = this.flush(now);
      this.block = BLOCK_HEADERS[line]!();
      return out;
    }
    const b = this.block;
    if (b?.kind === "exec" && b.status === null) {
      // `<command> in <cwd>`, then ` succeeded in 0ms:` (sometimes on the same line).
      if (b.command === null) {
        const status = EXEC_STATUS.exec(line);
        const cmdText = status ? line.slice(0, status.index) : line;
        const cwd = this.banner.workdir;
        b.command = unwrapShell(cwd && cmdText.endsWith(` in ${cwd}`) ? cmdText.slice(0, -` in ${cwd}`.length) : cmdText.replace(/ in \/\S*$/, ""));
        if (status) b.status = status[2] ?? "0";
        return [tline(now, G.tool, `sh(${short(b.command, 120)})`)];
      }
      const status = EXEC_STATUS.exec(line);
      if (status) {
        b.status = status[2] ?? "0";
        return [];
      }
    }
    if (EXEC_STATUS.test(line) && b?.kind === "exec") return [];
    if (line.startsWith("ERROR: ") || line.startsWith("warning: ") || line.startsWith("WARNING: ") || line.startsWith("deprecated: ")) {
      const out = this.flush(now);
      return [...out, ...this.notice(line, now)];
    }
    if (/^(mcp: |mcp startup: |🌐 |tool |collab |codex session |task interrupted|context compacted)/.test(line)) {
      const out = this.flush(now);
      return [...out, tline(now, line.startsWith("tool ") || line.startsWith("🌐 ") ? G.tool : G.warn, short(line, 200))];
    }
    if (/^apply_patch\(/.test(line)) {
      const out = this.flush(now);
      return [...out, cline(now, `${G.result} ${short(line.replace(/:$/, ""), 120)}`)];
    }
    if (!b) return this.loose(line, now);
    switch (b.kind) {
      case "codex":
        b.lines.push(line);
        return [];
      case "exec":
        b.out.push(line);
        return [];
      case "tokens": {
        const n = Number(line.replace(/[,\s]/g, ""));
        if (Number.isFinite(n)) this.totalTokens = n;
        this.block = null;
        return [];
      }
      case "file": {
        const m = /^([AMD]) (\S.*)$/.exec(line);
        if (m) b.paths.push(`${m[2]} (${m[1] === "A" ? "add" : m[1] === "D" ? "delete" : "update"})`);
        return [];
      }
      case "plan":
        b.lines.push(line.trim());
        return [];
      default:
        return [];
    }
  }

  /** A line outside any block: the final answer codex repeats on stdout, or stray text. */
  private loose(line: string, now: Date): string[] {
    if (!line.trim()) return [];
    if (this.lastMessage && this.lastMessage.split("\n").some((l) => l.trim() === line.trim())) return [];
    return [`${clock(now)} ${short(line, 300)}`];
  }

  private notice(line: string, now: Date): string[] {
    if (line.startsWith("ERROR: ")) {
      const msg = line.slice(7);
      const re = /^Reconnecting\.\.\. (\d+\/\d+)(?: \((.*)\))?$/.exec(msg);
      if (re) return [tline(now, G.retry, `reconnecting ${re[1]}${re[2] ? `: ${short(re[2], 140)}` : ""}`)];
      // codex prints its final error twice; show it once.
      if (msg === this.lastError) return [];
      this.lastError = msg;
      this.errors.push(msg);
      return [tline(now, G.warn, `error: ${short(msg, 240)}`)];
    }
    return [tline(now, G.warn, short(line, 200))];
  }

  /** Close the open block, rendering what it held. */
  flush(now: Date): string[] {
    const b = this.block;
    this.block = null;
    if (!b) return [];
    switch (b.kind) {
      case "codex": {
        const text = b.lines.join("\n").trim();
        if (!text) return [];
        this.lastMessage = text;
        return textBlock(now, G.text, text);
      }
      case "exec": {
        const status = b.status === null ? "running" : b.status === "0" ? "exit 0" : `exit ${b.status}`;
        return [cline(now, `${G.result} ${outputSummary(b.out.join("\n"), { status, fromEnd: true })}`)];
      }
      case "file":
        return b.paths.length ? [tline(now, G.file, short(b.paths.join(", "), 240))] : [];
      case "plan": {
        const steps = b.lines.filter(Boolean);
        const current = steps.find((s) => s.startsWith("→")) ?? steps[0] ?? "";
        return [tline(now, G.plan, `plan: ${steps.length} steps${current ? `, ${short(current, 120)}` : ""}`)];
      }
      default:
        return [];
    }
  }
}
