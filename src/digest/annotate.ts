import type { Git } from "../core/git.ts";
import { parseSubject } from "../core/state.ts";

/** The stamp commit a turn left: what `commit` / `commit_subject` show and `<ls>` lists. */
export interface Stamp {
  /** Full id (for git). */
  sha: string;
  /** Abbreviated id (for the reader). */
  short: string;
  subject: string;
}

const stampKey = (role: string, iteration: number) => `${role}:${iteration}`;

/** Stamps by the log they belong to. */
export class Stamps {
  private readonly byLog = new Map<string, Stamp>();

  /** Only the first (newest) stamp for a log is kept. */
  offer(role: string, logIteration: number, stamp: Stamp): void {
    const key = stampKey(role, logIteration);
    if (!this.byLog.has(key)) this.byLog.set(key, stamp);
  }

  get(role: string, iteration: number): Stamp | undefined {
    return this.byLog.get(stampKey(role, iteration));
  }
}

/**
 * Which log a stamp subject annotates (SPEC §9): galph ok/fail at i → galph
 * log i; ralph ok stamped i=N+1 → ralph log N; ralph fail at i=N → ralph log N.
 * Running marks and init are not stamps of a finished turn.
 */
export function logOfStamp(subject: string): { role: string; iteration: number } | null {
  const parsed = parseSubject(subject);
  if (!parsed || parsed.iteration === null) return null;
  if (parsed.kind === "ok") return { role: parsed.actor, iteration: parsed.actor === "ralph" ? parsed.iteration - 1 : parsed.iteration };
  if (parsed.kind === "fail") return { role: parsed.actor, iteration: parsed.iteration };
  return null;
}

/** Parse `git log -z --format=%H%x00%h%x00%s` output, newest first; the newest stamp per log wins. */
export function parseStampLog(out: string, into: Stamps = new Stamps()): Stamps {
  const fields = out.split("\0");
  for (let i = 0; i + 2 < fields.length; i += 3) {
    const sha = fields[i]!.replace(/^\n/, "");
    const short = fields[i + 1]!;
    const subject = fields[i + 2]!;
    const log = logOfStamp(subject);
    if (log) into.offer(log.role, log.iteration, { sha, short, subject });
  }
  return into;
}

/**
 * Read the state file's history in one `git log` pass over HEAD and the
 * branch's remote-tracking ref (when present), so a clone that has fetched but
 * not pulled still sees the newest stamps. `--date-order` lists children before
 * parents and otherwise newest first, so the first stamp seen for a log wins.
 * No history (unborn branch, state file never committed) is simply no stamps.
 */
export async function loadStamps(git: Git, opts: { stateRel: string; remote: string; branch: string | null }): Promise<Stamps> {
  const revs = ["HEAD"];
  if (opts.branch) {
    const tracking = `refs/remotes/${opts.remote}/${opts.branch}`;
    if (await git.revParse(tracking)) revs.push(tracking);
  }
  const r = await git.run(["log", "-z", "--date-order", "--format=%H%x00%h%x00%s", ...revs, "--", opts.stateRel], { allowFail: true });
  if (r.code !== 0) return new Stamps();
  return parseStampLog(r.stdout);
}
