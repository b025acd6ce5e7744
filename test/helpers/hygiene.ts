import { Git } from "../../src/core/git.ts";
import { openRepo } from "../../src/core/repo.ts";
import { roleByCommand } from "../../src/core/roles.ts";
import type { HygieneContext } from "../../src/hygiene/index.ts";
import { makeWorld, type Clone } from "./world.ts";

/** One clone of a fresh world whose first commit holds `files` (plus README and .gitignore). */
export function hygieneClone(files: Record<string, string> = {}): Clone {
  return makeWorld({ clones: 1, files }).clones[0]!;
}

export interface Hook {
  ctx: HygieneContext;
  /** Lines the hook wrote to the iteration log / the console. */
  logs: string[];
  out: string[];
}

/**
 * The engine's side of the hooks, in-process: a Repo opened on the clone with
 * these flags, git running in the world's hermetic environment.
 */
export async function hook(clone: Clone, flags: Record<string, string | boolean> = {}, role: "supervisor" | "loop" = "supervisor"): Promise<Hook> {
  const repo = await openRepo({ command: role, cwd: clone.dir, flags, env: clone.world.env, branch: "require" });
  repo.git = new Git({ cwd: repo.top, env: clone.world.env, networkRetryMs: 1000 });
  const logs: string[] = [];
  const out: string[] = [];
  return { ctx: { repo, role: roleByCommand(role), log: (l) => logs.push(l), console: (l) => out.push(l) }, logs, out };
}

/** `git status --porcelain` lines (untracked and ignored included), sorted. */
export function statusLines(clone: Clone): string[] {
  return clone
    .git("status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignored=matching")
    .split("\0")
    .filter(Boolean)
    .sort();
}

/** Full message (subject and body) of a commit. */
export function message(clone: Clone, rev = "HEAD"): string {
  return clone.git("log", "-1", "--format=%B", rev).replace(/\n+$/, "");
}

/** Files a commit touched. */
export function filesOf(clone: Clone, rev = "HEAD"): string[] {
  return clone.git("show", "-z", "--name-only", "--format=", rev).split("\0").filter(Boolean).sort();
}
