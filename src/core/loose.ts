/**
 * orch's own commits written by orch itself, as loose objects: no process and
 * no `fast-import` checkpoint. A checkpoint writes a pack and its index and
 * costs 7–14 ms; a turn made two (mark, stamp), each waited on before the
 * fast-forward and the push. The loose object format is git's oldest and
 * stablest: `<type> <size>\0<body>`, zlib-deflated, named by its SHA-1, in
 * `objects/xx/…`, written to a temporary file and renamed (git's own way; it
 * does not fsync loose objects by default either). Trees are read through the
 * caller's (kept) `cat-file --batch`.
 *
 * Only the plain layout is handled: a repository's own git dir (not a linked
 * worktree), SHA-1 objects, the files ref backend, no object directory from
 * the environment, no shared-repository permissions. Anything else answers
 * null at open and commits go through `fast-import` as before.
 */
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { deflateSync } from "node:zlib";
import type { CatObject } from "./batch.ts";

/** A file of a commit to write: `path` inside the tree (slash-separated), its bytes, its mode (100644 when absent). */
export interface LooseFile {
  path: string;
  data: Uint8Array;
  mode?: string;
}

export interface LooseCommit {
  /** Local ref pointed at the commit (orch's own namespace: keeps it from gc until it is pushed). */
  ref: string;
  parent: string | null;
  files: LooseFile[];
  message: string;
  author?: string;
  committer: string;
}

interface TreeEntry {
  mode: string;
  /** The name's bytes as a latin1 string (one char per byte: sorting and writing keep them as they are). */
  name: string;
  sha: Buffer;
}

/** What decides whether the plain layout holds (from `git var -l`, the environment and the git dir). */
export interface LooseLayout {
  gitDir: string;
  vars: Map<string, string>;
  env: Record<string, string | undefined>;
}

let tmpCounter = 0;

/** How old a lock of orch's own refs must be to count as left by a killed run. */
const STALE_LOCK_MS = 10_000;

/** The SHA-1 git names an object by: over `<type> <size>\0` and the body. */
export function objectId(type: string, body: Uint8Array): string {
  const hasher = new Bun.CryptoHasher("sha1");
  hasher.update(`${type} ${body.length}\0`);
  hasher.update(body);
  return hasher.digest("hex");
}

export class LooseObjects {
  /** Trees this writer read or wrote, by sha (the next turn's commit starts from the last one's tree). */
  private readonly trees = new Map<string, TreeEntry[]>();
  /** The root tree of commits this writer wrote or built on (a stamp's parent is the mark written a minute before). */
  private readonly rootOf = new Map<string, string>();

  private constructor(
    private readonly gitDir: string,
    private readonly cat: (revs: string[]) => Promise<(CatObject | null)[]>,
  ) {}

  /** A writer for this repository, or null when its layout is not the plain one (the caller uses fast-import). */
  static open(layout: LooseLayout, cat: (revs: string[]) => Promise<(CatObject | null)[]>): LooseObjects | null {
    const { gitDir, vars, env } = layout;
    // The environment can point git at other objects, another index or work tree, a ref namespace: git decides then.
    if (["GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_DIR", "GIT_COMMON_DIR", "GIT_INDEX_FILE", "GIT_WORK_TREE", "GIT_NAMESPACE"].some((k) => env[k])) return null;
    const format = vars.get("extensions.objectformat");
    if (format && format.toLowerCase() !== "sha1") return null;
    const refs = vars.get("extensions.refstorage");
    if (refs && refs.toLowerCase() !== "files") return null;
    const shared = vars.get("core.sharedrepository");
    if (shared && !/^(false|umask|no|off|0)$/i.test(shared)) return null;
    if (existsSync(join(gitDir, "commondir")) || !existsSync(join(gitDir, "objects")) || !existsSync(join(gitDir, "refs"))) return null;
    return new LooseObjects(gitDir, cat);
  }

  /** Write each commit (its blobs, trees, the commit, its ref); their shas in order. */
  async writeCommits(specs: readonly LooseCommit[]): Promise<string[]> {
    const shas: string[] = [];
    for (const spec of specs) shas.push(await this.writeCommit(spec));
    return shas;
  }

