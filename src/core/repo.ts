/**
 * The one way in: every command opens its clone here, once. It finds the top
 * level, loads the settings (once per run), builds the git binding from them,
 * resolves the branch (guarded when the command acts on it) and the state
 * file's path.
 */
import { isAbsolute, relative, resolve } from "node:path";
import { Git } from "./git.ts";
import { loadConfig, type Config } from "./config.ts";
import { OrchError, Exit, wrongBranch } from "./errors.ts";
import type { CommandName } from "./settings.ts";
import { recoverOwnRebase, refuseInProgress } from "./sync.ts";

/** A clone and its settings. `branch` is null only when the command asked for none. */
export interface Clone {
  inRepo: true;
  git: Git;
  top: string;
  config: Config;
  env: Record<string, string | undefined>;
  remote: string;
  branch: string | null;
  /** The checked-out branch (null on a detached HEAD). */
  checkedOut: string | null;
  /** Absolute path of the state file, and its repo-relative form (for git). */
  statePath: string;
  stateRel: string;
  /** Absolute log directory. */
  logDir: string;
  /** What opening did that the user should hear about (an interrupted rebase of orch's, undone). */
  notes: string[];
}

/** A branch's folder under the log directory: `feature/x` → `feature-x` (the old tool's layout). */
export function branchDir(branch: string): string {
  return branch.replace(/\//g, "-");
}

/** A clone whose branch is resolved. */
export interface Repo extends Clone {
  branch: string;
}

/** Outside any repository (only commands that allow it, e.g. `orch tail` on a copied log dir). */
export interface NoRepo {
  inRepo: false;
  top: string;
  config: Config;
  env: Record<string, string | undefined>;
}

export interface OpenOptions {
  command: CommandName;
  cwd?: string;
  /** Environment for settings and git (tests pass a hermetic one). */
  env?: Record<string, string | undefined>;
  configPath?: string;
  flags?: Record<string, string | boolean | undefined>;
  /**
   * "require": the checked-out branch must be the configured one (SPEC §4.1), or
   * any branch when none is configured; "optional": the configured branch, else
   * the checked-out one, unguarded (status); "none": resolve what is there, never fail.
   */
  branch: "require" | "optional" | "none";
  /** A person waits on this command: git calls time out sooner and network errors are not retried for long. */
  interactive?: boolean;
}

/** Git timeouts for commands a person waits on (status, doctor, pause …). */
const INTERACTIVE = { timeoutMs: 20_000, networkRetryMs: 0 };

export async function openRepo(opts: OpenOptions & { branch: "require" | "optional" }): Promise<Repo>;
export async function openRepo(opts: OpenOptions): Promise<Clone>;
export async function openRepo(opts: OpenOptions): Promise<Clone> {
  const found = await openRepoOrDir({ ...opts, branch: opts.branch === "require" ? "none" : opts.branch });
  return opts.branch === "require" ? requireBranch(found) : mustBeRepo(found);
}

function mustBeRepo(found: Clone | NoRepo): Clone {
  if (!found.inRepo) throw new OrchError(Exit.usage, `${found.top} is not inside a git repository; cd into your project's clone`);
  return found;
}

/** Like openRepo, but outside a repository returns the directory and its settings instead of failing. */
export async function openRepoOrDir(opts: OpenOptions): Promise<Clone | NoRepo> {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const found = await findTop(cwd, env);
  const top = found?.top ?? null;
  const config = loadConfig({ dir: top ?? cwd, configPath: opts.configPath, flags: opts.flags, command: opts.command, env });
  if (!found || top === null) return { inRepo: false, top: cwd, config, env };
  const git = new Git({
    cwd: top,
    gitDir: found.gitDir,
    env,
    timeoutMs: opts.interactive ? Math.min(INTERACTIVE.timeoutMs, config.ms("git.timeout_sec")) : config.ms("git.timeout_sec"),
    networkRetryMs: opts.interactive ? INTERACTIVE.networkRetryMs : config.ms("git.network_retry_sec"),
    lockTimeoutMs: config.ms("git.lock_timeout_sec"),
  });
  const checkedOut = await git.currentBranch();
  const branch = config.get("git.branch") || checkedOut;
  if (opts.branch === "optional" && !branch) throw new OrchError(Exit.usage, "HEAD is detached; check out the shared branch or pass --branch NAME");
  const stateSetting = config.get("git.state_file");
  const statePath = isAbsolute(stateSetting) ? stateSetting : resolve(top, stateSetting);
  const stateRel = relative(top, statePath).split("\\").join("/");
  if (stateRel.startsWith("..") || isAbsolute(stateRel)) {
    throw new OrchError(Exit.usage, `state file ${stateSetting} is outside the repository ${top}; use a path inside it`);
  }
  const logSetting = config.get("logs.dir");
  const logDir = isAbsolute(logSetting) ? logSetting : resolve(top, logSetting);
  return { inRepo: true, git, top, config, env, remote: config.get("git.remote"), branch, checkedOut, statePath, stateRel, logDir, notes: [] };
}

/**
 * The guard of a command that acts on the shared branch (SPEC §4.1): a rebase
 * orch itself left half done is undone first (it detaches HEAD); then the
 * checked-out branch must be the configured one, and nothing the user started
 * (a rebase, merge, cherry-pick or revert) may be in progress.
 */
export async function requireBranch(found: Clone | NoRepo): Promise<Repo> {
  const clone = mustBeRepo(found);
  const { git, config } = clone;
  const wanted = config.get("git.branch");
  let checkedOut = clone.checkedOut;
  const notes = [...clone.notes];
  const recovered = await recoverOwnRebase(git, wanted || checkedOut);
  if (recovered) {
    notes.push(recovered);
    checkedOut = await git.currentBranch();
  }
  // A detached HEAD is most often the user's rebase: name it rather than the detached HEAD.
  if (checkedOut === null) await refuseInProgress(git);
  if (wanted && checkedOut !== wanted) throw wrongBranch(wanted, checkedOut);
  if (!checkedOut) throw new OrchError(Exit.usage, "HEAD is detached; check out the shared branch or pass --branch NAME");
  await refuseInProgress(git);
  return { ...clone, branch: wanted || checkedOut, checkedOut, notes };
}

/** The top level and git dir, or null outside a repository (or when git itself is missing). */
async function findTop(cwd: string, env: Record<string, string | undefined>): Promise<{ top: string; gitDir: string } | null> {
  try {
    return await new Git({ cwd, env, timeoutMs: 20_000, networkRetryMs: 0, lockTimeoutMs: 0 }).locate();
  } catch {
    return null;
  }
}

/** A path in the repository: absolute, and repo-relative with forward slashes. */
export function inRepo(top: string, setting: string): { abs: string; rel: string } {
  const abs = isAbsolute(setting) ? setting : resolve(top, setting);
  return { abs, rel: relative(top, abs).split("\\").join("/") };
}
