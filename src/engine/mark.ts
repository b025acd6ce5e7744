/**
 * The running mark of a turn (SPEC §3, §13), committed locally and ready to
 * push with its heartbeat. The fast way, every turn: the mark is written on
 * the remote tip the wait saw (one fast-import, with the heartbeat) and HEAD
 * is fast-forwarded onto it: one `merge --ff-only` brings in the peer's turn
 * and our mark together, where a pull, a `commit --only` and a `rev-parse`
 * took three processes (and two index rewrites in a big tree). The usual way
 * (HEAD has commits of its own, dirt is in the way): pull, then the mark on
 * HEAD.
 */
import type { Runner } from "../core/identity.ts";
import type { Repo } from "../core/repo.ts";
import type { Role } from "../core/roles.ts";
import { fastForward, type RefUpdate } from "../core/sync.ts";
import { markRunning, serializeState, subjects, type State } from "../core/state.ts";
import { writeCommits } from "../channel/objects.ts";
import { commitStateFast, stateCommitSpec } from "./handoff.ts";
import { runnerTrailer } from "./fencing.ts";
import type { BeatInfo, Side } from "./side.ts";

/** A mark committed (or found committed) and its heartbeat, ready to push. */
export interface Mark {
  sha: string;
  /** git's abbreviation of it when the fast-forward printed it (the stamp's `<sha>` when the turn commits nothing). */
  short: string | null;
  /** A new commit was made (taken back with `reset --keep HEAD~1` when the push loses). */
  committed: boolean;
  state: State;
  beat: RefUpdate[];
}

export interface Marker {
  repo: Repo;
  side: Side;
  runner: Runner;
}

/**
 * The mark on the tip the wait saw, HEAD fast-forwarded onto it. Null when
 * that cannot be done (no tip or state seen, HEAD has commits of its own,
 * dirt in the way, a commit git would write differently): the caller pulls
 * the usual way and marks after (markOnHead).
 */
export async function markOnTip(m: Marker, role: Role, seen: { tip: string | null; state: State | null }, info: (iteration: number) => BeatInfo): Promise<Mark | null> {
  const { tip, state } = seen;
  if (!tip || !state || state.expected_actor !== role.actor) return null;
  const marked = markRunning(state, role.actor);
  // A relaunch within the same second as its own interrupted mark would write the
  // same bytes (git refuses an empty commit): that mark is already committed.
  const committed = serializeState(marked) !== serializeState(state);
  const spec = committed ? await stateCommitSpec(m.repo, tip, marked, { subject: subjects.running(role.actor, state.iteration), trailers: [runnerTrailer(m.runner)] }) : null;
  if (committed && !spec) return null;
  const beats = m.side.beatCommits([role.actor], "running", info(state.iteration));
  const shas = await writeCommits(m.repo.git, [...(spec ? [spec] : []), ...beats.map((b) => b.spec)]);
  const sha = spec ? shas.shift()! : tip;
  const ff = await fastForward(m.repo.git, sha);
  if (!ff.ok) return null;
  return { sha, short: ff.short, committed, state: marked, beat: m.side.written(beats, shas) };
}

/** The mark committed on HEAD after a pull (the usual way), with its heartbeat. */
export async function markOnHead(m: Marker, role: Role, state: State, marked: State, subject: string, info: BeatInfo): Promise<Mark> {
  const beats = m.side.beatCommits([role.actor], "running", info);
  const head = (await m.repo.git.headSha())!;
  if (serializeState(marked) === serializeState(state)) {
    // Same bytes as the committed state (a relaunch within the second of its own mark): already committed.
    return { sha: head, short: null, committed: false, state: marked, beat: m.side.written(beats, await writeCommits(m.repo.git, beats.map((b) => b.spec))) };
  }
  const made = await commitStateFast(m.repo, head, marked, { subject, trailers: [runnerTrailer(m.runner)] }, beats.map((b) => b.spec));
  return { sha: made.sha, short: made.short, committed: true, state: marked, beat: m.side.written(beats, made.side) };
}
