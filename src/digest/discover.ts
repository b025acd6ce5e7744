import { readdirSync, existsSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { OrchError } from "../core/errors.ts";

/** Exit codes of `orch tail` (SPEC §9, compat with the old tool). */
export const TailExit = { noLogs: 2, outOfRange: 4, unknownRole: 6 } as const;

export type DigestSource = "logs" | "summaries";
export const KNOWN_ROLES = ["galph", "ralph"] as const;

/** How one source lays out its files (SPEC §5). */
export const SOURCE_LAYOUT: Record<DigestSource, { subdir: (role: string) => string; pattern: RegExp; label: string; format: string }> = {
  logs: { subdir: (role) => role, pattern: /^iter-(\d+)_.*\.log$/, label: "log", format: "text" },
  summaries: { subdir: (role) => `${role}-summaries`, pattern: /^iter-(\d+)_.*-summary\.md$/, label: "summary", format: "markdown" },
};

export interface FoundLog {
  role: string;
  iteration: number;
  /** Absolute path, for reading. */
  file: string;
  /** `<logdir>/<prefix>/<subdir>/<name>` as the user configured logdir: the `path` attribute. */
  display: string;
  /** A symlink, or in a directory reached through one: where it leads is checked before it is opened. */
  checkPath: boolean;
}

/** Roles as given, trimmed and deduplicated in order; an unknown one is exit 6. */
export function checkRoles(roles: string[]): string[] {
  const wanted = [...new Set(roles.map((r) => r.trim()).filter((r) => r.length > 0))];
  if (wanted.length === 0) return [...KNOWN_ROLES];
  const unknown = wanted.filter((r) => !(KNOWN_ROLES as readonly string[]).includes(r));
  if (unknown.length > 0) {
    throw new OrchError(TailExit.unknownRole, `unknown role${unknown.length > 1 ? "s" : ""} ${unknown.map((r) => `'${r}'`).join(", ")}; valid roles: ${KNOWN_ROLES.join(", ")}`);
  }
  return wanted;
}

/**
 * The prefix as a directory name under the log dir: a leading `logs/` (or the
 * configured log dir) is dropped, and a branch name with slashes is accepted
 * when only its dashed form exists (logs are written under `feature-x` for `feature/x`).
 */
export function normalisePrefix(prefix: string, logDirSetting: string, logRoot: string): string {
  let p = prefix.trim().replace(/\/+$/, "");
  const dir = logDirSetting.replace(/^\.\//, "").replace(/\/+$/, "");
  for (const lead of [dir + "/", "logs/", "./"]) {
    if (lead !== "/" && p.startsWith(lead)) {
      p = p.slice(lead.length);
      break;
    }
  }
  if (p.includes("/") && !existsSync(join(logRoot, p)) && existsSync(join(logRoot, p.replace(/\//g, "-")))) p = p.replace(/\//g, "-");
  return p;
}

/**
 * Per role, iteration → file. Several files for one iteration: the newest name
 * wins (names carry a UTC timestamp, so the greatest name is the newest).
 */
export function discoverLogs(opts: {
  logRoot: string;
  /** realpath of logRoot (null: it does not exist). */
  realRoot: string | null;
  logDirSetting: string;
  prefix: string;
  source: DigestSource;
  roles: string[];
}): Map<string, Map<number, FoundLog>> {
  const layout = SOURCE_LAYOUT[opts.source];
  const byRole = new Map<string, Map<number, FoundLog>>();
  const displayBase = opts.logDirSetting.replace(/\/+$/, "") || ".";
  for (const role of opts.roles) {
    const subdir = layout.subdir(role);
    const dir = join(opts.logRoot, opts.prefix, subdir);
    const found = new Map<number, FoundLog>();
    byRole.set(role, found);
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isFile() || d.isSymbolicLink());
    } catch {
      continue; // no directory: this role simply has no logs
    }
    // A directory that is not where its path says (a symlink on the way) or not under the log directory (a prefix
    // with ..): every file in it is checked before it is read.
    const real = realDir(dir);
    const detour = real === null || opts.realRoot === null || real !== join(opts.realRoot, opts.prefix, subdir) || !real.startsWith(opts.realRoot + "/");
    for (const entry of entries) {
      const name = entry.name;
      const m = layout.pattern.exec(name);
      if (!m) continue;
      const iteration = Number(m[1]);
      const previous = found.get(iteration);
      if (previous && basename(previous.file) > name) continue;
      found.set(iteration, { role, iteration, file: join(dir, name), display: `${displayBase}/${opts.prefix}/${subdir}/${name}`, checkPath: detour || entry.isSymbolicLink() });
    }
  }
  return byRole;
}

function realDir(dir: string): string | null {
  try {
    return realpathSync(dir);
  } catch {
    return null;
  }
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

export interface Selection {
  iterations: number[];
  /** In output order: iterations ascending, roles in the requested order. */
  logs: FoundLog[];
}

/** The last `count` iterations (0 = all) within min/max; exits 2 or 4 when there is nothing. */
export function selectLogs(
  byRole: Map<string, Map<number, FoundLog>>,
  opts: { count: number; minIter?: number; maxIter?: number; roles: string[]; describeDirs: string },
): Selection {
  const all = new Set<number>();
  for (const found of byRole.values()) for (const it of found.keys()) all.add(it);
  if (all.size === 0) throw new OrchError(TailExit.noLogs, `no logs found under ${opts.describeDirs}; check the prefix (the branch name with / as -) and --logdir`);
  const sorted = [...all].sort((a, b) => a - b);
  let iterations = sorted.filter((it) => (opts.minIter === undefined || it >= opts.minIter) && (opts.maxIter === undefined || it <= opts.maxIter));
  if (iterations.length === 0) {
    const range = `${opts.minIter ?? "…"}..${opts.maxIter ?? "…"}`;
    throw new OrchError(TailExit.outOfRange, `no iterations within ${range} (logs have ${sorted[0]}..${sorted[sorted.length - 1]}); widen --min-iter/--max-iter`);
  }
  if (opts.count > 0) iterations = iterations.slice(-opts.count);
  const logs: FoundLog[] = [];
  for (const it of iterations) {
    for (const role of opts.roles) {
      const log = byRole.get(role)?.get(it);
      if (log) logs.push(log);
    }
  }
  return { iterations, logs };
}
