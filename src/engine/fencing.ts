/**
 * One turn is run once (SPEC §13). Marks are pushed by compare-and-swap; a
 * running mark names its runner; a runner never takes a turn another clone
 * holds, never pushes a stamp once its mark is gone from the remote, and sets
 * aside (on an `orch/obsolete/…` branch) any local state commits the remote
 * has moved past, so a clone always continues from the remote.
 */
import { OrchError, Exit, errorMessage } from "../core/errors.ts";
import { formatRunner, parseRunner, parseTrailers, type Runner } from "../core/identity.ts";
import type { Repo } from "../core/repo.ts";
import { lastStateCommit, pushLeased, safePull, stateSubjects, type StateCommit } from "../core/sync.ts";
import { parseSubject, type Actor } from "../core/state.ts";
import { logStamp } from "./logs.ts";

export const RUNNER_TRAILER = "Orch-Runner";

export const runnerTrailer = (r: Runner) => [RUNNER_TRAILER, formatRunner(r)] as const;

/** Who holds a running mark: this clone (a crashed run of ours), another clone, or nobody known (the old tool's mark). */
export type Holding = { kind: "mine" } | { kind: "unknown" } | { kind: "other"; runner: Runner; since: Date; markSha: string };

export function holderOf(mark: StateCommit | null, me: Runner): Holding {
  if (!mark) return { kind: "unknown" };
  const value = parseTrailers(mark.message).get(RUNNER_TRAILER);
  const runner = value ? parseRunner(value) : null;
  if (!runner) return { kind: "unknown" };
  if (runner.clone === me.clone) return { kind: "mine" };
  return { kind: "other", runner, since: new Date(mark.time * 1000), markSha: mark.sha };
}

const remoteRef = (repo: Repo) => `refs/remotes/${repo.remote}/${repo.branch}`;

/** Local branch name for work the remote moved past: `orch/obsolete/<actor>-i<N>-<YYYYmmdd_HHMMSS>`. */
export function obsoleteBranchName(actor: string, iteration: number | null, now = new Date()): string {
  return `orch/obsolete/${actor}-i${iteration ?? 0}-${logStamp(now)}`;
}

/**
 * Keep what HEAD holds on an obsolete branch and bring the shared branch back
 * to the remote (`reset --keep`: uncommitted changes stay). Returns the branch.
 */
export async function setAside(repo: Repo, actor: string, iteration: number | null): Promise<string> {
  const { git } = repo;
  const name = obsoleteBranchName(actor, iteration);
  await git.run(["branch", name, "HEAD"]);
  const r = await git.run(["reset", "--quiet", "--keep", remoteRef(repo)], { allowFail: true });
  if (r.code !== 0) {
    throw new OrchError(
      Exit.runtime,
      `kept this clone's work on ${name}, but could not move ${repo.branch} back to ${repo.remote}/${repo.branch} (${errorMessage(r.stderr)}); commit or stash your changes, then: git reset --keep ${repo.remote}/${repo.branch}`,
    );
  }
  return name;
}

/**
 * State commits of this clone that the remote lacks (an unpushed stamp or
 * mark after a crash, `orch stamp --no-push`): published when the remote's
 * state history has not moved since; set aside when it has (the turn was taken
 * over, or another runner stamped it). Says what it did in one line.
 */
export interface Pending {
  /** What happened: nothing pending, pushed, or set aside on an obsolete branch. */
  kind: "none" | "published" | "set-aside";
  line: string | null;
}

export async function publishPending(repo: Repo): Promise<Pending> {
  const { git, stateRel } = repo;
  const upstream = remoteRef(repo);
  // HEAD at the remote's tip or behind it (a runner's usual start): nothing unpushed, no git log.
  if (await git.headWithin(upstream)) return { kind: "none", line: null };
  const local = await stateSubjects(git, `${upstream}..HEAD`, stateRel);
  if (local.length === 0) return { kind: "none", line: null };
  const newest = local.map(parseSubject).find((p) => p !== null) ?? null;
  const remoteMoved = await stateSubjects(git, `HEAD..${upstream}`, stateRel);
  if (remoteMoved.length > 0) {
    const branch = await setAside(repo, newest?.actor ?? "state", newest?.iteration ?? null);
    return {
      kind: "set-aside",
      line: `[sync] this clone's unpushed ${describe(local)} ${local.length === 1 ? "is" : "are"} for a turn the remote has moved past (${remoteMoved[0]}); kept on ${branch}, continuing from ${repo.remote}/${repo.branch}`,
    };
  }
  const stamp = newest && (newest.kind === "ok" || newest.kind === "fail") ? newest : null;
  const done = stamp
    ? `[sync] found an unpushed ${stamp.actor} stamp (i=${stamp.iteration} ${stamp.kind}); pushing it instead of rerunning the turn`
    : `[sync] published this clone's unpushed ${describe(local)} (${local[0]})`;
  for (let attempt = 0; attempt < 3; attempt++) {
    const expected = await git.revParse(upstream);
    if ((await pushLeased(git, repo.remote, repo.branch, expected)) === "ok") return { kind: "published", line: done };
    // Only non-state commits can have landed meanwhile (else the next pass sets it aside): rebase onto them.
    await safePull(git, repo.remote, repo.branch);
    if ((await stateSubjects(git, `HEAD..${upstream}`, stateRel)).length > 0) return publishPending(repo);
  }
  throw new OrchError(Exit.runtime, `could not publish this clone's unpushed ${describe(local)}: the remote kept moving; relaunch to try again`);
}

function describe(subjects: string[]): string {
  const kinds = subjects.map((s) => parseSubject(s)?.kind);
  if (kinds.every((k) => k === "ok" || k === "fail")) return subjects.length === 1 ? "stamp" : "stamps";
  return subjects.length === 1 ? "state commit" : "state commits";
}

/** The running mark on the remote (its newest state commit), for the holder check. */
export async function remoteMark(repo: Repo): Promise<StateCommit | null> {
  return lastStateCommit(repo.git, remoteRef(repo), repo.stateRel);
}

/** `ralph's turn i=5 is held by host-b (pid 4242) since 06:10Z; if that machine is gone: orch takeover ralph`. */
export function heldMessage(actor: Actor, iteration: number, h: Extract<Holding, { kind: "other" }>, extra = ""): string {
  const since = h.since.toISOString().slice(11, 16) + "Z";
  return `[sync] ${actor}'s turn i=${iteration} is held by ${h.runner.host} (pid ${h.runner.pid}) since ${since}${extra}; if that machine is gone: orch takeover ${actor}`;
}
