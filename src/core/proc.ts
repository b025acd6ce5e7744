import { OrchError, Exit } from "./errors.ts";

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** 0 or undefined = no timeout. On expiry: SIGTERM, then SIGKILL after killGraceMs. */
  timeoutMs?: number;
  killGraceMs?: number;
  input?: string | Uint8Array;
}

export interface RunResult {
  code: number;
  /** Name of the signal that ended the child, or null when it exited by itself. */
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Thrown when argv[0] cannot be executed at all. */
export class MissingExecutableError extends OrchError {
  constructor(readonly executable: string, cause: string) {
    super(Exit.runtime, `cannot run '${executable}': ${cause} (is it installed and on PATH?)`);
  }
}

/**
 * Spawn argv[0] without a shell (Bun.spawn throws synchronously for a missing
 * executable; we turn that into a MissingExecutableError).
 */
export function spawnOrExplain<T extends Parameters<typeof Bun.spawn>[1]>(argv: string[], opts: T) {
  try {
    return Bun.spawn(argv, opts);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new MissingExecutableError(argv[0] ?? "", /ENOENT|not found|No such file/i.test(msg) ? "not found" : msg);
  }
}

/** Run a command to completion, reading stdout and stderr concurrently. */
export async function run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  const proc = spawnOrExplain(argv, {
    cwd: opts.cwd,
    env: opts.env as Record<string, string> | undefined,
    stdin: opts.input === undefined ? "ignore" : new Blob([opts.input]),
    stdout: "pipe",
    stderr: "pipe",
  });
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let killer: ReturnType<typeof setTimeout> | undefined;
  if (opts.timeoutMs && opts.timeoutMs > 0) {
    timer = setTimeout(() => {
      timedOut = true;
      proc.kill("SIGTERM");
      killer = setTimeout(() => proc.kill("SIGKILL"), opts.killGraceMs ?? 2000);
    }, opts.timeoutMs);
  }
  const [stdout, stderr] = await Promise.all([
    new Response(proc.stdout as ReadableStream).text(),
    new Response(proc.stderr as ReadableStream).text(),
  ]);
  const exitCode = await proc.exited;
  clearTimeout(timer);
  clearTimeout(killer);
  const signal = proc.signalCode == null ? null : String(proc.signalCode);
  return { code: signal ? 128 + signalNumber(signal) : exitCode, signal, stdout, stderr, timedOut };
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15, SIGPIPE: 13, SIGABRT: 6 };
export function signalNumber(name: string): number {
  return SIGNALS[name] ?? 1;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
