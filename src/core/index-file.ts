/**
 * A fast-forward onto a commit that changes one file only, without a `git
 * merge` process: orch's stamp (the state file, on top of HEAD) in the plain
 * layout. It does what `merge --ff-only` does for such a commit, in git's
 * order: the file in the working tree, its index entry (stat data and blob;
 * the cache-tree of its directories invalidated), then the branch ref with
 * its reflog lines and ORIG_HEAD. Both locks (`index.lock`, `<ref>.lock`) are
 * taken first, as git takes them; the index is read under its lock.
 *
 * Anything unusual answers false before a byte is written, and the caller
 * runs `git merge --ff-only`: another index version (4 compresses paths), a
 * split or sparse index, an fsmonitor, a conflicted or skip-worktree entry,
 * a working-tree file that is not exactly HEAD's (dirt, a filter, another
 * mode), a held lock, a ref that moved, a merge or rebase the user has in
 * progress. In a 50,000-file tree the merge rewrote the whole index
 * (~100 ms); this rewrites it with one entry changed, and costs no process.
 */
import { appendFileSync, closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { refFromFiles } from "./git-files.ts";
import { objectId } from "./loose.ts";
import { operationInProgress } from "./sync.ts";

export interface OneFileForward {
  gitDir: string;
  top: string;
  branch: string;
  /** HEAD's commit now and the commit to move to (full shas). */
  from: string;
  to: string;
  /** The one file that differs: repo-relative path, its blob in `from` and in `to`, its mode (the same in both), the new bytes. */
  path: string;
  oldBlob: string;
  newBlob: string;
  mode: "100644" | "100755";
  data: Uint8Array;
  /** `Name <email> <time> <tz>` for the reflog lines. */
  reflogIdent: string;
  /** Start reflogs that do not exist yet (core.logAllRefUpdates, true by default); existing ones are always appended to, as git does. */
  createReflogs: boolean;
}

const sha1 = (...parts: Uint8Array[]) => {
  const h = new Bun.CryptoHasher("sha1");
  for (const p of parts) h.update(p);
  return h.digest() as Buffer;
};

/**
 * The optional extensions carried over: the cache-tree (TREE, invalidated on
 * the file's path), resolve-undo (REUC), the untracked cache (UNTR: it checks
 * each directory's stat data itself), the entry offset table (IEOT: the
 * entries keep their offsets) and the end-of-entries marker (EOIE, written
 * again over the others' headers).
 */
const KEPT_EXTENSIONS = new Set(["TREE", "REUC", "UNTR", "IEOT", "EOIE"]);

interface Entry {
  /** Offset of the entry in the index. */
  at: number;
  flags: number;
  extended: number;
}

interface Parsed {
  bytes: Buffer;
  entry: Entry;
  /** Where the entries end and the extensions start. */
  entriesEnd: number;
  extensions: { sig: string; data: Buffer }[];
}

/** Parse the index far enough to patch `path`'s entry; null when it is not the plain case. */
function parseIndex(bytes: Buffer, path: string): Parsed | null {
  if (bytes.length < 32 || bytes.toString("latin1", 0, 4) !== "DIRC") return null;
  const version = bytes.readUInt32BE(4);
  if (version !== 2 && version !== 3) return null;
  const count = bytes.readUInt32BE(8);
  const want = Buffer.from(path, "utf8");
  let at = 12;
  let found: Entry | null = null;
  for (let i = 0; i < count; i++) {
    if (at + 62 > bytes.length) return null;
    const flags = bytes.readUInt16BE(at + 60);
    const extended = flags & 0x4000 ? bytes.readUInt16BE(at + 62) : 0;
    const nameAt = at + (flags & 0x4000 ? 64 : 62);
    let len = flags & 0xfff;
    if (len === 0xfff) len = bytes.indexOf(0, nameAt) - nameAt;
    if (len < 0 || nameAt + len > bytes.length) return null;
    if (len === want.length && bytes.compare(want, 0, want.length, nameAt, nameAt + len) === 0) {
      // A second entry for the path is a conflict (stages 1–3): git's business.
      if (found || (flags >> 12) & 3) return null;
      found = { at, flags, extended };
    }
    at += (nameAt - at + len + 8) & ~7;
  }
  if (!found) return null;
  const extensions: { sig: string; data: Buffer }[] = [];
  const end = bytes.length - 20;
  for (let x = at; x < end; ) {
    if (x + 8 > end) return null;
    const sig = bytes.toString("latin1", x, x + 4);
    const size = bytes.readUInt32BE(x + 4);
    if (x + 8 + size > end) return null;
    extensions.push({ sig, data: bytes.subarray(x + 8, x + 8 + size) });
    x += 8 + size;
  }
  // A required extension (lower-case first letter: a split or sparse index) or the fsmonitor's: entries live or
  // are trusted elsewhere. Optional ones orch does not know are dropped, as git drops them when it rewrites an index.
  if (extensions.some((e) => !/^[A-Z]/.test(e.sig) || e.sig === "FSMN")) return null;
  return { bytes, entry: found, entriesEnd: at, extensions: extensions.filter((e) => KEPT_EXTENSIONS.has(e.sig)) };
}

/** The cache-tree extension with `path`'s directories (and the root) invalidated: git rebuilds them at the next commit. */
function invalidateTree(data: Buffer, path: string): Buffer {
  const dirs = new Set<string>([""]);
  const parts = path.split("/");
  for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  const out: Buffer[] = [];
  let at = 0;
  const node = (prefix: string): void => {
    const nul = data.indexOf(0, at);
    const name = data.toString("utf8", at, nul);
    const lf = data.indexOf(10, nul);
    const [countText, subText] = data.toString("latin1", nul + 1, lf).split(" ");
    const count = Number(countText);
    const subtrees = Number(subText);
    if (nul < 0 || lf < 0 || !Number.isInteger(count) || !Number.isInteger(subtrees)) throw new Error("cache-tree extension could not be parsed");
    at = lf + 1;
    const full = prefix === "" ? name : `${prefix}/${name}`;
    const here = prefix === "" && name === "" ? "" : full;
    const sha = count >= 0 ? data.subarray(at, at + 20) : null;
    if (count >= 0) at += 20;
    if (dirs.has(here)) out.push(Buffer.from(name, "utf8"), Buffer.from(`\0-1 ${subtrees}\n`));
    else out.push(Buffer.from(name, "utf8"), Buffer.from(`\0${count} ${subtrees}\n`), ...(sha ? [sha] : []));
    for (let i = 0; i < subtrees; i++) node(here);
  };
  node("");
  if (at !== data.length) throw new Error("cache-tree extension has trailing bytes");
  return Buffer.concat(out);
}

/** A git lock file, made as git makes one (0666 less the umask), or null when it exists already. */
function lock(path: string): number | null {
  try {
    return openSync(path, "wx", 0o666);
  } catch {
    return null; // held by another git process (or unwritable): git decides
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
}

/** Do the fast-forward; false when it is not the plain case and nothing was written (run git merge). */
export function forwardOneFile(o: OneFileForward): boolean {
  const ref = `refs/heads/${o.branch}`;
  let head: string;
  try {
    head = readFileSync(join(o.gitDir, "HEAD"), "utf8").trim();
  } catch {
    return false;
  }
  // git merge refuses while a merge, cherry-pick, revert or rebase is in progress: so does this.
  if (head !== `ref: ${ref}` || existsSync(join(o.gitDir, "commondir")) || operationInProgress(o.gitDir)) return false;
  const indexPath = join(o.gitDir, "index");
  const indexLock = `${indexPath}.lock`;
  const refPath = join(o.gitDir, ref);
  const refLock = `${refPath}.lock`;
  // Written before the locks are taken, removed after: a run killed in between left locks that no git
  // process holds, and the next start removes them (recoverFastForward).
  const record = join(o.gitDir, RECORD);
  replaceFile(record, JSON.stringify({ pid: process.pid, at: Date.now(), locks: [indexLock, refLock] }) + "\n");
  let ifd = lock(indexLock);
  if (ifd === null) {
    rmSync(record, { force: true });
    return false;
  }
  let rfd: number | null = null;
  // The locks this call holds (removed when it gives up; never one another process holds).
  let ownIndexLock = true;
  let ownRefLock = false;
  try {
    mkdirSync(dirname(refPath), { recursive: true });
    rfd = lock(refLock);
    ownRefLock = rfd !== null;
    if (rfd === null || refFromFiles(o.gitDir, ref) !== o.from) return false;
    const parsed = parseIndex(readFileSync(indexPath), o.path);
    if (!parsed) return false;
    const { bytes, entry } = parsed;
    const modeBits = o.mode === "100755" ? 0o100755 : 0o100644;
    // assume-valid, skip-worktree or intent-to-add: not an entry git compares as usual.
    if (entry.flags & 0x8000 || entry.extended & 0x6000) return false;
    if (bytes.readUInt32BE(entry.at + 24) !== modeBits || bytes.toString("hex", entry.at + 40, entry.at + 60) !== o.oldBlob) return false;
    // The working-tree file must be exactly HEAD's (a regular file, same bytes, same executable bit).
    const file = join(o.top, o.path);
    const before = lstatSync(file);
    if (!before.isFile() || (before.mode & 0o100 ? "100755" : "100644") !== o.mode || objectId("blob", readFileSync(file)) !== o.oldBlob) return false;
    let tree: Buffer | null = null;
    for (const e of parsed.extensions) if (e.sig === "TREE") tree = invalidateTree(e.data, o.path);

    // From here on, git's order: the file, the index, the ref.
    // The state file's own temporary name: a start-up removes one a crash left (removeStaleTemps).
    const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
    const tfd = openSync(tmp, "w", before.mode & 0o777);
    try {
      writeAll(tfd, o.data);
    } finally {
      closeSync(tfd);
    }
    renameSync(tmp, file);
    const st = statSync(file, { bigint: true });
    const patched = Buffer.from(bytes.subarray(0, parsed.entriesEnd));
    const u32 = (v: bigint) => Number(v & 0xffffffffn);
    const NS = 1_000_000_000n;
    const fields = [st.ctimeNs / NS, st.ctimeNs % NS, st.mtimeNs / NS, st.mtimeNs % NS, st.dev, st.ino];
    fields.forEach((v, i) => patched.writeUInt32BE(u32(v), entry.at + i * 4));
    patched.writeUInt32BE(u32(st.uid), entry.at + 28);
    patched.writeUInt32BE(u32(st.gid), entry.at + 32);
    patched.writeUInt32BE(u32(st.size), entry.at + 36);
    Buffer.from(o.newBlob, "hex").copy(patched, entry.at + 40);
    const ext: Buffer[] = [];
    const headers: Buffer[] = [];
    for (const e of parsed.extensions) {
      if (e.sig === "EOIE") continue; // rewritten last, over the others' headers
      const data = e.sig === "TREE" ? tree! : e.data;
      const header = Buffer.alloc(8);
      header.write(e.sig, 0, "latin1");
      header.writeUInt32BE(data.length, 4);
      ext.push(header, data);
      headers.push(header);
    }
    if (parsed.extensions.some((e) => e.sig === "EOIE")) {
      const eoie = Buffer.alloc(8 + 4 + 20);
      eoie.write("EOIE", 0, "latin1");
      eoie.writeUInt32BE(24, 4);
      eoie.writeUInt32BE(parsed.entriesEnd, 8);
      sha1(...headers).copy(eoie, 12);
      ext.push(eoie);
    }
    const body = Buffer.concat([patched, ...ext]);
    writeAll(ifd, Buffer.concat([body, sha1(body)]));
    closeSync(ifd);
    ifd = null;
    renameSync(indexLock, indexPath);
    ownIndexLock = false;
    writeAll(rfd, Buffer.from(`${o.to}\n`));
    closeSync(rfd);
    rfd = null;
    renameSync(refLock, refPath);
    ownRefLock = false;
    const line = `${o.from} ${o.to} ${o.reflogIdent}\tmerge ${o.to}: Fast-forward\n`;
    for (const log of [join(o.gitDir, "logs", ref), join(o.gitDir, "logs", "HEAD")]) {
      if (!o.createReflogs && !existsSync(log)) continue;
      mkdirSync(dirname(log), { recursive: true });
      appendFileSync(log, line);
    }
    try {
      replaceFile(join(o.gitDir, "ORIG_HEAD"), `${o.from}\n`);
    } catch {
      // ORIG_HEAD is a convenience; the fast-forward is done
    }
    return true;
  } finally {
    if (ifd !== null) closeSync(ifd);
    if (rfd !== null) closeSync(rfd);
    if (ownIndexLock) rmSync(indexLock, { force: true });
    if (ownRefLock) rmSync(refLock, { force: true });
    rmSync(record, { force: true });
  }
}

/** The record of a fast-forward in progress, in the git dir. */
const RECORD = "orch-fast-forward";

/**
 * After a run was killed (kill -9, power) during a fast-forward: remove the
 * locks it held. A lock counts as its own only when it was made within
 * seconds after the record (a git process started since has a later one).
 * Call with orch's repository lock held (no other runner of this clone is in
 * a fast-forward then). Returns the locks removed.
 */
export function recoverFastForward(gitDir: string): string[] {
  const record = join(gitDir, RECORD);
  let parsed: { at?: unknown; locks?: unknown };
  try {
    parsed = JSON.parse(readFileSync(record, "utf8")) as typeof parsed;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") rmSync(record, { force: true }); // unreadable: nothing to go by
    return [];
  }
  const at = typeof parsed.at === "number" ? parsed.at : NaN;
  const removed: string[] = [];
  for (const path of Array.isArray(parsed.locks) ? parsed.locks : []) {
    if (typeof path !== "string" || !path.startsWith(gitDir) || !path.endsWith(".lock")) continue;
    try {
      const made = statSync(path).mtimeMs;
      if (made >= at - 1000 && made <= at + 5000) {
        rmSync(path);
        removed.push(path);
      }
    } catch {
      // not there: nothing was left
    }
  }
  rmSync(record, { force: true });
  return removed;
}

/** A small file of the git dir written whole or not at all (temporary file beside it, then rename). */
function replaceFile(path: string, text: string): void {
  const tmp = `${path}.orch-tmp`;
  const fd = openSync(tmp, "w", 0o666);
  try {
    writeAll(fd, Buffer.from(text));
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
