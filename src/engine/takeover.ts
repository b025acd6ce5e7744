/**
 * `orch takeover <actor>`: a person's override when a machine is gone. The
 * actor's running turn is stamped `fail` (the SPEC §3 subject, with an
 * `Orch-Takeover` trailer) so the actor can be run anywhere; the old holder,
 * should it come back, finds its mark gone and pushes nothing (fencing.ts).
 */
import { OrchError, Exit } from "../core/errors.ts";
import { hostName, pidAlive, thisRunner } from "../core/identity.ts";
import type { Repo } from "../core/repo.ts";
import { fetchBranch, pushLeased, safePull } from "../core/sync.ts";
import { parseState, remoteStateRestore, stampOutcome, subjects, type Actor } from "../core/state.ts";
import { holderOf, remoteMark } from "./fencing.ts";
import { commitState } from "./handoff.ts";

export interface TakeoverOptions {
  actor: Actor;
  /** Take over even when the holder is a live process on this host. */
  yes: boolean;
}

/** Returns the fail stamp's subject once it is pushed. */
export async function takeover(repo: Repo, opts: TakeoverOptions): Promise<string> {
  const { git } = repo;
  const upstream = `refs/remotes/${repo.remote}/${repo.branch}`;
  return git.withLock(async () => {
    for (let attempt = 0; attempt < 3; attempt++) {
      await fetchBranch(git, repo.remote, repo.branch);
      const text = await git.show(upstream, repo.stateRel);
      if (text === null) throw new OrchError(Exit.usage, `${repo.remote}/${repo.branch} has no ${repo.stateRel}: there is no turn to take over`);
      const state = parseState(text, `${repo.stateRel} on ${repo.remote}/${repo.branch}`, remoteStateRestore(repo.remote, repo.branch, repo.stateRel));
      if (state.status !== `running-${opts.actor}`) {
        throw new OrchError(Exit.usage, `${opts.actor}'s turn is not running (state: ${state.expected_actor}'s turn, ${state.status}, iteration ${state.iteration}); there is nothing to take over`);
      }
      const me = thisRunner(await git.gitDir());
      const holding = holderOf(await remoteMark(repo), me);
      const holder = holding.kind === "other" ? holding.runner : holding.kind === "mine" ? null : undefined;
      const liveHere = holding.kind === "other" ? holding.runner.host === me.host && pidAlive(holding.runner.pid) : false;
      if ((liveHere || holding.kind === "mine") && !opts.yes) {
        const who = holder ? `pid ${holder.pid} on this host` : "a runner of this clone";
        throw new OrchError(Exit.usage, `${opts.actor}'s turn i=${state.iteration} is held by ${who}, which may still be running; stop it first, or pass --yes to take the turn over anyway`);
      }
      await safePull(git, repo.remote, repo.branch, { fetched: true });
      const sha = await git.shortHead();
      const failed = stampOutcome(state, opts.actor, "fail", sha);
      const subject = subjects.stamp(opts.actor, "fail", failed.iteration, sha);
      const by = hostName();
      await commitState(repo, failed, { subject, trailers: [["Orch-Takeover", `by ${by}`], ["Orch-Reason", `taken over by ${by}`], ["Orch-Host", by]] });
      if ((await pushLeased(git, repo.remote, repo.branch, await git.revParse(upstream))) === "ok") return subject;
      // The remote moved (the holder stamped after all, or someone else acted): look again.
      await git.run(["reset", "--quiet", "--keep", "HEAD~1"]);
    }
    throw new OrchError(Exit.runtime, `${repo.remote}/${repo.branch} kept moving; rerun orch takeover ${opts.actor}`);
  });
}
