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
  /** Receipt trailers the checker reads (SPEC §13, §14): Orch-Runner, Orch-Takeover, Orch-Log; "" when absent. */
  trailers: { runner: string; takeover: string; log: string };
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
  const trailer = (key: string) => `%(trailers:key=${key},valueonly,separator=%x2C)`;
  const format = `--format=${RS}%H${US}%P${US}%an${US}%s${US}${trailer("Orch-Runner")}${US}${trailer("Orch-Takeover")}${US}${trailer("Orch-Log")}${US}`;
  const log = sh(["git", "log", "--reverse", "--first-parent", "--no-renames", "--name-only", format, ref], repo, env);
  if (log.code !== 0) throw new Error(`git log failed in ${repo}: ${log.stderr.trim()}`);
  const commits: HistoryCommit[] = [];
  for (const record of log.stdout.split(RS)) {
    if (!record.trim()) continue;
    const [sha, parents, author, subject, runner, takeover, logPath, rest] = record.split(US) as string[] as [string, string, string, string, string, string, string, string];
    commits.push({
      sha,
      parents: parents.split(" ").filter(Boolean),
      author,
      subject,
      files: rest.split("\n").map((l) => l.trim()).filter(Boolean),
      state: null,
      trailers: { runner: runner.trim(), takeover: takeover.trim(), log: logPath.trim() },
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

/** A commit of a side ref (refs/orch/*): its parents, message subject and the files of its tree. */
export interface SideCommit {
  sha: string;
  parents: string[];
  subject: string;
  files: string[];
}

export interface SideRefs {
  /** The final heartbeat of each actor with its heartbeat.json text; null when the ref is absent. */
  heartbeats: Record<string, (SideCommit & { text: string | null }) | null>;
  /** Each actor's log ref, newest commit first (empty when absent). */
  logs: Record<string, SideCommit[]>;
  /** Every ref under refs/orch/ on the remote. */
  refs: string[];
}

/** Read the remote's side refs of `branch` for both actors. */
export function readSide(repo: string, branch: string, env: Record<string, string>): SideRefs {
  const refs = sh(["git", "for-each-ref", "--format=%(refname)", "refs/orch/"], repo, env).stdout.split("\n").filter(Boolean);
  const chain = (ref: string, max?: number): SideCommit[] => {
    const args = ["git", "log", ...(max ? [`-${max}`] : []), "--no-renames", "--name-only", "-m", "--first-parent", `--format=${RS}%H${US}%P${US}%s${US}`, ref];
    const r = sh(args, repo, env);
    if (r.code !== 0) return [];
    return r.stdout
      .split(RS)
      .filter((x) => x.trim())
      .map((record) => {
        const [sha, parents, subject, rest] = record.split(US) as [string, string, string, string];
        return { sha, parents: parents.split(" ").filter(Boolean), subject, files: rest.split("\n").map((l) => l.trim()).filter(Boolean) };
      });
  };
  const side: SideRefs = { heartbeats: {}, logs: {}, refs };
  for (const actor of ["galph", "ralph"]) {
    const hbRef = `refs/orch/heartbeat/${actor}/${branch}`;
    const [hb] = refs.includes(hbRef) ? chain(hbRef, 1) : [];
    if (hb) {
      const r = sh(["git", "show", `${hb.sha}:heartbeat.json`], repo, env);
      // The tree as a whole, not only what changed (a parentless commit lists all its files anyway).
      const tree = sh(["git", "ls-tree", "-r", "--name-only", hb.sha], repo, env).stdout.split("\n").filter(Boolean);
      side.heartbeats[actor] = { ...hb, files: tree, text: r.code === 0 ? r.stdout : null };
    } else side.heartbeats[actor] = null;
    const logRef = `refs/orch/logs/${actor}/${branch}`;
    side.logs[actor] = refs.includes(logRef) ? chain(logRef) : [];
  }
  return side;
}
