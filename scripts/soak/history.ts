/**
 * The remote's history of the shared branch, read once at the end of the soak:
 * every commit oldest first with its author, subject, changed files and the raw
 * bytes of the state file. The invariant checker sees nothing else of git.
 */
import { sh } from "./world.ts";

export interface HistoryCommit {
  sha: string;
  parents: string[];
  author: string;
  subject: string;
  /** Paths this commit changed relative to its first parent (all paths for a root commit). */
  files: string[];
  /** Bytes of the state file at this commit; null when absent. */
  state: string | null;
}

export interface History {
  commits: HistoryCommit[];
  /** Final contents of files the checker cross-checks (e.g. runs/galph.txt); null when absent. */
  finalFiles: Record<string, string | null>;
}

const RS = "\x1e";
const US = "\x1f";

export function readHistory(repo: string, branch: string, env: Record<string, string>, opts: { stateRel: string; finalFiles: string[] }): History {
  const ref = `refs/heads/${branch}`;
  const log = sh(["git", "log", "--reverse", "--first-parent", "--no-renames", "--name-only", `--format=${RS}%H${US}%P${US}%an${US}%s${US}`, ref], repo, env);
  if (log.code !== 0) throw new Error(`git log failed in ${repo}: ${log.stderr.trim()}`);
  const commits: HistoryCommit[] = [];
  for (const record of log.stdout.split(RS)) {
    if (!record.trim()) continue;
    const [sha, parents, author, subject, rest] = record.split(US) as [string, string, string, string, string];
    commits.push({
      sha,
      parents: parents.split(" ").filter(Boolean),
      author,
      subject,
      files: rest.split("\n").map((l) => l.trim()).filter(Boolean),
      state: null,
    });
  }
  // All state blobs through one `git cat-file --batch` process.
  if (commits.length > 0) {
    const input = commits.map((c) => `${c.sha}:${opts.stateRel}\n`).join("");
    const batch = Bun.spawnSync(["git", "cat-file", "--batch"], { cwd: repo, env, stdin: Buffer.from(input), stdout: "pipe", stderr: "pipe" });
    if (batch.exitCode !== 0) throw new Error(`git cat-file --batch failed: ${batch.stderr.toString()}`);
    const out = batch.stdout;
    let pos = 0;
    for (const c of commits) {
      const nl = out.indexOf(10, pos);
      const header = out.subarray(pos, nl).toString();
      pos = nl + 1;
      if (header.endsWith(" missing")) continue;
      const size = Number(header.split(" ")[2]);
      c.state = out.subarray(pos, pos + size).toString("utf8");
      pos += size + 1;
    }
  }
  const finalFiles: Record<string, string | null> = {};
  for (const path of opts.finalFiles) {
    const r = sh(["git", "show", `${ref}:${path}`], repo, env);
    finalFiles[path] = r.code === 0 ? r.stdout : null;
  }
  return { commits, finalFiles };
}
