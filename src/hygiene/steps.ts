/**
 * The three auto-commit steps as pure-ish planners: each reads the dirt once and
 * decides, per path, "commit", "leave (and why)" or, for doc/meta, "block the
 * handoff (and why)". Committing and printing happen in apply() (apply.ts).
 */
import { readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import type { Config } from "../core/config.ts";
import type { Git } from "../core/git.ts";
import type { Role } from "../core/roles.ts";
import { matchSecretPath } from "../core/secrets.ts";
import { contentSecretReason } from "./content.ts";
import { readDirt, regularFileSize, walkIgnoredDir, type Dirt } from "./dirt.ts";
import {
  collapseNeverDir,
  extensionOf,
  globMatcher,
  globsCanReachDir,
  ignoreMatcher,
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
  /**
   * Files an earlier step kept out because their content holds a secret, with
   * the reason: dirt for the doc/meta check even when git ignores them.
   */
  secrets: Map<string, string>;
  /** The one status read of this hook call, shared by its steps (see scopeDirt). */
  snapshot?: { ignored: boolean; dirt: Dirt[]; tracked: number };
  /** Only these directories can hold what this hook call may commit: the status read is limited to them. */
  within?: string[];
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
    const dirt = await readDirt(scope, { ...opts, onEntries: (n) => (tracked = n), ...(scope.within ? { paths: scope.within } : {}) });
    scope.snapshot = { ignored: opts.ignored, dirt, tracked };
  }
  return opts.ignored || !scope.snapshot.ignored ? scope.snapshot.dirt : scope.snapshot.dirt.filter((d) => d.kind !== "ignored");
}

const newPlan = (tag: string, subject: string): Plan => ({ tag, subject, commit: [], force: [], bytes: 0, skipped: [], blocked: [], loud: [] });

/** Ignored directories walked for force-added reports stop after this many entries in total. */
export const IGNORED_WALK_BUDGET = 20_000;

/** A secret or tool file nobody told git to ignore: say so once, in the log. */
function noteUnignored(scope: Scope, d: Dirt): void {
  if (d.kind !== "untracked") return;
  const m = matchSecretPath(d.path);
  if (!m) return;
  const shown = collapseNeverDir(d.path);
  if (scope.warned.has(shown)) return;
  scope.warned.add(shown);
  const what = m.kind === "tool" ? "is a tool directory" : m.reason;
  scope.log(`[hygiene] ${shown} ${what} and is not ignored by git: it is never auto-committed; add it to .gitignore`);
}

/**
 * The content check before a file joins a plan: a secret keeps it out (loudly:
 * console and log) and is remembered as dirt for the doc/meta check.
 */
function keptOutForContent(scope: Scope, plan: Plan, path: string): boolean {
  const reason = contentSecretReason(scope.top, path);
  if (reason === null) return false;
  scope.secrets.set(path, reason);
  plan.skipped.push({ path, reason, loud: true });
  return true;
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
  // Ignored files are force-added only under these globs; elsewhere git's ignore rules win.
  const forceGlobs = c.get("reports.force_add_globs").filter((g) => g.trim().length > 0);
  const forceAdd = c.get("reports.force_add") && forceGlobs.length > 0;
  const forceable = globMatcher(forceGlobs);
  const OUTSIDE_FORCE = "ignored by git, outside reports.force_add_globs (git's ignore rules win)";
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
      const why =
        pathRule(d.path) ??
        (globsCanReachDir(forceGlobs, d.path) ? null : OUTSIDE_FORCE) ??
        (globsCanReachDir(opts.globs, d.path) ? null : "outside the report path globs");
      if (why) {
        plan.skipped.push({ path: d.path, reason: why });
        continue;
      }
      const prune = (p: string) => scope.owned(p) || pathRule(p) !== null || (p.endsWith("/") ? !globsCanReachDir(forceGlobs, p) : !forceable(p));
      const walk = walkIgnoredDir(scope.top, d.path, budget, prune);
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
      noteUnignored(scope, d);
      skip(rule);
      continue;
    }
    if (d.kind === "ignored" && !forceable(p)) { skip(OUTSIDE_FORCE); continue; }
    if (inGlobs && !inGlobs(p)) { skip("outside the report path globs"); continue; }
    const ext = extensionOf(p);
    if (!exts.has(ext)) { skip(`extension "${ext || "(none)"}" is not a report extension`); continue; }
    const size = regularFileSize(scope.top, p);
    if (size === null) { skip("not a regular file"); continue; }
    if (size > maxFile) { skip(`${size} bytes is over the per-file cap of ${maxFile} (max-report-file-bytes)`, true); continue; }
    if (plan.bytes + size > maxTotal) { skip(`${size} more bytes would pass the per-turn cap of ${maxTotal} (max-report-total-bytes)`, true); continue; }
    if (keptOutForContent(scope, plan, p)) continue;
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
    if (keptOutForContent(scope, plan, p)) continue;
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
  const blockPath = (p: string, reason: string, loud = false) => {
    const shown = collapseNeverDir(p);
    if (blockedShown.has(shown)) return;
    blockedShown.add(shown);
    plan.blocked.push({ path: shown, reason, loud });
  };
  for (const d of await scopeDirt(scope, { ignored: false })) {
    const p = d.path;
    if (scope.taken.has(p)) continue;
    const block = (reason: string, loud = false) => blockPath(p, reason, loud);
    // Kept out by an earlier step for its content (and said there): still dirt.
    const kept = scope.secrets.get(p);
    if (kept !== undefined) { block(kept); continue; }
    if (ignored(p)) { plan.skipped.push({ path: p, reason: "matches the autocommit ignore globs (left alone)" }); continue; }
    if (d.kind === "unmerged") { block("unmerged (resolve the conflict)"); continue; }
    const never = matchSecretPath(p);
    if (never) {
      noteUnignored(scope, d);
      block(neverCommitReason(p)!, never.kind === "secret");
      continue;
    }
    if (!whitelisted(p)) { block(`${d.kind}, not in the doc/meta whitelist`); continue; }
    if (d.kind === "deleted") { plan.commit.push(p); continue; }
    const size = regularFileSize(scope.top, p);
    if (size === null) { block("not a regular file"); continue; }
    if (size > maxBytes) { block(`${size} bytes is over the doc/meta cap of ${maxBytes} (max-autocommit-bytes)`); continue; }
    const secret = contentSecretReason(scope.top, p);
    if (secret !== null) {
      scope.secrets.set(p, secret);
      block(secret, true);
      continue;
    }
    plan.commit.push(p);
    plan.bytes += size;
  }
  // Ignored files an earlier step kept out for their content are not in the dirt above.
  for (const [p, reason] of scope.secrets) if (!scope.taken.has(p)) blockPath(p, reason);
  plan.blocked.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return plan;
}
