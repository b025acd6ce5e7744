import type { Repo } from "../core/repo.ts";
import { safePull, stateSubjects } from "../core/sync.ts";
import { parseSubject, readStateFile, stampOutcome, subjects, type Actor, type Outcome } from "../core/state.ts";
import { OrchError, Exit } from "../core/errors.ts";
import { hostName } from "../core/identity.ts";
import { commitState } from "./handoff.ts";
import { publishPending } from "./fencing.ts";

export interface StampOptions {
  actor: Actor;
  outcome: Outcome;
  pull: boolean;
  push: boolean;
  allowDirty: boolean;
  /** Where notes go (stderr). */
  note?: (line: string) => void;
}

/** Manual handoff (SPEC §3 transitions) without running an agent. Returns the subject. */
export async function stampByHand(repo: Repo, opts: StampOptions): Promise<string> {
  const { git } = repo;
  return git.withLock(async () => {
    if (opts.pull) await safePull(git, repo.remote, repo.branch);
    const dirty = (await git.statusZ({ untracked: false })).filter((e) => e.code !== "!!");
    if (dirty.some((e) => e.path === repo.stateRel || e.from === repo.stateRel)) {
      throw new OrchError(
        Exit.badState,
        `${repo.stateRel} has uncommitted changes, so it may be behind its git history; restore it (git checkout -- ${repo.stateRel}) or commit it, then rerun`,
      );
    }
    if (dirty.length > 0 && !opts.allowDirty) {
      const paths = dirty.map((e) => e.path);
      throw new OrchError(
        Exit.usage,
        `working tree has uncommitted changes (${paths.slice(0, 5).join(", ")}${paths.length > 5 ? ", …" : ""}); commit or stash them, or pass --allow-dirty`,
      );
    }
    // A rerun after a crash between commit and push (or after --no-push): the stamp is already
    // here; report and publish it rather than stamping twice.
    const pending = await stateSubjects(git, `refs/remotes/${repo.remote}/${repo.branch}..HEAD`, repo.stateRel);
    const newest = pending.length ? parseSubject(pending[0]!) : null;
    if (newest && newest.actor === opts.actor && newest.kind === opts.outcome) {
      opts.note?.(`note: already stamped here (${pending[0]}), not yet pushed; not stamping again`);
      if (opts.push) await publishOrExplain(repo, opts.note);
      return pending[0]!;
    }
    const state = readStateFile(repo.statePath, repo.stateRel);
    if (!state) {
      throw new OrchError(Exit.badState, `${repo.stateRel} not found; start 'orch supervisor --sync-via-git' once (it creates it) or run 'orch init'`);
    }
    if (state.expected_actor !== opts.actor) opts.note?.(`note: it was ${state.expected_actor}'s turn (status ${state.status}); stamping ${opts.actor} anyway`);
    const sha = await git.shortHead();
    const next = stampOutcome(state, opts.actor, opts.outcome, sha);
    const subject = subjects.stamp(opts.actor, opts.outcome, next.iteration, sha);
    await commitState(repo, next, { subject, trailers: [["Orch-Host", hostName()], ["Orch-Reason", opts.outcome === "fail" ? "stamped by hand" : ""]] });
    // Publishes this stamp and any earlier unpushed ones (orch stamp --no-push).
    if (opts.push) await publishOrExplain(repo, opts.note);
    return subject;
  });
}

async function publishOrExplain(repo: Repo, note?: (line: string) => void): Promise<void> {
  const done = await publishPending(repo);
  if (done.kind === "set-aside") throw new OrchError(Exit.runtime, done.line!.replace(/^\[sync\] /, ""));
  if (done.line && !done.line.includes("pushing it instead of rerunning")) note?.(done.line);
}
