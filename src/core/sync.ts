/**
 * Pull and push policy over the git binding: how orch brings a clone up to
 * date, publishes, and recovers, in plain functions. The user's own work is
 * never touched: only a rebase orch itself started is ever aborted.
 */
import { existsSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { OrchError, Exit, printable } from "./errors.ts";
import { NO_HOOKS, splitZ, type Git } from "./git.ts";
import { classifyFailure, firstLine, GitError } from "./git-errors.ts";
import type { RunResult } from "./proc.ts";

/** A pull that local files block; carries the paths so callers can recover or explain. */
export class PullBlockedError extends OrchError {
  constructor(readonly paths: string[], readonly kind: "untracked" | "local") {
    super(
      Exit.runtime,
      kind === "untracked"
        ? `pull blocked: untracked files would be overwritten: ${paths.join(", ")}; move or delete them, then rerun`
        : `pull blocked by local changes to: ${paths.join(", ")}; commit or discard them, then rerun`,
    );
  }
}

/** The remote has no such branch (nobody published it yet). */
export class RemoteBranchMissing extends OrchError {
  constructor(readonly remote: string, readonly branch: string) {
    super(Exit.usage, `branch '${branch}' does not exist on remote '${remote}'; publish it first: git push ${remote} HEAD:refs/heads/${branch}`);
  }
}

/** The remote refused a push (hook, protected branch): never retried. */
export class PushRefused extends OrchError {
  constructor(readonly remote: string, readonly target: string, readonly reasons: string[]) {
    super(
      Exit.runtime,
      `${remote} refused the push to ${target}: ${reasons.join(" | ") || "no reason given"}; check the remote's hooks and branch protection (orch needs to push ${target} directly)`,
    );
  }
}

/** Fetch the shared branch; a branch missing on the remote becomes RemoteBranchMissing. */
export async function fetchBranch(git: Git, remote: string, branch: string): Promise<void> {
  try {
    await git.fetch(remote, branch);
  } catch (e) {
    if (e instanceof GitError && e.failure === "missing-ref") throw new RemoteBranchMissing(remote, branch);
    throw e;
  }
}

// ---- operations in progress -------------------------------------------------

export type InProgress = "rebase" | "merge" | "cherry-pick" | "revert";

/** What the user (or a crashed orch) left half done in this clone. */
export function operationInProgress(gitDir: string): InProgress | null {
  if (existsSync(join(gitDir, "rebase-merge")) || existsSync(join(gitDir, "rebase-apply"))) return "rebase";
  if (existsSync(join(gitDir, "MERGE_HEAD"))) return "merge";
  if (existsSync(join(gitDir, "CHERRY_PICK_HEAD"))) return "cherry-pick";
  if (existsSync(join(gitDir, "REVERT_HEAD"))) return "revert";
  return null;
}

/** The branch a rebase in progress is rebasing (refs/heads/<name> → name), if git recorded it. */
function rebasingBranch(gitDir: string): string | null {
  for (const dir of ["rebase-merge", "rebase-apply"]) {
    try {
      const ref = readFileSync(join(gitDir, dir, "head-name"), "utf8").trim();
      return ref.startsWith("refs/heads/") ? ref.slice("refs/heads/".length) : null;
    } catch {
      // not this kind of rebase
    }
  }
  return null;
}

/** orch writes this before every rebase it starts, and removes it after. */
const OWN_REBASE = "orch-rebase";

/** The branch of the rebase orch started here, or null when none is recorded. */
function ownRebaseMarker(gitDir: string): string | null {
  try {
    return readFileSync(join(gitDir, OWN_REBASE), "utf8").trim() || null;
  } catch {
    return null;
  }
}

/**
 * A rebase orch itself started (a crash mid-pull) on `branch` (any branch when
 * null) is aborted; returns the line saying so, or null when there was none.
 * A rebase orch did not start is left alone for refuseInProgress to explain.
 */
export async function recoverOwnRebase(git: Git, branch: string | null): Promise<string | null> {
  const gitDir = await git.gitDir();
  if (operationInProgress(gitDir) !== "rebase") return null;
  const marker = ownRebaseMarker(gitDir);
  // A crash right after git created the rebase directory leaves it without head-name: the marker says whose it was.
  const rebasing = rebasingBranch(gitDir) ?? marker;
  if (marker === null || rebasing !== marker || (branch !== null && marker !== branch)) return null;
  await git.withLock(() => abortOwnRebase(git, gitDir));
  return `[git] aborted the rebase of ${marker} that an interrupted orch left in progress`;
}

/** Anything the user left half done in this clone refuses the run, with what to do. */
export async function refuseInProgress(git: Git): Promise<void> {
  const gitDir = await git.gitDir();
  const op = operationInProgress(gitDir);
  if (op === null) return;
  const rebasing = op === "rebase" ? rebasingBranch(gitDir) : null;
  const on = rebasing ? ` of '${rebasing}'` : "";
  const advice: Record<InProgress, string> = {
    rebase: "finish it (git rebase --continue) or abort it (git rebase --abort)",
    merge: "finish it (git commit) or abort it (git merge --abort)",
    "cherry-pick": "finish it (git cherry-pick --continue) or abort it (git cherry-pick --abort)",
    revert: "finish it (git revert --continue) or abort it (git revert --abort)",
  };
  throw new OrchError(Exit.usage, `a ${op}${on} is in progress in this clone and orch did not start it; ${advice[op]}, then rerun`);
}

async function abortOwnRebase(git: Git, gitDir: string): Promise<void> {
  const r = await git.run(["rebase", "--abort"], { allowFail: true });
  if (r.code !== 0 && operationInProgress(gitDir) === "rebase") {
    // A stale rebase directory with no rebase behind it: `quit` forgets it without touching the tree.
    await git.run(["rebase", "--quit"], { allowFail: true });
  }
  forgetOwnRebase(gitDir);
}

function forgetOwnRebase(gitDir: string): void {
  try {
    unlinkSync(join(gitDir, OWN_REBASE));
  } catch {
    // none
  }
}

// ---- pull --------------------------------------------------------------------

/** What a fast-forward did: moved (with the target's abbreviation as git printed it), or why not. */
export type FastForward =
  | { ok: true; short: string | null }
  | { ok: false; why: "diverged" | "blocked" | "other"; text: string };

/**
 * `git merge --ff-only` to `target`: one process moves HEAD, the index and
 * the working tree, refusing (and changing nothing) when a local change or an
 * untracked file is in the way, or when HEAD has commits the target lacks.
 * Dirt the merge does not touch stays exactly as it was, staged or not: no
 * stash round trip. No hooks run, the user's merge.autoStash and signature
 * checks do not apply (a pull of orch's never did). Its "Updating a..b" line
 * carries git's own abbreviation of the target (`rev-parse --short`), which
 * saves a process where a stamp needs it.
 */
export async function fastForward(git: Git, target: string): Promise<FastForward> {
  const r = await git.run([...NO_HOOKS, "-c", "merge.autoStash=false", "merge", "--ff-only", "--no-stat", "--no-verify-signatures", target], { allowFail: true });
  const text = `${r.stdout}\n${r.stderr}`;
  if (r.code === 0) return { ok: true, short: /^Updating [0-9a-f]+\.\.([0-9a-f]+)$/m.exec(r.stdout)?.[1] ?? null };
  if (/Not possible to fast-forward/i.test(text)) return { ok: false, why: "diverged", text };
  if (untrackedCollisions(text).length || localChangesBlocking(text).length) return { ok: false, why: "blocked", text };
  return { ok: false, why: "other", text };
}

const DIRTY_TREE_RE = /cannot rebase: (You have unstaged changes|Your index contains uncommitted changes)|Please commit or stash them/i;

/**
 * Bring HEAD up to date with <remote>/<branch>: fetch (unless done), then a
 * fast-forward when HEAD has no commits of its own (the common case: one
 * process, dirt kept as it is); a rebase only when it has, with autostash
 * only when the tree is dirty and none of the dirt is in files the remote
 * also changed (the stash pop would leave conflict markers). Untracked
 * collisions and conflicts fail fast, naming paths; the rebase is aborted,
 * leaving the clone as it was.
 */
export async function safePull(git: Git, remote: string, branch: string, opts: { fetched?: boolean } = {}): Promise<void> {
  const gitDir = await git.gitDir();
  if (!opts.fetched) await fetchBranch(git, remote, branch);
  const upstream = `refs/remotes/${remote}/${branch}`;
  const ff = await fastForward(git, upstream);
  if (ff.ok) return;
  if (ff.why === "blocked") {
    const collisions = untrackedCollisions(ff.text);
    if (collisions.length > 0) throw new PullBlockedError(collisions, "untracked");
    throw new PullBlockedError(localChangesBlocking(ff.text), "local");
  }
  if (ff.why === "other" && !(await git.revParse(upstream))) return; // remote branch absent: nothing to pull
  writeFileSync(join(gitDir, OWN_REBASE), branch + "\n");
  try {
    // One process in the common case (a clean tree). A dirty tree makes git refuse;
    // only then autostash, and only when there is something to pull: an autostash
    // round trip would unstage what the user staged.
    let r = await git.run(["rebase", "--quiet", upstream], { allowFail: true });
    if (r.code === 0) return;
    if (!(await git.revParse(upstream))) return; // remote branch absent: nothing to pull
    if (DIRTY_TREE_RE.test(`${r.stdout}\n${r.stderr}`)) {
      if (await git.isAncestor(upstream, "HEAD")) return;
      const overlap = await dirtChangedUpstream(git, upstream);
      if (overlap.length > 0) throw new PullBlockedError(overlap, "local");
      r = await git.run(["-c", "rebase.autoStash=true", "rebase", "--quiet", upstream], { allowFail: true });
      if (r.code === 0) return;
    }
    const text = `${r.stdout}\n${r.stderr}`;
    if (operationInProgress(gitDir) === "rebase") await abortOwnRebase(git, gitDir);
    const collisions = untrackedCollisions(text);
    if (collisions.length > 0) throw new PullBlockedError(collisions, "untracked");
    const dirty = localChangesBlocking(text);
    if (dirty.length > 0) throw new PullBlockedError(dirty, "local");
    throw new OrchError(Exit.runtime, `git rebase onto ${remote}/${branch} failed: ${firstLine(text)}; resolve the conflict by hand (git pull --rebase), then rerun`);
  } finally {
    if (operationInProgress(gitDir) !== "rebase") forgetOwnRebase(gitDir);
  }
}

/** Tracked files with local changes (staged or not) that the upstream also changed since the two diverged. */
async function dirtChangedUpstream(git: Git, upstream: string): Promise<string[]> {
  const dirty = splitZ(await git.out(["diff", "--name-only", "-z", "--no-renames", "HEAD"]));
  if (dirty.length === 0) return [];
  const changed = new Set(splitZ(await git.out(["diff", "--name-only", "-z", "--no-renames", `HEAD...${upstream}`])));
  return dirty.filter((p) => changed.has(p));
}

function pathsAfter(text: string, header: RegExp): string[] {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => header.test(l));
  if (start < 0) return [];
  const paths: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!/^\s+\S/.test(line)) break;
    paths.push(line.trim());
  }
  return paths;
}

