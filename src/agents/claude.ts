/**
 * Claude Code (`claude -p`). With `--output-format stream-json --verbose` every stdout
 * line is one event (reference §2.1); without it stdout is the final text only. This
 * file renders the transcript and collects what the verdict needs; claude-verdict.ts
 * decides how the turn ended (from `is_error`, never `subtype` or the exit code alone).
 */
import { isLimitText } from "./classify.ts";
import { claudeVerdict, type ClaudeSeen } from "./claude-verdict.ts";
import { epochToDate, windowFromType } from "./limits.ts";
import { clock, cline, cleanLine, isoSecond, fmtCost, fmtDuration, fmtTokens, G, keyArgument, outputSummary, parseEvent, resultLine, short, TailBuffer, textBlock, tline } from "./transcript.ts";
import type { Adapter, AgentParser, ParserContext, TokenCounts, TurnEnd, TurnFacts } from "./types.ts";

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

const KNOWN_SYSTEM = new Set([
  "init", "api_retry", "status", "compact_boundary", "task_started", "task_progress", "task_updated", "task_notification",
  "task_summary", "hook_started", "hook_progress", "hook_response", "informational", "notification", "thinking_tokens",
  "tool_progress", "files_persisted", "local_command_output",
]);
const KNOWN_QUIET = new Set(["stream_event", "keep_alive", "control_request", "control_response", "control_cancel_request", "auth_status", "tool_progress", "tool_use_summary", "prompt_suggestion"]);
const TASK_PROGRESS_EVERY_MS = 60_000;
const CONTENT_TOOLS = new Set(["Read", "NotebookRead"]);

/** Text of a tool_result's content: a string or [{type:"text", text}]. */
function toolResultText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((c) => str(obj(c).text) ?? "").join("\n");
  return "";
}

function sumTokens(result: Obj): TokenCounts | null {
  const models = Object.values(obj(result.modelUsage)).map(obj);
  if (models.length > 0) {
    // modelUsage includes subagents; usage is the main loop only (reference §2.1).
    const sum = (k: string) => models.reduce((a, m) => a + (num(m[k]) ?? 0), 0);
    return { input: sum("inputTokens"), output: sum("outputTokens"), cacheRead: sum("cacheReadInputTokens"), cacheWrite: sum("cacheCreationInputTokens") };
  }
  const u = obj(result.usage);
  if (num(u.input_tokens) === null && num(u.output_tokens) === null) return null;
  return { input: num(u.input_tokens) ?? 0, output: num(u.output_tokens) ?? 0, cacheRead: num(u.cache_read_input_tokens) ?? 0, cacheWrite: num(u.cache_creation_input_tokens) ?? 0 };
}

class ClaudeParser implements AgentParser {
  private json = false;
  private startedAt: Date | null;
  private sessionId: string | null = null;
  private initModel: string | null = null;
  private apiModel: string | null = null;
  private version: string | null = null;
  private result: Obj | null = null;
  private rejected: Obj | null = null;
  private synthetic: { text: string; error: string | null } | null = null;
  private lastRetry: Obj | null = null;
  private lastText = "";
  private unknown = 0;
  private tools = new Map<string, string>();
  private taskShown = new Map<string, number>();
  /** Plain (non-JSON) stdout and all stderr: the text fallback and the text-mode final message. */
  private plain = new TailBuffer(40, 4096);
  private plainStdout = new TailBuffer(40, 4096);

  constructor(private readonly ctx: ParserContext) {
    this.startedAt = ctx.startedAt ?? null;
  }

  stdout(raw: string, now: Date): string[] {
    this.startedAt ??= now;
    const line = cleanLine(raw);
    if (!line.trim()) return [];
    const ev = parseEvent(line);
    if (!ev) {
      this.plain.push(line);
      this.plainStdout.push(line);
      // In a JSON stream a stray line is shown as text; in text mode the answer is shown as is.
      return [this.json ? `${clock(now)} ${short(line, 300)}` : line];
    }
    this.json = true;
    if (typeof ev.session_id === "string" && ev.session_id) this.sessionId = ev.session_id;
    return this.event(ev, now);
  }

  stderr(raw: string, now: Date): string[] {
    this.startedAt ??= now;
    const line = cleanLine(raw);
    if (!line.trim()) return [];
    this.plain.push(line);
    return [this.json ? tline(now, G.warn, "stderr: " + short(line, 300)) : line];
  }

