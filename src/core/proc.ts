/**
 * The one process module: spawning without a shell, killing a whole process
 * group (SIGTERM, then SIGKILL after a grace period), cancellation by
 * AbortSignal, and writing to a descriptor without busy-spinning. Nothing else
 * in orch spawns processes or installs signal handlers for them.
 */
import { accessSync, constants as fsConstants, existsSync, readdirSync, readFileSync, statSync, writeSync } from "node:fs";
import { isAbsolute, resolve as resolvePath } from "node:path";
import { dlopen, FFIType } from "bun:ffi";
import { constants } from "node:os";
import { OrchError, Exit, errnoCode, errorMessage } from "./errors.ts";

/** ORCH_TRACE=1 prints every git call (and each kept git process's answer) on stderr with when it started (ms since orch started) and how long it took (field debugging). */
export const TRACE = process.env.ORCH_TRACE === "1";

export function trace(t0: number, what: string): void {
  process.stderr.write(`[git] +${t0.toFixed(0)}ms ${(performance.now() - t0).toFixed(0)}ms ${what}\n`);
}

/** Thrown when argv[0] cannot be executed at all. */
export class MissingExecutableError extends OrchError {
  constructor(readonly executable: string, cause: string) {
    super(Exit.runtime, `cannot run '${executable}': ${cause} (is it installed and on PATH?)`);
  }
}

type SpawnOptions = NonNullable<Parameters<typeof Bun.spawn>[1]>;

/** Children orch spawned itself and that still run (so an orphan sweep never takes one of ours). */
export const ownChildren = new Set<number>();

/**
 * Spawn argv[0] without a shell. Bun.spawn throws synchronously for a missing
 * executable or working directory; both become errors that say which.
 */
export function spawnProcess(argv: string[], opts: SpawnOptions) {
  try {
    const proc = Bun.spawn(argv, opts);
    ownChildren.add(proc.pid);
    void proc.exited.finally(() => ownChildren.delete(proc.pid));
    return proc;
  } catch (e) {
    const cwd = (opts as { cwd?: string }).cwd;
    if (cwd && !existsSync(cwd)) throw new OrchError(Exit.runtime, `cannot run '${argv[0] ?? ""}': working directory ${cwd} does not exist`);
    const code = errnoCode(e);
    const why = code === "ENOENT" || /ENOENT|not found|No such file/i.test(errorMessage(e)) ? "not found" : code === "EACCES" ? "permission denied (not executable)" : errorMessage(e);
    throw new MissingExecutableError(argv[0] ?? "", why);
  }
}

/** Signal number by name ("SIGTERM" → 15), from the platform's own table. */
export function signalNumber(name: string): number {
  return (constants.signals as Record<string, number>)[name] ?? 1;
}

/** The shell-style exit status of a child that a signal ended (128 + n). */
export const exitForSignal = (name: string) => 128 + signalNumber(name);

