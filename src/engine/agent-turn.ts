/**
 * A turn's agent, as many attempts as it takes (SPEC §14): each attempt runs
 * the agent through its adapter (a readable transcript in the log, the raw
 * stream beside it); a usage limit is waited out (heartbeat `blocked`) and
 * the session resumed; a timeout or a transient failure is rerun up to
 * agent.retries times with back-off; an auth failure ends the turn at once.
 */
import { openSync, writeSync, closeSync } from "node:fs";
import { adapterFor, limitWaitMs, type Adapter, type AgentKind, type TokenCounts, type TurnEnd, type TurnFacts } from "../agents/index.ts";
import { Exit, errorMessage } from "../core/errors.ts";
import { sleepUnless, writeAll } from "../core/proc.ts";
import type { Repo } from "../core/repo.ts";
import type { Role } from "../core/roles.ts";
import { runAgent, type AgentOutcome, type AgentOutput, type AgentRun } from "./agent.ts";
import type { IterationLog } from "./logs.ts";

/** What the engine sees of an attempt's end, and what the whole turn added up to. */
export interface AgentTurn {
  /** The last attempt's process outcome. */
  outcome: AgentOutcome;
  end: TurnEnd;
  /** The last attempt's facts, cost and tokens summed over attempts. */
  facts: TurnFacts;
  adapter: Adapter;
  attempts: number;
  limitWaitMs: number;
  /** 0 when the turn succeeded; otherwise the exit code orch leaves with (the agent's, 124, 8, or 1). */
  code: number;
  /** Why the turn failed, in one line (null when it did not). */
  reason: string | null;
}

/** Hooks into the runner: heartbeats and notifications while the agent runs or waits. */
export interface TurnHooks {
  /** A usage limit blocks the turn until `until` (heartbeat phase blocked). */
  blocked(until: Date, message: string): Promise<void>;
  /** The wait is over; the agent runs again. */
  unblocked(): Promise<void>;
}

export const RESUME_PROMPT = "You were interrupted by a usage limit. Continue the task from where you left off.\n";

/** claude's own stream fallback waits 300 s: an idle timeout below that would kill a healthy turn. */
const CLAUDE_MIN_IDLE_MS = 300_000;

export async function runAgentTurn(
  role: Role,
  repo: Repo,
  base: AgentRun,
  log: IterationLog,
  say: (line: string) => void,
  hooks: TurnHooks,
  signal: AbortSignal,
): Promise<AgentTurn> {
  const c = repo.config.forRole(role.section);
  const adapter = adapterFor(c.get(`${role.section}.agent_kind` as const) as "auto" | AgentKind, base.argv);
  const idle = adapter.kind === "claude" && base.idleTimeoutMs > 0 ? Math.max(base.idleTimeoutMs, CLAUDE_MIN_IDLE_MS) : base.idleTimeoutMs;
  const retries = c.get("agent.retries");
  const maxLimitMs = c.ms("limits.max_wait_sec");
  let attempts = 0;
  let retried = 0;
  let limits = 0;
  let limitWait = 0;
  let session: string | null = null;
  let cost: number | null = null;
  let tokens: TokenCounts | null = null;
  for (;;) {
    attempts++;
    const resumeArgv = session ? adapter.resumeArgv(base.argv, session) : null;
    const argv = resumeArgv ?? base.argv;
    const prompt = resumeArgv ? new TextEncoder().encode(RESUME_PROMPT) : base.prompt;
    if (attempts > 1) log.line(`$ ${argv.join(" ")}`);
    const { outcome, end, facts } = await attempt(adapter, { ...base, argv, prompt, idleTimeoutMs: idle }, log, say);
    if (facts.costUsd !== null) cost = (cost ?? 0) + facts.costUsd;
    if (facts.tokens) tokens = addTokens(tokens, facts.tokens);
    const done = (code: number, reason: string | null): AgentTurn => ({
      outcome,
      end,
      facts: { ...facts, costUsd: cost, tokens },
      adapter,
      attempts,
      limitWaitMs: limitWait,
      code,
      reason,
    });
    if (outcome.interrupted) return done(outcome.code, `interrupted by ${outcome.interrupted}`);
    // The adapter's verdict decides (claude: a result with is_error false is done, whatever the exit code).
    if (end.kind === "ok") return done(Exit.ok, null);
    if (end.kind === "limit") {
      const now = new Date();
      const wait = limitWaitMs(end.resetAt, now, { minWaitMs: c.ms("limits.min_wait_sec"), jitterMs: c.ms("limits.jitter_sec"), backoffMs: c.ms("limits.backoff_sec"), attempt: limits });
      if (limitWait + wait > maxLimitMs) {
        const msg = `${role.actor} blocked by a usage limit for longer than limits.max_wait_sec (${Math.round(maxLimitMs / 60000)} min): ${end.message}`;
        log.line(`[sync] ${msg}`);
        return done(Exit.limit, msg);
      }
      limits++;
      const until = new Date(now.getTime() + wait);
      const line = `[sync] ${role.actor} blocked by a usage limit until ${until.toISOString().slice(0, 16)}Z (${adapter.kind}: "${end.message}"); waiting`;
      log.line(line);
      say(line);
      await hooks.blocked(until, end.message);
      const t0 = Date.now();
      await sleepUnless(wait, signal);
      limitWait += Date.now() - t0;
      if (signal.aborted) return done(outcome.code || Exit.sigint, "interrupted while blocked by a usage limit");
      await hooks.unblocked();
      session = facts.sessionId ?? session;
      const how = session && adapter.resumeArgv(base.argv, session) ? `resuming session ${session}` : "from the start";
      log.line(`[sync] the usage limit is over; running ${role.actor}'s turn again, ${how}`);
      say(`[sync] ${role.actor} unblocked; running the turn again, ${how}`);
      continue;
    }
    if (end.kind === "fail" && end.noSession && session) {
      // The session to resume is gone (another machine, never saved): start the turn afresh, not a retry.
      log.line(`[agent] the session ${session} cannot be resumed (${end.message}); starting the turn afresh`);
      session = null;
      continue;
    }
    const transient = end.kind === "transient" || outcome.timedOut !== null;
    if (transient && retried < retries) {
      retried++;
      const backoff = c.ms("agent.retry_backoff_sec") * 2 ** (retried - 1);
      const why = outcome.timedOut ? `${outcome.timedOut} timeout` : end.kind === "transient" ? end.message : `exit ${outcome.code}`;
      const line = `[agent] ${why}: running the turn again in ${Math.round(backoff / 1000)}s (retry ${retried}/${retries})`;
      log.line(line);
      say(line);
      await sleepUnless(backoff, signal);
      if (signal.aborted) return done(Exit.sigint, "interrupted while waiting to retry");
      session = null;
      continue;
    }
    const code = outcome.timedOut ? Exit.agentTimeout : outcome.code !== 0 ? outcome.code : Exit.runtime;
    const reason =
      end.kind === "auth"
        ? `${end.message}; ${end.advice}`
        : outcome.timedOut
          ? `agent ${outcome.timedOut} timeout${retried ? ` (after ${retried} retr${retried === 1 ? "y" : "ies"})` : ""}`
          : `${end.message}${retried ? ` (after ${retried} retr${retried === 1 ? "y" : "ies"})` : ""}`;
    if (end.kind === "auth") say(`[agent] ${reason}`);
    return done(code, reason);
  }
}

