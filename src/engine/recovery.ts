/**
 * What a start finds after a crash (kill -9, a power cut) and puts right
 * before its first git step: git's locks an interrupted in-process
 * fast-forward left, the temporary files of a state write cut short, and an
 * uncommitted state file. Each runs under the repository lock.
 */
import { readdirSync, unlinkSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { Repo } from "../core/repo.ts";
import { recoverFastForward } from "../core/index-file.ts";

/** The locks of a fast-forward that no git process holds (see core/index-file.ts), said on the console. */
export async function removeLeftLocks(repo: Repo, say: (line: string) => void): Promise<void> {
  for (const lock of recoverFastForward(await repo.git.gitDir())) say(`[sync] removed ${lock}, left by an interrupted run of orch`);
}

/**
 * The state file is orch's: an uncommitted change to it can only be a write of
 * ours cut short by a crash before its commit. Put back the committed version
 * so the pull cannot trip on it (the turn is then run from the remote's state).
 */
export async function discardUncommittedState(repo: Repo, say: (line: string) => void): Promise<void> {
  const { git, stateRel } = repo;
  removeStaleTemps(repo.statePath);
  const dirty = await git.statusZ({ untracked: false, paths: [stateRel] });
  if (dirty.length === 0 || !(await git.show("HEAD", stateRel))) return;
  say(`[sync] ${stateRel} had an uncommitted change (an interrupted stamp); restoring the committed version`);
  await git.run(["checkout", "HEAD", "--", stateRel]);
}

/** Temp files of state writes a crash cut short (`.state.json.<pid>.tmp`); only orch writes them, under the repository lock. */
function removeStaleTemps(statePath: string): void {
  const dir = dirname(statePath);
  const prefix = `.${basename(statePath)}.`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith(".tmp")) continue;
    try {
      unlinkSync(join(dir, name));
    } catch {
      // gone already
    }
  }
}
