/**
 * The three auto-commit steps as pure-ish planners: each reads the dirt once and
 * decides, per path, "commit", "leave (and why)" or, for doc/meta, "block the
 * handoff (and why)". Committing and printing happen in apply().
 */
import { readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import type { Config } from "../core/config.ts";
import type { Git } from "../core/git.ts";
import type { Role } from "../core/roles.ts";
import { commitExactly, commitMessage } from "./commit.ts";
import { readDirt, regularFileSize, walkIgnoredDir, type Dirt } from "./dirt.ts";
import {
  collapseToolDir,
  extensionOf,
  globMatcher,
  globsCanReachDir,
  ignoreMatcher,
  listForLine,
  neverCommitReason,
  normaliseExtensions,
  normalisePrefix,
  underPrefix,
} from "./paths.ts";

/** Everything the steps share during one hook call. */
export interface Scope {
  git: Git;
  top: string;
  config: Config;
  role: Role;
  dryRun: boolean;
  owned: (path: string) => boolean;
  /** Paths earlier steps committed (or, in a dry run, would have): later steps skip them. */
  taken: Set<string>;
  /** Secret/tool paths already reported as "not ignored" (one note per path). */
  warned: Set<string>;
  /** The one status read of this hook call, shared by its steps (see scopeDirt). */
  snapshot?: { ignored: boolean; dirt: Dirt[]; tracked: number };
  log: (line: string) => void;
  console: (line: string) => void;
}

export interface Decision {
  path: string;
  reason: string;
  /** Also said on the console (caps hit): not repeated in the per-path log lines. */
  loud?: boolean;
}

export interface Plan {
  /** Log tag: "reports", "tracked-outputs", "doc/meta", "pre-pull". */
  tag: string;
  subject: string;
  commit: string[];
  /** Subset of `commit` that .gitignore ignores (added with -f). */
  force: string[];
  bytes: number;
  skipped: Decision[];
  blocked: Decision[];
  /** Lines worth the console too (walks cut short). */
  loud: string[];
}

/**
 * One `git status` per hook call: the steps share it. What an earlier step
 * committed is in `taken`, which every step skips, so the snapshot stays right.
 */
export async function scopeDirt(scope: Scope, opts: { ignored: boolean }): Promise<Dirt[]> {
  if (!scope.snapshot || (opts.ignored && !scope.snapshot.ignored)) {
    let tracked = 0;
    const dirt = await readDirt(scope, { ...opts, onEntries: (n) => (tracked = n) });
    scope.snapshot = { ignored: opts.ignored, dirt, tracked };
  }
  return opts.ignored || !scope.snapshot.ignored ? scope.snapshot.dirt : scope.snapshot.dirt.filter((d) => d.kind !== "ignored");
}

const newPlan = (tag: string, subject: string): Plan => ({ tag, subject, commit: [], force: [], bytes: 0, skipped: [], blocked: [], loud: [] });

/** Ignored directories walked for force-added reports stop after this many entries in total. */
export const IGNORED_WALK_BUDGET = 20_000;

/** A secret or tool file nobody told git to ignore: say so once, in the log. */
function noteUnignored(scope: Scope, d: Dirt, reason: string): void {
  if (d.kind !== "untracked") return;
  const shown = collapseToolDir(d.path);
  if (scope.warned.has(shown)) return;
  scope.warned.add(shown);
  scope.log(`[hygiene] ${shown} ${reason.replace(/ \(never auto-committed\)$/, "")} and is not ignored by git: it is never auto-committed; add it to .gitignore`);
}

/** Prefixes from the .reportsignore file (loop): one per line, "#" starts a comment. */
export function readSkipPrefixes(top: string, config: Config): string[] {
  const setting = config.get("reports.skip_config");
  if (!setting) return [];
  let text: string;
  try {
    text = readFileSync(isAbsolute(setting) ? setting : join(top, setting), "utf8");
  } catch {
    return [];
  }
  return text
    .split(/\r?\n/)
    .map((l) => normalisePrefix(l.replace(/#.*$/, "")))
    .filter((l) => l.length > 0);
}

/** Reports: dirty files with a report extension, within the globs and the byte caps. */
export async function planReports(scope: Scope, opts: { tag: string; subject: string; globs: string[] }): Promise<Plan> {
  const c = scope.config;
  const plan = newPlan(opts.tag, opts.subject);
  const exts = normaliseExtensions(c.get("reports.extensions"));
  const maxFile = c.get("reports.max_file_bytes");
  const maxTotal = c.get("reports.max_total_bytes");
  const forceAdd = c.get("reports.force_add");
  const skipPrefixes = scope.role.honoursReportsIgnore ? readSkipPrefixes(scope.top, c) : [];
  const inGlobs = opts.globs.length ? globMatcher(opts.globs) : null;

  /** Rules that depend only on the path (also used to prune ignored directories). */
  const pathRule = (p: string): string | null => {
    const never = neverCommitReason(p);
    if (never) return never;
    if (underPrefix(p, "tmp")) return "under tmp/ (never a report)";
    const pre = skipPrefixes.find((s) => underPrefix(p, s));
    if (pre !== undefined) return `under "${pre}" from ${c.get("reports.skip_config")}`;
    return null;
  };

  const dirt = await scopeDirt(scope, { ignored: forceAdd });
  const files: Dirt[] = [];
  const budget = { left: IGNORED_WALK_BUDGET };
  for (const d of dirt) {
    if (scope.taken.has(d.path)) continue;
    if (d.kind === "ignored" && d.path.endsWith("/")) {
      const why = pathRule(d.path) ?? (globsCanReachDir(opts.globs, d.path) ? null : "outside the report path globs");
      if (why) {
        plan.skipped.push({ path: d.path, reason: why });
        continue;
      }
      const walk = walkIgnoredDir(scope.top, d.path, budget, (p) => scope.owned(p) || pathRule(p) !== null);
      for (const f of walk.files) files.push({ path: f, kind: "ignored" });
      if (walk.truncated) plan.loud.push(`[${plan.tag}] stopped scanning ignored ${d.path} after ${IGNORED_WALK_BUDGET} entries; commit reports inside it by hand`);
      continue;
    }
    files.push(d);
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  for (const d of files) {
    const p = d.path;
    const skip = (reason: string, loud = false) => {
      plan.skipped.push({ path: p, reason, loud });
    };
    if (d.kind === "deleted") { skip("deleted (reports only add files)"); continue; }
    if (d.kind === "unmerged") { skip("unmerged (resolve the conflict)"); continue; }
    const rule = pathRule(p);
    if (rule) {
      if (neverCommitReason(p)) noteUnignored(scope, d, rule);
      skip(rule);
      continue;
    }
    if (inGlobs && !inGlobs(p)) { skip("outside the report path globs"); continue; }
    const ext = extensionOf(p);
    if (!exts.has(ext)) { skip(`extension "${ext || "(none)"}" is not a report extension`); continue; }
    const size = regularFileSize(scope.top, p);
    if (size === null) { skip("not a regular file"); continue; }
    if (size > maxFile) { skip(`${size} bytes is over the per-file cap of ${maxFile} (max-report-file-bytes)`, true); continue; }
    if (plan.bytes + size > maxTotal) { skip(`${size} more bytes would pass the per-turn cap of ${maxTotal} (max-report-total-bytes)`, true); continue; }
    plan.commit.push(p);
    if (d.kind === "ignored") plan.force.push(p);
    plan.bytes += size;
  }
  return plan;
}

/** Tracked outputs: modified tracked files matching the globs and extensions, within the caps. */
export async function planTrackedOutputs(scope: Scope): Promise<Plan> {
  const c = scope.config;
  const plan = newPlan("tracked-outputs", scope.role.subjects.trackedOutputs ?? "");
  const exts = normaliseExtensions(c.get("tracked_outputs.extensions"));
  const globs = c.get("tracked_outputs.globs");
  const inGlobs = globs.length ? globMatcher(globs) : null;
  const maxFile = c.get("tracked_outputs.max_file_bytes");
  const maxTotal = c.get("tracked_outputs.max_total_bytes");
  for (const d of await scopeDirt(scope, { ignored: false })) {
    const p = d.path;
    if (scope.taken.has(p)) continue;
    const skip = (reason: string, loud = false) => {
      plan.skipped.push({ path: p, reason, loud });
    };
    if (d.kind !== "modified") { skip(`${d.kind}, not a modified tracked file`); continue; }
    const never = neverCommitReason(p);
    if (never) { skip(never); continue; }
    const ext = extensionOf(p);
    if (!exts.has(ext)) { skip(`extension "${ext || "(none)"}" is not a tracked-output extension`); continue; }
    if (inGlobs && !inGlobs(p)) { skip("outside the tracked-output globs"); continue; }
    const size = regularFileSize(scope.top, p);
    if (size === null) { skip("not a regular file"); continue; }
    if (size > maxFile) { skip(`${size} bytes is over the per-file cap of ${maxFile} (max-tracked-output-file-bytes)`, true); continue; }
    if (plan.bytes + size > maxTotal) { skip(`${size} more bytes would pass the per-turn cap of ${maxTotal} (max-tracked-output-total-bytes)`, true); continue; }
    plan.commit.push(p);
    plan.bytes += size;
  }
  return plan;
}

/**
 * Doc/meta whitelist: whitelisted dirty files (deletions included) under the size
 * cap are committed; ignore globs are left alone; every other dirty path blocks
 * the handoff.
 */
export async function planDocs(scope: Scope): Promise<Plan> {
  const c = scope.config;
  const plan = newPlan("doc/meta", scope.role.subjects.docs ?? "");
  const whitelisted = globMatcher(c.get("autocommit.whitelist"));
  const ignored = ignoreMatcher(c.get("autocommit.ignore_globs"));
  const maxBytes = c.get("autocommit.max_bytes");
  const blockedShown = new Set<string>();
  for (const d of await scopeDirt(scope, { ignored: false })) {
    const p = d.path;
    if (scope.taken.has(p)) continue;
    const block = (reason: string) => {
      const shown = collapseToolDir(p);
      if (blockedShown.has(shown)) return;
      blockedShown.add(shown);
      plan.blocked.push({ path: shown, reason });
    };
    if (ignored(p)) { plan.skipped.push({ path: p, reason: "matches the autocommit ignore globs (left alone)" }); continue; }
    if (d.kind === "unmerged") { block("unmerged (resolve the conflict)"); continue; }
    const never = neverCommitReason(p);
    if (never) {
      noteUnignored(scope, d, never);
      block(never);
      continue;
    }
    if (!whitelisted(p)) { block(`${d.kind}, not in the doc/meta whitelist`); continue; }
    if (d.kind === "deleted") { plan.commit.push(p); continue; }
    const size = regularFileSize(scope.top, p);
    if (size === null) { block("not a regular file"); continue; }
    if (size > maxBytes) { block(`${size} bytes is over the doc/meta cap of ${maxBytes} (max-autocommit-bytes)`); continue; }
    plan.commit.push(p);
    plan.bytes += size;
  }
  return plan;
}

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
    for (const b of plan.blocked) scope.log(`${tag} blocks the handoff: ${b.path}: ${b.reason}`);
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

/** One line per tool directory instead of one per file under it. */
function collapseDecisions(list: Decision[]): Decision[] {
  const seen = new Set<string>();
  const out: Decision[] = [];
  for (const d of list) {
    const path = collapseToolDir(d.path);
    if (seen.has(path)) continue;
    seen.add(path);
    out.push({ ...d, path });
  }
  return out;
}
