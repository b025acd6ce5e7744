/**
 * Path rules shared by every auto-commit step: globs, extensions, prefixes and
 * the "never leak" list. All paths are repo-relative with forward slashes, as
 * `git status -z` prints them; a collapsed directory entry ends with "/".
 */
import picomatch from "picomatch";
import { matchSecretPath } from "../core/secrets.ts";

export type Matcher = (path: string) => boolean;

/**
 * Globs match the whole repo-relative path (picomatch, `dot: true`, so `**`
 * is zero or more directories and dot files are not special). An empty list
 * matches nothing.
 */
export function globMatcher(globs: string[]): Matcher {
  const list = globs.map((g) => g.trim().replace(/^\.\//, "")).filter((g) => g.length > 0);
  if (list.length === 0) return () => false;
  const match = picomatch(list, { dot: true });
  return (path) => match(stripSlash(path));
}

/**
 * Ignore globs: one without a "/" matches the file name at any depth (as in
 * .gitignore, and as the old tool's fnmatch did for `*.bak`); one with a "/"
 * matches the whole path.
 */
export function ignoreMatcher(globs: string[]): Matcher {
  const list = globs.map((g) => g.trim().replace(/^\.\//, "")).filter((g) => g.length > 0);
  const byName = globMatcher(list.filter((g) => !g.includes("/")));
  const byPath = globMatcher(list.filter((g) => g.includes("/")));
  return (path) => byName(baseName(path)) || byPath(path);
}

/**
 * Could any path under directory `dir` (ending in "/") match one of these globs?
 * Compares each glob's literal base with the directory, so a huge ignored tree
 * that no glob can reach is never walked. An empty list means "no restriction".
 */
export function globsCanReachDir(globs: string[], dir: string): boolean {
  const list = globs.map((g) => g.trim().replace(/^\.\//, "")).filter((g) => g.length > 0);
  if (list.length === 0) return true;
  const d = dir.endsWith("/") ? dir : dir + "/";
  return list.some((g) => {
    const base = picomatch.scan(g).base;
    if (!base) return true;
    const b = base.endsWith("/") ? base : base + "/";
    return b.startsWith(d) || d.startsWith(b);
  });
}

export function stripSlash(path: string): string {
  return path.endsWith("/") ? path.slice(0, -1) : path;
}

/** Lowercase extension with its dot ("" when none), like Python's os.path.splitext. */
export function extensionOf(path: string): string {
  const name = baseName(path);
  const stem = name.replace(/^\.+/, "");
  const dot = stem.lastIndexOf(".");
  return dot < 0 ? "" : stem.slice(dot).toLowerCase();
}

/** Settings may spell extensions as "PNG" or ".png": compare as ".png". */
export function normaliseExtensions(list: string[]): Set<string> {
  return new Set(list.map((e) => e.trim().toLowerCase()).filter((e) => e.length > 0).map((e) => (e.startsWith(".") ? e : "." + e)));
}

export function baseName(path: string): string {
  const p = stripSlash(path);
  return p.slice(p.lastIndexOf("/") + 1);
}

/** `path` is `prefix` itself or lies under it (component-wise, not string-wise). */
export function underPrefix(path: string, prefix: string): boolean {
  const p = stripSlash(path);
  const pre = stripSlash(prefix);
  if (pre === "") return false;
  return p === pre || p.startsWith(pre + "/");
}

/** Normalise a user-written prefix: no "./", no duplicate or trailing slashes. */
export function normalisePrefix(raw: string): string {
  return raw
    .trim()
    .split("/")
    .filter((part) => part !== "" && part !== ".")
    .join("/");
}

// ---- never leak ---------------------------------------------------------------

/**
 * Why a path must never be auto-committed whatever the settings say (secrets and
 * tool directories, by any path component: core/secrets.ts has the rule), or
 * null when it may be. The reason names the rule.
 */
export function neverCommitReason(path: string): string | null {
  const m = matchSecretPath(path);
  return m ? `${m.reason}; never auto-committed` : null;
}

/**
 * The directory to name instead of each file under a tool or secret directory,
 * so 50,000 files under node_modules/ (or a virtualenv called .env/) show as one
 * entry: "web/node_modules/" for "web/node_modules/a/b.js"; the path itself
 * otherwise.
 */
export function collapseNeverDir(path: string): string {
  const m = matchSecretPath(path);
  return m && m.at.endsWith("/") ? m.at : path;
}

/** A short list for one console line: the first few names and how many more. */
export function listForLine(paths: string[], max = 10): string {
  const shown = paths.slice(0, max).join(", ");
  return paths.length > max ? `${shown} and ${paths.length - max} more` : shown;
}