  private async writeCommit(spec: LooseCommit): Promise<string> {
    if (spec.files.some((f) => f.path.includes("\n") || f.path.split("/").some((p) => p === "" || p === "." || p === ".."))) {
      throw new Error(`a path git would not take as it is: ${JSON.stringify(spec.files.map((f) => f.path))}`);
    }
    const files = spec.files.map((f) => ({ parts: f.path.split("/"), mode: f.mode ?? "100644", sha: this.put("blob", Buffer.from(f.data)) }));
    const base = spec.parent ? await this.baseTrees(spec.parent, files.map((f) => f.parts)) : new Map<string, TreeEntry[]>();
    const tree = this.writeTree("", files, base);
    const lines = [`tree ${tree}`];
    if (spec.parent) lines.push(`parent ${spec.parent}`);
    // fast-import names the committer as the author when no author is given: the same commit either way.
    lines.push(`author ${spec.author ?? spec.committer}`, `committer ${spec.committer}`, "", "");
    const sha = this.put("commit", Buffer.concat([Buffer.from(lines.join("\n")), Buffer.from(spec.message)]));
    this.rememberRoot(sha, tree);
    this.setRef(spec.ref, sha);
    return sha;
  }

  /**
   * The parent's trees on the way to each file: "" (the root), "dir",
   * "dir/sub"…: from the trees this writer knows, the rest asked in one round
   * trip (`<commit>:<dir>`). A directory the parent lacks (or holds as a
   * file) is absent: it starts empty.
   */
  private async baseTrees(parent: string, paths: string[][]): Promise<Map<string, TreeEntry[]>> {
    const dirs = new Set<string>([""]);
    for (const parts of paths) for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
    const out = new Map<string, TreeEntry[]>();
    const root = this.rootOf.get(parent);
    const known = root ? this.trees.get(root) : undefined;
    if (known) {
      out.set("", known);
      // Walk down from the known root while each directory's tree is known too (dirs lists parents first).
      for (const d of dirs) {
        if (d === "") continue;
        const up = out.get(d.includes("/") ? d.slice(0, d.lastIndexOf("/")) : "");
        const name = Buffer.from(d.slice(d.lastIndexOf("/") + 1), "utf8").toString("latin1");
        const entry = up?.find((e) => e.name === name);
        if (!up || !entry || entry.mode !== "40000") {
          if (up) dirs.delete(d); // known to be absent: starts empty
          continue;
        }
        const tree = this.trees.get(entry.sha.toString("hex"));
        if (tree) out.set(d, tree);
      }
    }
    const ask = [...dirs].filter((d) => !out.has(d));
    if (ask.length === 0) return out;
    const got = await this.cat(ask.map((d) => (d === "" ? `${parent}^{tree}` : `${parent}:${d}`)));
    ask.forEach((d, i) => {
      const obj = got[i];
      if (d === "" && (!obj || obj.type !== "tree")) throw new Error(`the tree of ${parent} could not be read`);
      if (obj && obj.type === "tree") out.set(d, this.parsed(obj.sha, obj.body));
      if (d === "") this.rememberRoot(parent, obj!.sha);
    });
    return out;
  }

  /** A file's blob and mode in a commit this writer wrote or built on, from what it remembers (null: not known here). */
  fileAt(commit: string, path: string): { sha: string; mode: string } | null {
    let tree = this.trees.get(this.rootOf.get(commit) ?? "");
    const parts = path.split("/").map((p) => Buffer.from(p, "utf8").toString("latin1"));
    for (let i = 0; tree && i < parts.length; i++) {
      const entry = tree.find((e) => e.name === parts[i]);
      if (!entry) return null;
      if (i === parts.length - 1) return entry.mode === "40000" ? null : { sha: entry.sha.toString("hex"), mode: entry.mode };
      tree = this.trees.get(entry.sha.toString("hex"));
    }
    return null;
  }

  private parsed(sha: string, body: Buffer): TreeEntry[] {
    const known = this.trees.get(sha);
    if (known) return known;
    const entries: TreeEntry[] = [];
    for (let at = 0; at < body.length; ) {
      const space = body.indexOf(0x20, at);
      const nul = body.indexOf(0, space);
      if (space < 0 || nul < 0 || nul + 21 > body.length) throw new Error(`tree ${sha} could not be parsed`);
      entries.push({ mode: body.toString("latin1", at, space), name: body.toString("latin1", space + 1, nul), sha: body.subarray(nul + 1, nul + 21) });
      at = nul + 21;
    }
    this.remember(sha, entries);
    return entries;
  }

