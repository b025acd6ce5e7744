/**
 * What the working tree holds that HEAD does not: one `git status -z` read,
 * with ignored directories collapsed by git (`--ignored=matching`), so a huge
 * ignored node_modules/ is one entry and is never walked file by file.
 */
import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Git, StatusEntry } from "../core/git.ts";
import { neverCommitReason, underPrefix } from "./paths.ts";

export type DirtKind = "modified" | "added" | "deleted" | "untracked" | "ignored" | "unmerged";

export interface Dirt {
  path: string;
  kind: DirtKind;
}

/** Classify porcelain v1 entries; a staged rename becomes "added new" + "deleted old". */
export function classify(entries: StatusEntry[]): Dirt[] {
  const out: Dirt[] = [];
  for (const e of entries) {
    const [x, y] = [e.code[0]!, e.code[1]!];
    if (e.code === "??") out.push({ path: e.path, kind: "untracked" });
    else if (e.code === "!!") out.push({ path: e.path, kind: "ignored" });
    else if (x === "U" || y === "U" || e.code === "AA" || e.code === "DD") out.push({ path: e.path, kind: "unmerged" });
    else if (x === "R" || x === "C") {
      out.push({ path: e.path, kind: y === "D" ? "deleted" : "added" });
      if (x === "R" && e.from) out.push({ path: e.from, kind: "deleted" });
    } else if (x === "D" || y === "D") out.push({ path: e.path, kind: "deleted" });
    else if (x === "A") out.push({ path: e.path, kind: "added" });
    else out.push({ path: e.path, kind: "modified" });
  }
  return out;
}

/** Paths of submodules (gitlinks, mode 160000) recorded in the index. */
export async function gitlinkPaths(git: Git): Promise<string[]> {
  const out = await git.out(["ls-files", "-z", "--stage"]);
  const paths: string[] = [];
  for (const rec of out.split("\0")) {
    if (!rec.startsWith("160000 ")) continue;
    const tab = rec.indexOf("\t");
    if (tab > 0) paths.push(rec.slice(tab + 1));
  }
  return paths;
}

export interface DirtReader {
  git: Git;
  /** Paths orch itself owns (state file, log dir): never dirt, never committed. */
  owned: (path: string) => boolean;
}

/**
 * The dirty paths, minus orch's own files and anything inside a submodule.
 * `ignored`: also list ignored files (directories collapsed by git); `paths`:
 * only under these directories (literal pathspecs).
 */
export async function readDirt(r: DirtReader, opts: { ignored: boolean; onEntries?: (count: number) => void; paths?: string[] }): Promise<Dirt[]> {
  const entries = await r.git.statusZ({ ignored: opts.ignored, ...(opts.paths ? { paths: opts.paths } : {}) });
  opts.onEntries?.(entries.filter((e) => e.code !== "!!" && !r.owned(e.path)).length);
  // Sorted, so commit bodies and the total-cap cut are the same on every machine.
  const dirt = classify(entries)
    .filter((d) => !r.owned(d.path))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (dirt.length === 0) return dirt;
  const links = await gitlinkPaths(r.git);
  if (links.length === 0) return dirt;
  return dirt.filter((d) => !links.some((l) => underPrefix(d.path, l)));
}

/** Size of a regular file, or null (missing, a directory, a symlink, unreadable). */
export function regularFileSize(top: string, path: string): number | null {
  try {
    const st = lstatSync(join(top, path));
    return st.isFile() ? st.size : null;
  } catch {
    return null;
  }
}

export interface Walk {
  files: string[];
  /** The walk stopped at the entry budget. */
  truncated: boolean;
}

/**
 * Files under an ignored directory that git collapsed into one entry. Tool
 * directories, nested repositories and symlinks are pruned, and the walk stops
 * after `budget.left` entries so an unexpected huge tree cannot stall a turn.
 */
export function walkIgnoredDir(top: string, dir: string, budget: { left: number }, prune: (path: string) => boolean): Walk {
  const files: string[] = [];
  const stack = [dir.endsWith("/") ? dir : dir + "/"];
  while (stack.length > 0) {
    const rel = stack.pop()!;
    let names;
    try {
      names = readdirSync(join(top, rel), { withFileTypes: true });
    } catch {
      continue;
    }
    for (const ent of names) {
      if (budget.left <= 0) return { files, truncated: true };
      budget.left--;
      const path = rel + ent.name;
      if (ent.isDirectory()) {
        const sub = path + "/";
        if (ent.name === ".git" || neverCommitReason(sub) !== null || prune(sub)) continue;
        stack.push(sub);
      } else if (ent.isFile()) {
        if (!prune(path)) files.push(path);
      }
    }
  }
  return { files, truncated: false };
}