export function untrackedCollisions(text: string): string[] {
  return pathsAfter(text, /untracked working tree files would be (overwritten|removed)/i);
}

export function localChangesBlocking(text: string): string[] {
  const paths = pathsAfter(text, /local changes to the following files would be overwritten/i);
  if (paths.length) return paths;
  return /cannot (rebase|pull).*(unstaged|uncommitted) changes|Please commit or stash them/i.test(text) ? ["(uncommitted changes)"] : [];
}

// ---- push --------------------------------------------------------------------

/** What the remote said when it refused: its `remote:` lines and the `! [remote rejected] … (reason)` line. */
export function refusalReasons(r: RunResult): string[] {
  const lines = r.stderr.split("\n").map((l) => l.trimEnd());
  const remote = lines.filter((l) => /^remote:\s*\S/.test(l)).map((l) => l.replace(/^remote:\s*/, "").trim());
  const rejected = lines.filter((l) => /!\s*\[remote rejected\]/.test(l)).map((l) => l.trim());
  return [...remote, ...rejected].map(printable).slice(0, 6);
}

export async function pushHead(git: Git, remote: string, branch: string): Promise<RunResult> {
  return git.runNetwork(["push", "--quiet", remote, `HEAD:refs/heads/${branch}`], { allowFail: true });
}