  private event(ev: Obj, now: Date): string[] {
    switch (ev.type) {
      case "system":
        return this.system(ev, now);
      case "assistant":
        return this.assistant(ev, now);
      case "user":
        return this.user(ev, now);
      case "result": {
        this.result = ev;
        const text = str(ev.result) ?? "";
        // The final text usually repeats the last assistant block; show it only when it differs.
        if (ev.is_error !== true && text.trim() && text.trim() !== this.lastText.trim()) return textBlock(now, G.text, text);
        return [];
      }
      case "rate_limit_event": {
        const info = obj(ev.rate_limit_info);
        const window = windowFromType(info.rateLimitType);
        if (info.status === "rejected") {
          this.rejected = info;
          const at = epochToDate(info.resetsAt, now);
          return [tline(now, G.limit, `usage limit reached${window ? ` (${window})` : ""}, resets ${at ? isoSecond(at) : "at an unknown time"}`)];
        }
        if (info.status === "allowed_warning") {
          const u = num(info.utilization);
          const pct = u === null ? "" : ` ${Math.round(u <= 1 ? u * 100 : u)}% used`;
          return [tline(now, G.warn, `usage warning${window ? ` (${window})` : ""}${pct}`)];
        }
        return [];
      }
      default:
        if (!KNOWN_QUIET.has(String(ev.type))) this.unknown++;
        return [];
    }
  }

  private system(ev: Obj, now: Date): string[] {
    const sub = String(ev.subtype ?? "");
    if (!KNOWN_SYSTEM.has(sub)) {
      this.unknown++;
      return [];
    }
    switch (sub) {
      case "init": {
        this.initModel = str(ev.model);
        this.version = str(ev.claude_code_version);
        const parts = [`claude ${this.version ?? "?"}`, `model=${this.initModel ?? "?"}`, `session=${this.sessionId ?? "?"}`];
        if (ev.cwd) parts.push(`cwd=${ev.cwd}`);
        if (ev.permissionMode) parts.push(`perm=${ev.permissionMode}`);
        return [tline(now, G.start, parts.join(" "))];
      }
      case "api_retry": {
        this.lastRetry = ev;
        const delay = num(ev.retry_delay_ms);
        const status = ev.error_status ?? "-";
        return [tline(now, G.retry, `api_retry ${status} ${ev.error ?? ""} ${ev.attempt ?? "?"}/${ev.max_retries ?? "?"}${delay !== null ? ` in ${(delay / 1000).toFixed(1)}s` : ""}`.replace(/ +/g, " "))];
      }
      case "status":
        return ev.status === "compacting" ? [tline(now, G.warn, "compacting context")] : [];
      case "compact_boundary":
        return [tline(now, G.warn, "context compacted")];
      case "task_started":
        return [tline(now, G.task, `task started: ${short(String(ev.description ?? ev.task_id ?? ""), 120)}${ev.subagent_type ? ` [${ev.subagent_type}]` : ""}`)];
      case "task_progress": {
        // Long subagent runs would look silent; one progress line a minute per task.
        const id = String(ev.task_id ?? ev.tool_use_id ?? "");
        const last = this.taskShown.get(id) ?? 0;
        if (now.getTime() - last < TASK_PROGRESS_EVERY_MS) return [];
        this.taskShown.set(id, now.getTime());
        const usage = obj(ev.usage);
        const tools = num(usage.tool_uses);
        return [tline(now, G.task, `task: ${short(String(ev.description ?? id), 100)}${ev.last_tool_name ? ` · ${ev.last_tool_name}` : ""}${tools !== null ? ` · ${tools} tools` : ""}`)];
      }
      case "task_notification":
      case "task_updated":
        return ev.status || ev.summary ? [tline(now, G.task, `task ${ev.status ?? "update"}: ${short(String(ev.summary ?? ev.description ?? ""), 140)}`)] : [];
      case "informational":
      case "notification": {
        const text = str(ev.message) ?? str(ev.text);
        return text ? [tline(now, G.warn, short(text, 200))] : [];
      }
      default:
        return [];
    }
  }

  private assistant(ev: Obj, now: Date): string[] {
    const msg = obj(ev.message);
    const main = ev.parent_tool_use_id == null;
    const synthetic = msg.model === "<synthetic>";
    if (!synthetic && main && typeof msg.model === "string") this.apiModel = msg.model;
    const out: string[] = [];
    const sub = main ? "" : "↳ ";
    for (const block of Array.isArray(msg.content) ? msg.content.map(obj) : []) {
      if (block.type === "text" && typeof block.text === "string") {
        if (synthetic) {
          // The CLI's own message: an API error or a usage limit, never the model's words.
          if (main) this.synthetic = { text: block.text, error: str(ev.error) };
          out.push(tline(now, isLimitText(block.text) ? G.limit : G.warn, `${ev.error ? `api error (${ev.error}): ` : ""}${short(block.text, 240)}`));
        } else {
          if (main) this.lastText = block.text;
          out.push(...textBlock(now, G.text, sub + block.text));
        }
      } else if (block.type === "tool_use" || block.type === "server_tool_use") {
        const name = String(block.name ?? "tool");
        const input = obj(block.input);
        this.tools.set(String(block.id ?? ""), name);
        const label = name === "Agent" || name === "Task" ? `${name}[${input.subagent_type ?? "agent"}]` : name;
        out.push(tline(now, G.tool, `${sub}${label}(${keyArgument(input)})`));
      }
      // thinking / redacted_thinking: never shown (reference §2.3).
    }
    return out;
  }

