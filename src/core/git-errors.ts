/**
 * How a git call failed, decided once from git's own output (the only place
 * orch reads git's words), so callers test a code, never a message.
 */
import type { RunResult } from "./proc.ts";
import { OrchError, Exit } from "./errors.ts";

/**
 * What went wrong, decided once from git's output: `network` (retry later),
 * `timeout` (no answer in time: like network), `missing-ref` (the remote has no
 * such branch), `rejected` (the remote refused a push), `stale` (a lease or
 * compare-and-swap lost), `index-lock` (another git holds the index), `other`.
 */
export type GitFailure = "network" | "timeout" | "missing-ref" | "rejected" | "stale" | "index-lock" | "other";

/** Another git holds the index: waited out by the binding. */
export const INDEX_LOCK_RE = /index\.lock'?:? File exists|Unable to create '[^']*index\.lock'/i;
const NETWORK_RE =
  /Could not read from remote repository|unable to access|does not appear to be a git repository|Connection (refused|reset|timed out|closed)|Could not resolve host|early EOF|the remote end hung up|timed out|Operation timed out|No such file or directory.*\.git|Temporary failure|Network is unreachable|No route to host/i;
/**
 * The remote's side of a push died while storing it (its disk or path went
 * away under it, as in an outage: "remote unpack failed", or receive-pack
 * finding its own directory gone, "not a git repository: '.'"): worth another
 * try, like a dropped connection, even though git may also report the refs as
 * "remote rejected".
 */
const REMOTE_UNPACK_RE = /remote unpack failed|fatal: not a git repository: '\.'/i;
const MISSING_REF_RE = /couldn't find remote ref|could not find remote ref/i;
/** The remote moved under us (a race or a lost lease), as opposed to a refusal. */
const STALE_RE = /\(stale info\)|\[rejected\].*\((fetch first|non-fast-forward)\)|\(failed to update ref\)|cannot lock ref|incorrect old value provided|atomic push failed/i;
const REJECTED_RE = /\[remote rejected\]|pre-receive hook declined|protected branch|deny updating a hidden ref/i;

export function classifyFailure(r: RunResult): GitFailure {
  if (r.timedOut) return "timeout";
  const text = r.stderr;
  if (INDEX_LOCK_RE.test(text)) return "index-lock";
  if (MISSING_REF_RE.test(text)) return "missing-ref";
  if (REMOTE_UNPACK_RE.test(text)) return "network";
  if (STALE_RE.test(text)) return "stale";
  if (REJECTED_RE.test(text)) return "rejected";
  if (NETWORK_RE.test(text)) return "network";
  return "other";
}

/** A failed git call: the argv, what git said, and its classification. */
export class GitError extends OrchError {
  readonly failure: GitFailure;
  constructor(readonly args: string[], readonly result: RunResult, failure = classifyFailure(result)) {
    super(
      Exit.runtime,
      failure === "timeout"
        ? `git ${args[0]} timed out; check the network and the remote, then rerun`
        : `git ${args.join(" ")} failed: ${firstLine(result.stderr || result.stdout) || `exit ${result.code}`}`,
    );
    this.failure = failure;
  }
  /** Worth waiting out (network trouble or a remote that does not answer). */
  get transient(): boolean {
    return this.failure === "network" || this.failure === "timeout";
  }
}

export const isTransientGitError = (e: unknown): e is GitError => e instanceof GitError && e.transient;

export function firstLine(text: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("hint:"));
  return lines.find((l) => /^(fatal|error):/i.test(l)) ?? lines[0] ?? "";
}

