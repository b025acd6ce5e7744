import type { Repo } from "../core/repo.ts";
import { safePull } from "../core/sync.ts";
import { readStateFile, stampOutcome, subjects, type Actor, type Outcome } from "../core/state.ts";
import { OrchError, Exit } from "../core/errors.ts";
import { commitState, publish } from "./handoff.ts";

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
    const state = readStateFile(repo.statePath, repo.stateRel);
    if (!state) {
      throw new OrchError(Exit.badState, `${repo.stateRel} not found; start 'orch supervisor --sync-via-git' once (it creates it) or run 'orch init'`);
    }
    if (state.expected_actor !== opts.actor) opts.note?.(`note: it was ${state.expected_actor}'s turn (status ${state.status}); stamping ${opts.actor} anyway`);
    const sha = await git.shortHead();
    const next = stampOutcome(state, opts.actor, opts.outcome, sha);
    const subject = subjects.stamp(opts.actor, opts.outcome, next.iteration, sha);
    await commitState(repo, next, { subject });
    if (opts.push) await publish(repo);
    return subject;
  });
}