  private rememberRoot(commit: string, tree: string): void {
    if (this.rootOf.size >= 64) this.rootOf.delete(this.rootOf.keys().next().value!);
    this.rootOf.set(commit, tree);
  }

  private remember(sha: string, entries: TreeEntry[]): void {
    if (this.trees.size >= 64) this.trees.delete(this.trees.keys().next().value!);
    this.trees.set(sha, entries);
  }

  /** The tree at `dir` (its parent's entries there, with the files under it set), written; its sha. */
  private writeTree(dir: string, files: { parts: string[]; mode: string; sha: string }[], base: Map<string, TreeEntry[]>): string {
    const depth = dir === "" ? 0 : dir.split("/").length;
    const entries = new Map<string, TreeEntry>();
    for (const e of base.get(dir) ?? []) entries.set(e.name, e);
    const subdirs = new Map<string, typeof files>();
    for (const f of files) {
      const name = Buffer.from(f.parts[depth]!, "utf8").toString("latin1");
      if (f.parts.length === depth + 1) entries.set(name, { mode: f.mode, name, sha: Buffer.from(f.sha, "hex") });
      else subdirs.set(name, [...(subdirs.get(name) ?? []), f]);
    }
    for (const [name, under] of subdirs) {
      const path = Buffer.from(name, "latin1").toString("utf8");
      const sha = this.writeTree(dir === "" ? path : `${dir}/${path}`, under, base);
      entries.set(name, { mode: "40000", name, sha: Buffer.from(sha, "hex") });
    }
    // git's order: by name bytes, a tree's name compared as if it ended in "/".
    const key = (e: TreeEntry) => (e.mode === "40000" ? e.name + "/" : e.name);
    const sorted = [...entries.values()].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    const body = Buffer.concat(sorted.flatMap((e) => [Buffer.from(`${e.mode} `), Buffer.from(e.name, "latin1"), Buffer.from([0]), e.sha]));
    const sha = this.put("tree", body);
    this.remember(sha, sorted);
    return sha;
  }

  /** One loose object (kept as it is when it is there already); its sha. */
  private put(type: string, body: Buffer): string {
    const header = Buffer.from(`${type} ${body.length}\0`);
    const sha = objectId(type, body);
    const dir = join(this.gitDir, "objects", sha.slice(0, 2));
    const file = join(dir, sha.slice(2));
    if (existsSync(file)) return sha;
    mkdirSync(dir, { recursive: true });
    // git's temporary-object prefix: `git prune` removes one a crash left behind.
    const tmp = join(dir, `tmp_obj_orch${process.pid}_${tmpCounter++}`);
    try {
      writeWhole(tmp, deflateSync(Buffer.concat([header, body])), 0o444);
      renameSync(tmp, file);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
    return sha;
  }

  /**
   * A loose ref in orch's own namespace, through `<ref>.lock` as git does. A
   * lock is held for microseconds, and only orch writes these refs: one older
   * than STALE_LOCK_MS was left by a run killed while it held it, and is
   * taken over (else every later commit of that ref would fail). A lock held
   * now is an error: the caller falls back to git.
   */
  private setRef(ref: string, sha: string): void {
    const file = join(this.gitDir, ref);
    mkdirSync(dirname(file), { recursive: true });
    const lock = `${file}.lock`;
    let fd: number;
    try {
      fd = openSync(lock, "wx", 0o666);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST" || Date.now() - statSync(lock).mtimeMs < STALE_LOCK_MS) throw e;
      rmSync(lock, { force: true });
      fd = openSync(lock, "wx", 0o666);
    }
    try {
      writeSync(fd, `${sha}\n`);
    } finally {
      closeSync(fd);
    }
    try {
      renameSync(lock, file);
    } catch (e) {
      rmSync(lock, { force: true });
      throw e;
    }
  }
}

function writeWhole(path: string, bytes: Uint8Array, mode: number): void {
  const fd = openSync(path, "wx", mode);
  try {
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
  } finally {
    closeSync(fd);
  }
}
