import { join, relative, isAbsolute, resolve } from "node:path";
import { Git } from "./git.ts";
import { loadConfig, type Config } from "./config.ts";
import { OrchError, Exit } from "./errors.ts";

/** Everything a command needs to act on one clone: git, settings, branch, state path. */
export interface Repo {
  git: Git;
  top: string;
  config: Config;
  remote: string;
  branch: string;
  /** Absolute path of the state file, and its repo-relative form (for git). */
  statePath: string;
  stateRel: string;
}

export interface OpenOptions {
  command: string;
  cwd?: string;
  configPath?: string;
  flags?: Record<string, string | boolean | undefined>;
  /** Resolve and guard the branch (SPEC §4.1). */
  needBranch?: boolean;
}

export async function loadRepoConfig(opts: OpenOptions): Promise<{ git: Git; top: string; config: Config }> {
  const cwd = opts.cwd ?? process.cwd();
  const probe = new Git({ cwd });
  const top = await probe.topLevel();
  const config = loadConfig({ dir: top, configPath: opts.configPath, flags: opts.flags, command: opts.command });
  const git = new Git({
    cwd: top,
    timeoutMs: config.get<number>("git.timeout_sec") * 1000,
    networkRetryMs: config.get<number>("git.network_retry_sec") * 1000,
    lockTimeoutMs: config.get<number>("git.lock_timeout_sec") * 1000,
  });
  return { git, top, config };
}

export async function openRepo(opts: OpenOptions): Promise<Repo> {
  const { git, top, config } = await loadRepoConfig(opts);
  const remote = config.get<string>("git.remote");
  const wanted = config.get<string>("git.branch");
  let current = await git.currentBranch();
  if (current === null && git.rebaseInProgress(await git.gitDir())) {
    // A rebase left in progress (SPEC §8) detaches HEAD. Abort it under the mutex (so it is
    // never one another orch is running), then guard the branch it restores.
    await git.withLock(() => git.abortRebase());
    current = await git.currentBranch();
  }
  let branch: string;
  if (wanted) {
    if (current !== wanted) {
      throw new OrchError(Exit.usage, `ERROR: Expected to run on branch '${wanted}', but on '${current ?? "(detached HEAD)"}'. Aborting.`);
    }
    branch = wanted;
  } else {
    if (!current) throw new OrchError(Exit.usage, "HEAD is detached; check out the shared branch or pass --branch NAME");
    branch = current;
  }
  const stateSetting = config.get<string>("git.state_file");
  const statePath = isAbsolute(stateSetting) ? stateSetting : resolve(top, stateSetting);
  const stateRel = relative(top, statePath).split("\\").join("/");
  if (stateRel.startsWith("..")) throw new OrchError(Exit.usage, `state file ${stateSetting} is outside the repository ${top}; use a path inside it`);
  return { git, top, config, remote, branch, statePath, stateRel };
}

export function repoPath(repo: Repo, rel: string): string {
  return join(repo.top, rel);
}
