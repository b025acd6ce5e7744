/**
 * Pulls that local dirt blocks. The pull fast-forwards (git refuses, changing
 * nothing, when dirt is in the way) or, when HEAD has commits of its own,
 * rebases with autostash, which copes with most dirt; two cases it cannot: an
 * untracked file where the remote adds one (git refuses), and a dirty tracked
 * file the remote also changed (the autostash pop would leave conflict markers
 * in the tree: safePull refuses that before the rebase). The supervisor then
 * recovers step by step; the loop (which published its reports before the
 * pull) fails with one line.
 */
import { OrchError, Exit } from "../core/errors.ts";
import { PullBlockedError } from "../core/sync.ts";
import { readDirt } from "./dirt.ts";
import { listForLine } from "./paths.ts";
import { apply } from "./apply.ts";
import { planDocs, planTrackedOutputs, type Scope } from "./steps.ts";
import { driftedSubmodules, scrubSubmodules } from "./submodules.ts";
import { makeScope, type HygieneContext } from "./scope.ts";

/**
 * Supervisor: run pull(); when local dirt blocks it and autocommit.prepull is on,
 * try submodule scrub, tracked-outputs commit, doc/meta commit, retrying the
 * pull after each step that changed something; finally throw one line naming
 * the blocking paths and what to do. Loop: run pull(), same one-line failure.
 */
export async function pullWithRecovery(ctx: HygieneContext, pull: () => Promise<void>): Promise<void> {
  const { repo } = ctx;
  const scope = makeScope(ctx, "pull");
  const attempt = async (): Promise<PullBlockedError | null> => {
    try {
      await pull();
      return null;
    } catch (e) {
      if (e instanceof PullBlockedError) return e;
      throw e;
    }
  };

  let blocked = await attempt();
  if (!blocked) return;
  if (!ctx.role.pullRecovery) throw blocked;
  if (!repo.config.get("autocommit.prepull")) throw new OrchError(Exit.runtime, await finalMessage(scope, blocked, "pre-pull recovery is off (--no-prepull-auto-commit-docs)"));

  ctx.log(`[pull] blocked by ${listForLine(blocked.paths)}; trying submodule scrub, tracked-outputs commit, doc/meta commit`);
  const steps: [string, () => Promise<boolean>][] = [
    [
      "submodule scrub",
      async () => {
        // Only a drifted submodule is worth it: a scrub may clone (update --init).
        const drifted = await driftedSubmodules(scope.git, scope.top);
        if (drifted.length === 0) return false;
        if (!scope.dryRun) return scrubSubmodules(scope.git, scope.top, ctx.log);
        ctx.log(`[pull] dry run: would scrub drifted submodules: ${drifted.join(", ")}`);
        return false;
      },
    ],
    ["tracked-outputs commit", async () => (await apply(scope, await planTrackedOutputs(scope), { quiet: true })).length > 0],
    ["doc/meta commit", async () => (await apply(scope, await planDocs(scope), { quiet: true })).length > 0],
  ];
  for (const [name, step] of steps) {
    scope.snapshot = undefined; // pulls and scrubs in between change the tree
    if (!(await step()) || scope.dryRun) continue;
    blocked = await attempt();
    if (!blocked) {
      ctx.log(`[pull] recovered after the ${name}`);
      return;
    }
  }
  const tried = scope.dryRun ? "dry run: nothing was committed" : "submodule scrub and tracked-outputs/doc-meta auto-commits did not clear them";
  throw new OrchError(Exit.runtime, await finalMessage(scope, blocked, tried));
}

/** One line: which paths block the pull, what was tried, what to do. */
async function finalMessage(scope: Scope, blocked: PullBlockedError, tried: string): Promise<string> {
  let paths = blocked.paths;
  if (paths.length === 0 || paths[0]!.startsWith("(")) {
    // git said only "you have unstaged changes": name them ourselves.
    const dirt = await readDirt({ git: scope.git, owned: () => false }, { ignored: false });
    paths = dirt.filter((d) => d.kind !== "untracked").map((d) => d.path);
  }
  const names = listForLine(paths.length > 0 ? paths : blocked.paths);
  return blocked.kind === "untracked"
    ? `pull blocked: untracked files would be overwritten: ${names} (${tried}); move or delete them, then rerun`
    : `pull blocked by local changes that the remote also changed: ${names} (${tried}); commit or discard them, then rerun`;
}
