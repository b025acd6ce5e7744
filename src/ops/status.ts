import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { ACTORS, parseState, parseSubject, readStateFile, remoteStateRestore, type Actor, type State } from "../core/state.ts";
import { branchDir, openRepo } from "../core/repo.ts";
import { RemoteBranchMissing } from "../core/sync.ts";
import { OrchError, Exit, errorMessage } from "../core/errors.ts";
import { RemoteWatch, readHeartbeats } from "../channel/watch.ts";
import { peerLogImporter } from "../channel/logs.ts";
import { configHash, heartbeatAgeSec } from "../channel/heartbeat.ts";
import { parseTrailers } from "../core/identity.ts";
import { readControlCopy } from "../channel/control-push.ts";
import { emptyControl, readControl, type Control } from "../channel/control.ts";
import { controlRef } from "../channel/names.ts";

/**
 * `orch status`: one snapshot of the turn, built from few git processes
 * (toplevel, branch, fetch, for-each-ref, show, one log of the state file's
 * history, one left-right log). The JSON form is this object as is.
 */
export interface StatusReport {
  branch: string;
  remote: string;
  /** The checked-out branch (null when detached); may differ from `branch`. */
  checked_out: string | null;
  /** Each runner's last heartbeat (null: none, e.g. the old tool). */
  heartbeats: Record<Actor, HeartbeatView | null>;
  /** Version or settings differences between the two runners. */
  skew: string[];
  /** Trouble copying the peers' shipped logs here (the log dir not ignored, a write that failed). */
  log_import: string[];
  /** "fetched", "offline" (not asked to), "local" (the clone has no such remote: one machine, orch pair), or "failed" (see fetch_error; the last fetched refs are shown). */
  fetch: "fetched" | "offline" | "local" | "failed";
  fetch_error: string | null;
  /** Where `state` was read: "<remote>/<branch>" after fetch, "working tree", or "none" (no state file yet). */
  state_source: string;
  state_file: string;
  state: StateView | null;
  /** The working tree's copy differs from the remote's (an unpushed or uncommitted change, or this clone is behind). */
  working_tree_differs: boolean;
  /** The working tree's state when it differs, else null. */
  working_tree_state: StateView | null;
  /** Seconds since `state.last_update`. */
  state_age_sec: number | null;
  /** Last ok/fail stamp per actor in the remote branch's history. */
  stamps: Record<Actor, StampView | null>;
  sync: SyncView;
  logs: Record<Actor, LogView | null>;
  /** A running status whose lease expired: the runner may be dead. */
  stale: { actor: Actor; running_sec: number; lease_expired_sec: number } | null;
  exit: { reason: string | null } | null;
  /** refs/orch/control/<branch> as last fetched (SPEC §15): pauses, a stop, nudges not yet delivered. */
  control: ControlView;
  generated_at: string;
}

/** The control document as status shows it. */
export interface ControlView {
  /** 0: no control document on the remote. */
  seq: number;
  paused: Record<Actor, boolean>;
  stop: { reason: string; at: string; by: string; age_sec: number | null } | null;
  /** Undelivered, oldest first. */
  nudges: { id: string; actor: Actor; text: string; at: string; by: string; age_sec: number | null }[];
  /** Why the document could not be read (it is then shown as empty); null when fine. */
  error: string | null;
}

/** A runner's heartbeat as status shows it (SPEC §12). */
export interface HeartbeatView {
  host: string;
  phase: string;
  iteration: number | null;
  /** Since when it is in this phase (the turn's start while running). */
  since: string;
  updated_at: string;
  age_sec: number | null;
  last_output_at: string | null;
  blocked_until: string | null;
  reason: string | null;
  orch_version: string;
  agent: { argv0: string; version: string | null };
  config_hash: string;
  /** Running (by its phase or by the state) with a heartbeat older than sync.stale_after_sec. */
  stale: boolean;
}

