import type { Git } from "../core/git.ts";
import { gitOutput } from "./gitout.ts";
import { headFromFiles, refFromFiles } from "../core/git-files.ts";
import { parseSubject } from "../core/state.ts";

/** The stamp commit a turn left: what `commit` / `commit_subject` show and `<ls>` lists. */
export interface Stamp {
  /** Full id (for git). */
  sha: string;
  /** Abbreviated id (for the reader). */
  short: string;
  subject: string;
}

/**
 * Stamps by the log they belong to. A branch of 20,000 turns has 40,000 of
 * them, so they stay in git's output (bytes) and only the position of each
 * log's stamp is kept; get() decodes one when the digest needs it.
 */
export class Stamps {
  /** Per role: log iteration → where its stamp's record starts in `out`. */
  private readonly byRole = new Map<string, Map<number, number>>();

  /** out: `git log -z --format=%H%x00%h%x00%s` output. */
  constructor(private readonly out: Buffer = Buffer.alloc(0)) {}

  /** Only the first (newest) stamp for a log is kept. */
  offer(role: string, logIteration: number, record: number): void {
    let logs = this.byRole.get(role);
    if (!logs) this.byRole.set(role, (logs = new Map()));
    if (!logs.has(logIteration)) logs.set(logIteration, record);
  }

  has(role: string, iteration: number): boolean {
    return this.byRole.get(role)?.has(iteration) ?? false;
  }

  get(role: string, iteration: number): Stamp | undefined {
    const at = this.byRole.get(role)?.get(iteration);
    if (at === undefined) return undefined;
    const { out } = this;
    const a = out.indexOf(0, at);
    const b = out.indexOf(0, a + 1);
    const c = out.indexOf(0, b + 1);
    const shaStart = out[at] === 0x0a ? at + 1 : at;
    return { sha: out.toString("latin1", shaStart, a), short: out.toString("latin1", a + 1, b), subject: out.toString("utf8", b + 1, c < 0 ? out.length : c) };
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

/** Parse `git log -z --format=%H%x00%h%x00%s` output (bytes), newest first; the newest stamp per log wins. */
export function parseStampLog(out: Buffer): Stamps {
  const stamps = new Stamps(out);
  let at = 0;
  for (let n = 1; ; n++) {
    if (n % 2000 === 0) Bun.gc(false); // a subject string and its parse per commit: see tail.ts GC_EVERY
    const a = out.indexOf(0, at);
    const b = a < 0 ? -1 : out.indexOf(0, a + 1);
    if (b < 0) break;
    let c = out.indexOf(0, b + 1);
    if (c < 0) c = out.length;
    const log = logOfStamp(out.toString("utf8", b + 1, c));
    if (log) stamps.offer(log.role, log.iteration, at);
    at = c + 1;
  }
  return stamps;
}

/**
 * Read the state file's history over HEAD and the branch's remote-tracking ref
 * (when present), so a clone that has fetched but not pulled still sees the
 * newest stamps. `--date-order` lists children before parents and otherwise
 * newest first, so the first stamp seen for a log wins. No history (unborn
 * branch, state file never committed) is simply no stamps.
 *
 * `--date-order` sorts the whole history before printing anything, which
 * costs seconds on a long one. A digest of the last few turns only needs the
 * stamps from its lowest iteration up, so a cheap newest-first walk first
 * finds the newest commit whose iteration is below that (the boundary), and
 * the sorted walk leaves out the boundary and everything before it
 * (`^boundary`). That is the same list, cut: the state file's iteration never
 * goes down from a commit to its descendants, so no stamp for the digest's
 * logs is reachable from the boundary, and sorting a set closed under
 * "child of" orders it as sorting everything would.
 */
export async function loadStamps(
  git: Git,
  opts: {
    stateRel: string;
    remote: string;
    branch: string | null;
    /** The digest's iterations (all when absent). */
    iterations?: { from: number; to: number };
    /** false: always run the sorted walk (tests compare the two). */
    linearShortcut?: boolean;
  },
): Promise<Stamps> {
  const revs = ["HEAD"];
  if (opts.branch) {
    const tracking = `refs/remotes/${opts.remote}/${opts.branch}`;
    // From the files when they can say; the tracking ref at HEAD (a clone that pushed or pulled last) adds nothing to the walk.
    const gitDir = await git.gitDir();
    const tip = refFromFiles(gitDir, tracking);
    const exists = tip === undefined ? (await git.revParse(tracking)) !== null : tip !== null;
    if (exists && (!tip || tip !== headFromFiles(gitDir))) revs.push(tracking);
  }
  const range = opts.iterations;
  // Iterations start at 1: from 1 up is the whole history.
  const found = range && range.from > 1 ? await findBoundary(git, revs, opts.stateRel, range.from, COMMITS_PER_ITERATION * (range.to - range.from + 2) + 16) : null;
  if (found?.above && opts.linearShortcut !== false) return parseStampLog(found.above);
  const boundary = found?.boundary ?? null;
  const out = await gitOutput(git, ["log", "-z", "--date-order", "--format=%H%x00%h%x00%s", ...revs, ...(boundary ? [`^${boundary}`] : [])], { pathspec: ["--", opts.stateRel], allowFail: true });
  return out ? parseStampLog(out) : new Stamps();
}

/** State commits per iteration in a usual history (running marks, stamps, a retry): how far to look first. */
const COMMITS_PER_ITERATION = 4;

/**
 * The newest commit (newest-first order, which git prints as it walks) that
 * changed the state file and whose subject's iteration is below `below`; null
 * when the history has none. Looks at `first` commits, then four times as
 * many, so a short digest of a long history reads a short stretch of it.
 *
 * `above`: when the commits before the boundary form one chain (each one's
 * parent, as the walk rewrites parents to state commits, is the next one:
 * a linear stretch, orch's usual history), they are already in the order
 * `--date-order` would print them (there is only one order for a chain), so
 * they are returned as that log's output and the sorted walk is not needed.
 */
export async function findBoundary(git: Git, revs: string[], stateRel: string, below: number, first: number): Promise<{ boundary: string; above: Buffer | null } | null> {
  for (let limit = first; ; limit *= 4) {
    const r = await git.run(["log", "-z", `-n${limit}`, "--parents", "--format=%H%x00%h%x00%P%x00%s", ...revs, "--", stateRel], { allowFail: true });
    if (r.code !== 0) return null;
    const fields = r.stdout.split("\0");
    let seen = 0;
    let chain = revs.length === 1;
    const records: string[] = [];
    for (let i = 0; i + 3 < fields.length; i += 4) {
      seen++;
      const sha = fields[i]!.replace(/^\n/, "");
      const iteration = parseSubject(fields[i + 3]!)?.iteration;
      if (iteration !== null && iteration !== undefined && iteration < below) {
        return { boundary: sha, above: chain && records.length > 0 ? Buffer.from(records.join("\0")) : null };
      }
      const next = i + 4 < fields.length ? fields[i + 4]!.replace(/^\n/, "") : null;
      if (fields[i + 2] !== next) chain = false;
      records.push(`${sha}\0${fields[i + 1]}\0${fields[i + 3]}`);
    }
    if (seen < limit) return null;
  }
}
