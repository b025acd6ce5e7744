/** Exit codes of SPEC §10. Everything orch exits with is named here. */
export const Exit = {
  ok: 0,
  runtime: 1,
  usage: 2,
  badState: 3,
  hygiene: 4,
  waitTimeout: 5,
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
  constructor(exitCode: number, message: string) {
    super(message);
    this.name = "OrchError";
    this.exitCode = exitCode;
  }
}

export const usageError = (message: string) => new OrchError(Exit.usage, message);
export const runtimeError = (message: string) => new OrchError(Exit.runtime, message);
export const stateError = (message: string) => new OrchError(Exit.badState, message);

/** Make any thrown value one printable line. */
export function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, "; ").trim();
}