/** Push HEAD:<branch>; when the remote moved, pull (rebase) once and push again. A refusal is never retried. */
export async function pushWithRetry(git: Git, remote: string, branch: string): Promise<void> {
  const first = await pushHead(git, remote, branch);
  if (first.code === 0) return;
  throwIfRefused(first, remote, `refs/heads/${branch}`);
  git.log(`[git] push rejected (${firstLine(first.stderr)}); rebasing and retrying once`);
  await safePull(git, remote, branch);
  const second = await pushHead(git, remote, branch);
  if (second.code === 0) return;
  throwIfRefused(second, remote, `refs/heads/${branch}`);
  throw new GitError(["push", remote, `HEAD:${branch}`], second);
}

export function throwIfRefused(r: RunResult, remote: string, target: string): void {
  if (r.code !== 0 && classifyFailure(r) === "rejected") throw new PushRefused(remote, target, refusalReasons(r));
}

/**
 * Push HEAD:<branch> only if the remote branch is still exactly `expected`
 * (the full sha we read ourselves): a compare-and-swap, never a rebase onto
 * whatever another runner pushed. "stale" when the remote moved; a refusal
 * throws PushRefused; a network failure (after retries) throws GitError.
 */
export async function pushLeased(git: Git, remote: string, branch: string, expected: string | null, extraRefs: string[] = []): Promise<"ok" | "stale"> {
  const target = `refs/heads/${branch}`;
  const lease = `--force-with-lease=${target}:${expected ?? ""}`;
  const args = ["push", "--quiet", ...(extraRefs.length ? ["--atomic"] : []), lease, remote, `HEAD:${target}`, ...extraRefs];
  const r = await git.runNetwork(args, { allowFail: true });
  if (r.code === 0) return "ok";
  throwIfRefused(r, remote, target);
  if (classifyFailure(r) === "stale") return "stale";
  throw new GitError(args, r);
}

