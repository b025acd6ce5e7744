/**
 * The branch's history for the report: one `git log` of its first-parent line
 * over the period (stamps with their receipt trailers, and the work commits
 * between them, counted), and, only when some stamp has no Orch-Diffstat, one
 * more with `--numstat` for the code-vs-docs split.
 */
import type { Git } from "../core/git.ts";
import type { CommitRecord, FileChange } from "./model.ts";

/** Turns end inside the period but may start before it: read this much earlier history for their running marks and the peer's stamp. */
export const CONTEXT_SEC = 2 * 86400;

const FORMAT = "--format=%x1e%H%x00%ct%x00%s%x00%(trailers:only,unfold)%x00";

export async function readHistory(git: Git, ref: string, opts: { fromSec: number; untilSec: number; numstat: boolean }): Promise<CommitRecord[]> {
  const args = [
    "-c", "core.quotePath=false",
    "-c", "log.showSignature=false",
    "log", "--first-parent", "--no-color", "--no-renames", FORMAT,
    `--since=@${opts.fromSec}`, `--until=@${opts.untilSec}`,
  ];
  if (opts.numstat) args.push("--numstat");
  args.push(ref, "--");
  const out = await git.out(args);
  return parseLog(out, opts.numstat).reverse();
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
