/**
 * Writing side-channel commits without touching the index, the working tree
 * or HEAD: one `git fast-import` process writes any number of commits (a
 * heartbeat, a batch of shipped logs) and reports their shas.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Git } from "../core/git.ts";

export interface CommitSpec {
  /** Local ref the commit is written to (orch's own namespace). */
  ref: string;
  /** Parent commit (its tree is the starting point), or null for a parentless commit with only `files`. */
  parent: string | null;
  files: { path: string; data: Uint8Array }[];
  message: string;
}

/** fast-import quotes a path that needs it the C way. */
function quotePath(path: string): string {
  return /^["\s]|[\n\\"]|\s$/.test(path) ? JSON.stringify(path) : path;
}

function data(bytes: Uint8Array): Buffer[] {
  return [Buffer.from(`data ${bytes.length}\n`), Buffer.from(bytes), Buffer.from("\n")];
}

/** Write the commits; returns their shas in order. */
export async function writeCommits(git: Git, specs: CommitSpec[]): Promise<string[]> {
  if (specs.length === 0) return [];
  const now = Math.floor(Date.now() / 1000);
  const parts: Buffer[] = [];
  specs.forEach((s, i) => {
    if (s.parent === null) parts.push(Buffer.from(`reset ${s.ref}\n`)); // start over: a parentless commit
    parts.push(Buffer.from(`commit ${s.ref}\nmark :${i + 1}\ncommitter orch <orch@localhost> ${now} +0000\n`), ...data(Buffer.from(s.message)));
    if (s.parent !== null) parts.push(Buffer.from(`from ${s.parent}\n`));
    for (const f of s.files) parts.push(Buffer.from(`M 100644 inline ${quotePath(f.path)}\n`), ...data(f.data));
    parts.push(Buffer.from("\n"));
  });
  const dir = mkdtempSync(join(tmpdir(), "orch-marks-"));
  const marks = join(dir, "marks");
  try {
    await git.run(["fast-import", "--quiet", "--force", `--export-marks=${marks}`], { input: new Uint8Array(Buffer.concat(parts)) });
    const byMark = new Map(
      readFileSync(marks, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => [l.split(" ")[0]!, l.split(" ")[1]!] as const),
    );
    return specs.map((_, i) => byMark.get(`:${i + 1}`)!);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