  private user(ev: Obj, now: Date): string[] {
    // Tool results only; these lines carry echoed file contents and are never classified.
    const msg = obj(ev.message);
    const out: string[] = [];
    for (const block of Array.isArray(msg.content) ? msg.content.map(obj) : []) {
      if (block.type !== "tool_result") continue;
      const tool = this.tools.get(String(block.tool_use_id ?? "")) ?? "";
      let text = toolResultText(block.content);
      let status = block.is_error === true ? "error" : "ok";
      if (tool === "Bash") {
        // "Exit code 1\n<output>": the exit code is the status, the last lines the verdict.
        const exit = /^Exit code (\d+)\n?/.exec(text);
        if (exit) [status, text] = [`exit ${exit[1]}`, text.slice(exit[0].length)];
        if (text === "(Bash completed with no output)") text = "";
      }
      // File contents say nothing in one line; their size does.
      const summary = CONTENT_TOOLS.has(tool) && block.is_error !== true ? `${status}, ${text.split("\n").length} lines` : outputSummary(text, { status, fromEnd: tool === "Bash" });
      out.push(cline(now, `${ev.parent_tool_use_id == null ? "" : "↳ "}${G.result} ${summary}`));
    }
    return out;
  }

  finish(exit: { code: number; timedOut: boolean }, now: Date): { end: TurnEnd; facts: TurnFacts; lines: string[] } {
    const seen: ClaudeSeen = { json: this.json, result: this.result, rejected: this.rejected, synthetic: this.synthetic, lastRetry: this.lastRetry, plainTail: this.plain.last(5), stdoutTail: this.plainStdout.last(2) };
    const end = claudeVerdict(seen, exit, now, this.ctx.localTimeZone);
    const r = this.result ?? {};
    const facts: TurnFacts = {
      sessionId: str(r.session_id) ?? this.sessionId,
      model: this.apiModel ?? this.initModel,
      agentVersion: this.version,
      costUsd: num(r.total_cost_usd),
      tokens: this.result ? sumTokens(this.result) : null,
      numTurns: num(r.num_turns),
      finalMessage: str(r.result) ?? (this.json ? this.lastText || null : this.plainStdout.text()),
      unknownEvents: this.unknown,
    };
    const wall = `wall=${fmtDuration(now.getTime() - (this.startedAt ?? now).getTime())}`;
    const api = num(r.duration_api_ms);
    const stats = this.json
      ? [facts.numTurns !== null ? `turns=${facts.numTurns}` : null, fmtCost(facts.costUsd), fmtTokens(facts.tokens), wall, api !== null ? `api=${fmtDuration(api)}` : null, `exit=${exit.code}`]
      : [wall, `exit=${exit.code}`];
    if (this.unknown) stats.push(`unknown_events=${this.unknown}`);
    return { end, facts, lines: [resultLine(now, end, stats)] };
  }
}

const SKIP_PERMISSIONS = (a: string, i: number, argv: string[]) =>
  a === "--dangerously-skip-permissions" ||
  a === "--allow-dangerously-skip-permissions" ||
  a === "--permission-mode=bypassPermissions" ||
  (a === "--permission-mode" && argv[i + 1] === "bypassPermissions");

/** Flags that conflict with --resume (reference §3: `--session-id cannot be used with --continue or --resume`). */
const DROP_WITH_VALUE = new Set(["--resume", "-r", "--session-id"]);
const DROP_ALONE = new Set(["--continue", "-c"]);
const SESSION_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export const claudeAdapter: Adapter = {
  kind: "claude",
  structured: (argv) => argv.some((a, i) => a === "--output-format=stream-json" || a === "--output-format=json" || (a === "--output-format" && /^(stream-)?json$/.test(argv[i + 1] ?? ""))),
  resumeArgv(argv, sessionId) {
    if (!SESSION_ID.test(sessionId) || argv.includes("--no-session-persistence")) return null;
    const out: string[] = [];
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (i > 0 && DROP_WITH_VALUE.has(a)) {
        if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith("-")) i++;
        continue;
      }
      if (i > 0 && (DROP_ALONE.has(a) || /^--(resume|session-id)=/.test(a))) continue;
      out.push(a);
    }
    return [...out, "--resume", sessionId];
  },
  preflight(argv, env, uid) {
    if (uid === 0 && argv.some(SKIP_PERMISSIONS) && env.IS_SANDBOX !== "1" && env.CLAUDE_CODE_BUBBLEWRAP !== "1") {
      return { problem: "claude refuses --dangerously-skip-permissions as root", fix: "run orch as a normal user, or set IS_SANDBOX=1 if this machine is a disposable sandbox" };
    }
    return null;
  },
  newParser: (ctx = {}) => new ClaudeParser(ctx),
};
