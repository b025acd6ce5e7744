import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Git } from "../core/git.ts";

/**
 * A git command's output as bytes, for commands with megabytes of it (the
 * stamps of 20,000 turns, their tree diffs). Read through a pipe and decoded,
 * that is several copies at once (chunks, joined, decoded to UTF-16); git's
 * `--output=<file>` writes it to a private temporary file instead, read once.
 * Where no temporary file can be made, the pipe still works. `args` must be a
 * command that takes diff options (log, diff-tree). A failure throws GitError
 * as Git.run does, or with `allowFail` is null.
 */
export async function gitOutput(git: Git, args: string[], opts: { input?: string; pathspec?: string[]; allowFail?: boolean } = {}): Promise<Buffer | null> {
  const pathspec = opts.pathspec ?? [];
  const allowFail = opts.allowFail ?? false;
  let tmp: string;
  try {
    tmp = mkdtempSync(join(tmpdir(), "orch-tail-"));
  } catch {
    const r = await git.run([...args, ...pathspec], { input: opts.input, allowFail });
    return r.code === 0 ? Buffer.from(r.stdout) : null;
  }
  try {
    const file = join(tmp, "out");
    const r = await git.run([...args, `--output=${file}`, ...pathspec], { input: opts.input, allowFail });
    return r.code === 0 ? readFileSync(file) : null;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
