/**
 * Committing and publishing the state file: orch's own commits hold only the
 * state file (never what the agent staged), carry their trailers in the body,
 * and never run the repository's hooks.
 */
import type { Repo } from "../core/repo.ts";
import { pushWithRetry } from "../core/sync.ts";
import { writeStateFile, type State } from "../core/state.ts";

/** A commit message: the exact SPEC §3 subject, then git trailers (receipts, runner identity). */
export interface StateMessage {
  subject: string;
  trailers?: readonly (readonly [string, string])[];
}

export function formatMessage(m: StateMessage): string {
  const trailers = (m.trailers ?? []).filter(([, v]) => v !== "").map(([k, v]) => `${k}: ${v.replace(/\s*\n\s*/g, " ")}`);
  return trailers.length ? `${m.subject}\n\n${trailers.join("\n")}\n` : `${m.subject}\n`;
}

/**
 * Write the state atomically and commit only the state file. `--only` takes
 * the file from the working tree, so a tracked state file needs no `git add`;
 * a new one (init) does, and is unstaged again if the commit fails, so the
 * user's index is left as it was.
 */
export async function commitState(repo: Repo, state: State, message: StateMessage, opts: { newFile?: boolean } = {}): Promise<void> {
  writeStateFile(repo.statePath, state);
  if (!opts.newFile) return repo.git.commitPaths(formatMessage(message), [repo.stateRel]);
  await repo.git.add([repo.stateRel]);
  try {
    await repo.git.commitPaths(formatMessage(message), [repo.stateRel]);
  } catch (e) {
    await repo.git.run(["reset", "-q", "--", repo.stateRel], { allowFail: true });
    throw e;
  }
}

/** Push HEAD:<branch>, rebasing once when the remote moved. */
export async function publish(repo: Repo): Promise<void> {
  await pushWithRetry(repo.git, repo.remote, repo.branch);
}