/** Token counts of two attempts added (a count only one of them reports is kept as is). */
function addTokens(a: TokenCounts | null, b: TokenCounts): TokenCounts {
  if (!a) return { ...b };
  const sum = (x?: number, y?: number) => (x === undefined && y === undefined ? undefined : (x ?? 0) + (y ?? 0));
  const out: TokenCounts = { input: a.input + b.input, output: a.output + b.output };
  for (const k of ["cacheRead", "cacheWrite", "reasoning"] as const) {
    const v = sum(a[k], b[k]);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** One run of the agent: its lines through the adapter's parser into the log and the console; the raw stream into the sidecar. */
async function attempt(adapter: Adapter, run: AgentRun, log: IterationLog, say: (line: string) => void): Promise<{ outcome: AgentOutcome; end: TurnEnd; facts: TurnFacts }> {
  const parser = adapter.newParser({ argv: run.argv, prompt: Buffer.from(run.prompt).toString("utf8"), startedAt: new Date() });
  const sidecar = adapter.structured(run.argv) ? new Sidecar(`${log.path}.jsonl`, say) : null;
  // Transcript lines go to the log and the console (a plain agent's stderr stays on stderr).
  const show = (lines: string[], fd = 1) => {
    if (lines.length === 0) return;
    const text = lines.join("\n") + "\n";
    log.write(text);
    writeAll(fd, text);
  };
  const feed = (text: string, fd: number, take: (line: string, now: Date) => string[]) => {
    sidecar?.write(text);
    const now = new Date();
    const lines = text.split("\n");
    if (lines.at(-1) === "") lines.pop();
    const out: string[] = [];
    for (const line of lines) for (const t of take(line, now)) out.push(t);
    show(out, sidecar ? 1 : fd);
  };
  const output: AgentOutput = {
    stdout: (text) => feed(text, 1, (l, now) => parser.stdout(l, now)),
    stderr: (text) => feed(text, 2, (l, now) => parser.stderr(l, now)),
  };
  let outcome: AgentOutcome;
  try {
    outcome = await runAgent({ ...run, output });
  } finally {
    sidecar?.close();
  }
  const { end, facts, lines } = parser.finish({ code: outcome.code, timedOut: outcome.timedOut !== null }, new Date());
  show(lines);
  return { outcome, end, facts };
}

/** `<log>.jsonl`: the agent's raw output, as it came, never reused; a write failure is said once and then skipped. */
class Sidecar {
  private fd = -1;
  private broken = false;
  constructor(private readonly path: string, private readonly say: (line: string) => void) {}
  write(text: string): void {
    if (this.broken) return;
    try {
      if (this.fd < 0) this.fd = openSync(this.path, "a");
      const buf = Buffer.from(text);
      let off = 0;
      while (off < buf.length) off += writeSync(this.fd, buf, off);
    } catch (e) {
      this.broken = true;
      this.say(`[log] cannot write ${this.path} (${errorMessage(e)}); the raw agent output is not kept for this turn`);
    }
  }
  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
