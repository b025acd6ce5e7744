/**
 * The report's facts, as `orch report --json` prints them (schema 1, documented
 * in docs/report.md). Field names are the contract: snake_case, stable, absent
 * values are null (never omitted), times are UTC `YYYY-MM-DDTHH:MM:SSZ`.
 */
import type { Actor } from "../core/state.ts";

export const REPORT_SCHEMA = 1;

export interface Report {
  schema: number;
  branch: string;
  remote: string;
  /** The ref whose history was read, e.g. `refs/remotes/origin/feature/x`; null when the branch exists nowhere. */
  ref: string | null;
  /** "fetched", "offline" (--no-fetch), "local" (the clone has no such remote: one machine, orch pair), or "failed" (see fetch_error; local refs were read). */
  fetch: "fetched" | "offline" | "local" | "failed";
  fetch_error: string | null;
  generated_at: string;
  period: Period;
  actors: Record<Actor, ActorSummary>;
  /** Stamped turns whose stamp falls in the period, oldest first. */
  turns: Turn[];
  failures: Failure[];
  cycles: Cycle[];
  stalemates: Stalemate[];
  /** Setting `stalemate.cycles` (3 when the setting does not exist). */
  stalemate_cycles: number;
  machines: Record<Actor, Machine>;
}

export interface Period {
  since: string;
  until: string;
  seconds: number;
}

export interface ActorSummary {
  turns: number;
  ok: number;
  failed: number;
  /** Turns with Orch-Attempts > 1 (retries and usage-limit reruns). */
  retried: number;
  /** Turns without an Orch-Duration receipt (stamped by the old tool or by hand). */
  unknown_duration: number;
  /** Wall seconds in turns, over the turns with a known duration; null when none has one. */
  duration_sec: { total: number; median: number; longest: number } | null;
  /** Seconds blocked by usage limits (sum of Orch-Limit-Wait). */
  limit_wait_sec: number;
  /** Seconds between the peer's stamp and this actor's next running mark, within the period. */
  peer_wait_sec: number;
  /** Sum of Orch-Cost-USD over the turns that reported one; null when none did. */
  cost_usd: number | null;
  cost_turns: number;
  /** Sums of Orch-Tokens over the turns that reported them; null when none did. */
  tokens: Tokens | null;
  /** A running mark after this actor's last stamp: a turn in progress at the end of the period. */
  running: { iteration: number; since: string } | null;
}

export interface Tokens {
  input: number;
  output: number;
  cache_read: number;
  cache_write: number;
}

export interface Diffstat {
  files: number;
  add: number;
  del: number;
  code_files: number;
  code_add: number;
  code_del: number;
  doc_files: number;
  doc_add: number;
  doc_del: number;
  /** "receipt" (Orch-Diffstat) or "numstat" (counted from the turn's commits). */
  source: "receipt" | "numstat";
}

export interface Turn {
  actor: Actor;
  /** The iteration the turn worked on (a ralph ok subject names the next one). */
  iteration: number;
  outcome: "ok" | "fail";
  /** Orch-Started, else this turn's running mark; null when neither is in the history read. */
  started_at: string | null;
  /** The stamp commit's time. */
  ended_at: string;
  duration_sec: number | null;
  exit: number | null;
  attempts: number | null;
  limit_wait_sec: number;
  /** Waiting for the peer right before this turn (peer's stamp → this running mark), clipped to the period. */
  peer_wait_sec: number;
  cost_usd: number | null;
  tokens: Tokens | null;
  /** Non-stamp commits since the previous stamp (the turn's work and auto-commits). */
  commits: number;
  diffstat: Diffstat | null;
  agent: { kind: string | null; version: string | null; model: string | null } | null;
  session: string | null;
  host: string | null;
  log: string | null;
  prompt: string | null;
  reason: string | null;
  nudges: string[];
  takeover: string | null;
  /** Full sha of the stamp commit, and the work commit its subject names. */
  stamp_commit: string;
  work_commit: string | null;
  /** False for stamps without receipt trailers (the old tool, or `orch stamp`). */
  receipt: boolean;
}

export interface Failure {
  actor: Actor;
  iteration: number;
  at: string;
  reason: string | null;
  exit: number | null;
  log: string | null;
  stamp_commit: string;
}

export interface LinesChanged {
  files: number;
  add: number;
  del: number;
}

export interface Cycle {
  iteration: number;
  commits: number;
  code: LinesChanged;
  docs: LinesChanged;
  /** Ralph's code files in this cycle (the stalemate measure). */
  ralph_code_files: number;
  galph: "ok" | "fail" | null;
  ralph: "ok" | "fail" | null;
}

export interface Stalemate {
  from_iteration: number;
  to_iteration: number;
  cycles: number;
}

export interface Machine {
  /** null: no heartbeat ref (the old tool, or a runner that never started). */
  heartbeat: HeartbeatView | null;
}

export interface HeartbeatView {
  phase: string;
  host: string | null;
  clone: string | null;
  pid: number | null;
  role: string | null;
  orch_version: string | null;
  agent: { argv0: string | null; version: string | null } | null;
  iteration: number | null;
  /** When the current phase began (turn_started_at while running, else updated_at). */
  since: string | null;
  turn_started_at: string | null;
  last_output_at: string | null;
  updated_at: string | null;
  blocked_until: string | null;
  reason: string | null;
  /** Seconds since updated_at at generation time. */
  age_sec: number | null;
  /** Late by sync.stale_after_sec: running with an old heartbeat, blocked long past its reset time, or another phase while the branch says this actor's turn is running. */
  stale: boolean;
}
