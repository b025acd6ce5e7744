/**
 * A heartbeat.json (SPEC §12) as the report shows it. Pure; tolerant of fields
 * it does not know and of a heartbeat written by a newer orch (schema > 1 keeps
 * the fields it shares with schema 1).
 */
import { isoUtc } from "../core/state.ts";
import { parseUtc } from "./trailers.ts";
import type { HeartbeatView } from "./types.ts";

const str = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);
const int = (v: unknown): number | null => (typeof v === "number" && Number.isInteger(v) ? v : null);
const time = (v: unknown): string | null => {
  const s = str(v);
  const sec = s ? parseUtc(s) : null;
  return sec === null ? null : isoUtc(new Date(sec * 1000));
};

export function heartbeatView(raw: unknown, opts: { now: number; staleAfterSec: number; branchSaysRunning: boolean }): HeartbeatView | null {
  if (raw === null || raw === undefined) return null;
  if (typeof raw !== "object" || Array.isArray(raw)) {
    return { ...EMPTY, phase: "unreadable", reason: "heartbeat.json is not a JSON object" };
  }
  const hb = raw as Record<string, unknown>;
  const phase = str(hb.phase) ?? "unknown";
  const updated = time(hb.updated_at);
  const turnStarted = time(hb.turn_started_at);
  const age = updated ? opts.now - parseUtc(updated)! : null;
  const agent = hb.agent && typeof hb.agent === "object" ? (hb.agent as Record<string, unknown>) : null;
  // Only a running agent refreshes its heartbeat (every sync.heartbeat_push_sec); a waiting or
  // blocked runner pushes at phase changes only, so an old heartbeat there is not a sign of death.
  // A blocked runner is late only once its reset time is long past; any other phase is late when
  // the branch says its turn is running.
  const blockedUntil = time(hb.blocked_until);
  const late = (since: number | null) => since !== null && opts.now - since > opts.staleAfterSec;
  const stale =
    phase === "running" ? late(updated ? parseUtc(updated) : null)
    : phase === "blocked" ? late(blockedUntil ? parseUtc(blockedUntil) : null)
    : opts.branchSaysRunning && late(updated ? parseUtc(updated) : null);
  return {
    phase,
    host: str(hb.host),
    clone: str(hb.clone),
    pid: int(hb.pid),
    role: str(hb.role),
    orch_version: str(hb.orch_version),
    agent: agent ? { argv0: str(agent.argv0), version: str(agent.version) } : null,
    iteration: int(hb.iteration),
    since: phase === "running" ? (turnStarted ?? updated) : updated,
    turn_started_at: turnStarted,
    last_output_at: time(hb.last_output_at),
    updated_at: updated,
    blocked_until: blockedUntil,
    reason: str(hb.reason),
    age_sec: age,
    stale,
  };
}

const EMPTY: HeartbeatView = {
  phase: "unknown",
  host: null,
  clone: null,
  pid: null,
  role: null,
  orch_version: null,
  agent: null,
  iteration: null,
  since: null,
  turn_started_at: null,
  last_output_at: null,
  updated_at: null,
  blocked_until: null,
  reason: null,
  age_sec: null,
  stale: false,
};
