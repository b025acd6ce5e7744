/**
 * The git binding: `run(argv)` plus one small typed function per question.
 * Policy (how to pull, push, retry) lives in sync.ts beside it. Every call
 * has a timeout, runs in its own process group (a hung ssh helper goes with
 * it), never prompts, never runs maintenance, and is classified once, here,
 * into a GitError code that callers test instead of git's message text.
 */
import { existsSync } from "node:fs";
import { join, isAbsolute } from "node:path";
import { run as runProcess, sleep, sleepUnless, spawnProcess, trace, TRACE, type RunResult } from "./proc.ts";
import { LooseObjects } from "./loose.ts";
import { BatchTimeout, CatFileBatch, FastImportBatch, type CatObject } from "./batch.ts";
import { classifyFailure, firstLine, GitError, INDEX_LOCK_RE, type GitFailure } from "./git-errors.ts";
import { acquireLock, type HeldLock } from "./lock.ts";
import { branchFromFiles, headFromFiles, maintenanceDue } from "./git-files.ts";

export interface GitOptions {
  cwd: string;
  /** Timeout for every git call (openRepo passes git.timeout_sec). */
  timeoutMs?: number;
  /** How long transient network errors are retried (git.network_retry_sec). */
  networkRetryMs?: number;
  /** How long to wait for the repository mutex (git.lock_timeout_sec). */
  lockTimeoutMs?: number;
  /** Receives git's diagnostic lines (the iteration log). */
  log?: (line: string) => void;
  env?: Record<string, string | undefined>;
  /** The git dir when the caller knows it already (openRepo asks once, with the top level). */
  gitDir?: string;
}

export interface GitCallOptions {
  input?: string | Uint8Array;
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

/** Config for orch's own git calls: no background maintenance (orch runs it itself) and no prompts. */
function orchGitEnv(base: Record<string, string | undefined>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...base, GIT_TERMINAL_PROMPT: "0", LC_ALL: "C", GIT_OPTIONAL_LOCKS: "0" };
  // GIT_CONFIG_COUNT entries act like -c; append to any the user set.
  let n = Number(env.GIT_CONFIG_COUNT ?? 0) || 0;
  for (const [key, value] of [["maintenance.auto", "false"], ["gc.auto", "0"]]) {
    env[`GIT_CONFIG_KEY_${n}`] = key;
    env[`GIT_CONFIG_VALUE_${n}`] = value;
    n++;
  }
  env.GIT_CONFIG_COUNT = String(n);
  return env;
}

/** Prefix for orch's own commits: the repository's hooks never run (a prepare-commit-msg hook must not rewrite a [SYNC …] subject). */
export const NO_HOOKS = ["-c", "core.hooksPath=/dev/null"] as const;

/** One git binding per working tree: typed queries over a single `run`. */
export class Git {
  readonly cwd: string;
  readonly timeoutMs: number;
  readonly networkRetryMs: number;
  private readonly lockTimeoutMs: number;
  readonly env: Record<string, string | undefined>;
  log: (line: string) => void;
  private lockDepth = 0;
  private held: HeldLock | null = null;
  private gitDirCache: string | undefined;
  /** Counts git processes started (benchmarks report it). */
  calls = 0;
  /** The runner's long-lived cat-file (keepBatches), or null: each read is its own process. */
  private batch: CatFileBatch | null = null;
  /** The runner's long-lived fast-import (keepBatches), or null: each batch of commits is its own process. */
  importer: FastImportBatch | null = null;
  /** The environment without orch's own config entries (for maintenance, which must see the user's gc settings). */
  private readonly userEnv: Record<string, string | undefined>;

