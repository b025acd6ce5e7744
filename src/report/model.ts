/**
 * The report's facts from what the branch and the heartbeats record. Pure: the
 * caller reads git (history.ts, sources.ts) and hands the records in, so the
 * figures are tested directly and the same facts feed text, JSON and HTML.
 */
import { ACTORS, parseSubject, type Actor } from "../core/state.ts";
import { hasDiffstat, parseReceipt, type Receipt } from "./trailers.ts";
import { heartbeatView } from "./heartbeat.ts";
import { REPORT_SCHEMA, type ActorSummary, type Cycle, type Diffstat, type Failure, type Report, type Stalemate, type Tokens, type Turn } from "./types.ts";

/** One commit of the branch's first-parent history. */
export interface CommitRecord {
  sha: string;
  /** Committer time, epoch seconds. */
  time: number;
  subject: string;
  /** `%(trailers:only,unfold)`. */
  trailers: string;
  /** Per-file line counts, when the numstat log was read (binary files count 0 lines). */
  files?: FileChange[];
}

export interface FileChange {
  path: string;
  add: number;
  del: number;
}

export interface ModelInput {
  branch: string;
  remote: string;
  ref: string | null;
  fetch: Report["fetch"];
  fetchError: string | null;
  /** Epoch seconds. */
  since: number;
  until: number;
  now: number;
  /** Oldest first; may start before `since` (context: running marks and the peer's stamp before the period). */
  commits: CommitRecord[];
  /** Whether `files` were read (the numstat log): the fallback for stamps without Orch-Diffstat. */
  numstat: boolean;
  /** Repo-relative path of the state file (never counted as a change). */
  stateFile: string;
  /** Doc/meta paths (setting autocommit.whitelist); every other path is code. */
  isDoc: (path: string) => boolean;
  /** Parsed heartbeat.json per actor; null when the actor has no heartbeat ref. */
  heartbeats: Record<Actor, unknown | null>;
  stalemateCycles: number;
  staleAfterSec: number;
}

/** True when a stamp in the period lacks a complete Orch-Diffstat: then the numstat log must be read. */
export function needsNumstat(commits: CommitRecord[], since: number, until: number): boolean {
  return commits.some((c) => {
    if (c.time < since || c.time > until) return false;
    const p = parseSubject(c.subject);
    return (p?.kind === "ok" || p?.kind === "fail") && !hasDiffstat(c.trailers);
  });
}

/** Seconds of [a, b] inside [since, until]. */
const overlap = (a: number, b: number, since: number, until: number) => Math.max(0, Math.min(b, until) - Math.max(a, since));

