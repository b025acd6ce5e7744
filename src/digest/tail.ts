import { realpathSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { OrchError } from "../core/errors.ts";
import type { Git } from "../core/git.ts";
import { checkRoles, discoverLogs, logDisplay, logFile, normalisePrefix, selectLogs, SOURCE_LAYOUT, TailExit, type DigestSource } from "./discover.ts";
import { loadStamps, Stamps } from "./annotate.ts";
import { LsSnapshots } from "./snapshots.ts";
import { DigestWriter, type LogEntry } from "./render.ts";
import type { Sink } from "./sink.ts";

/** Everything `orch tail` needs, already resolved from flags, environment and orch.toml. */
export interface TailRequest {
  prefix: string;
  /** 0 = all iterations. */
  count: number;
  minIter?: number;
  maxIter?: number;
  ls: boolean;
  lsPaths: string[];
  source: DigestSource;
  roles: string[];
  /** tail.max_log_bytes: each log's cap (head and tail kept); 0 = none. */
  maxLogBytes: number;
  /** The log directory as configured (shown in `path` attributes). */
  logDir: string;
  /** What a relative logDir is relative to: the repository's top level (or the current directory outside a repository). */
  baseDir: string;
  /** Absent outside a git repository: the digest then has no annotation and no `<ls>`. */
  repo?: { git: Git; stateRel: string | null; remote: string; branch: string | null };
}

/**
 * Every log leaves a few kilobytes of short-lived garbage (its element, the
 * open file's stat, views); JavaScriptCore collects it late, so a digest of
 * 40,000 logs would grow by tens of MB. A collection in the background every
 * so many logs keeps the peak flat for a few milliseconds in all.
 */
export const GC_EVERY = 1000;

export interface TailResult {
  logs: number;
  annotated: number;
  /** Git processes started (the benchmark shows that they do not grow with the logs). */
  gitCalls: number;
}

/**
 * Find, select and annotate the logs (every error is raised here, before any
 * output exists), then stream the digest to the sink opened only then.
 */
export async function runTail(req: TailRequest, openSink: () => Sink): Promise<TailResult> {
  const roles = checkRoles(req.roles);
  const logRoot = isAbsolute(req.logDir) ? req.logDir : join(req.baseDir, req.logDir);
  const prefix = normalisePrefix(req.prefix, req.logDir, logRoot);
  const layout = SOURCE_LAYOUT[req.source];
  const realRoot = realPath(logRoot);
  const byRole = discoverLogs({ logRoot, realRoot, logDirSetting: req.logDir, prefix, source: req.source, roles });
  const describeDirs = roles.map((r) => `${req.logDir.replace(/\/+$/, "")}/${prefix}/${layout.subdir(r)}`).join(", ");
  if (req.source === "summaries" && [...byRole.values()].every((found) => found.names.size === 0)) {
    const hint = summariesHint(describeDirs, { logRoot, realRoot, logDirSetting: req.logDir, prefix, roles });
    if (hint) throw hint;
  }
  const selection = selectLogs(byRole, { count: req.count, minIter: req.minIter, maxIter: req.maxIter, roles, describeDirs });

  const git = req.repo?.git;
  const callsBefore = git?.calls ?? 0;
  let stamps = new Stamps();
  if (req.repo && req.repo.stateRel !== null) {
    const branch = req.repo.branch ?? (await req.repo.git.currentBranch());
    const its = selection.iterations;
    stamps = await loadStamps(req.repo.git, { stateRel: req.repo.stateRel, remote: req.repo.remote, branch, iterations: { from: its[0]!, to: its[its.length - 1]! } });
  }
  // A digest of every turn of a long branch holds tens of thousands of logs: entries are made one at a time.
  let snapshots: LsSnapshots | null = null;
  if (git && req.ls) {
    snapshots = new LsSnapshots(git, req.lsPaths);
    await snapshots.prepare(selection.logs.flatMap((log) => stamps.get(log.role, log.iteration)?.sha ?? []));
  }

  let annotated = 0;
  const sink = openSink();
  try {
    const writer = new DigestWriter(sink, { realRoot, maxBytes: req.maxLogBytes });
    writer.begin({ prefix, count: req.count, source: req.source });
    for (const [n, log] of selection.logs.entries()) {
      if (n % GC_EVERY === GC_EVERY - 1) Bun.gc(false);
      const stamp = stamps.get(log.role, log.iteration);
      let ls: LogEntry["ls"];
      if (stamp) {
        annotated++;
        if (snapshots) {
          const listing = snapshots.listing(stamp.sha);
          ls = snapshots.roots.map((root, i) => ({ path: root === "" ? "." : root, commit: stamp.short, files: listing[i]! }));
        }
      }
      writer.log({
        role: log.role,
        iteration: log.iteration,
        display: logDisplay(log),
        file: logFile(log),
        checkPath: log.dir.detour || log.symlink,
        notAFile: log.other,
        source: layout.label,
        format: layout.format,
        commit: stamp ? { short: stamp.short, subject: stamp.subject } : undefined,
        ls,
      });
    }
    writer.end();
    sink.close();
  } catch (e) {
    sink.abort();
    throw e;
  }
  return { logs: selection.logs.length, annotated, gitCalls: (git?.calls ?? 0) - callsBefore };
}

function realPath(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

/**
 * `--source summaries` where there are none: if the logs of those turns are
 * there, they predate summaries (or their agents wrote none), so say that and
 * point at the logs instead of "no logs found". Exit 2 either way (SPEC §9).
 */
function summariesHint(describeDirs: string, where: { logRoot: string; realRoot: string | null; logDirSetting: string; prefix: string; roles: string[] }): OrchError | null {
  const logs = discoverLogs({ ...where, source: "logs" });
  const count = [...logs.values()].reduce((n, found) => n + found.names.size, 0);
  if (count === 0) return null; // nothing at all: "no logs found" says it
  return new OrchError(TailExit.noLogs, `no summaries found under ${describeDirs}; this branch has ${count} log${count === 1 ? "" : "s"} (its turns predate summaries): use --source logs`);
}
