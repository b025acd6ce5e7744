/**
 * Committing exactly the approved paths: literal pathspecs (a file named
 * `a[1].md` or `:(glob)x` is that file, never a pattern), paths fed on stdin
 * NUL-separated (no argv limit, leading dashes are harmless), `--only` so
 * whatever else is staged stays out of the commit.
 */
import { lstatSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NO_HOOKS, type Git } from "../core/git.ts";

/** Subject, blank line, "Files:", one " - <path>" line per file (SPEC §3). */
export function commitMessage(subject: string, paths: string[]): string {
  return `${subject}\n\nFiles:\n${paths.map((p) => ` - ${p}`).join("\n")}`;
}

const nulList = (paths: string[]) => paths.join("\0") + "\0";

function present(top: string, path: string): boolean {
  try {
    lstatSync(join(top, path));
    return true;
  } catch {
    return false;
  }
}

/**
 * Stage and commit these paths (deletions included) in one commit. `force`
 * are paths .gitignore ignores (added with -f). On failure the paths are
 * unstaged again, so a failed auto-commit leaves the tree as it found it.
 */
export async function commitExactly(git: Git, message: string, paths: string[], force: string[] = []): Promise<void> {
  const forced = new Set(force);
  // `add` refuses a path that is gone from both the tree and the index (a staged
  // deletion, the old half of a rename); `rm --cached` stages any deletion.
  const gone = paths.filter((p) => !forced.has(p) && !present(git.cwd, p));
  const plain = paths.filter((p) => !forced.has(p) && present(git.cwd, p));
  const fromStdin = ["--pathspec-from-file=-", "--pathspec-file-nul"];
  const msgFile = join(await git.gitDir(), "ORCH_AUTOCOMMIT_MSG");
  try {
    if (gone.length) await git.run(["--literal-pathspecs", "rm", "--quiet", "--cached", "--ignore-unmatch", ...fromStdin], { input: nulList(gone) });
    if (plain.length) await git.run(["--literal-pathspecs", "add", "-A", ...fromStdin], { input: nulList(plain) });
    if (forced.size) await git.run(["--literal-pathspecs", "add", "-A", "-f", ...fromStdin], { input: nulList([...forced]) });
    writeFileSync(msgFile, message);
    await git.run([...NO_HOOKS, "--literal-pathspecs", "commit", "--quiet", "--no-verify", "-F", msgFile, "--only", ...fromStdin], { input: nulList(paths) });
  } catch (e) {
    await git.run(["--literal-pathspecs", "reset", "--quiet", ...fromStdin], { input: nulList(paths), allowFail: true });
    throw e;
  } finally {
    try {
      unlinkSync(msgFile);
    } catch {
      // never written
    }
  }
}
