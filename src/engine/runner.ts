/**
 * The entry of `orch supervisor` and `orch loop`: open the clone once, then
 * either take sync turns through git (SPEC §4) or run the agent locally
 * (async mode). One engine for every role: a role is data (core/roles.ts).
 */
import { openRepoOrDir, requireBranch, type Repo } from "../core/repo.ts";
import { ROLES, type Role } from "../core/roles.ts";
import { OrchError, Exit } from "../core/errors.ts";
import { runAsync } from "./async.ts";
import { Shutdown } from "./shutdown.ts";
import { SyncRunner } from "./sync-runner.ts";
import { becomeSubreaper } from "./leftover.ts";

export interface EngineOptions {
  configPath?: string;
  flags: Record<string, string | boolean | undefined>;
  cwd?: string;
  /** Console sink (stdout); tests may capture it. */
  say?: (line: string) => void;
}

const sayStdout = (line: string) => process.stdout.write(line + "\n");

/** Run a role: sync turns through git, or async runs of the agent. Returns the exit code. */
export async function runRole(role: Role, opts: EngineOptions): Promise<number> {
  const say = opts.say ?? sayStdout;
  const place = await openRepoOrDir({ command: role.command, cwd: opts.cwd, configPath: opts.configPath, flags: opts.flags, branch: "none" });
  becomeSubreaper();
  if (!place.config.get("sync.via_git")) return runAsync(role, place, say);
  const repo: Repo = await requireBranch(place);
  for (const note of repo.notes) say(note);
  return runSync([role], repo, say, false);
}

/**
 * `orch pair`: galph's turn then ralph's, in one process and one clone, with
 * the same transitions, subjects, logs and receipts as two machines. `push`:
 * publish after each half-turn (default: when the clone has the remote);
 * without it nothing leaves the clone.
 */
export async function runPair(opts: EngineOptions & { push?: boolean }): Promise<number> {
  const say = opts.say ?? sayStdout;
  const place = await openRepoOrDir({ command: "pair", cwd: opts.cwd, configPath: opts.configPath, flags: opts.flags, branch: "none" });
  becomeSubreaper();
  const repo: Repo = await requireBranch(place);
  for (const note of repo.notes) say(note);
  const hasRemote = (await repo.git.remoteUrl(repo.remote)) !== null;
  if (opts.push === true && !hasRemote) throw new OrchError(Exit.usage, `--push: this clone has no remote '${repo.remote}'; add it (git remote add ${repo.remote} <url>) or run without --push`);
  // A pair that pushes publishes a branch the remote lacks: `orch init --pair` then `orch pair` just works.
  return runSync(ROLES, repo, say, !(opts.push ?? hasRemote), true);
}

async function runSync(roles: readonly Role[], repo: Repo, say: (line: string) => void, offline: boolean, publishBranch = false): Promise<number> {
  const shutdown = new Shutdown(say);
  shutdown.install();
  const runner = new SyncRunner(roles, repo, say, shutdown, offline, publishBranch);
  try {
    return await runner.run();
  } finally {
    shutdown.uninstall();
    if (runner.begun) say(runner.summary());
  }
}