export function buildReport(input: ModelInput): Report {
  const { since, until } = input;
  const turns: Turn[] = [];
  const peerWait: Record<Actor, number> = { galph: 0, ralph: 0 };
  const running: Record<Actor, { time: number; iteration: number } | null> = { galph: null, ralph: null };
  const waitBefore: Record<Actor, number> = { galph: 0, ralph: 0 };
  let lastStamp: { actor: Actor; time: number } | null = null;
  let work = { commits: 0, files: [] as FileChange[] };

  for (const c of input.commits) {
    if (c.time > until) break;
    const p = parseSubject(c.subject);
    if (!p) {
      work.commits++;
      if (c.files) work.files.push(...c.files);
      continue;
    }
    if (p.kind === "init") {
      // Commits before orch started are nobody's turn.
      work = { commits: 0, files: [] };
      continue;
    }
    const actor = p.actor;
    if (p.kind === "running") {
      // The handover gap is measured once per peer stamp: a rerun's second mark is not a new wait.
      if (lastStamp && lastStamp.actor !== actor && running[actor] === null) {
        const gap = overlap(lastStamp.time, c.time, since, until);
        peerWait[actor] += gap;
        waitBefore[actor] = gap;
      }
      running[actor] = { time: c.time, iteration: p.iteration ?? 0 };
      continue;
    }
    // An ok or fail stamp ends the actor's turn.
    if (c.time >= since) {
      const receipt = parseReceipt(c.trailers);
      const iteration = (p.iteration ?? 0) - (actor === "ralph" && p.kind === "ok" ? 1 : 0);
      turns.push(turnOf(c, p.sha ?? null, actor, p.kind, iteration, receipt, running[actor]?.time ?? null, waitBefore[actor], work, input));
    }
    running[actor] = null;
    waitBefore[actor] = 0;
    lastStamp = { actor, time: c.time };
    work = { commits: 0, files: [] };
  }

  const failures: Failure[] = turns
    .filter((t) => t.outcome === "fail")
    .map((t) => ({ actor: t.actor, iteration: t.iteration, at: t.ended_at, reason: t.reason, exit: t.exit, log: t.log, stamp_commit: t.stamp_commit }));
  const cycles = cyclesOf(turns);
  const actors = {} as Record<Actor, ActorSummary>;
  const machines = {} as Report["machines"];
  for (const a of ACTORS) {
    const r = running[a];
    actors[a] = summarize(turns.filter((t) => t.actor === a), peerWait[a], r && r.time >= since ? { iteration: r.iteration, since: iso(r.time) } : null);
    machines[a] = { heartbeat: heartbeatView(input.heartbeats[a], { now: input.now, staleAfterSec: input.staleAfterSec, branchSaysRunning: r !== null }) };
  }
  return {
    schema: REPORT_SCHEMA,
    branch: input.branch,
    remote: input.remote,
    ref: input.ref,
    fetch: input.fetch,
    fetch_error: input.fetchError,
    generated_at: iso(input.now),
    period: { since: iso(since), until: iso(until), seconds: until - since },
    actors,
    turns,
    failures,
    cycles,
    stalemates: stalematesOf(cycles, input.stalemateCycles),
    stalemate_cycles: input.stalemateCycles,
    machines,
  };
}

/** `YYYY-MM-DDTHH:MM:SSZ` of whole epoch seconds (toISOString without the regex of isoUtc: this runs per turn). */
const iso = (sec: number) => new Date(sec * 1000).toISOString().slice(0, 19) + "Z";

function turnOf(
  c: CommitRecord,
  workCommit: string | null,
  actor: Actor,
  outcome: "ok" | "fail",
  iteration: number,
  r: Receipt,
  markTime: number | null,
  peerWaitSec: number,
  work: { commits: number; files: FileChange[] },
  input: ModelInput,
): Turn {
  const started = r.started ?? markTime;
  return {
    actor,
    iteration,
    outcome,
    started_at: started === null ? null : iso(started),
    ended_at: iso(c.time),
    duration_sec: r.durationSec,
    exit: r.exit,
    attempts: r.attempts,
    limit_wait_sec: r.limitWaitSec ?? 0,
    peer_wait_sec: peerWaitSec,
    cost_usd: r.costUsd,
    tokens: r.tokens,
    commits: work.commits,
    diffstat: r.diffstat ? { ...r.diffstat, source: "receipt" } : input.numstat ? numstatDiff(work.files, input) : null,
    agent: r.agent,
    session: r.session,
    host: r.host,
    log: r.log,
    prompt: r.prompt,
    reason: r.reason ?? (r.takeover ? `taken over by ${r.takeover}` : null),
    nudges: r.nudges,
    takeover: r.takeover,
    stamp_commit: c.sha,
    work_commit: workCommit,
    receipt: r.any,
  };
}

/** A turn's diffstat counted from its commits: a path changed twice counts once in files, its lines add up. */
function numstatDiff(files: FileChange[], input: ModelInput): Diffstat {
  const byPath = new Map<string, { add: number; del: number }>();
  for (const f of files) {
    if (f.path === input.stateFile) continue;
    const cur = byPath.get(f.path) ?? { add: 0, del: 0 };
    cur.add += f.add;
    cur.del += f.del;
    byPath.set(f.path, cur);
  }
  const d: Diffstat = { files: 0, add: 0, del: 0, code_files: 0, code_add: 0, code_del: 0, doc_files: 0, doc_add: 0, doc_del: 0, source: "numstat" };
  for (const [path, n] of byPath) {
    const kind = input.isDoc(path) ? "doc" : "code";
    d.files++;
    d.add += n.add;
    d.del += n.del;
    d[`${kind}_files`]++;
    d[`${kind}_add`] += n.add;
    d[`${kind}_del`] += n.del;
  }
  return d;
}

