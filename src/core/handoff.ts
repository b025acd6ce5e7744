import type { Repo } from "./repo.ts";
import { writeStateFile, type State } from "./state.ts";

/**
 * Write the state atomically and commit only the state file (never what the agent
 * staged). `--only` takes the file from the working tree, so a tracked state file
 * needs no separate `git add`; a new one (init) does.
 */
export async function commitState(repo: Repo, state: State, subject: string, opts: { newFile?: boolean } = {}): Promise<void> {
  writeStateFile(repo.statePath, state);
  if (opts.newFile) await repo.git.add([repo.stateRel]);
  await repo.git.commitPaths(subject, [repo.stateRel]);
}

/** Push HEAD:<branch>, rebasing once when the remote moved. */
export async function publish(repo: Repo): Promise<void> {
  await repo.git.pushWithRetry(repo.remote, repo.branch);
}
