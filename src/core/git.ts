import { existsSync } from "node:fs";
import { join, isAbsolute } from "node:path";
import { run as runProcess, sleep, type RunResult } from "./proc.ts";
import { OrchError, Exit } from "./errors.ts";
import { acquireLock, type HeldLock } from "./lock.ts";

export interface GitOptions {
  cwd: string;
  /** Timeout for every git call. */
  timeoutMs?: number;
  /** How long transient network errors are retried. */
  networkRetryMs?: number;
  /** How long to wait for the repository mutex. */
  lockTimeoutMs?: number;
  /** Receives git's diagnostic lines (the iteration log). */
  log?: (line: string) => void;
  env?: Record<string, string | undefined>;
}

export interface GitCallOptions {
  input?: string;
  timeoutMs?: number;
  /** Do not throw on a non-zero exit. */
  allowFail?: boolean;
  /** Also return stdout as bytes. */
  bytes?: boolean;
}

export interface StatusEntry {
  /** Two-letter porcelain code, e.g. " M", "A ", "??", "!!", "R ". */
  code: string;
  path: string;
  /** Source path of a rename or copy. */
  from?: string;
}

const INDEX_LOCK_RE = /index\.lock'?:? File exists|Unable to create '[^']*index\.lock'/i;
const NETWORK_RE =
  /Could not read from remote repository|unable to access|does not appear to be a git repository|Connection (refused|reset|timed out)|Could not resolve host|early EOF|the remote end hung up|timed out|Operation timed out|No such file or directory.*\.git|Temporary failure/i;

const DIRTY_TREE_RE = /cannot rebase: (You have unstaged changes|Your index contains uncommitted changes)|Please commit or stash them/i;

/** ORCH_TRACE=1 prints every git call on stderr (field debugging). */
const TRACE = process.env.ORCH_TRACE === "1";

export class GitError extends OrchError {
  constructor(readonly args: string[], readonly result: RunResult) {
    super(Exit.runtime, `git ${args.join(" ")} failed: ${firstLine(result.stderr || result.stdout) || `exit ${result.code}`}`);
  }
}

function firstLine(text: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("hint:"));
  return lines.find((l) => /^(fatal|error):/i.test(l)) ?? lines[0] ?? "";
}

export const isNetworkError = (r: RunResult) => r.code !== 0 && NETWORK_RE.test(r.stderr);

/** One git binding per working tree: typed queries over a single `run`. */
export class Git {
  readonly cwd: string;
  private readonly timeoutMs: number;
  private readonly networkRetryMs: number;
  private readonly lockTimeoutMs: number;
  private readonly env: Record<string, string | undefined>;
  log: (line: string) => void;
  private lockDepth = 0;
  private held: HeldLock | null = null;
  private gitDirCache: string | undefined;
  /** Counts git processes started (benchmarks report it). */
  calls = 0;

  constructor(opts: GitOptions) {
    this.cwd = opts.cwd;
    this.timeoutMs = opts.timeoutMs ?? 120_000;
    this.networkRetryMs = opts.networkRetryMs ?? 60_000;
    this.lockTimeoutMs = opts.lockTimeoutMs ?? 30_000;
    this.log = opts.log ?? (() => {});
    this.env = { ...process.env, ...opts.env, GIT_TERMINAL_PROMPT: "0", LC_ALL: "C", GIT_OPTIONAL_LOCKS: "0" };
  }

  /** Run git; index.lock contention is retried with back-off and jitter (never deleted). */
  async run(args: string[], opts: GitCallOptions = {}): Promise<RunResult> {
    let delay = 400;
    for (let attempt = 0; ; attempt++) {
      this.calls++;
      if (TRACE) process.stderr.write(`[git] ${args.join(" ")}\n`);
      const result = await runProcess(["git", ...args], {
        cwd: this.cwd,
        env: this.env,
        input: opts.input,
        bytes: opts.bytes,
        timeoutMs: opts.timeoutMs ?? this.timeoutMs,
      });
      if (result.timedOut) {
        throw new OrchError(Exit.runtime, `git ${args[0]} timed out after ${Math.round((opts.timeoutMs ?? this.timeoutMs) / 1000)}s; check the network and the remote, then rerun`);
      }
      if (result.code !== 0 && INDEX_LOCK_RE.test(result.stderr) && attempt < 10) {
        this.log(`[git] index.lock busy; retrying in ${(delay / 1000).toFixed(1)}s`);
        await sleep(delay * (0.75 + Math.random() * 0.5));
        delay = Math.min(delay * 2, 5000);
        continue;
      }
      if (result.code !== 0 && !opts.allowFail) throw new GitError(args, result);
      return result;
    }
  }