/** Send a signal to a process group (a child spawned detached leads its own); falls back to the process. */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/**
 * Whether any process of this group is still alive. A zombie does not count:
 * on Linux the group's members are read from /proc, and zombies that are not
 * Bun's own children (orphans reparented to orch, see leftover.ts) are reaped.
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (e) {
    return errnoCode(e) === "EPERM";
  }
  if (process.platform !== "linux") return true;
  let live = false;
  for (const m of groupMembers(pgid)) {
    if (m.state !== "Z") live = true;
    else if (!ownChildren.has(m.pid)) reap(m.pid);
  }
  return live;
}

function groupMembers(pgid: number): { pid: number; state: string }[] {
  const members: { pid: number; state: string }[] = [];
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    return [{ pid: pgid, state: "R" }];
  }
  for (const name of names) {
    const pid = Number(name);
    if (!pid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === pgid) members.push({ pid, state: fields[0]! });
    } catch {
      // gone meanwhile
    }
  }
  return members;
}

let libc: { symbols: { waitpid: (pid: number, status: null, options: number) => number } } | null | undefined;
const WNOHANG = 1;

/** Collect the exit status of a zombie that is not one of Bun's own children (so it does not linger). */
export function reap(pid: number): void {
  if (libc === undefined) {
    try {
      libc = dlopen(process.platform === "darwin" ? "libc.dylib" : "libc.so.6", { waitpid: { args: [FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i32 } }) as never;
    } catch {
      libc = null;
    }
  }
  libc?.symbols.waitpid(pid, null, WNOHANG);
}

/**
 * Stop a process group: SIGTERM, then SIGKILL after `graceMs` unless it is gone
 * or `hurry` fires first (a second Ctrl-C). Resolves once the group is gone or
 * SIGKILL was sent.
 */
export async function stopGroup(pid: number, graceMs: number, hurry?: AbortSignal): Promise<void> {
  killGroup(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && groupAlive(pid) && !hurry?.aborted) await sleep(Math.min(50, Math.max(1, deadline - Date.now())));
  if (groupAlive(pid)) killGroup(pid, "SIGKILL");
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** 0 or undefined = no timeout. On expiry the whole group gets SIGTERM, then SIGKILL after killGraceMs. */
  timeoutMs?: number;
  killGraceMs?: number;
  input?: string | Uint8Array;
  /** Also return stdout as raw bytes (for byte-counted formats like cat-file --batch). */
  bytes?: boolean;
  /** Cancels the run like a timeout does (the result has `aborted`). */
  signal?: AbortSignal;
}

export interface RunResult {
  code: number;
  /** Name of the signal that ended the child, or null when it exited by itself. */
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  aborted: boolean;
  stdoutBytes?: Uint8Array;
}

/**
 * Run a command to completion in its own process group, reading stdout and
 * stderr concurrently. A timeout or an abort stops the whole group, so helpers
 * the command started (git's ssh) go with it.
 */
export async function run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  const proc = spawnProcess(argv, {
    cwd: opts.cwd,
    env: opts.env as Record<string, string> | undefined,
    stdin: opts.input === undefined ? "ignore" : new Blob([opts.input]),
    stdout: "pipe",
    stderr: "pipe",
    detached: true,
  });
  let timedOut = false;
  let aborted = false;
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= stopGroup(proc.pid, opts.killGraceMs ?? 2000));
  const timer = opts.timeoutMs && opts.timeoutMs > 0 ? setTimeout(() => ((timedOut = true), stop()), opts.timeoutMs) : undefined;
  const onAbort = () => ((aborted = true), stop());
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  const out = drain(proc.stdout as ReadableStream<Uint8Array>);
  const err = drain(proc.stderr as ReadableStream<Uint8Array>);
  const exitCode = await proc.exited;
  clearTimeout(timer);
  opts.signal?.removeEventListener("abort", onAbort);
  // After a stop, a grandchild may still hold the pipes open: keep what arrived
  // within a short grace period instead of waiting for it to exit.
  const both = Promise.all([out.bytes, err.bytes]);
  const [stdoutBytes, stderrBytes] = timedOut || aborted ? await settleWithin(both, PIPE_GRACE_MS, () => (out.stop(), err.stop())) : await both;
  const signal = proc.signalCode == null ? null : String(proc.signalCode);
  return {
    code: signal ? exitForSignal(signal) : exitCode,
    signal,
    stdout: new TextDecoder().decode(stdoutBytes),
    stderr: new TextDecoder().decode(stderrBytes),
    timedOut,
    aborted,
    ...(opts.bytes ? { stdoutBytes } : {}),
  };
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

const waitCell = new Int32Array(new SharedArrayBuffer(4));

/**
 * Write all of `data` to a descriptor. A full non-blocking pipe (EAGAIN) is
 * waited out in short sleeps, never spun on; a closed reader (EPIPE) or any
 * other failure returns false, so a console that went away never stops a turn.
 */
export function writeAll(fd: number, data: string | Uint8Array): boolean {
  const buf = typeof data === "string" ? Buffer.from(data) : data;
  let off = 0;
  let waited = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off);
      waited = 0;
    } catch (e) {
      if (errnoCode(e) !== "EAGAIN" || waited > 5000) return false;
      Atomics.wait(waitCell, 0, 0, 2);
      waited += 2;
    }
  }
  return true;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Sleep that an abort cuts short (resolves early, never rejects).
 * @public not called yet: kept for the AbortSignal-driven waits (knip skips @public).
 */
export function sleepUnless(ms: number, signal?: AbortSignal): Promise<void> {
  if (!signal) return sleep(ms);
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Where argv[0] would be run from: a path (relative to `cwd`) must be an
 * executable file; a bare name is looked up on PATH. Null when neither.
 */
export function findExecutable(exe: string, cwd: string, env: Record<string, string | undefined> = process.env): string | null {
  if (!exe.includes("/")) return Bun.which(exe, { PATH: env.PATH ?? "", cwd }) ?? null;
  const path = isAbsolute(exe) ? exe : resolvePath(cwd, exe);
  try {
    accessSync(path, fsConstants.X_OK);
    return statSync(path).isFile() ? path : null;
  } catch {
    return null;
  }
}
