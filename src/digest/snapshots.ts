import type { Git } from "../core/git.ts";
import { gitOutput } from "./gitout.ts";

/**
 * `<ls>` snapshots: the files under each requested path at a stamp commit, as
 * `git ls-tree -r --name-only -z <commit> -- <paths>` lists them.
 *
 * A digest over months of logs names hundreds of stamp commits, and one git
 * process per commit would dominate the run. So the first commit is listed with
 * ls-tree and every following one is reached by applying the tree diff from the
 * previous one, all diffs coming from a single `git diff-tree --stdin` process:
 * two git processes whatever the number of logs. Listings are cached per commit.
 */
export class LsSnapshots {
  readonly roots: string[];
  /** Distinct commits in the order they will be asked for. */
  private chain: string[] = [];
  /** diffs[i]: how the listing changes from chain[i-1] to chain[i]. */
  private diffs: Diff[] = [];
  private position = -1;
  /** Every listed path under any root, in git's order (UTF-8 byte order). */
  private paths: string[] = [];
  private readonly cache = new Map<string, string[][]>();

  constructor(private readonly git: Git, roots: string[]) {
    this.roots = normaliseRoots(roots);
  }

  /** Run the git processes for these commits, given in the order `listing` will be called. */
  async prepare(shas: string[]): Promise<void> {
    this.chain = shas.filter((sha, i) => sha !== shas[i - 1]);
    this.diffs = [];
    this.position = -1;
    if (this.chain.length === 0 || this.roots.length === 0) return;
    const pathspec = ["--", ...this.roots.map((r) => (r === "" ? "." : r))];
    // The two processes run side by side: neither needs the other's output.
    const first = this.git.run(["--literal-pathspecs", "ls-tree", "-r", "--name-only", "-z", this.chain[0]!, ...pathspec]);
    let diffs: Promise<Buffer | null> = Promise.resolve(null);
    if (this.chain.length > 1) {
      // "<commit> <other>" diffs <other> → <commit>; --always prints the header even for no change.
      const input = this.chain.slice(1).map((sha, i) => `${sha} ${this.chain[i]}\n`).join("");
      diffs = gitOutput(this.git, ["--literal-pathspecs", "diff-tree", "--stdin", "-r", "-z", "--no-renames", "--name-status", "--always"], { input, pathspec });
    }
    const [listed, out] = await Promise.allSettled([first, diffs]);
    if (listed.status === "rejected") throw listed.reason;
    if (out.status === "rejected") throw out.reason;
    this.paths = listed.value.stdout.split("\0").filter((p) => p.length > 0);
    if (out.value) this.diffs = [{ added: [], deleted: [] }, ...parseDiffTree(out.value.toString("utf8"), this.chain.length - 1)];
  }

  /** Per root (in order), the files at `sha`. Call with the commits given to prepare, in order. */
  listing(sha: string): string[][] {
    const cached = this.cache.get(sha);
    if (cached) return cached;
    if (this.roots.length === 0) return [];
    const next = this.chain.indexOf(sha, Math.max(0, this.position));
    if (next < 0) throw new Error(`ls snapshot asked for ${sha}, which was not prepared`);
    for (let i = this.position + 1; i <= next; i++) if (i > 0) this.apply(this.diffs[i]!);
    this.position = next;
    const result = this.roots.map((root) => this.under(root));
    if (this.cache.size >= 64) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(sha, result);
    return result;
  }

  private apply(diff: Diff): void {
    for (const p of diff.deleted) {
      const at = lowerBound(this.paths, p);
      if (this.paths[at] === p) this.paths.splice(at, 1);
    }
    for (const p of diff.added) {
      const at = lowerBound(this.paths, p);
      if (this.paths[at] !== p) this.paths.splice(at, 0, p);
    }
  }

  /** The root itself (a file) and everything below it: contiguous in byte order. */
  private under(root: string): string[] {
    if (root === "") return [...this.paths];
    const out: string[] = [];
    const exact = lowerBound(this.paths, root);
    if (this.paths[exact] === root) out.push(root);
    const from = lowerBound(this.paths, root + "/");
    const to = lowerBound(this.paths, root + "0"); // "0" follows "/"
    for (let i = from; i < to; i++) out.push(this.paths[i]!);
    return out;
  }
}

interface Diff {
  added: string[];
  deleted: string[];
}

/** `diff-tree --stdin -z --name-status --always`: "<id>\0" then "<status>\0<path>\0" per change. */
export function parseDiffTree(out: string, expected: number): Diff[] {
  const tokens = out.split("\0");
  const diffs: Diff[] = [];
  let current: Diff | null = null;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token === "") continue;
    if (current && /^[A-Z]\d*$/.test(token) && i + 1 < tokens.length) {
      const path = tokens[++i]!;
      if (token === "A") current.added.push(path);
      else if (token === "D") current.deleted.push(path);
      continue;
    }
    current = { added: [], deleted: [] };
    diffs.push(current);
  }
  if (diffs.length !== expected) throw new Error(`git diff-tree answered ${diffs.length} diffs for ${expected} commits`);
  return diffs;
}

/** "docs/" → "docs", "./plans" → "plans", "." → "" (everything); duplicates dropped. */
export function normaliseRoots(roots: string[]): string[] {
  const out: string[] = [];
  for (const raw of roots) {
    let r = raw.trim().replace(/^(\.\/)+/, "").replace(/^\/+/, "").replace(/\/+$/, "");
    if (r === ".") r = "";
    if (raw.trim() === "") continue;
    if (!out.includes(r)) out.push(r);
  }
  return out;
}

/** Git sorts paths by UTF-8 bytes, which is code point order, not UTF-16 order. */
export function compareBytes(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** Surrogates (astral code points) rank above U+E000–U+FFFF. */
function codePointRank(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}

function lowerBound(sorted: string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareBytes(sorted[mid]!, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
