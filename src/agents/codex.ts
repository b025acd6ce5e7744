/**
 * Codex CLI (`codex exec`). With `--json`, stdout is JSONL events (reference §2.2) and
 * stderr only notices; without it, stderr is a human transcript (codex-text.ts) and
 * stdout the final answer. Only `turn.failed` (or a non-zero exit) is terminal: an
 * `error` event may be a transient "Reconnecting... 1/5" before a turn that completes.
 * The reset of a usage limit exists only as local wall-clock text ("try again at 8:09 AM").
 */
import { classifyText, oneLineTrim } from "./classify.ts";
import { CodexTextReader } from "./codex-text.ts";
import { cline, cleanLine, clock, fmtDuration, fmtTokens, G, keyArgument, outputSummary, parseEvent, resultLine, short, TailBuffer, textBlock, tline, unwrapShell } from "./transcript.ts";
import type { Adapter, AgentParser, ParserContext, TokenCounts, TurnEnd, TurnFacts } from "./types.ts";

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

const QUIET = new Set(["turn.started", "item.plan.delta"]);
const ITEM_TYPES = new Set(["agent_message", "reasoning", "command_execution", "file_change", "mcp_tool_call", "collab_tool_call", "web_search", "todo_list", "plan", "error"]);

/** The model an argv asks for: `-m X`, `--model X`, `--model=X`, `-c model=X` (a TOML value). */
export function codexModelFromArgv(argv: string[]): string | null {
  let model: string | null = null;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if ((a === "-m" || a === "--model") && argv[i + 1]) model = argv[++i]!;
    else if (a.startsWith("--model=")) model = a.slice(8);
    else if ((a === "-c" || a === "--config") && argv[i + 1]) {
      const m = /^model\s*=\s*(.+)$/.exec(argv[++i]!);
      if (m) model = m[1]!.replace(/^["']|["']$/g, "");
    }
  }
  return model;
}

class CodexParser implements AgentParser {
  private json = false;
  private merged = false;
  private startedAt: Date | null;
  private sessionId: string | null = null;
  private model: string | null;
  private tokens: TokenCounts | null = null;
  private failed: string | null = null;
  private errors: string[] = [];
  private lastMessage: string | null = null;
  private unknown = 0;
  private started = new Set<string>();
  private todoShown = "";
  private text: CodexTextReader;
  private finalStdout = new TailBuffer(40, 4096);
  private stderrTail = new TailBuffer(20, 4096);

  constructor(private readonly ctx: ParserContext) {
    this.startedAt = ctx.startedAt ?? null;
    this.model = ctx.argv ? codexModelFromArgv(ctx.argv) : null;
    this.text = new CodexTextReader(ctx.prompt);
  }

  stdout(raw: string, now: Date): string[] {
    this.startedAt ??= now;
    const line = cleanLine(raw);
    const ev = parseEvent(line);
    if (ev) {
      this.json = true;
      return this.event(ev, now);
    }
    if (!line.trim()) return [];
    // A pty merges stderr into stdout: then the banner shows up here and stdout is the transcript.
    if (!this.json && (this.merged || /^OpenAI Codex v/.test(line))) {
      this.merged = true;
      return this.text.line(line, now);
    }
    if (this.json) return [`${clock(now)} ${short(line, 300)}`];
    // Text mode: stdout is the final answer, already shown from the transcript's `codex` block.
    this.finalStdout.push(line);
    return [];
  }

  stderr(raw: string, now: Date): string[] {
    this.startedAt ??= now;
    const line = cleanLine(raw);
    if (line.trim()) this.stderrTail.push(line);
    if (this.json) {
      // JSON mode: stderr is notices (and, with RUST_LOG, tracing dumps): shown, never parsed as events.
      if (!line.trim() || line === "Reading prompt from stdin...") return [];
      return [tline(now, G.warn, short(line, 200))];
    }
    return this.text.line(line, now);
  }

  private event(ev: Obj, now: Date): string[] {
    switch (ev.type) {
      case "thread.started":
      case "thread.resumed":
        this.sessionId = str(ev.thread_id) ?? this.sessionId;
        return [tline(now, G.start, `codex session=${this.sessionId ?? "?"} model=${this.model ?? "(codex config)"}`)];
      case "item.started":
      case "item.updated":
      case "item.completed":
        return this.item(String(ev.type).slice(5), obj(ev.item), now);
      case "turn.completed": {
        const u = obj(ev.usage);
        const t: TokenCounts = { input: num(u.input_tokens) ?? 0, output: num(u.output_tokens) ?? 0 };
        if (num(u.cached_input_tokens) !== null) t.cacheRead = num(u.cached_input_tokens)!;
        if (num(u.cache_write_input_tokens) !== null) t.cacheWrite = num(u.cache_write_input_tokens)!;
        if (num(u.reasoning_output_tokens) !== null) t.reasoning = num(u.reasoning_output_tokens)!;
        this.tokens = t;
        return [];
      }
      case "turn.failed": {
        const msg = str(obj(ev.error).message) ?? "turn failed";
        this.failed ??= msg;
        // The same text came just before as an `error` event: show it once.
        return this.errors.at(-1) === msg ? [] : [tline(now, G.warn, `turn failed: ${short(msg, 240)}`)];
      }
      case "error": {
        const msg = str(ev.message) ?? "";
        const re = /^Reconnecting\.\.\. (\d+\/\d+)(?: \((.*)\))?$/s.exec(msg);
        if (re) return [tline(now, G.retry, `reconnecting ${re[1]}${re[2] ? `: ${short(re[2], 140)}` : ""}`)];
        this.errors.push(msg);
        return [tline(now, G.warn, `error: ${short(msg, 240)}`)];
      }
      case "request_user_input":
        return [tline(now, G.warn, "request_user_input (exec mode cannot answer)")];
      default:
        if (!QUIET.has(String(ev.type))) this.unknown++;
        return [];
    }
  }

  private item(phase: string, item: Obj, now: Date): string[] {
    const type = String(item.type ?? "");
    const id = String(item.id ?? "");
    if (!ITEM_TYPES.has(type)) {
      if (phase === "completed") this.unknown++;
      return [];
    }
    const first = phase === "started" || (phase === "completed" && !this.started.has(id));
    if (phase === "started") this.started.add(id);
    switch (type) {
      case "agent_message": {
        if (phase !== "completed") return [];
        this.lastMessage = str(item.text) ?? this.lastMessage;
        return textBlock(now, G.text, str(item.text) ?? "");
      }
      case "reasoning": {
        // A summary, not the raw chain of thought: its first line only.
        const t = (str(item.text) ?? "").trim();
        return phase === "completed" && t ? [tline(now, "💭", short(t.split("\n")[0]!.replace(/\*\*/g, ""), 160))] : [];
      }
      case "command_execution": {
        const call = `sh(${short(unwrapShell(str(item.command) ?? ""), 120)})`;
        if (phase === "started") return [tline(now, G.tool, call)];
        if (phase !== "completed") return [];
        const code = num(item.exit_code);
        const status = item.status === "declined" ? "declined" : code === null ? String(item.status ?? "done") : `exit ${code}`;
        const summary = `${G.result} ${outputSummary(str(item.aggregated_output) ?? "", { status, fromEnd: true })}`;
        return first ? [tline(now, G.tool, `${call} ${summary}`)] : [cline(now, summary)];
      }
      case "file_change": {
        if (phase !== "completed") return [];
        const changes = Array.isArray(item.changes) ? item.changes.map(obj) : [];
        const failed = item.status === "failed" ? " (failed)" : "";
        return [tline(now, G.file, short(changes.map((c) => `${c.path ?? "?"} (${c.kind ?? "update"})`).join(", "), 240) + failed)];
      }
      case "mcp_tool_call": {
        const call = `${item.server ?? "mcp"}.${item.tool ?? "?"}(${keyArgument(obj(item.arguments))})`;
        if (phase === "started") return [tline(now, G.tool, call)];
        if (phase !== "completed") return [];
        const err = str(obj(item.error).message);
        const summary = `${G.result} ${err ? `error: ${short(err, 140)}` : String(item.status ?? "ok")}`;
        return first ? [tline(now, G.tool, `${call} ${summary}`)] : [cline(now, summary)];
      }
      case "web_search":
        return phase === "completed" ? [tline(now, G.tool, `web_search(${short(String(item.query ?? ""), 120)})`)] : [];
      case "todo_list": {
        const items = Array.isArray(item.items) ? item.items.map(obj) : [];
        const done = items.filter((i) => i.completed === true).length;
        const key = `${done}/${items.length}`;
        if (key === this.todoShown) return [];
        this.todoShown = key;
        const next = items.find((i) => i.completed !== true);
        return [tline(now, G.plan, `todo ${key} done${next ? `, next: ${short(String(next.text ?? ""), 120)}` : ""}`)];
      }
      case "collab_tool_call":
        return phase === "completed" ? [tline(now, G.task, `${item.tool ?? "collab"} ${item.status ?? ""}${item.prompt ? `: ${short(String(item.prompt), 100)}` : ""}`.trim())] : [];
      case "plan":
        return phase === "completed" ? [tline(now, G.plan, `plan: ${short(String(item.text ?? "").split("\n")[0]!, 160)}`)] : [];
      case "error":
        return [tline(now, G.warn, `warning: ${short(String(item.message ?? ""), 200)}`)];
      default:
        return [];
    }
  }

  finish(exit: { code: number; timedOut: boolean }, now: Date): { end: TurnEnd; facts: TurnFacts; lines: string[] } {
    const lines = this.json ? [] : this.text.flush(now);
    if (!this.json && !this.text.lastMessage && this.finalStdout.text()) lines.push(...textBlock(now, G.text, this.finalStdout.text()!));
    const end = this.classify(exit, now);
    const tokens = this.json ? this.tokens : null;
    const facts: TurnFacts = {
      sessionId: this.json ? this.sessionId : this.text.sessionId,
      model: this.json ? this.model : this.text.model ?? this.model,
      agentVersion: this.json ? null : this.text.version,
      costUsd: null,
      tokens,
      numTurns: null,
      finalMessage: this.json ? this.lastMessage : this.finalStdout.text() ?? this.text.lastMessage,
      unknownEvents: this.unknown,
    };
    const stats = [
      fmtTokens(tokens),
      !this.json && this.text.totalTokens !== null ? `tokens=${this.text.totalTokens}` : null,
      `wall=${fmtDuration(now.getTime() - (this.startedAt ?? now).getTime())}`,
      `exit=${exit.code}`,
      this.unknown ? `unknown_events=${this.unknown}` : null,
    ];
    lines.push(resultLine(now, end, stats));
    return { end, facts, lines };
  }

  private classify(exit: { code: number; timedOut: boolean }, now: Date): TurnEnd {
    if (exit.timedOut) return { kind: "transient", message: "codex timed out" };
    const verdict = (msg: string): TurnEnd => classifyText(msg, now, { vendor: "codex", localTimeZone: this.ctx.localTimeZone }) ?? { kind: "fail", message: oneLineTrim(msg) };
    if (this.json && this.failed !== null) return verdict(this.failed.trim() ? this.failed : (this.errors.at(-1) ?? "turn failed"));
    if (exit.code === 0) return { kind: "ok" };
    const errors = this.json ? this.errors : this.text.errors;
    if (errors.length) return verdict(errors.at(-1)!);
    // No structured reason: a refused resume or a startup error, on stderr's last lines.
    for (const l of this.stderrTail.last(3).reverse()) {
      const v = classifyText(l, now, { vendor: "codex", only: ["noSession", "auth"] });
      if (v) return v;
    }
    const last = this.stderrTail.last(1)[0];
    return { kind: "fail", message: oneLineTrim(`codex exited ${exit.code}${last ? `: ${last}` : ""}`) };
  }
}

const SESSION_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export const codexAdapter: Adapter = {
  kind: "codex",
  structured: (argv) => argv.some((a, i) => i > 0 && (a === "--json" || a === "--experimental-json")),
  /**
   * `codex exec [OPTIONS] resume <id>`: every configured option stays before `resume`,
   * where the exec parser reads it whether or not it is marked global in codex's cli.rs
   * (only --json, -o, --model, --skip-git-repo-check, --ephemeral and the bypass flag are
   * global, so options placed after `resume` would be rejected). No prompt argument: codex
   * then reads stdin.
   */
  resumeArgv(argv, sessionId) {
    const exec = argv.findIndex((a, i) => i > 0 && (a === "exec" || a === "e"));
    if (exec < 0 || !SESSION_ID.test(sessionId)) return null;
    const rest = argv.slice(exec + 1);
    // --ephemeral writes no session file; an argv that already picks a subcommand is left alone.
    if (rest.includes("--ephemeral") || rest.includes("resume") || rest.includes("review")) return null;
    return [...argv, "resume", sessionId];
  },
  preflight: () => null,
  newParser: (ctx = {}) => new CodexParser(ctx),
};
