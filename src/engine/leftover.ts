/**
 * Agent processes that outlive their turn.
 * - A `kill -9`'d orch leaves its agent's group running: orch records the group
 *   (leader pid and start time, which guards against a reused pid) with its own
 *   pid, and a relaunch stops a recorded group only when that orch is gone.
 * - An agent's background children (`nohup … &`) stay in its group and are
 *   stopped with it; ones that left the group (`setsid`) are reparented to orch
 *   on Linux (PR_SET_CHILD_SUBREAPER) and stopped after the agent exits.
 */
import { readFileSync, readdirSync, writeFileSync, unlinkSync } from "node:fs";
import { dlopen, FFIType } from "bun:ffi";
import { ownChildren, reap, stopGroup } from "../core/proc.ts";

function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

/** The parent of a process and whether it is a zombie. */
function parentOf(pid: number): { ppid: number; zombie: boolean } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { ppid: Number(ppid), zombie: state === "Z" };
  } catch {
    return null;
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ").slice(0, 120);
  } catch {
    return "?";
  }
}

/** `<agent pid> <agent start> <orch pid> <orch start>`. */
export function recordAgent(file: string, pid: number): void {
  const started = startTime(pid);
  if (!started) return;
  try {
    writeFileSync(file, `${pid} ${started} ${process.pid} ${startTime(process.pid) ?? "-"}\n`);
  } catch {
    // Best effort: without the record a relaunch cannot reap, nothing else is lost.
  }
}

export function forgetAgent(file: string): void {
  try {
    unlinkSync(file);
  } catch {}
}

/**
 * Stop the process group of an agent whose orch is gone; returns its pid, or
 * null (no record, the agent already ended, or its orch is alive: never touched).
 */
export async function reapLeftoverAgent(file: string): Promise<number | null> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return null;
  }
  const [pidText, started, ownerText, ownerStarted] = text.trim().split(" ");
  const owner = Number(ownerText);
  if (owner && owner !== process.pid && ownerStarted && startTime(owner) === ownerStarted) return null; // its orch still runs
  forgetAgent(file);
  const pid = Number(pidText);
  if (!pid || !started || startTime(pid) !== started) return null;
  await stopGroup(pid, 5000);
  return pid;
}

const PR_SET_CHILD_SUBREAPER = 36;
let subreaper = false;

/** Linux: orphans of the agent's tree are reparented to orch instead of init, so they can be found. */
export function becomeSubreaper(): void {
  if (subreaper || process.platform !== "linux") return;
  try {
    const lib = dlopen("libc.so.6", { prctl: { args: [FFIType.i32, FFIType.u64, FFIType.u64, FFIType.u64, FFIType.u64], returns: FFIType.i32 } });
    subreaper = lib.symbols.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) === 0;
  } catch {
    subreaper = false;
  }
}

/**
 * After the agent exited: processes reparented to orch that orch did not start
 * (agent descendants that escaped its group) get their groups stopped.
 * Returns a description of each.
 */
export async function stopOrphans(graceMs: number): Promise<string[]> {
  if (!subreaper) return [];
  const found: string[] = [];
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    return [];
  }
  for (const name of names) {
    const pid = Number(name);
    const parent = pid && !ownChildren.has(pid) ? parentOf(pid) : null;
    if (!parent || parent.ppid !== process.pid) continue;
    if (parent.zombie) {
      reap(pid); // an escapee that already ended: collect it so it does not linger
      continue;
    }
    found.push(`pid ${pid} (${commandOf(pid)})`);
    await stopGroup(pid, graceMs);
    // A process that is not a group leader: stop it by itself too.
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
  return found;
}
