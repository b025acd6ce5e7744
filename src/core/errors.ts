/** Exit codes of SPEC §10. Everything orch exits with is named here. */
export const Exit = {
  ok: 0,
  runtime: 1,
  usage: 2,
  badState: 3,
  hygiene: 4,
  waitTimeout: 5,
  /** Another runner holds this turn or this clone's role, or the turn was taken over. */
  fenced: 7,
  /** Blocked by a usage limit longer than limits.max_wait_sec. */
  limit: 8,
  agentTimeout: 124,
  sigint: 130,
  sigterm: 143,
} as const;

/**
 * An error a user can act on: one line that says what is wrong and what to do,
 * and the exit code orch leaves with. Stack traces are shown only with --debug.
 */
export class OrchError extends Error {
  readonly exitCode: number;
  /** Printed exactly as is, without the `orch: ` prefix (a message the SPEC fixes word for word). */
  readonly verbatim: boolean;
  /** A mistake in the command line: the message ends with "run 'orch <command> --help' for usage". */
  readonly helpHint: boolean;
  constructor(exitCode: number, message: string, options?: { cause?: unknown; verbatim?: boolean; helpHint?: boolean }) {
    super(message, options);
    this.name = "OrchError";
    this.exitCode = exitCode;
    this.verbatim = options?.verbatim ?? false;
    this.helpHint = options?.helpHint ?? false;
  }
}

/** SPEC §4.1, word for word (compat with the old tool). */
export const wrongBranch = (wanted: string, current: string | null) =>
  new OrchError(Exit.usage, `ERROR: Expected to run on branch '${wanted}', but on '${current ?? "(detached HEAD)"}'. Aborting.`, { verbatim: true });

export const usageError = (message: string) => new OrchError(Exit.usage, message);
/** An unknown option, a missing value or argument: a usage error that points at the command's --help. */
export const argvError = (message: string) => new OrchError(Exit.usage, message, { helpHint: true });
export const stateError = (message: string) => new OrchError(Exit.badState, message);

/** The message of anything thrown, as one line (Errors, strings, anything else). */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return oneLine(e.message);
  return oneLine(typeof e === "string" ? e : String(e));
}

/** The errno code of a failed system call (ENOENT, EROFS, …), or undefined. */
export function errnoCode(e: unknown): string | undefined {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * A failed file operation as an error a user can act on: the errno codes that
 * mean "this disk or path is the problem" get a plain explanation instead of
 * an internal error. Anything else is returned as is.
 * @public not called yet: kept for the engine's file writes (knip skips @public).
 */
export function fileError(e: unknown, what: string): unknown {
  const code = errnoCode(e);
  const why: Record<string, string> = {
    ENOSPC: "the disk is full; free some space",
    EROFS: "the file system is read-only; remount it or choose another path",
    EACCES: "permission denied; check the owner and mode",
    EPERM: "permission denied; check the owner and mode",
    EISDIR: "it is a directory, not a file; choose a file path",
    ENOTDIR: "a part of the path is not a directory",
    ENAMETOOLONG: "the path is too long; choose a shorter one",
    EDQUOT: "the disk quota is exceeded; free some space",
  };
  if (!code || !why[code]) return e;
  const err = e as NodeJS.ErrnoException;
  const where = err.path ? `${err.syscall ?? "access"} ${err.path}` : what;
  return new OrchError(Exit.runtime, `${where}: ${why[code]} (${code})`, { cause: e });
}

/** Make any message one printable line. */
export function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, "; ").trim();
}

/** Text from elsewhere (a remote's state file, an agent) made safe for a terminal: no escapes or control characters. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b./g, "").replace(/[\x00-\x08\x0b-\x1f\x7f\x9b]/g, "?");
}
