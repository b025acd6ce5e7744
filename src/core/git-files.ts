/**
 * Questions answered from the files of a git dir, with no process: the one a
 * turn asks most (which commit HEAD is) when the layout is plain. Anything
 * unusual answers null and the caller asks git.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** The full sha HEAD points to (detached, or a branch whose ref is loose or packed), or null: ask git (a worktree, another ref backend, an unborn branch). */
export function headFromFiles(dir: string): string | null {
  try {
    const head = readFileSync(join(dir, "HEAD"), "utf8").trim();
    if (SHA.test(head)) return head;
    const ref = /^ref: (refs\/heads\/\S+)$/.exec(head)?.[1];
    if (!ref || !existsSync(join(dir, "refs")) || existsSync(join(dir, "commondir"))) return null;
    let loose: string | null = null;
    try {
      loose = readFileSync(join(dir, ref), "utf8").trim();
    } catch {
      // not loose: packed, or absent (an unborn branch)
    }
    if (loose !== null) return SHA.test(loose) ? loose : null;
    return packedRef(dir, ref);
  } catch {
    return null; // unreadable: ask git
  }
}

/** A ref's sha from packed-refs, or null (no such file or line: git decides, it may know better). */
function packedRef(dir: string, ref: string): string | null {
  let text: string;
  try {
    text = readFileSync(join(dir, "packed-refs"), "utf8");
  } catch {
    return null;
  }
  for (const line of text.split("\n")) {
    if (line.endsWith(" " + ref) && /^[0-9a-f]{40}/.test(line)) return line.slice(0, line.indexOf(" "));
  }
  return null;
}