  /** Retry a network operation with back-off for a bounded time; conflicts are not retried. */
  async runNetwork(args: string[], opts: GitCallOptions = {}): Promise<RunResult> {
    const deadline = Date.now() + this.networkRetryMs;
    let delay = 500;
    for (;;) {
      const r = await this.run(args, { ...opts, allowFail: true });
      if (r.code === 0 || !isNetworkError(r) || Date.now() + delay > deadline) {
        if (r.code !== 0 && !opts.allowFail) throw new GitError(args, r);
        return r;
      }
      this.log(`[git] network error (${firstLine(r.stderr)}); retrying in ${(delay / 1000).toFixed(1)}s`);
      await sleep(delay);
      delay = Math.min(delay * 2, 8000);
    }
  }

  async out(args: string[]): Promise<string> {
    return (await this.run(args)).stdout;
  }

  // ---- queries -------------------------------------------------------------

  async topLevel(): Promise<string> {
    const r = await this.run(["rev-parse", "--show-toplevel"], { allowFail: true });
    if (r.code !== 0) throw new OrchError(Exit.usage, `${this.cwd} is not inside a git repository; cd into your project's clone`);
    return r.stdout.trim();
  }

  async gitDir(): Promise<string> {
    if (!this.gitDirCache) {
      const dir = (await this.out(["rev-parse", "--git-dir"])).trim();
      this.gitDirCache = isAbsolute(dir) ? dir : join(this.cwd, dir);
    }
    return this.gitDirCache;
  }

  /** The checked-out branch, or null on a detached HEAD. */
  async currentBranch(): Promise<string | null> {
    const r = await this.run(["symbolic-ref", "--short", "-q", "HEAD"], { allowFail: true });
    return r.code === 0 ? r.stdout.trim() : null;
  }

  async revParse(rev: string): Promise<string | null> {
    const r = await this.run(["rev-parse", "--verify", "-q", `${rev}^{commit}`], { allowFail: true });
    return r.code === 0 ? r.stdout.trim() : null;
  }