/**
 * Publish the branch when the remote does not have it yet (a create-only
 * push: the lease expects no ref), so a one-machine start needs no manual
 * `git push`. "exists" when it is already there (or someone created it first).
 */
export async function publishBranchIfMissing(
  git: Git,
  remote: string,
  branch: string,
  /** How to run the push (a runner: under its lock, to the end even on a stop signal). */
  guard: <T>(push: () => Promise<T>) => Promise<T> = (push) => push(),
): Promise<"published" | "exists"> {
  const refs = await git.lsRemoteRefs(remote, [`refs/heads/${branch}`]);
  if (refs.has(`refs/heads/${branch}`)) return "exists";
  return (await guard(() => pushLeased(git, remote, branch, null))) === "ok" ? "published" : "exists";
}

/** A commit that touched the state file: its sha, commit time and whole message. */
export interface StateCommit {
  sha: string;
  time: number;
  message: string;
}

/** The newest commit of `rev` that touched the state file (the mark or stamp the state came from). */
export async function lastStateCommit(git: Git, rev: string, stateRel: string): Promise<StateCommit | null> {
  const r = await git.run(["log", "-1", "--format=%H%x00%ct%x00%B", rev, "--", stateRel], { allowFail: true });
  if (r.code !== 0 || !r.stdout.trim()) return null;
  const [sha, time, ...message] = r.stdout.split("\0");
  return { sha: sha!.trim(), time: Number(time), message: message.join("\0").trim() };
}

/** Subjects of the commits in `range` (e.g. "A..B") that touched the state file, newest first. */
export async function stateSubjects(git: Git, range: string, stateRel: string): Promise<string[]> {
  const r = await git.run(["log", "--format=%s%x00", range, "--", stateRel], { allowFail: true });
  if (r.code !== 0) return [];
  return r.stdout
    .split("\0")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** One ref a push updates: `src` (a sha or local ref) onto `dst`, only if `dst` is still `expect` (null: must not exist; undefined: no lease). */
export interface RefUpdate {
  src: string;
  dst: string;
  expect?: string | null;
}

/** What a remote says when its policy refuses a ref (as opposed to failing to write it). */
const POLICY_RE = /hook declined|hidden ref|protected|not allowed|denied|deny|forbidden|policy|permission/i;

/** "collateral": not pushed only because another ref of the same atomic push failed. */
export type RefStatus = "ok" | "stale" | "refused" | "collateral" | "failed";

/**
 * Push several refs in one process, each with its own lease, all or none
 * (`--atomic`). Returns each destination's status from git's porcelain
 * report; a network failure (after retries) throws GitError.
 */
export async function pushRefs(git: Git, remote: string, updates: RefUpdate[], opts: { atomic: boolean }): Promise<{ status: Map<string, RefStatus>; result: RunResult }> {
  const leases = updates.filter((u) => u.expect !== undefined).map((u) => `--force-with-lease=${u.dst}:${u.expect ?? ""}`);
  const args = ["push", "--porcelain", ...(opts.atomic && updates.length > 1 ? ["--atomic"] : []), ...leases, remote, ...updates.map((u) => `${u.src}:${u.dst}`)];
  const r = await git.runNetwork(args, { allowFail: true });
  const status = new Map<string, RefStatus>();
  const lockFailed = new Set([...r.stderr.matchAll(/cannot lock ref '([^']+)'/g)].map((m) => m[1]!));
  for (const line of r.stdout.split("\n")) {
    // "<flag>\t<src>:<dst>\t<summary>"; flag "!" rejected, " ", "+", "-", "*", "=" fine.
    const [flag, spec, summary = ""] = line.split("\t");
    if (flag === undefined || spec === undefined || !spec.includes(":")) continue;
    const dst = spec.slice(spec.lastIndexOf(":") + 1);
    if (flag !== "!") status.set(dst, "ok");
    else if (/atomic push failed|atomic transaction failed/.test(summary)) status.set(dst, lockFailed.has(dst) ? "stale" : "collateral");
    // Only a policy says "no" for good (a hook declining, a hidden or protected ref); any other
    // rejection (the remote failing to write, a race) is worth another try.
    else if (/remote rejected/.test(summary) && POLICY_RE.test(summary)) status.set(dst, "refused");
    else if (/remote rejected/.test(summary) && !/failed to update ref|cannot lock ref/.test(summary)) status.set(dst, "failed");
    else if (/stale info|fetch first|non-fast-forward|failed to update ref|cannot lock ref/.test(summary)) status.set(dst, "stale");
    else status.set(dst, "failed");
  }
  if (r.code !== 0 && status.size === 0) throw new GitError(args, r);
  return { status, result: r };
}
