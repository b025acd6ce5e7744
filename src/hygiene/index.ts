/**
 * Guarded auto-commits (SPEC §7): after each turn, publish what the agent left
 * that is allowed, refuse the handoff when something is not, and keep pulls
 * from being blocked by local dirt. The engine holds the repository lock around
 * every hook and pushes nothing of ours: its stamp push publishes these commits.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import picomatch from "picomatch";
import { errorMessage } from "../core/errors.ts";
import { makeScope, type HygieneContext, type HygieneResult } from "./scope.ts";
import { apply } from "./apply.ts";
import { planDocs, planReports, planTrackedOutputs, scopeDirt } from "./steps.ts";
import { driftedSubmodules, scrubSubmodules } from "./submodules.ts";
export { pullWithRecovery } from "./recovery.ts";
export type { HygieneContext, HygieneResult } from "./scope.ts";

/**
 * After the agent ran, before the stamp: reports → tracked outputs → doc/meta
 * whitelist (supervisor); reports (loop). In a dry run nothing is committed and
 * the result is computed as if the earlier steps had committed their files.
 */
export async function afterTurn(ctx: HygieneContext): Promise<HygieneResult> {
  const scope = makeScope(ctx);
  const c = scope.config;
  const committed: string[] = [];
  let blocked: string[] = [];
  for (const step of ctx.role.hygiene) {
    if (step === "reports" && c.get("reports.enabled")) {
      committed.push(...(await apply(scope, await planReports(scope, { tag: "reports", subject: ctx.role.subjects.reports, globs: c.get("reports.path_globs") }))));
    } else if (step === "tracked-outputs" && c.get("tracked_outputs.enabled")) {
      committed.push(...(await apply(scope, await planTrackedOutputs(scope))));
    } else if (step === "doc-meta" && c.get("autocommit.enabled")) {
      await scrubDriftedSubmodules(scope);
      const plan = await planDocs(scope);
      committed.push(...(await apply(scope, plan)));
      blocked = plan.blocked.map((b) => b.path);
    }
  }
  return { blocked, committed };
}

/** Before the doc/meta check: a drifted submodule shows as dirt; scrub it once. */
async function scrubDriftedSubmodules(scope: ReturnType<typeof makeScope>): Promise<void> {
  // A tree with no dirt at all has no submodule to scrub.
  const anyDirt = (await scopeDirt(scope, { ignored: false }), scope.snapshot!.tracked > 0);
  const drifted = anyDirt ? await driftedSubmodules(scope.git, scope.top) : [];
  if (drifted.length === 0) return;
  if (scope.dryRun) {
    scope.log(`[submodules] dry run: would scrub drifted submodules: ${drifted.join(", ")}`);
    return;
  }
  scope.log(`[submodules] pointer drift in ${drifted.join(", ")}; scrubbing`);
  await scrubSubmodules(scope.git, scope.top, scope.log);
  scope.snapshot = undefined; // the scrub changed the tree: read it again
}

/** The folder each glob is anchored in (plans/active for the default), or null when one is not anchored or not plain. */
function literalBases(globs: string[]): string[] | null {
  const bases = globs.map((g) => picomatch.scan(g.trim().replace(/^\.\//, "")).base.replace(/\/+$/, ""));
  return bases.every((b) => b !== "" && !/[*?[\]\\:{}!]/.test(b) && !b.startsWith("-")) ? bases : null;
}

/**
 * Loop, before each pull: commit reports matching reports.prepull_globs with the
 * PRE-PULL subject, so the loop's own evidence never blocks the pull. Best
 * effort: a failure is logged and the pull goes ahead. Returns how many files
 * it committed (HEAD moved).
 */
export async function prePullPublish(ctx: HygieneContext): Promise<number> {
  const c = ctx.repo.config.forRole(ctx.role.section);
  const globs = c.get("reports.prepull_globs");
  if (!ctx.role.prePullReports || !c.get("reports.enabled") || globs.length === 0) return 0;
  try {
    const scope = makeScope(ctx, "pull");
    // Only files under the globs' literal bases can be published: none of those folders
    // on disk, nothing to read (no status every turn for a project without plans/active/);
    // else the status read is limited to them (a fraction of a big tree's).
    const bases = literalBases(globs);
    if (bases) {
      if (!bases.some((b) => existsSync(join(ctx.repo.top, b)))) return 0;
      scope.within = bases;
    }
    const committed = await apply(scope, await planReports(scope, { tag: "pre-pull", subject: ctx.role.subjects.prePull ?? ctx.role.subjects.reports, globs }), { quiet: true });
    return scope.dryRun ? 0 : committed.length;
  } catch (e) {
    ctx.log(`[pre-pull] WARNING: publishing reports before the pull failed (${errorMessage(e)}); pulling anyway`);
    return 0;
  }
}
