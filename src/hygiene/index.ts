/**
 * Guarded auto-commits (SPEC §7): after each turn, publish what the agent left
 * that is allowed, refuse the handoff when something is not, and keep pulls
 * from being blocked by local dirt. The engine holds the repository lock around
 * every hook and pushes nothing of ours: its stamp push publishes these commits.
 */
import { SUBJECTS } from "./commit.ts";
import { makeScope, type HygieneContext, type HygieneResult } from "./scope.ts";
import { apply } from "./apply.ts";
import { planDocs, planReports, planTrackedOutputs, scopeDirt } from "./steps.ts";
import { driftedSubmodules, scrubSubmodules } from "./submodules.ts";
export { pullWithRecovery } from "./recovery.ts";
export { SUBJECTS, commitMessage } from "./commit.ts";
export type { HygieneContext, HygieneResult } from "./scope.ts";

/**
 * After the agent ran, before the stamp: reports → tracked outputs → doc/meta
 * whitelist (supervisor); reports (loop). In a dry run nothing is committed and
 * the result is computed as if the earlier steps had committed their files.
 */
export async function afterTurn(ctx: HygieneContext): Promise<HygieneResult> {
  const scope = makeScope(ctx);
  const c = ctx.repo.config;
  const committed: string[] = [];
  let blocked: string[] = [];
  if (c.get<boolean>("reports.enabled")) {
    const subject = ctx.role === "supervisor" ? SUBJECTS.supervisorReports : SUBJECTS.loopReports;
    committed.push(...(await apply(scope, await planReports(scope, { tag: "reports", subject, globs: c.get<string[]>("reports.path_globs") }))));
  }
  if (ctx.role === "supervisor") {
    if (c.get<boolean>("tracked_outputs.enabled")) committed.push(...(await apply(scope, await planTrackedOutputs(scope))));
    if (c.get<boolean>("autocommit.enabled")) {
      // A drifted submodule shows in `git status`; a tree with no dirt at all has none to scrub.
      const anyDirt = (await scopeDirt(scope, { ignored: false }), scope.snapshot!.tracked > 0);
      const drifted = anyDirt ? await driftedSubmodules(scope.git, scope.top) : [];
      if (drifted.length > 0) {
        if (scope.dryRun) scope.log(`[submodules] dry run: would scrub drifted submodules: ${drifted.join(", ")}`);
        else {
          scope.log(`[submodules] pointer drift in ${drifted.join(", ")}; scrubbing`);
          await scrubSubmodules(scope.git, scope.top, scope.log);
          scope.snapshot = undefined; // the scrub changed the tree: read it again
        }
      }
      const plan = await planDocs(scope);
      committed.push(...(await apply(scope, plan)));
      blocked = plan.blocked.map((b) => b.path);
    }
  }
  return { blocked, committed };
}

/**
 * Loop, before each pull: commit reports matching reports.prepull_globs with the
 * PRE-PULL subject, so the loop's own evidence never blocks the pull. Best
 * effort: a failure is logged and the pull goes ahead.
 */
export async function prePullPublish(ctx: HygieneContext): Promise<void> {
  const c = ctx.repo.config;
  const globs = c.get<string[]>("reports.prepull_globs");
  if (!c.get<boolean>("reports.enabled") || globs.length === 0) return;
  try {
    const scope = makeScope(ctx, "pull");
    const committed = await apply(scope, await planReports(scope, { tag: "pre-pull", subject: SUBJECTS.loopPrePull, globs }), { quiet: true });
    if (committed.length === 0 && !scope.dryRun) ctx.prePullSnapshot = scope.snapshot;
  } catch (e) {
    ctx.log(`[pre-pull] WARNING: publishing reports before the pull failed (${(e as Error).message}); pulling anyway`);
  }
}