/** Versions (major.minor) or shared settings that differ between the two runners. */
function skewWarnings(hb: Record<Actor, HeartbeatView | null>, localHash: string): string[] {
  const out: string[] = [];
  const minor = (v: string) => v.split(".").slice(0, 2).join(".");
  const { galph, ralph } = hb;
  if (galph && ralph && minor(galph.orch_version) !== minor(ralph.orch_version)) {
    out.push(`the two runners run different orch versions: galph ${galph.orch_version}, ralph ${ralph.orch_version}; install the same release on both machines`);
  }
  if (galph && ralph && galph.config_hash !== ralph.config_hash) {
    out.push(`the two machines' [git], [sync] or [logs] settings differ (config hash galph ${galph.config_hash}, ralph ${ralph.config_hash}, this clone ${localHash}); compare 'orch config' on both`);
  }
  return out;
}

export interface StateView {
  iteration: number;
  expected_actor: Actor;
  status: string;
  last_update: string;
  lease_expires_at: string;
  galph_commit: string | null;
  ralph_commit: string | null;
}

/** What a stamp's receipt (its trailers, SPEC §14) says, for the person looking. */
export interface ReceiptView {
  duration_sec: number | null;
  cost_usd: number | null;
  agent: string | null;
  attempts: number | null;
  limit_wait_sec: number | null;
  reason: string | null;
}

function receiptOf(trailers: string): ReceiptView | null {
  const t = parseTrailers(`x\n\n${trailers}`);
  if (t.size === 0) return null;
  const sec = (v?: string) => (v && /^\d+s$/.test(v) ? Number(v.slice(0, -1)) : null);
  const num = (v?: string) => (v !== undefined && v !== "" && Number.isFinite(Number(v)) ? Number(v) : null);
  const agent = t.get("Orch-Agent");
  return {
    duration_sec: sec(t.get("Orch-Duration")),
    cost_usd: num(t.get("Orch-Cost-USD")),
    agent: agent ? agent.replace(/(^|\s)(kind|version|model)=/g, "$1").trim() : null,
    attempts: num(t.get("Orch-Attempts")),
    limit_wait_sec: sec(t.get("Orch-Limit-Wait")),
    reason: t.get("Orch-Reason") ?? null,
  };
}

export interface StampView {
  outcome: "ok" | "fail";
  /** The iteration the turn worked on (a ralph ok subject names the next one, i=N+1). */
  iteration: number | null;
  /** The work commit named in the subject (`<actor>_commit=`). */
  commit: string | null;
  /** The stamp commit itself. */
  stamp_commit: string;
  time: string;
  age_sec: number;
  subject: string;
  /** The stamp's receipt (null for a stamp without trailers: the old tool, orch 0.1). */
  receipt: ReceiptView | null;
}

export interface SyncView {
  remote_branch: boolean;
  local_branch: boolean;
  /** Commits on the local branch only / on the remote-tracking branch only (null when either is absent). */
  ahead: number | null;
  behind: number | null;
  /** Stamp subjects committed here and not yet on the remote (newest first). */
  unpushed_stamps: string[];
}

export interface LogView {
  path: string;
  bytes: number;
  mtime: string;
  age_sec: number;
}

export interface StatusOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  configPath?: string;
  flags?: Record<string, string | boolean | undefined>;
  offline?: boolean;
  now?: Date;
}

/** How far back the state file's history is read for the last stamps (each turn adds about two commits per actor). */
const STAMP_HISTORY = 400;

