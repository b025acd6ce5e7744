/**
 * Carrying out a plan: print it (dry run) or commit it, and say what was left
 * or blocks the handoff, on the log and (for what matters) the console.
 */
import { commitExactly, commitMessage } from "./commit.ts";
import { collapseNeverDir, listForLine } from "./paths.ts";
import type { Decision, Plan, Scope } from "./steps.ts";

/**
 * Print (dry run) or commit a plan. Returns the paths committed (in a dry run:
 * those that would be) and marks them taken for the later steps. A failed
 * commit is logged, never thrown: its paths stay dirty for the next step.
 * `quiet`: do not log the paths left alone (pre-pull phases run every turn).
 */
export async function apply(scope: Scope, plan: Plan, opts: { quiet?: boolean } = {}): Promise<string[]> {
  const tag = `[${plan.tag}]`;
  const loud = [...plan.loud, ...plan.skipped.filter((s) => s.loud).map((s) => `${tag} left ${s.path} dirty: ${s.reason}`)];
  for (const line of loud) {
    scope.log(line);
    scope.console(line);
  }
  const skipped = collapseDecisions(plan.skipped);
  if (scope.dryRun) {
    const say = (line: string) => {
      scope.log(line);
      scope.console(line);
    };
    say(`${tag} dry run: would commit ${plan.commit.length} file(s) (${plan.bytes} bytes)${plan.commit.length ? ` as "${plan.subject}"` : ""}`);
    for (const p of plan.commit) say(`${tag}   commit ${p}${plan.force.includes(p) ? " (ignored; force-add)" : ""}`);
    for (const s of skipped) say(`${tag}   skip ${s.path}: ${s.reason}`);
    for (const b of plan.blocked) say(`${tag}   BLOCKS ${b.path}: ${b.reason}`);
    for (const p of plan.commit) scope.taken.add(p);
    return plan.commit;
  }
  if (!opts.quiet) {
    for (const s of skipped) if (!s.loud) scope.log(`${tag} left ${s.path}: ${s.reason}`);
    for (const b of plan.blocked) {
      const line = `${tag} blocks the handoff: ${b.path}: ${b.reason}`;
      scope.log(line);
      if (b.loud) scope.console(line);
    }
  }
  if (plan.commit.length === 0) return [];
  try {
    await commitExactly(scope.git, commitMessage(plan.subject, plan.commit), plan.commit, plan.force);
  } catch (e) {
    const line = `${tag} WARNING: auto-commit failed (${(e as Error).message}); ${listForLine(plan.commit)} left uncommitted`;
    scope.log(line);
    scope.console(line);
    return [];
  }
  const line = `${tag} committed ${plan.commit.length} file(s) (${plan.bytes} bytes): ${listForLine(plan.commit)}`;
  scope.log(line);
  scope.console(line);
  for (const p of plan.commit) scope.taken.add(p);
  return plan.commit;
}

/** One line per tool or secret directory instead of one per file under it. */
function collapseDecisions(list: Decision[]): Decision[] {
  const seen = new Set<string>();
  const out: Decision[] = [];
  for (const d of list) {
    const path = collapseNeverDir(d.path);
    if (seen.has(path)) continue;
    seen.add(path);
    out.push({ ...d, path });
  }
  return out;
}
