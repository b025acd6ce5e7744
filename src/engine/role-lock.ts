/**
 * A live runner holds a per-clone, per-actor lock for its whole life
 * (`<git-dir>/orch-<actor>.lock`, flock: the kernel releases it when the
 * process dies, even by SIGKILL). A second runner of the same actor in the
 * same clone exits 7 naming the first, and never touches its agent.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { OrchError, Exit } from "../core/errors.ts";
import { tryLock, type HeldLock } from "../core/lock.ts";
import type { Role } from "../core/roles.ts";

export function holdRoleLocks(gitDir: string, roles: readonly Role[]): { release(): void } {
  const held: HeldLock[] = [];
  try {
    for (const role of roles) {
      const path = join(gitDir, `orch-${role.actor}.lock`);
      const lock = tryLock(path);
      if (!lock) {
        const holder = readHolder(path);
        throw new OrchError(
          Exit.fenced,
          `another orch${holder ? ` (pid ${holder})` : ""} is already running ${role.actor} in this clone; stop it first${holder ? ` (kill ${holder})` : ""}, or run this one in another clone`,
        );
      }
      lock.record(`${process.pid}\n`);
      held.push(lock);
    }
  } catch (e) {
    for (const l of held) l.release();
    throw e;
  }
  return { release: () => held.forEach((l) => l.release()) };
}

function readHolder(path: string): number | null {
  try {
    const pid = Number(readFileSync(path, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}