  constructor(opts: GitOptions) {
    this.cwd = opts.cwd;
    // Defaults for bindings built outside openRepo (tests, probes); openRepo passes the settings.
    this.timeoutMs = opts.timeoutMs ?? 120_000;
    this.networkRetryMs = opts.networkRetryMs ?? 60_000;
    this.lockTimeoutMs = opts.lockTimeoutMs ?? 30_000;
    this.log = opts.log ?? (() => {});
    this.userEnv = { ...process.env, ...opts.env, GIT_TERMINAL_PROMPT: "0", LC_ALL: "C" };
    this.env = orchGitEnv({ ...process.env, ...opts.env });
    this.gitDirCache = opts.gitDir;
  }

  /** Run git; index.lock contention is retried with back-off and jitter (never deleted). */
  async run(args: string[], opts: GitCallOptions = {}): Promise<RunResult> {
    let delay = 400;
    for (let attempt = 0; ; attempt++) {
      this.calls++;
      const t0 = TRACE ? performance.now() : 0;
      const result = await runProcess(["git", ...args], {
        cwd: this.cwd,
        env: this.env,
        input: opts.input,
        bytes: opts.bytes,
        timeoutMs: opts.timeoutMs ?? this.timeoutMs,
      });
      if (TRACE) trace(t0, args.join(" "));
      if (result.timedOut) throw new GitError(args, result, "timeout");
      if (result.code !== 0 && attempt < 10 && INDEX_LOCK_RE.test(result.stderr)) {
        this.log(`[git] index.lock busy; retrying in ${(delay / 1000).toFixed(1)}s`);
        // Say at once, where a person sees it, what we wait on (the lock is never deleted).
        if (attempt === 0) this.onWait(`[git] waiting for ${join(await this.gitDir().catch(() => this.cwd), "index.lock")}: another git process holds it (if none is running, remove the file by hand)`);
        await sleep(delay * (0.75 + Math.random() * 0.5));
        delay = Math.min(delay * 2, 5000);
        continue;
      }
      if (result.code !== 0 && !opts.allowFail) throw new GitError(args, result);
      return result;
    }
  }

  /** Where the first "waiting on the index lock" line goes (the console, when a runner sets it). */
  onWait: (line: string) => void = () => {};

  /** Retry a network operation with back-off for a bounded time; other failures are not retried. */
  async runNetwork(args: string[], opts: GitCallOptions = {}): Promise<RunResult> {
    const deadline = Date.now() + this.networkRetryMs;
    let delay = 500;
    for (;;) {
      let r: RunResult;
      let failure: GitFailure | null;
      try {
        r = await this.run(args, { ...opts, allowFail: true });
        failure = r.code === 0 ? null : classifyFailure(r);
      } catch (e) {
        if (!(e instanceof GitError) || e.failure !== "timeout") throw e;
        r = e.result;
        failure = "timeout";
      }
      // A stop signal ends the retries (the caller's step fails as a network error; a relaunch publishes what is left).
      const retry = (failure === "network" || failure === "timeout") && Date.now() + delay <= deadline && !this.stopRetries?.aborted;
      if (!retry) {
        // A timeout has no exit code worth returning: it always throws.
        if (failure === "timeout" || (failure !== null && !opts.allowFail)) throw new GitError(args, r, failure);
        return r;
      }
      this.onNetworkRetry(`[git] ${failure === "timeout" ? "the remote did not answer" : `network error (${firstLine(r.stderr)})`}; retrying in ${(delay / 1000).toFixed(1)}s`);
      await sleepUnless(delay, this.stopRetries);
      delay = Math.min(delay * 2, 8000);
    }
  }

  /** Where network retry lines go (the log; a runner also shows them on the console). */
  onNetworkRetry: (line: string) => void = (line) => this.log(line);
  /** Aborted (a runner's stop signal): network trouble is no longer waited out. */
  stopRetries: AbortSignal | undefined;

  async out(args: string[]): Promise<string> {
    return (await this.run(args)).stdout;
  }

  // ---- queries -------------------------------------------------------------

  /** The top level of the working tree and the git dir (one rev-parse), or null outside a repository. */
  async locate(): Promise<{ top: string; gitDir: string } | null> {
    const r = await this.run(["rev-parse", "--show-toplevel", "--absolute-git-dir"], { allowFail: true });
    const [top, gitDir] = r.stdout.split("\n");
    if (r.code !== 0 || !top || !gitDir) return null;
    this.gitDirCache ??= gitDir;
    return { top, gitDir };
  }