export async function gatherStatus(opts: StatusOptions): Promise<StatusReport> {
  const now = opts.now ?? new Date();
  // A person is waiting: a dead network should cost seconds, not minutes of retries.
  const repo = await openRepo({ ...opts, command: "status", branch: "optional", interactive: true });
  const { git, remote, branch, checkedOut: current } = repo;
  const state = { abs: repo.statePath, rel: repo.stateRel };
  const tracking = `refs/remotes/${remote}/${branch}`;
  const localRef = `refs/heads/${branch}`;

  // A clone without the remote (a one-machine orch pair) has nothing to fetch: not a failure.
  const local = (await git.remoteUrl(remote)) === null;
  let fetch: StatusReport["fetch"] = local ? "local" : opts.offline ? "offline" : "fetched";
  let fetchError: string | null = null;
  const logBranchDir = join(repo.logDir, branchDir(branch));
  const importNotes: string[] = [];
  // One look fetches the branch, both heartbeats and the peers' shipped logs (written into the local log dir).
  const watch = new RemoteWatch({ git, remote, branch, stateRel: repo.stateRel, onLogs: peerLogImporter(git, repo.top, logBranchDir, (line) => void importNotes.push(line)) });
  /** The look read the side refs into watch.view (else they are read from the local copies). */
  let viewed = false;
  if (fetch === "fetched") {
    try {
      await watch.look({ force: true }).then(
        () => void (viewed = true),
        async (e) => {
          // A broken state file on the remote is shown below, from the fetched branch: not a fetch failure.
          if (e instanceof OrchError && e.exitCode === Exit.badState) return;
          throw e;
        },
      );
    } catch (e) {
      // An absent remote branch is a fact to show (nobody pushed yet), not a failure.
      if (!(e instanceof RemoteBranchMissing)) {
        fetch = "failed";
        fetchError = errorMessage(e);
      }
    }
  }

  const refs = await git.refShas([tracking, localRef]);
  const hasRemote = refs.has(tracking);
  const hasLocal = refs.has(localRef);

  const remoteText = hasRemote ? await git.show(tracking, state.rel) : null;
  const workingState = readStateFile(state.abs, state.rel);
  let shown: State | null = null;
  let source = "none";
  if (remoteText !== null) {
    shown = parseState(remoteText, `${remote}/${branch}:${state.rel}`, remoteStateRestore(remote, branch, state.rel));
    source = `${remote}/${branch}`;
  } else if (workingState) {
    shown = workingState;
    source = "working tree";
  }
  const differs = remoteText !== null && workingState !== null && current === branch && !sameTurn(shown!, workingState);

  const historyRef = hasRemote ? tracking : hasLocal ? localRef : null;
  const history = historyRef ? await git.pathLog(historyRef, state.rel, STAMP_HISTORY) : [];
  const stamps: Record<Actor, StampView | null> = { galph: null, ralph: null };
  for (const c of history) {
    const parsed = parseSubject(c.subject);
    if (!parsed || (parsed.kind !== "ok" && parsed.kind !== "fail") || stamps[parsed.actor]) continue;
    stamps[parsed.actor] = {
      outcome: parsed.kind,
      iteration: parsed.iteration !== null && parsed.actor === "ralph" && parsed.kind === "ok" ? parsed.iteration - 1 : parsed.iteration,
      commit: parsed.sha ?? null,
      stamp_commit: c.short,
      time: new Date(c.time * 1000).toISOString().replace(/\.\d{3}Z$/, "Z"),
      age_sec: Math.round(now.getTime() / 1000 - c.time),
      subject: c.subject,
      receipt: receiptOf(c.trailers),
    };
    if (stamps.galph && stamps.ralph) break;
  }

  const sync: SyncView = { remote_branch: hasRemote, local_branch: hasLocal, ahead: null, behind: null, unpushed_stamps: [] };
  if (hasLocal && hasRemote) {
    const d = await git.divergence(localRef, tracking);
    sync.ahead = d.ahead.length;
    sync.behind = d.behind;
    sync.unpushed_stamps = d.ahead.filter((s) => parseSubject(s)?.kind === "ok" || parseSubject(s)?.kind === "fail");
  } else if (hasLocal && !hasRemote && !local) {
    // Nothing published yet: every stamp here is unpushed.
    sync.unpushed_stamps = history.map((c) => c.subject).filter((s) => parseSubject(s)?.kind === "ok" || parseSubject(s)?.kind === "fail");
  }

  const logs: Record<Actor, LogView | null> = { galph: null, ralph: null };
  for (const actor of ACTORS) logs[actor] = newestLog(join(repo.logDir, branchDir(branch), actor), repo.top, now);

  const heartbeats = await readHeartbeats(git, remote, branch);
  const hbViews: Record<Actor, HeartbeatView | null> = { galph: null, ralph: null };
  const staleSec = repo.config.get("sync.stale_after_sec");
  for (const actor of ACTORS) {
    const hb = heartbeats[actor];
    if (!hb) continue;
    const age = heartbeatAgeSec(hb, now.getTime());
    hbViews[actor] = {
      host: hb.host,
      phase: hb.phase,
      iteration: hb.iteration,
      since: hb.phase === "running" && hb.turn_started_at ? hb.turn_started_at : hb.updated_at,
      updated_at: hb.updated_at,
      age_sec: age,
      last_output_at: hb.last_output_at,
      blocked_until: hb.blocked_until,
      reason: hb.reason,
      orch_version: hb.orch_version,
      agent: hb.agent,
      config_hash: hb.config_hash,
      stale: age !== null && age >= staleSec && (hb.phase === "running" || shown?.status === `running-${actor}`),
    };
  }

  // The look fetched the control ref when it moved; a ref gone from the remote leaves a stale local copy behind.
  let control: Control = emptyControl();
  let controlError: string | null = null;
  if (watch.known.get(controlRef(branch)) !== null) {
    try {
      control = viewed ? readControl(watch.view.control, `${remote} ${controlRef(branch)}`) : await readControlCopy(git, remote, branch);
    } catch (e) {
      controlError = errorMessage(e);
    }
  }

  return {
    branch,
    remote,
    checked_out: current,
    heartbeats: hbViews,
    skew: skewWarnings(hbViews, configHash(repo.config)),
    log_import: importNotes,
    fetch,
    fetch_error: fetchError,
    state_source: source,
    state_file: state.rel,
    state: shown ? view(shown) : null,
    working_tree_differs: differs,
    working_tree_state: differs ? view(workingState!) : null,
    state_age_sec: shown ? ageSec(shown.last_update, now) : null,
    stamps,
    sync,
    logs,
    stale: shown ? staleness(shown, now) : null,
    exit: shown?.extra.exit === true ? { reason: typeof shown.extra.exit_reason === "string" && shown.extra.exit_reason ? shown.extra.exit_reason : null } : null,
    control: controlView(control, controlError, now),
    generated_at: now.toISOString().replace(/\.\d{3}Z$/, "Z"),
  };
}

