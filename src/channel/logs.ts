/**
 * Both machines' logs everywhere: a turn's log (its `.jsonl` sidecar and its
 * summary) is committed, redacted and capped, onto the actor's log ref with
 * the stamp; the peer's new files are written into the local log dir, never
 * over a local file.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative } from "node:path";
import { errorMessage } from "../core/errors.ts";
import type { Git } from "../core/git.ts";
import type { Actor } from "../core/state.ts";
import type { CommitSpec } from "./objects.ts";

/** Only these paths are ever written from a shipped tree: an actor's log folder or summaries folder, one level. */
const SHIPPABLE = /^(galph|ralph)(-summaries)?\/iter-[^/]+$/;

/** Head and tail of a text bigger than the cap, with a marker line where the middle was. */
export function capBytes(data: Buffer, max: number): Buffer {
  if (data.length <= max) return data;
  const keep = Math.max(0, max - 200);
  const head = data.subarray(0, Math.floor(keep / 2));
  const tail = data.subarray(data.length - Math.ceil(keep / 2));
  const marker = Buffer.from(`\n[orch: ${data.length - head.length - tail.length} bytes left out of this shipped copy (logs.ship_max_bytes); the full log is on the machine that wrote it]\n`);
  return Buffer.concat([head, marker, tail]);
}

export interface ShipOptions {
  /** Local ref the commit is written to. */
  ref: string;
  /** The log ref's current commit (ours as pushed last, or the remote's), null for the first. */
  parent: string | null;
  /** `<logdir>/<branch with / as ->`: tree paths are relative to it. */
  branchDir: string;
  /** Files to ship (absolute). Missing ones are skipped. */
  files: string[];
  redact: (text: string) => string;
  maxBytes: number;
  message: string;
}

export function shipSpec(o: ShipOptions): CommitSpec | null {
  const files: CommitSpec["files"] = [];
  for (const file of o.files) {
    const path = relative(o.branchDir, file).split("\\").join("/");
    if (!SHIPPABLE.test(path) || !existsSync(file)) continue;
    const text = readFileSync(file, "utf8");
    files.push({ path, data: capBytes(Buffer.from(o.redact(text)), o.maxBytes) });
  }
  if (files.length === 0) return null;
  return { ref: o.ref, parent: o.parent, files, message: o.message };
}

/**
 * What a look does with a peer's moved log ref: its new files go into the
 * local log dir `dir`, but only where that cannot dirty the user's tree (a
 * folder outside the clone, or one git ignores; asked once). Trouble is said
 * once through `warn`, never thrown: the logs already here still serve.
 */
export function peerLogImporter(git: Git, top: string, dir: string, warn: (line: string) => void, skip: (actor: Actor) => boolean = () => false) {
  let allowed: Promise<boolean> | null = null;
  const warned = new Set<string>();
  // A runner imports after every peer turn, and the log ref's tree holds every turn's files (thousands
  // after days): what was seen before is remembered, so a turn costs its new files only.
  const memo: ImportMemo = { present: new Set(), trees: new Map() };
  const once = (key: string, line: string) => {
    if (warned.has(key)) return;
    warned.add(key);
    warn(line);
  };
  return async (actor: Actor, ref: string): Promise<void> => {
    if (skip(actor)) return;
    allowed ??= (async () => {
      const rel = relative(top, dir);
      if (rel.startsWith("..") || isAbsolute(rel)) return true;
      return (await git.ignoredPaths([`${rel}/.orch-import-probe`])).length > 0;
    })();
    try {
      if (!(await allowed)) {
        once("ignored", `${relative(top, dir) || "."} is not ignored by git: the peer's shipped logs are not copied here (add the log dir, logs/ by default, to .gitignore)`);
        return;
      }
      await importLogs(git, ref, dir, undefined, memo);
    } catch (e) {
      once("error", `could not write ${actor}'s shipped logs into ${dir} (${errorMessage(e)})`);
    }
  };
}

/**
 * Write the files of a fetched log ref that this clone does not have yet into
 * the local log dir. Returns how many were written. The tree is read through
 * cat-file (its folders are flat: one per actor and kind), so a runner's
 * long-lived cat-file answers it all without a process.
 */
/** What an importer remembers between imports (see peerLogImporter). */
export interface ImportMemo {
  /** Shipped files known to be in the log dir already. */
  present: Set<string>;
  /** The last tree read at each `<ref>:<folder>`: a new one that starts with its bytes only adds entries after them. */
  trees: Map<string, Buffer>;
}

export async function importLogs(git: Git, ref: string, branchDir: string, only?: Actor, memo: ImportMemo = { present: new Set(), trees: new Map() }): Promise<number> {
  const { present } = memo;
  const actors: Actor[] = only ? [only] : ["galph", "ralph"];
  const dirs = actors.flatMap((a) => [a, `${a}-summaries`]);
  const trees = await git.catFiles(dirs.map((d) => `${ref}:${d}`));
  const wanted: { path: string; sha: string }[] = [];
  dirs.forEach((dir, i) => {
    const tree = trees[i];
    if (tree?.type !== "tree") return;
    // Entry by entry, the name first: most are known to be here, and need no more than that. Names are
    // numbered by iteration, so a turn's files sort after the last ones: the bytes of the tree read last
    // time are skipped whole when the new tree starts with them.
    const body = tree.body;
    const hashBytes = tree.sha.length / 2;
    const key = `${ref}:${dir}`;
    const last = memo.trees.get(key);
    memo.trees.set(key, body);
    const from = last && body.length >= last.length && body.compare(last, 0, last.length, 0, last.length) === 0 ? last.length : 0;
    for (let at = from; at < body.length; ) {
      const space = body.indexOf(32, at);
      const nul = body.indexOf(0, space);
      if (space < 0 || nul < 0 || nul + 1 + hashBytes > body.length) break;
      const path = `${dir}/${body.toString("utf8", space + 1, nul)}`;
      const plain = space - at === 6 && body.toString("latin1", at, space) === "100644";
      const sha = nul + 1;
      at = nul + 1 + hashBytes;
      if (present.has(path) || !plain || !SHIPPABLE.test(path)) continue;
      if (existsSync(join(branchDir, path))) present.add(path);
      else wanted.push({ path, sha: body.toString("hex", sha, sha + hashBytes) });
    }
  });
  if (wanted.length === 0) return 0;
  const blobs = await git.catFiles(wanted.map((w) => w.sha));
  let written = 0;
  wanted.forEach((w, i) => {
    const blob = blobs[i];
    if (!blob || blob.type !== "blob") return;
    const target = join(branchDir, w.path);
    mkdirSync(dirname(target), { recursive: true });
    try {
      writeFileSync(target, blob.body, { flag: "wx" }); // never over a local file
      written++;
      present.add(w.path);
    } catch {
      // appeared meanwhile (a local write wins)
    }
  });
  return written;
}