  async shortHead(): Promise<string> {
    return (await this.out(["rev-parse", "--short", "HEAD"])).trim();
  }

  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    return (await this.run(["merge-base", "--is-ancestor", ancestor, descendant], { allowFail: true })).code === 0;
  }

  /** `git status --porcelain=v1 -z`; ignored files only when asked (directories collapsed). */
  async statusZ(opts: { ignored?: boolean; untracked?: boolean; paths?: string[] } = {}): Promise<StatusEntry[]> {
    const args = ["status", "--porcelain=v1", "-z", `--untracked-files=${opts.untracked === false ? "no" : "all"}`];
    if (opts.ignored) args.push("--ignored=matching");
    if (opts.paths) args.push("--", ...opts.paths);
    return parseStatusZ(await this.out(args));
  }

  async lsFiles(args: string[]): Promise<string[]> {
    return splitZ(await this.out(["ls-files", "-z", ...args]));
  }

  /** The sha of refs/heads/<branch> on the remote, or null when the branch is absent. */
  async lsRemote(remote: string, branch: string): Promise<string | null> {
    const r = await this.runNetwork(["ls-remote", "--heads", remote, `refs/heads/${branch}`]);
    const line = r.stdout.split("\n").find((l) => l.endsWith(`\trefs/heads/${branch}`));
    return line ? line.split("\t")[0]! : null;
  }

  /** Fetch the branch into its remote-tracking ref. */
  async fetch(remote: string, branch: string): Promise<void> {
    await this.runNetwork(["fetch", "--quiet", "--no-tags", remote, `+refs/heads/${branch}:refs/remotes/${remote}/${branch}`]);
  }

  /** File content at a revision, or null when the path is absent there. */
  async show(rev: string, path: string): Promise<string | null> {
    const r = await this.run(["show", `${rev}:${path}`], { allowFail: true });
    return r.code === 0 ? r.stdout : null;
  }

  // ---- queries for status / doctor (one process each) ------------------------

  /** `git --version` as "2.39.5" (null when unparseable). */
  async version(): Promise<string | null> {
    const r = await this.run(["--version"], { allowFail: true });
    return /git version (\d+(?:\.\d+)+)/.exec(r.stdout)?.[1] ?? null;
  }

  /** The URL of a remote, or null when no such remote is configured. */
  async remoteUrl(remote: string): Promise<string | null> {
    const r = await this.run(["remote", "get-url", remote], { allowFail: true });
    return r.code === 0 ? r.stdout.trim() : null;
  }

  /** Full sha of each of these exact refs that exists (one for-each-ref). */
  async refShas(refs: string[]): Promise<Map<string, string>> {
    const out = await this.out(["for-each-ref", "--format=%(refname)%00%(objectname)", ...refs]);
    const found = new Map<string, string>();
    for (const line of out.split("\n")) {
      const [name, sha] = line.split("\0");
      if (name && sha && refs.includes(name)) found.set(name, sha);
    }
    return found;
  }

  /** Newest-first commits of `rev` touching `path`: full sha, short sha, commit time (s), subject. */
  async pathLog(rev: string, path: string, max: number): Promise<{ sha: string; short: string; time: number; subject: string }[]> {
    const out = await this.out(["log", `--max-count=${max}`, "--format=%H%x00%h%x00%ct%x00%s%x00", rev, "--", path]);
    const parts = out.split("\0");
    const commits = [];
    for (let i = 0; i + 3 < parts.length; i += 4) {
      commits.push({ sha: parts[i]!.trim(), short: parts[i + 1]!, time: Number(parts[i + 2]), subject: parts[i + 3]! });
    }
    return commits;
  }

  /** Subjects of commits only on `local` (newest first) and the count only on `upstream`. */
  async divergence(local: string, upstream: string): Promise<{ ahead: string[]; behind: number }> {
    const out = await this.out(["log", "--left-right", "--format=%m%x00%s%x00", `${local}...${upstream}`]);
    const parts = out.split("\0");
    const ahead: string[] = [];
    let behind = 0;
    for (let i = 0; i + 1 < parts.length; i += 2) {
      if (parts[i]!.trim() === "<") ahead.push(parts[i + 1]!);
      else behind++;
    }
    return { ahead, behind };
  }

  /** Which of these paths .gitignore (or info/exclude) ignores. */
  async ignoredPaths(paths: string[]): Promise<string[]> {
    const r = await this.run(["check-ignore", "--", ...paths], { allowFail: true });
    if (r.code > 1) throw new GitError(["check-ignore", ...paths], r);
    return r.stdout.split("\n").filter((l) => l.length > 0);
  }

  // ---- mutations -----------------------------------------------------------

  async add(paths: string[], opts: { force?: boolean } = {}): Promise<void> {
    if (paths.length === 0) return;
    await this.run(["add", "-A", ...(opts.force ? ["-f"] : []), "--", ...paths]);
  }

  /**
   * Commit exactly these paths (whatever else is staged stays staged, uncommitted).
   * Paths must be known to git (tracked, or added first).
   */
  async commitPaths(message: string, paths: string[]): Promise<void> {
    await this.run(["commit", "--quiet", "--no-verify", "-F", "-", "--only", "--", ...paths], { input: message });
  }

  async push(remote: string, branch: string): Promise<RunResult> {
    return this.runNetwork(["push", "--quiet", remote, `HEAD:refs/heads/${branch}`], { allowFail: true });
  }

  rebaseInProgress(gitDir: string): boolean {
    return existsSync(join(gitDir, "rebase-merge")) || existsSync(join(gitDir, "rebase-apply"));
  }

  async abortRebase(): Promise<void> {
    const dir = await this.gitDir();
    if (!this.rebaseInProgress(dir)) return;
    this.log("[git] aborting a rebase left in progress");
    const r = await this.run(["rebase", "--abort"], { allowFail: true });
    if (r.code !== 0 && this.rebaseInProgress(dir)) {
      // A stale rebase directory with no rebase behind it: `quit` forgets it without touching the tree.
      await this.run(["rebase", "--quit"], { allowFail: true });
    }
  }

  async stash(): Promise<RunResult> {
    return this.run(["stash", "push", "--include-untracked", "-m", "orch autostash"], { allowFail: true });
  }

  /**
   * Bring HEAD up to date with <remote>/<branch>: abort a stale rebase, fetch,
   * rebase with autostash. Untracked collisions and conflicts fail fast, naming paths.
   */
  async safePull(remote: string, branch: string, opts: { fetched?: boolean } = {}): Promise<void> {
    await this.abortRebase();
    if (!opts.fetched) await this.fetch(remote, branch);
    const upstream = `refs/remotes/${remote}/${branch}`;
    // One process in the common case (a clean tree). A dirty tree makes git refuse;
    // only then autostash, and only when there is something to pull: an autostash
    // round trip would unstage what the user staged.
    let r = await this.run(["rebase", "--quiet", upstream], { allowFail: true });
    if (r.code === 0) return;
    if (!(await this.revParse(upstream))) return; // remote branch absent: nothing to pull
    if (DIRTY_TREE_RE.test(`${r.stdout}\n${r.stderr}`)) {
      if (await this.isAncestor(upstream, "HEAD")) return;
      r = await this.run(["-c", "rebase.autoStash=true", "rebase", "--quiet", upstream], { allowFail: true });
      if (r.code === 0) return;
    }
    const text = `${r.stdout}\n${r.stderr}`;
    await this.abortRebase();
    const collisions = untrackedCollisions(text);
    if (collisions.length > 0) throw new PullBlockedError(collisions, "untracked");
    const dirty = localChangesBlocking(text);
    if (dirty.length > 0) throw new PullBlockedError(dirty, "local");
    throw new OrchError(Exit.runtime, `git rebase onto ${remote}/${branch} failed: ${firstLine(text)}; resolve the conflict by hand (git pull --rebase), then rerun`);
  }

  /**
   * The commit a ref points to and one file's content there, in one process
   * (`cat-file --batch`): the hot path of polling. Null parts when absent.
   */
  async refAndFile(ref: string, path: string): Promise<{ sha: string | null; content: string | null }> {
    const r = await this.run(["cat-file", "--batch"], { input: `${ref}^{commit}\n${ref}:${path}\n`, bytes: true });
    const out = Buffer.from(r.stdoutBytes!);
    // Each answer: "<sha> <type> <size>\n<size bytes>\n", or "<name> missing\n".
    let at = 0;
    const next = (): { name: string; type: string; body: Buffer | null } => {
      const nl = out.indexOf(10, at);
      const header = out.subarray(at, nl).toString("utf8").split(" ");
      at = nl + 1;
      if (header[1] === "missing" || header.length < 3) return { name: header[0]!, type: "missing", body: null };
      const size = Number(header[2]);
      const body = out.subarray(at, at + size);
      at += size + 1;
      return { name: header[0]!, type: header[1]!, body };
    };
    const commit = next();
    const file = next();
    return { sha: commit.type === "commit" ? commit.name : null, content: file.type === "blob" ? file.body!.toString("utf8") : null };
  }

  /** Push HEAD:<branch>; when rejected, pull (rebase) once and push again. */
  async pushWithRetry(remote: string, branch: string): Promise<void> {
    const first = await this.push(remote, branch);
    if (first.code === 0) return;
    this.log(`[git] push rejected (${firstLine(first.stderr)}); rebasing and retrying once`);
    await this.safePull(remote, branch);
    const second = await this.push(remote, branch);
    if (second.code !== 0) throw new GitError(["push", remote, `HEAD:${branch}`], second);
  }

  /** Commits on HEAD that are not on <remote>/<branch> (per the last fetch). */
  async unpushedCount(remote: string, branch: string): Promise<number> {
    const upstream = `refs/remotes/${remote}/${branch}`;
    if (!(await this.revParse(upstream))) return Number((await this.out(["rev-list", "--count", "HEAD"])).trim());
    return Number((await this.out(["rev-list", "--count", `${upstream}..HEAD`])).trim());
  }

  /** Run fn holding the repository mutex (flock on <git-dir>/orchestrator.lock); re-entrant. */
  async withLock<T>(fn: () => Promise<T>): Promise<T> {
    if (this.lockDepth === 0) {
      this.held = await acquireLock(join(await this.gitDir(), "orchestrator.lock"), this.lockTimeoutMs);
    }
    this.lockDepth++;
    try {
      return await fn();
    } finally {
      this.lockDepth--;
      if (this.lockDepth === 0) {
        this.held?.release();
        this.held = null;
      }
    }
  }
}