function controlView(c: Control, error: string | null, now: Date): ControlView {
  const stop = c.stop ? { reason: c.stop.reason, at: c.stop.at, by: c.stop.by, age_sec: ageSec(c.stop.at, now) } : null;
  const nudges = c.nudges.map((n) => ({ id: n.id, actor: n.actor, text: n.text, at: n.at, by: n.by, age_sec: ageSec(n.at, now) }));
  return { seq: c.seq, paused: { ...c.paused }, stop, nudges, error };
}

function view(s: State): StateView {
  const { iteration, expected_actor, status, last_update, lease_expires_at, galph_commit, ralph_commit } = s;
  return { iteration, expected_actor, status, last_update, lease_expires_at, galph_commit, ralph_commit };
}

function sameTurn(a: State, b: State): boolean {
  return a.iteration === b.iteration && a.expected_actor === b.expected_actor && a.status === b.status && a.last_update === b.last_update;
}

function ageSec(iso: string, now: Date): number | null {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : Math.round((now.getTime() - t) / 1000);
}

/** SPEC: a runner takes a 10-minute lease when it marks running; past it with no change, the runner may be dead. */
function staleness(s: State, now: Date): StatusReport["stale"] {
  if (s.status !== "running-galph" && s.status !== "running-ralph") return null;
  const expired = ageSec(s.lease_expires_at, now);
  if (expired === null || expired <= 0) return null;
  return { actor: s.status === "running-galph" ? "galph" : "ralph", running_sec: ageSec(s.last_update, now) ?? 0, lease_expired_sec: expired };
}

/** Newest log by name (names sort by iteration, then UTC time, SPEC §5). */
function newestLog(dir: string, top: string, now: Date): LogView | null {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.startsWith("iter-") && n.endsWith(".log"));
  } catch {
    return null;
  }
  const newest = names.sort().at(-1);
  if (!newest) return null;
  const path = join(dir, newest);
  const st = statSync(path);
  return {
    path: path.startsWith(top + "/") ? path.slice(top.length + 1) : path,
    bytes: st.size,
    mtime: st.mtime.toISOString().replace(/\.\d{3}Z$/, "Z"),
    age_sec: Math.round((now.getTime() - st.mtimeMs) / 1000),
  };
}
