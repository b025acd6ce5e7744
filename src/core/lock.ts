import { openSync, closeSync, ftruncateSync, writeSync } from "node:fs";
import { dlopen, FFIType } from "bun:ffi";
import { OrchError, Exit } from "./errors.ts";
import { sleep } from "./proc.ts";

/**
 * flock(2) through libc: the same advisory lock the Python tool takes with
 * fcntl.flock, so an old runner and orch on one clone exclude each other. The
 * kernel releases it when the holder dies, even by SIGKILL.
 */
const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;

let libc: { symbols: { flock: (fd: number, op: number) => number } } | undefined;
function flock(fd: number, op: number): number {
  if (!libc) {
    const name = process.platform === "darwin" ? "libc.dylib" : "libc.so.6";
    libc = dlopen(name, { flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 } }) as never;
  }
  return libc!.symbols.flock(fd, op);
}

export interface HeldLock {
  release(): void;
  /** Replace the lock file's content (who holds it), for a second process to read. */
  record(text: string): void;
}

/** Non-blocking attempt; returns null when someone else holds the lock. */
export function tryLock(path: string): HeldLock | null {
  const fd = openSync(path, "a");
  if (flock(fd, LOCK_EX | LOCK_NB) !== 0) {
    closeSync(fd);
    return null;
  }
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      flock(fd, LOCK_UN);
      closeSync(fd);
    },
    record(text: string) {
      ftruncateSync(fd, 0);
      writeSync(fd, text, 0);
    },
  };
}

/** Wait up to timeoutMs for the lock, then fail clearly: never proceed unlocked. */
export async function acquireLock(path: string, timeoutMs: number): Promise<HeldLock> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 25; ; delay = Math.min(delay * 2, 250)) {
    const held = tryLock(path);
    if (held) return held;
    if (Date.now() >= deadline) {
      throw new OrchError(
        Exit.runtime,
        `repository lock ${path} is held by another process (waited ${Math.round(timeoutMs / 1000)}s); wait for the other orch to finish or stop it`,
      );
    }
    await sleep(Math.min(delay, Math.max(1, deadline - Date.now())));
  }
}
