import { readdirSync, existsSync, realpathSync, type Dirent } from "node:fs";
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

/** A directory of one role's logs (shared by its logs: a digest may hold 40,000 of them). */
export interface LogDir {
  /** Absolute path, for reading. */
  path: string;
  /** `<logdir>/<prefix>/<subdir>` as the user configured logdir: the start of the `path` attribute. */
  display: string;
  /** Not where its path says (a symlink on the way) or not under the log directory: check every file in it. */
  detour: boolean;
}

/** One role's logs, as found: a name per iteration (a digest of a long branch has tens of thousands). */
export interface RoleLogs {
  dir: LogDir;
  names: Map<number, string>;
  /** The names that are symlinks (where they lead is checked before they are opened). */
  symlinks: Set<string>;
  /** Names that are neither files nor symlinks (a FIFO, a directory, …): what they are. Never opened. */
  others: Map<string, string>;
}

/** A log the digest shows. */
export interface FoundLog {
  role: string;
  iteration: number;
  dir: LogDir;
  name: string;
  symlink: boolean;
  /** Not a file nor a symlink: what it is (reported in its place, never opened). */
  other?: string;
}

/** The file to read. */
export const logFile = (log: FoundLog) => join(log.dir.path, log.name);
/** The `path` attribute. */
export const logDisplay = (log: FoundLog) => `${log.dir.display}/${log.name}`;

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
 * Per role, iteration → file name. Several files for one iteration: the
 * newest name wins (names carry a UTC timestamp, so the greatest is the newest).
 */
export function discoverLogs(opts: {
  logRoot: string;
  /** realpath of logRoot (null: it does not exist). */
  realRoot: string | null;
  logDirSetting: string;
  prefix: string;
  source: DigestSource;
  roles: string[];
}): Map<string, RoleLogs> {
  const layout = SOURCE_LAYOUT[opts.source];
  const byRole = new Map<string, RoleLogs>();
  const displayBase = opts.logDirSetting.replace(/\/+$/, "") || ".";
  for (const role of opts.roles) {
    const subdir = layout.subdir(role);
    const path = join(opts.logRoot, opts.prefix, subdir);
    const real = realDir(path);
    const dir: LogDir = {
      path,
      display: `${displayBase}/${opts.prefix}/${subdir}`,
      detour: real === null || opts.realRoot === null || real !== join(opts.realRoot, opts.prefix, subdir) || !real.startsWith(opts.realRoot + "/"),
    };
    const found: RoleLogs = { dir, names: new Map(), symlinks: new Set(), others: new Map() };
    byRole.set(role, found);
    let entries;
    try {
      entries = readdirSync(path, { withFileTypes: true });
    } catch {
      continue; // no directory: this role simply has no logs
    }
    for (const entry of entries) {
      const name = entry.name;
      if (!layout.pattern.test(name)) continue; // test, not exec: no match object for each of thousands of names
      const iteration = leadingNumber(name, "iter-".length);
      const other = entry.isFile() || entry.isSymbolicLink() ? null : entryKind(entry);
      const previous = found.names.get(iteration);
      if (previous !== undefined) {
        // Something that is not a file is shown only where there is no file: it cannot hide a log.
        const previousOther = found.others.has(previous);
        if (other && !previousOther) continue;
        const sameKind = (other === null) === !previousOther;
        if (sameKind && previous > name) continue;
      }
      found.names.set(iteration, name);
      if (entry.isSymbolicLink()) found.symlinks.add(name);
      else if (other) found.others.set(name, other);
    }
  }
  return byRole;
}

function entryKind(entry: Dirent): string {
  if (entry.isFIFO()) return "a FIFO";
  if (entry.isDirectory()) return "a directory";
  if (entry.isCharacterDevice()) return "a character device";
  if (entry.isBlockDevice()) return "a block device";
  if (entry.isSocket()) return "a socket";
  return "not a file";
}

/** The decimal number at name[from] (the pattern has checked there is one). */
function leadingNumber(name: string, from: number): number {
  let n = 0;
  for (let i = from; i < name.length; i++) {
    const d = name.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    n = n * 10 + d;
  }
  return n;
}

function realDir(dir: string): string | null {
  try {
    return realpathSync(dir);
  } catch {
    return null;
  }
}

export interface Selection {
  iterations: number[];
  /** In output order: iterations ascending, roles in the requested order. */
  logs: FoundLog[];
}

/** The last `count` iterations (0 = all) within min/max; exits 2 or 4 when there is nothing. */
export function selectLogs(
  byRole: Map<string, RoleLogs>,
  opts: { count: number; minIter?: number; maxIter?: number; roles: string[]; describeDirs: string },
): Selection {
  const all = new Set<number>();
  for (const found of byRole.values()) for (const it of found.names.keys()) all.add(it);
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
      const found = byRole.get(role);
      const name = found?.names.get(it);
      if (found && name !== undefined) logs.push({ role, iteration: it, dir: found.dir, name, symlink: found.symlinks.has(name), other: found.others.get(name) });
    }
  }
  return { iterations, logs };
}
