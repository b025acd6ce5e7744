/**
 * `orch report` end to end below the CLI: settings, fetch, one history read,
 * heartbeats, then the pure model. Runnable from any clone, outside a turn:
 * it reads refs and never touches the working tree, the index or HEAD.
 */
import picomatch from "picomatch";
import { join } from "node:path";
import { branchDir, openRepo } from "../core/repo.ts";
import { ACTORS } from "../core/state.ts";
import type { Git } from "../core/git.ts";
import { parsePeriod } from "./period.ts";
import { readHistory, readNumstat, CONTEXT_SEC } from "./history.ts";
import { buildReport, needsNumstat } from "./model.ts";
import { readHeartbeats, syncRemote, trackingRef } from "./sources.ts";
import type { Report } from "./types.ts";

export interface ReportOptions {
  cwd?: string;
  configPath?: string;
  flags?: Record<string, string | boolean | undefined>;
  since?: string;
  until?: string;
  fetch: boolean;
  now?: Date;
  /** Told what could not be copied here (the peers' shipped logs into a log dir git does not ignore). */
  warn?: (line: string) => void;
}

export interface Gathered {
  report: Report;
  git: Git;
  top: string;
  remote: string;
  branch: string;
  /** Directories logs may be read from: the clone and the configured log directory. */
  logRoots: string[];
}

/** A setting the lead adds later (`stalemate.cycles`, `sync.stale_after_sec`): its value when the table has it, else the fallback. */

export async function gatherReport(opts: ReportOptions): Promise<Gathered> {
  const now = opts.now ?? new Date();
  // Bad --since/--until is a usage error before any git process runs.
  const period = parsePeriod({ since: opts.since, until: opts.until, now });
  const repo = await openRepo({ command: "report", cwd: opts.cwd, configPath: opts.configPath, flags: opts.flags, branch: "optional", interactive: true });
  const { git, top, config, remote, branch, stateRel: stateFile } = repo;

  // A clone without the remote (a one-machine orch pair) has nothing to fetch: not a failure.
  let fetch: Report["fetch"] = (await git.remoteUrl(remote)) === null ? "local" : "offline";
  let fetchError: string | null = null;
  if (opts.fetch && fetch === "offline") {
    const r = await syncRemote(git, top, remote, branch, stateFile, join(repo.logDir, branchDir(branch)));
    fetch = r.fetch;
    fetchError = r.error;
    for (const note of r.notes) opts.warn?.(note);
  }

  const tracking = trackingRef(remote, branch);
  const local = `refs/heads/${branch}`;
  const refs = await git.refShas([tracking, local]);
  // The remote's branch is the shared truth; a clone that never fetched falls back to its own branch.
  const ref = refs.has(tracking) ? tracking : refs.has(local) ? local : null;

  const since = Math.floor(period.since.getTime() / 1000);
  const until = Math.floor(period.until.getTime() / 1000);
  const window = { fromSec: since - CONTEXT_SEC, untilSec: until };
  const commits = ref ? await readHistory(git, ref, window) : [];
  const numstat = ref !== null && needsNumstat(commits, since, until);
  if (numstat) {
    const files = await readNumstat(git, ref!, window);
    for (const c of commits) c.files = files.get(c.sha) ?? [];
  }

  const docGlobs = config.get("autocommit.whitelist").map((g) => g.trim().replace(/^\.\//, "")).filter(Boolean);
  const isDocGlob = docGlobs.length ? picomatch(docGlobs, { dot: true }) : () => false;

  const report = buildReport({
    branch,
    remote,
    ref,
    fetch,
    fetchError,
    since,
    until,
    now: Math.floor(now.getTime() / 1000),
    commits,
    numstat,
    stateFile,
    isDoc: (p) => isDocGlob(p),
    heartbeats: await readHeartbeats(git, remote, branch, ACTORS),
    stalemateCycles: config.get("stalemate.cycles"),
    staleAfterSec: config.get("sync.stale_after_sec"),
  });
  return { report, git, top, remote, branch, logRoots: [top, repo.logDir] };
}
