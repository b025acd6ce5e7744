import { isAbsolute, join } from "node:path";
import type { Git } from "../core/git.ts";
import { checkRoles, discoverLogs, normalisePrefix, selectLogs, SOURCE_LAYOUT, type DigestSource } from "./discover.ts";
import { loadStamps, Stamps, type Stamp } from "./annotate.ts";
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
  /** The log directory as configured (shown in `path` attributes). */
  logDir: string;
  /** What a relative logDir is relative to: the repository's top level (or the current directory outside a repository). */
  baseDir: string;
  /** Absent outside a git repository: the digest then has no annotation and no `<ls>`. */
  repo?: { git: Git; stateRel: string | null; remote: string; branch: string | null };
}

export interface TailResult {
  logs: number;
  annotated: number;
  /** Git processes started (the benchmark shows that they do not grow with the logs). */
  gitCalls: number;
}

interface Planned {
  entry: Omit<LogEntry, "ls">;
  stamp?: Stamp;
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
  const byRole = discoverLogs({ logRoot, logDirSetting: req.logDir, prefix, source: req.source, roles });
  const describeDirs = roles.map((r) => `${req.logDir.replace(/\/+$/, "")}/${prefix}/${layout.subdir(r)}`).join(", ");
  const selection = selectLogs(byRole, { count: req.count, minIter: req.minIter, maxIter: req.maxIter, roles, describeDirs });

  const git = req.repo?.git;
  const callsBefore = git?.calls ?? 0;
  let stamps = new Stamps();
  if (req.repo && req.repo.stateRel !== null) {
    const branch = req.repo.branch ?? (await req.repo.git.currentBranch());
    stamps = await loadStamps(req.repo.git, { stateRel: req.repo.stateRel, remote: req.repo.remote, branch });
  }
  const planned: Planned[] = selection.logs.map((log) => {
    const stamp = stamps.get(log.role, log.iteration);
    return {
      stamp,
      entry: {
        role: log.role,
        iteration: log.iteration,
        display: log.display,
        file: log.file,
        source: layout.label,
        format: layout.format,
        commit: stamp ? { short: stamp.short, subject: stamp.subject } : undefined,
      },
    };
  });

  let snapshots: LsSnapshots | null = null;
  if (git && req.ls) {
    snapshots = new LsSnapshots(git, req.lsPaths);
    await snapshots.prepare(planned.flatMap((p) => (p.stamp ? [p.stamp.sha] : [])));
  }

  const sink = openSink();
  try {
    const writer = new DigestWriter(sink);
    writer.begin({ prefix, count: req.count, source: req.source });
    for (const { entry, stamp } of planned) {
      let ls: LogEntry["ls"];
      if (snapshots && stamp) {
        const listing = snapshots.listing(stamp.sha);
        ls = snapshots.roots.map((root, i) => ({ path: root === "" ? "." : root, commit: stamp.short, files: listing[i]! }));
      }
      writer.log({ ...entry, ls });
    }
    writer.end();
    sink.close();
  } catch (e) {
    sink.abort();
    throw e;
  }
  return { logs: planned.length, annotated: planned.filter((p) => p.stamp).length, gitCalls: (git?.calls ?? 0) - callsBefore };
}
