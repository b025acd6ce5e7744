/**
 * Submodule pointer drift: a submodule checked out at a commit other than the
 * one the superproject records. It is never counted as dirt; before the
 * doc/meta check (and as the first pull recovery) it is scrubbed once.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Git } from "../core/git.ts";
import { gitlinkPaths } from "./dirt.ts";

/** Gitlinks whose checked-out commit differs from HEAD's recorded one (initialised submodules only). */
export async function driftedSubmodules(git: Git, top: string): Promise<string[]> {
  const drifted: string[] = [];
  for (const path of await gitlinkPaths(git)) {
    if (!existsSync(join(top, path, ".git"))) continue;
    const recorded = await recordedCommit(git, path);
    const actual = await git.run(["-C", path, "rev-parse", "--verify", "-q", "HEAD"], { allowFail: true });
    if (recorded && actual.stdout.trim() !== recorded) drifted.push(path);
  }
  return drifted;
}

async function recordedCommit(git: Git, path: string): Promise<string | null> {
  const r = await git.run(["--literal-pathspecs", "ls-tree", "-z", "HEAD", "--", path], { allowFail: true });
  // "<mode> commit <sha>\t<path>\0"
  const m = /^160000 commit ([0-9a-f]+)\t/.exec(r.stdout);
  return m ? m[1]! : null;
}

/**
 * sync, update --init --recursive --checkout --force, then align every initialised
 * gitlink to the commit HEAD records (covers submodules without a .gitmodules URL).
 * Best effort: every failure is logged, none is thrown. Returns whether it ran.
 */
export async function scrubSubmodules(git: Git, top: string, log: (line: string) => void): Promise<boolean> {
  const links = await gitlinkPaths(git);
  if (links.length === 0) return false;
  const step = async (args: string[]) => {
    const r = await git.run(args, { allowFail: true });
    if (r.code !== 0) log(`[submodules] git ${args.join(" ")} failed: ${(r.stderr || r.stdout).trim().split("\n")[0] ?? ""}`);
  };
  await step(["submodule", "--quiet", "sync", "--recursive"]);
  await step(["submodule", "--quiet", "update", "--init", "--recursive", "--checkout", "--force"]);
  for (const path of links) {
    if (!existsSync(join(top, path, ".git"))) continue;
    const recorded = await recordedCommit(git, path);
    if (!recorded) continue;
    const r = await git.run(["-C", path, "checkout", "--quiet", "--force", "--detach", recorded], { allowFail: true });
    log(r.code === 0 ? `[submodules] ${path} aligned to ${recorded.slice(0, 7)}` : `[submodules] could not align ${path} to ${recorded.slice(0, 7)}: ${r.stderr.trim().split("\n")[0] ?? ""}`);
  }
  return true;
}