/** A pull that local files block; carries the paths so callers can recover or explain. */
export class PullBlockedError extends OrchError {
  constructor(readonly paths: string[], readonly kind: "untracked" | "local") {
    super(
      Exit.runtime,
      kind === "untracked"
        ? `pull blocked: untracked files would be overwritten: ${paths.join(", ")}; move or delete them, then rerun`
        : `pull blocked by local changes to: ${paths.join(", ")}; commit or discard them, then rerun`,
    );
  }
}

export function splitZ(out: string): string[] {
  return out.split("\0").filter((s) => s.length > 0);
}

export function parseStatusZ(out: string): StatusEntry[] {
  const parts = out.split("\0");
  const entries: StatusEntry[] = [];
  for (let i = 0; i < parts.length; i++) {
    const item = parts[i]!;
    if (item.length < 4) continue;
    const code = item.slice(0, 2);
    const entry: StatusEntry = { code, path: item.slice(3) };
    if (code[0] === "R" || code[0] === "C" || code[1] === "R" || code[1] === "C") entry.from = parts[++i];
    entries.push(entry);
  }
  return entries;
}

function pathsAfter(text: string, header: RegExp): string[] {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => header.test(l));
  if (start < 0) return [];
  const paths: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!/^\s+\S/.test(line)) break;
    paths.push(line.trim());
  }
  return paths;
}

export function untrackedCollisions(text: string): string[] {
  return pathsAfter(text, /untracked working tree files would be (overwritten|removed)/i);
}

export function localChangesBlocking(text: string): string[] {
  const paths = pathsAfter(text, /local changes to the following files would be overwritten/i);
  if (paths.length) return paths;
  return /cannot (rebase|pull).*(unstaged|uncommitted) changes|Please commit or stash them/i.test(text) ? ["(uncommitted changes)"] : [];
}