function summarize(turns: Turn[], peerWaitSec: number, running: ActorSummary["running"]): ActorSummary {
  const durations = turns.map((t) => t.duration_sec).filter((d): d is number => d !== null).sort((a, b) => a - b);
  const costs = turns.map((t) => t.cost_usd).filter((c): c is number => c !== null);
  const tokenTurns = turns.map((t) => t.tokens).filter((t): t is Tokens => t !== null);
  const tokens = tokenTurns.reduce<Tokens>(
    (sum, t) => ({ input: sum.input + t.input, output: sum.output + t.output, cache_read: sum.cache_read + t.cache_read, cache_write: sum.cache_write + t.cache_write }),
    { input: 0, output: 0, cache_read: 0, cache_write: 0 },
  );
  return {
    turns: turns.length,
    ok: turns.filter((t) => t.outcome === "ok").length,
    failed: turns.filter((t) => t.outcome === "fail").length,
    retried: turns.filter((t) => (t.attempts ?? 1) > 1).length,
    unknown_duration: turns.length - durations.length,
    duration_sec: durations.length ? { total: durations.reduce((a, b) => a + b, 0), median: median(durations), longest: durations.at(-1)! } : null,
    limit_wait_sec: turns.reduce((a, t) => a + t.limit_wait_sec, 0),
    peer_wait_sec: peerWaitSec,
    // Sums in integer micro-dollars: adding floats drifts (0.1 + 0.2).
    cost_usd: costs.length ? Math.round(costs.reduce((a, c) => a + Math.round(c * 1e6), 0)) / 1e6 : null,
    cost_turns: costs.length,
    tokens: tokenTurns.length ? tokens : null,
    running,
  };
}

/** Median of sorted numbers; the mean of the middle two, rounded to whole seconds. */
export function median(sorted: number[]): number {
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}

/** One cycle per iteration: galph's planning turn(s) for N and ralph's turn(s) working on N. */
function cyclesOf(turns: Turn[]): Cycle[] {
  const byIter = new Map<number, Cycle>();
  for (const t of turns) {
    let c = byIter.get(t.iteration);
    if (!c) {
      c = { iteration: t.iteration, commits: 0, code: { files: 0, add: 0, del: 0 }, docs: { files: 0, add: 0, del: 0 }, ralph_code_files: 0, galph: null, ralph: null };
      byIter.set(t.iteration, c);
    }
    c.commits += t.commits;
    const d = t.diffstat;
    if (d) {
      c.code.files += d.code_files;
      c.code.add += d.code_add;
      c.code.del += d.code_del;
      c.docs.files += d.doc_files;
      c.docs.add += d.doc_add;
      c.docs.del += d.doc_del;
      if (t.actor === "ralph") c.ralph_code_files += d.code_files;
    }
    c[t.actor] = t.outcome;
  }
  return [...byIter.values()].sort((a, b) => a.iteration - b.iteration);
}

/** Runs of at least `n` consecutive cycles in which ralph ran and changed no code file; cycles ralph never ran in are skipped. */
function stalematesOf(cycles: Cycle[], n: number): Stalemate[] {
  const out: Stalemate[] = [];
  let run: Cycle[] = [];
  const close = () => {
    if (run.length >= n && n > 0) out.push({ from_iteration: run[0]!.iteration, to_iteration: run.at(-1)!.iteration, cycles: run.length });
    run = [];
  };
  for (const c of cycles) {
    if (c.ralph === null) continue;
    if (c.ralph_code_files === 0) run.push(c);
    else close();
  }
  close();
  return out;
}