  async gitDir(): Promise<string> {
    if (!this.gitDirCache) {
      const dir = (await this.out(["rev-parse", "--git-dir"])).trim();
      this.gitDirCache = isAbsolute(dir) ? dir : join(this.cwd, dir);
    }
    return this.gitDirCache;
  }

  /** The checked-out branch, or null on a detached HEAD (from HEAD's file when it is plain). */
  async currentBranch(): Promise<string | null> {
    if (this.gitDirCache) {
      const known = branchFromFiles(this.gitDirCache);
      if (known !== undefined) return known;
    }
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

  /**
   * Is HEAD `rev` or one of its last `steps` first parents? Answered through
   * the kept cat-file only (a runner's start: HEAD is usually the remote's tip
   * or a few turns behind it); false means "not known": ask git.
   */
  async headWithin(rev: string, steps = 16): Promise<boolean> {
    if (!this.batch) return false;
    const head = await this.headSha();
    if (!head) return false;
    let [at] = await this.catFiles([`${rev}^{commit}`]);
    for (let i = 0; at && at.type === "commit"; i++) {
      if (at.sha === head) return true;
      const parent = /\nparent ([0-9a-f]{40,64})\n/.exec(at.body.toString("latin1", 0, 200))?.[1];
      if (!parent || i >= steps) return false;
      [at] = await this.catFiles([parent]);
    }
    return false;
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

  /** The sha of refs/heads/<branch> on the remote, or null when the branch is absent. */
  async lsRemote(remote: string, branch: string, opts: { timeoutMs?: number } = {}): Promise<string | null> {
    const r = await this.runNetwork(["ls-remote", "--heads", remote, `refs/heads/${branch}`], opts);
    const line = r.stdout.split("\n").find((l) => l.endsWith(`\trefs/heads/${branch}`));
    return line ? line.split("\t")[0]! : null;
  }

  /** The remote's refs matching `patterns` (ls-remote's own glob rules): ref → sha. */
  async lsRemoteRefs(remote: string, patterns: string[]): Promise<Map<string, string>> {
    const r = await this.runNetwork(["ls-remote", remote, ...patterns]);
    const refs = new Map<string, string>();
    for (const line of r.stdout.split("\n")) {
      const tab = line.indexOf("\t");
      if (tab > 0) refs.set(line.slice(tab + 1), line.slice(0, tab));
    }
    return refs;
  }

  /** Fetch the branch into its remote-tracking ref; a branch the remote lacks is a `missing-ref` GitError. */
  async fetch(remote: string, branch: string): Promise<void> {
    await this.runNetwork(["fetch", "--quiet", "--no-tags", remote, `+refs/heads/${branch}:refs/remotes/${remote}/${branch}`]);
  }

  /** File content at a revision, or null when the path is absent there. */
  async show(rev: string, path: string): Promise<string | null> {
    const r = await this.run(["show", `${rev}:${path}`], { allowFail: true });
    return r.code === 0 ? r.stdout : null;
  }

  /** The URL of a remote, or null when no such remote is configured. */
  async remoteUrl(remote: string): Promise<string | null> {
    // Asked by several steps of one run; a run does not re-point its remote.
    let url = this.remoteUrls.get(remote);
    if (!url) {
      url = this.run(["remote", "get-url", remote], { allowFail: true }).then((r) => (r.code === 0 ? r.stdout.trim() : null));
      this.remoteUrls.set(remote, url);
    }
    return url;
  }

  private readonly remoteUrls = new Map<string, Promise<string | null>>();

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

  /** Newest-first commits of `rev` touching `path`: full sha, short sha, commit time (s), subject, trailers (unfolded). */
  async pathLog(rev: string, path: string, max: number): Promise<{ sha: string; short: string; time: number; subject: string; trailers: string }[]> {
    const out = await this.out(["log", `--max-count=${max}`, "--format=%H%x00%h%x00%ct%x00%s%x00%(trailers:only,unfold)%x00", rev, "--", path]);
    const parts = out.split("\0");
    const commits = [];
    for (let i = 0; i + 4 < parts.length; i += 5) {
      commits.push({ sha: parts[i]!.trim(), short: parts[i + 1]!, time: Number(parts[i + 2]), subject: parts[i + 3]!, trailers: parts[i + 4]! });
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

  async add(paths: string[]): Promise<void> {
    if (paths.length === 0) return;
    await this.run(["add", "-A", "--", ...paths]);
  }

  /**
   * Commit exactly these paths (whatever else is staged stays staged, uncommitted),
   * without the repository's hooks. Paths must be known to git (tracked, or added first).
   */
  async commitPaths(message: string, paths: string[]): Promise<void> {
    await this.run([...NO_HOOKS, "commit", "--quiet", "--no-verify", "-F", "-", "--only", "--", ...paths], { input: message });
  }

  rebaseInProgress(gitDir: string): boolean {
    return existsSync(join(gitDir, "rebase-merge")) || existsSync(join(gitDir, "rebase-apply"));
  }

  /**
   * Several objects in one process (`cat-file --batch`): each `rev` (a commit
   * like `<ref>^{commit}`, a file like `<ref>:<path>`) as its sha, type and
   * content, or null when absent. The hot path of polling.
   */
  async catFiles(revs: string[]): Promise<(CatObject | null)[]> {
    if (revs.length === 0) return [];
    if (this.batch) {
      try {
        return await this.batch.ask(revs);
      } catch (e) {
        if (e instanceof BatchTimeout) throw new GitError(["cat-file", "--batch"], { code: -1, signal: null, stdout: "", stderr: e.message, timedOut: true, aborted: false }, "timeout");
        // The long-lived process died under us: ask once more the one-shot way.
      }
    }
    const r = await this.run(["cat-file", "--batch"], { input: revs.map((v) => v + "\n").join(""), bytes: true });
    const out = Buffer.from(r.stdoutBytes!);
    // Each answer: "<sha> <type> <size>\n<size bytes>\n", or "<name> missing\n".
    let at = 0;
    return revs.map(() => {
      const nl = out.indexOf(10, at);
      const header = /^([0-9a-f]{40,64}) (\S+) (\d+)$/.exec(out.subarray(at, nl).toString("utf8"));
      at = nl + 1;
      if (!header) return null; // "<rev> missing" (or ambiguous): absent
      const size = Number(header[3]);
      const body = out.subarray(at, at + size);
      at += size + 1;
      return { sha: header[1]!, type: header[2]!, body };
    });
  }

  /**
   * Keep one `cat-file --batch` for all reads and one `fast-import` for all
   * commit writes from now on (a runner, for its whole life: see batch.ts);
   * closeBatches ends them. Commands that read or write once keep one-shot
   * processes and never leave a child behind.
   */
  keepBatches(): void {
    const spawn = (args: string[]) => () => {
      this.calls++;
      if (TRACE) process.stderr.write(`[git] ${args.join(" ")} (kept)\n`);
      return spawnProcess(["git", ...args], { cwd: this.cwd, env: this.env, stdin: "pipe", stdout: "pipe", stderr: "ignore", detached: true }) as never;
    };
    this.batch ??= new CatFileBatch(spawn(["cat-file", "--batch"]), this.timeoutMs);
    this.importer ??= new FastImportBatch(spawn([...NO_HOOKS, "fast-import", "--quiet", "--force"]), this.timeoutMs);
  }

  closeBatches(): void {
    this.batch?.close();
    this.batch = null;
    this.importer?.close();
    this.importer = null;
  }

  /**
   * The full sha HEAD points to, read from the files when they are plain (a
   * branch checked out, its ref loose or packed): no process for the question a
   * turn asks most. Anything unusual (a worktree, another ref backend) asks git.
   */
  async headSha(): Promise<string | null> {
    return headFromFiles(await this.gitDir()) ?? this.revParse("HEAD");
  }

  private varsCache: Promise<Map<string, string> | null> | undefined;
  private looseCache: Promise<LooseObjects | null> | undefined;

  /** orch's own commits written in-process (see loose.ts), or null when the repository's layout asks for git's own writer. */
  loose(): Promise<LooseObjects | null> {
    this.looseCache ??= (async () => {
      const vars = await this.vars();
      if (!vars) return null;
      return LooseObjects.open({ gitDir: await this.gitDir(), vars, env: this.env }, (revs) => this.catFiles(revs));
    })().catch(() => null);
    return this.looseCache;
  }

  /**
   * `git var -l`, once per binding: the config git sees (keys as git prints
   * them, the last value wins) and GIT_AUTHOR_IDENT / GIT_COMMITTER_IDENT.
   * Null when git cannot say (outside a repository).
   */
  vars(): Promise<Map<string, string> | null> {
    if (this.varsCache) return this.varsCache;
    this.calls++;
    // The user's config, not orch's overrides for its own calls (maintenance.auto=false, gc.auto=0).
    this.varsCache = runProcess(["git", "var", "-l"], { cwd: this.cwd, env: this.userEnv, timeoutMs: this.timeoutMs }).then((r) => {
      if (r.code !== 0) return null;
      const vars = new Map<string, string>();
      for (const line of r.stdout.split("\n")) {
        const eq = line.indexOf("=");
        if (eq > 0) vars.set(line.slice(0, eq), line.slice(eq + 1));
      }
      return vars;
    });
    return this.varsCache;
  }

  /**
   * Housekeeping orch's own calls switch off (maintenance.auto=false, gc.auto=0):
   * `git maintenance run --auto` with the user's own settings, so the loose
   * objects and small packs of many turns do not pile up. It returns at once
   * when there is nothing to do and detaches when there is (gc.autoDetach).
   * Older git without `maintenance`: `gc --auto`.
   */
  async maintain(due?: boolean): Promise<void> {
    if (!(due ?? (await this.maintenanceDue()))) return;
    const opts = { cwd: this.cwd, env: this.userEnv, timeoutMs: this.timeoutMs };
    this.calls++;
    const r = await runProcess(["git", "maintenance", "run", "--auto", "--quiet"], opts);
    if (r.code === 0 || !/not a git command|unknown subcommand/i.test(r.stderr)) return;
    this.calls++;
    await runProcess(["git", "gc", "--auto", "--quiet"], opts);
  }

  /** Would maintain() start git's maintenance (which may take a while)? */
  async maintenanceDue(): Promise<boolean> {
    // A user who turned automatic maintenance off (maintenance.auto=false: scheduled maintenance, say) gets none from orch either.
    const vars = await this.vars();
    if (/^(false|no|off|0)$/i.test(vars?.get("maintenance.auto") ?? "")) return false;
    // Nothing for it to do (git's own thresholds, read from the object directory): no process.
    return !vars || maintenanceDue(vars, await this.gitDir());
  }

  /** The commit a ref points to and one file's content there (null parts when absent), in one process. */
  async refAndFile(ref: string, path: string): Promise<{ sha: string | null; content: string | null }> {
    const [commit, file] = await this.catFiles([`${ref}^{commit}`, `${ref}:${path}`]);
    return { sha: commit?.type === "commit" ? commit.sha : null, content: file?.type === "blob" ? file.body.toString("utf8") : null };
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

/** `git --version` as "2.39.5" (null when unparseable); a missing git throws MissingExecutableError. */
export async function gitVersion(env: Record<string, string | undefined>): Promise<string | null> {
  const r = await runProcess(["git", "--version"], { env, timeoutMs: 20_000 });
  return /git version (\d+(?:\.\d+)+)/.exec(r.stdout)?.[1] ?? null;
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
