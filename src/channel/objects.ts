/**
 * Writing commits without touching the index, the working tree or HEAD: in
 * process as loose objects where the layout is plain (core/loose.ts), else one
 * `git fast-import` process writes any number of commits (a state commit, a
 * heartbeat, a batch of shipped logs) and reports their shas (`get-mark`), so
 * a push's commits cost one process together and no `rev-parse` after. No
 * hooks run (a reference-transaction hook would see orch's own refs move).
 */
import { NO_HOOKS, type Git } from "../core/git.ts";

export interface CommitSpec {
  /** Local ref the commit is written to (orch's own namespace). */
  ref: string;
  /** Parent commit (its tree is the starting point), or null for a parentless commit with only `files`. */
  parent: string | null;
  /** `mode` defaults to a plain file (100644). */
  files: { path: string; data: Uint8Array; mode?: string }[];
  message: string;
  /** `Name <email> <time> <tz>` lines; side-channel commits use orch's own. */
  author?: string;
  committer?: string;
}

/** fast-import quotes a path that needs it the C way. */
function quotePath(path: string): string {
  return /^["\s]|[\n\\"]|\s$/.test(path) ? JSON.stringify(path) : path;
}

/** Who side-channel commits are by (and when): orch itself, not the user. */
const orchIdent = () => `orch <orch@localhost> ${Math.floor(Date.now() / 1000)} +0000`;

function data(bytes: Uint8Array): Buffer[] {
  return [Buffer.from(`data ${bytes.length}\n`), Buffer.from(bytes), Buffer.from("\n")];
}

/** The fast-import commands for the commits, marked firstMark, firstMark+1, … */
function stream(specs: CommitSpec[], firstMark: number): Buffer {
  const orch = orchIdent();
  const parts: Buffer[] = [];
  specs.forEach((s, i) => {
    if (s.parent === null) parts.push(Buffer.from(`reset ${s.ref}\n`)); // start over: a parentless commit
    parts.push(Buffer.from(`commit ${s.ref}\nmark :${firstMark + i}\n`));
    if (s.author) parts.push(Buffer.from(`author ${s.author}\n`));
    parts.push(Buffer.from(`committer ${s.committer ?? orch}\n`), ...data(Buffer.from(s.message)));
    if (s.parent !== null) parts.push(Buffer.from(`from ${s.parent}\n`));
    for (const f of s.files) parts.push(Buffer.from(`M ${f.mode ?? "100644"} inline ${quotePath(f.path)}\n`), ...data(f.data));
    parts.push(Buffer.from("\n"));
  });
  return Buffer.concat(parts);
}

/**
 * Write the commits; returns their shas in order. A runner's long-lived
 * fast-import when there is one (no process per batch), else one of its own.
 */
export async function writeCommits(git: Git, specs: CommitSpec[]): Promise<string[]> {
  if (specs.length === 0) return [];
  const loose = await git.loose();
  if (loose) {
    try {
      const orch = orchIdent();
      return await loose.writeCommits(specs.map((s) => ({ ...s, committer: s.committer ?? orch })));
    } catch (e) {
      git.log(`[git] writing commits in-process failed (${(e as Error).message}); writing them with git fast-import`);
    }
  }
  if (git.importer) {
    try {
      return await git.importer.write(specs.length, (first) => stream(specs, first));
    } catch (e) {
      git.log(`[git] the kept fast-import failed (${(e as Error).message}); writing with one of its own`);
    }
  }
  const marks = specs.map((_, i) => `get-mark :${i + 1}\n`).join("");
  const r = await git.run([...NO_HOOKS, "fast-import", "--quiet", "--force"], { input: new Uint8Array(Buffer.concat([stream(specs, 1), Buffer.from(marks)])) });
  const shas = r.stdout.split("\n").filter((l) => /^[0-9a-f]{40,64}$/.test(l));
  if (shas.length !== specs.length) throw new Error(`git fast-import reported ${shas.length} commit(s) for ${specs.length}`);
  return shas;
}
