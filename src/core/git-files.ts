/**
 * Questions answered from the files of a git dir, with no process: the one a
 * turn asks most (which commit HEAD is) when the layout is plain. Anything
 * unusual answers null and the caller asks git.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** The full sha HEAD points to (detached, or a branch whose ref is loose or packed), or null: ask git (a worktree, another ref backend, an unborn branch). */
export function headFromFiles(dir: string): string | null {
  try {
    const head = readFileSync(join(dir, "HEAD"), "utf8").trim();
    if (SHA.test(head)) return head;
    const ref = /^ref: (refs\/heads\/\S+)$/.exec(head)?.[1];
    return ref ? (refFromFiles(dir, ref) ?? null) : null;
  } catch {
    return null; // unreadable: ask git
  }
}

/**
 * A ref's sha from the files (loose, else packed-refs); null when the files
 * say it does not exist; undefined when they cannot say (a worktree, another
 * ref backend, a symbolic ref): ask git.
 */
export function refFromFiles(dir: string, ref: string): string | null | undefined {
  if (!existsSync(join(dir, "refs")) || existsSync(join(dir, "commondir")) || existsSync(join(dir, "reftable"))) return undefined;
  let loose: string | null = null;
  try {
    loose = readFileSync(join(dir, ref), "utf8").trim();
  } catch (e) {
    // not loose: packed, or absent
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") return undefined;
  }
  if (loose !== null) return SHA.test(loose) ? loose : undefined;
  return packedRef(dir, ref);
}

/**
 * The branch HEAD names (`ref: refs/heads/<name>`), null when HEAD is a
 * detached sha, undefined when the file says neither plainly (another ref
 * backend writes a placeholder there: ask git).
 */
export function branchFromFiles(dir: string): string | null | undefined {
  let head: string;
  try {
    head = readFileSync(join(dir, "HEAD"), "utf8").trim();
  } catch {
    return undefined;
  }
  if (SHA.test(head)) return null;
  const name = /^ref: refs\/heads\/(\S+)$/.exec(head)?.[1];
  return name && name !== ".invalid" ? name : undefined;
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

/** A git config integer ("6700", "1k"), or NaN. */
function configInt(v: string): number {
  const m = /^\s*(-?\d+)\s*([kmg]?)\s*$/i.exec(v);
  return m ? Number(m[1]) * { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as "" | "k" | "m" | "g"] : NaN;
}

/**
 * Would `git maintenance run --auto` do anything? With no maintenance.*
 * settings its one task is `gc --auto`, which runs when objects/17 holds more
 * than gc.auto/256 loose objects or more than gc.autoPackLimit packs have no
 * .keep (git's own estimate, counted the same way here). Anything unusual or
 * unreadable says yes: git decides.
 */
export function maintenanceDue(vars: Map<string, string>, gitDir: string): boolean {
  if ([...vars.keys()].some((k) => k.startsWith("maintenance.") && k !== "maintenance.auto")) return true;
  const gcAuto = configInt(vars.get("gc.auto") ?? "6700");
  const packLimit = configInt(vars.get("gc.autopacklimit") ?? "50");
  if (Number.isNaN(gcAuto) || Number.isNaN(packLimit)) return true;
  if (gcAuto <= 0) return false; // gc --auto is off
  try {
    let common = gitDir;
    if (existsSync(join(gitDir, "commondir"))) {
      const c = readFileSync(join(gitDir, "commondir"), "utf8").trim();
      common = isAbsolute(c) ? c : join(gitDir, c);
    }
    const objects = join(common, "objects");
    if (names(join(objects, "17")).filter((n) => /^[0-9a-f]{38}$/.test(n)).length > Math.ceil(gcAuto / 256)) return true;
    const packs = new Set(names(join(objects, "pack")));
    return packLimit > 0 && [...packs].filter((n) => n.endsWith(".pack") && !packs.has(n.slice(0, -5) + ".keep")).length > packLimit;
  } catch {
    return true; // unreadable: git decides
  }
}

/** The names in a directory; none when it does not exist yet. */
function names(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}
