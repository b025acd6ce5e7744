import { existsSync } from "node:fs";
import { OrchError, Exit } from "./errors.ts";

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** 0 or undefined = no timeout. On expiry: SIGTERM, then SIGKILL after killGraceMs. */
  timeoutMs?: number;
  killGraceMs?: number;
  input?: string | Uint8Array;
  /** Also return stdout as raw bytes (for byte-counted formats like cat-file --batch). */
  bytes?: boolean;
}

export interface RunResult {
  code: number;
  /** Name of the signal that ended the child, or null when it exited by itself. */
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  stdoutBytes?: Uint8Array;
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
    // A missing working directory fails the same way as a missing executable; say which it is.
    const cwd = (opts as { cwd?: string } | undefined)?.cwd;
    if (cwd && !existsSync(cwd)) throw new OrchError(Exit.runtime, `cannot run '${argv[0] ?? ""}': working directory ${cwd} does not exist`);
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
  const out = drain(proc.stdout as ReadableStream<Uint8Array>);
  const err = drain(proc.stderr as ReadableStream<Uint8Array>);
  const exitCode = await proc.exited;
  clearTimeout(timer);
  clearTimeout(killer);
  // After a timeout, a grandchild (e.g. git's ssh) may still hold the pipes open:
  // keep what arrived within a short grace period instead of waiting for it to exit.
  const both = Promise.all([out.bytes, err.bytes]);
  const [stdoutBytes, stderrBytes] = timedOut ? await settleWithin(both, PIPE_GRACE_MS, () => (out.stop(), err.stop())) : await both;
  const stdout = new TextDecoder().decode(stdoutBytes);
  const stderr = new TextDecoder().decode(stderrBytes);
  const signal = proc.signalCode == null ? null : String(proc.signalCode);
  return { code: signal ? 128 + signalNumber(signal) : exitCode, signal, stdout, stderr, timedOut, ...(opts.bytes ? { stdoutBytes } : {}) };
}

const PIPE_GRACE_MS = 500;

/** Read a stream to its end; stop() ends the read early, keeping what arrived. */
function drain(stream: ReadableStream<Uint8Array>): { bytes: Promise<Uint8Array>; stop: () => void } {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  const bytes = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
      }
    } catch {
      // Cancelled by stop(): keep what was read.
    }
    return new Uint8Array(Buffer.concat(chunks));
  })();
  return { bytes, stop: () => void reader.cancel().catch(() => {}) };
}

async function settleWithin<T>(work: Promise<T>, ms: number, stop: () => void): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([work, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
  stop();
  return work;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15, SIGPIPE: 13, SIGABRT: 6 };
export function signalNumber(name: string): number {
  return SIGNALS[name] ?? 1;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
