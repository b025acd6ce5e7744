/**
 * The contract between the turn engine and the agent adapters (SPEC §14, issue 13).
 * An adapter is pure: it never spawns, sleeps or reads files. The engine runs the
 * agent, feeds every complete output line to a parser, and acts on `finish()`.
 */
export type AgentKind = "claude" | "codex" | "command";

/** How a turn ended, as the adapter classifies it from the agent's output (structured fields first, text second). */
export type TurnEnd =
  | { kind: "ok" }
  /** Usage limit. resetAt in UTC; null = unknown (the engine backs off). window: "five_hour" | "weekly" | "monthly" | the CLI's own name. */
  | { kind: "limit"; resetAt: Date | null; message: string; window?: string }
  /** Overloaded, 5xx after the CLI's own retries, a plain 429 rate limit, a timeout: worth running again. */
  | { kind: "transient"; message: string }
  /** 401 / not logged in: running again will not help. advice names the CLI's login command. */
  | { kind: "auth"; message: string; advice: string }
  /**
   * Anything else. noSession: a resume was refused because the session does not exist
   * (another machine, deleted, never persisted): the engine should start the turn afresh.
   */
  | { kind: "fail"; message: string; noSession?: boolean };

export interface TokenCounts {
  input: number;
  output: number;
  cacheRead?: number;
  cacheWrite?: number;
  reasoning?: number;
}

export interface TurnFacts {
  /** The id to resume with (claude: the latest session_id seen, the result's first; codex: thread_id / banner "session id"). */
  sessionId: string | null;
  model: string | null;
  agentVersion: string | null;
  costUsd: number | null;
  tokens: TokenCounts | null;
  numTurns: number | null;
  /** claude: result text; codex: last agent_message; command: last lines of output, bounded (~40 lines / 4 KB). */
  finalMessage: string | null;
  /** Unknown event types are counted, never fatal. */
  unknownEvents: number;
}

/** What the engine knows when it starts the agent; every field is optional. */
export interface ParserContext {
  /** The argv the agent runs with (codex: the model comes from -m / -c model=…). */
  argv?: string[];
  /** The prompt sent on stdin: lets codex text mode drop its echo exactly. */
  prompt?: string;
  /** When the agent was started (wall time on the result line); defaults to the first line's time. */
  startedAt?: Date;
  /** IANA zone the agent formats local reset times in ("try again at 5:56 PM"); defaults to this machine's. */
  localTimeZone?: string;
}

export interface AgentParser {
  /** One complete line of stdout (no newline). Returns readable transcript lines for the iteration log (may be empty). */
  stdout(line: string, now: Date): string[];
  /** One complete line of stderr (no newline). */
  stderr(line: string, now: Date): string[];
  /** After the agent exited (code = real exit code; timedOut when orch killed it for a timeout). */
  finish(exit: { code: number; timedOut: boolean }, now: Date): { end: TurnEnd; facts: TurnFacts; lines: string[] };
}

export interface Preflight {
  problem: string;
  fix: string;
}

export interface Adapter {
  kind: AgentKind;
  /** JSON stream on stdout: raw output also goes to `<log>.jsonl`, the log gets the readable transcript. */
  structured(argv: string[]): boolean;
  /** argv to resume a session given the configured argv, or null when this agent/argv cannot resume. The prompt still goes on stdin. */
  resumeArgv(argv: string[], sessionId: string): string[] | null;
  /** Problems that would make the first turn fail, checked before orch marks the turn running. */
  preflight(argv: string[], env: Record<string, string | undefined>, uid: number): Preflight | null;
  newParser(ctx?: ParserContext): AgentParser;
}
