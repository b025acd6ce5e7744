/**
 * The branch's history for the report: one `git log` of its first-parent line
 * over the period (stamps with their receipt trailers, and the work commits
 * between them, counted), and, only when some stamp has no Orch-Diffstat, one
 * more with `--numstat` of the work commits for the code-vs-docs split.
 */
import type { Git } from "../core/git.ts";
import type { CommitRecord, FileChange } from "./model.ts";

/** Turns end inside the period but may start before it: read this much earlier history for their running marks and the peer's stamp. */
export const CONTEXT_SEC = 2 * 86400;

const FORMAT = "--format=%x1e%H%x00%ct%x00%s%x00%(trailers:only,unfold)%x00";

function logArgs(format: string, opts: { fromSec: number; untilSec: number }): string[] {
  return [
    "-c", "core.quotePath=false",
    "-c", "log.showSignature=false",
    "log", "--first-parent", "--no-color", "--no-decorate", "--no-mailmap", "--no-renames", format,
    // git reads a small `@N` as something other than epoch seconds: no lower bound then.
    ...(opts.fromSec > 1e9 ? [`--since=@${opts.fromSec}`] : []),
    `--until=@${opts.untilSec}`,
  ];
}

/** Oldest first: every commit of the first-parent line in the window, with its subject and trailers. */
export async function readHistory(git: Git, ref: string, opts: { fromSec: number; untilSec: number }): Promise<CommitRecord[]> {
  const out = await git.out([...logArgs(FORMAT, opts), ref, "--"]);
  return parseLog(out, false).reverse();
}

/**
 * Per-file line counts of the work commits in the window, by sha. Stamps and running marks are
 * left out by their subject (they change only the state file), which spares git most tree diffs.
 */
export async function readNumstat(git: Git, ref: string, opts: { fromSec: number; untilSec: number }): Promise<Map<string, FileChange[]>> {
  const out = await git.out([...logArgs("--format=%x1e%H%x00%x00%x00%x00", opts), "--numstat", "--invert-grep", "--grep=^\\[SYNC ", ref, "--"]);
  return new Map(parseLog(out, true).map((c) => [c.sha, c.files ?? []]));
}

/** Records start with \x1e; four NUL-terminated fields, then (with --numstat) `add\tdel\tpath` lines. */
export function parseLog(out: string, numstat: boolean): CommitRecord[] {
  const commits: CommitRecord[] = [];
  for (const record of out.split("\x1e")) {
    if (!record) continue;
    const fields = record.split("\0");
    if (fields.length < 5) continue;
    const c: CommitRecord = { sha: fields[0]!, time: Number(fields[1]), subject: fields[2]!, trailers: fields[3]! };
    if (numstat) c.files = parseNumstat(fields.slice(4).join("\0"));
    commits.push(c);
  }
  return commits;
}

function parseNumstat(text: string): FileChange[] {
  const files: FileChange[] = [];
  for (const line of text.split("\n")) {
    const m = /^(\d+|-)\t(\d+|-)\t(.+)$/.exec(line);
    if (!m) continue;
    // Binary files show "-": they count as a changed file with no lines.
    files.push({ path: unquote(m[3]!), add: m[1] === "-" ? 0 : Number(m[1]), del: m[2] === "-" ? 0 : Number(m[2]) });
  }
  return files;
}

/** git C-quotes paths with control characters even with core.quotePath=false; enough unquoting to classify them. */
function unquote(path: string): string {
  if (!(path.startsWith('"') && path.endsWith('"'))) return path;
  return path.slice(1, -1).replace(/\\(["\\tn])/g, (_, ch: string) => ({ t: "\t", n: "\n" })[ch] ?? ch);
}
