/**
 * What a turn leaves behind besides its stamp's subject: the receipt (git
 * trailers in the stamp's body, SPEC §14) and a short markdown summary
 * (issue 18), both from one `git log --numstat` of the turn's commits.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import picomatch from "picomatch";
import type { Git } from "../core/git.ts";
import type { TurnFacts } from "../agents/index.ts";

export interface TurnChanges {
  commits: { short: string; subject: string }[];
  files: { path: string; add: number; del: number; doc: boolean }[];
  /** git's abbreviation of HEAD (the newest commit listed), when there were commits: the stamp's `<sha>`, without a `rev-parse --short`. */
  headShort?: string;
}

/** A turn that made no commit after its mark (HEAD is the mark): nothing to ask git. */
export const NO_CHANGES: TurnChanges = { commits: [], files: [] };

/** The commits after our mark (the agent's and the auto-commits) and the files they touched, without the state file. */
export async function turnChanges(git: Git, markSha: string, stateRel: string, docGlobs: readonly string[]): Promise<TurnChanges> {
  // -z: "\0\x01<short>\0<subject>\0" per commit, then "\n<add>\t<del>\t<path>\0" per file (\x01 marks a commit).
  const r = await git.run(["log", "--no-renames", "--format=%x00%x01%h%x00%s", "--numstat", "-z", `${markSha}..HEAD`], { allowFail: true });
  const isDoc = docGlobs.length ? picomatch([...docGlobs], { dot: true }) : () => false;
  const commits: TurnChanges["commits"] = [];
  const byPath = new Map<string, { add: number; del: number }>();
  const tokens = r.code === 0 ? r.stdout.split("\0") : [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.startsWith("\x01")) {
      commits.push({ short: t.slice(1), subject: tokens[++i] ?? "" });
      continue;
    }
    const m = /^\n?(-|\d+)\t(-|\d+)\t([\s\S]+)$/.exec(t);
    if (!m || m[3] === stateRel) continue;
    const prev = byPath.get(m[3]!) ?? { add: 0, del: 0 };
    byPath.set(m[3]!, { add: prev.add + (m[1] === "-" ? 0 : Number(m[1])), del: prev.del + (m[2] === "-" ? 0 : Number(m[2])) });
  }
  const files = [...byPath].map(([path, n]) => ({ path, ...n, doc: isDoc(path) }));
  const headShort = commits[0]?.short;
  return { commits: commits.reverse(), files, ...(headShort ? { headShort } : {}) };
}

/** `files=3 add=120 del=4 code_files=2 code_add=100 code_del=4 doc_files=1 doc_add=20 doc_del=0`. */
export function diffstatTrailer(c: TurnChanges): string {
  const sum = (fs: TurnChanges["files"]) => ({ n: fs.length, add: fs.reduce((a, f) => a + f.add, 0), del: fs.reduce((a, f) => a + f.del, 0) });
  const all = sum(c.files);
  const code = sum(c.files.filter((f) => !f.doc));
  const doc = sum(c.files.filter((f) => f.doc));
  return `files=${all.n} add=${all.add} del=${all.del} code_files=${code.n} code_add=${code.add} code_del=${code.del} doc_files=${doc.n} doc_add=${doc.add} doc_del=${doc.del}`;
}

/** `kind=claude version=2.1.197 model=claude-sonnet-4-5` (absent parts left out). */
export function agentTrailer(kind: string, facts: TurnFacts, argvVersion: string | null): string {
  // `codex-cli 0.171.0` → 0.171.0: the number is what a reader compares.
  const version = facts.agentVersion ?? (argvVersion ? (/\d+\.\d+(?:\.\d+)*/.exec(argvVersion)?.[0] ?? argvVersion) : null);
  return [`kind=${kind}`, version ? `version=${version.replace(/\s+/g, "_")}` : "", facts.model ? `model=${facts.model}` : ""].filter(Boolean).join(" ");
}

export function tokensTrailer(facts: TurnFacts): string {
  const t = facts.tokens;
  if (!t) return "";
  return [`input=${t.input}`, `output=${t.output}`, t.cacheRead !== undefined ? `cache_read=${t.cacheRead}` : "", t.cacheWrite !== undefined ? `cache_write=${t.cacheWrite}` : ""].filter(Boolean).join(" ");
}

/** `logs/<branch>/<actor>-summaries/iter-NNNNN_<stamp>-summary.md` beside a log `…/<actor>/iter-NNNNN_<stamp>[_<prompt>].log`. */
export function summaryPathFor(logPath: string): string {
  const name = basename(logPath).replace(/\.log$/, "");
  const m = /^(iter-\d+_\d{8}_\d{6})/.exec(name);
  const actorDir = dirname(logPath);
  return join(dirname(actorDir), `${basename(actorDir)}-summaries`, `${m ? m[1] : name}-summary.md`);
}

export interface SummaryInput {
  path: string;
  actor: string;
  iteration: number;
  outcome: string;
  durationSec: number;
  agent: string;
  costUsd: number | null;
  finalMessage: string | null;
  changes: TurnChanges;
  reason: string | null;
}

const FINAL_MAX = 6000;

/**
 * orch's own summary of a turn, unless the agent wrote one there (an
 * agent-written summary always wins and is never overwritten). Returns the path written, or null.
 */
export function writeSummary(s: SummaryInput): string | null {
  if (existsSync(s.path)) return null;
  const dur = s.durationSec >= 60 ? `${Math.floor(s.durationSec / 60)}m${String(s.durationSec % 60).padStart(2, "0")}s` : `${s.durationSec}s`;
  const head = [`${s.actor} i=${s.iteration}`, s.outcome, dur, s.agent, s.costUsd !== null ? `$${s.costUsd.toFixed(2)}` : ""].filter(Boolean).join(" · ");
  const lines = [`# ${head}`, ""];
  if (s.reason) lines.push(`Failed: ${s.reason}`, "");
  let final = (s.finalMessage ?? "").trim();
  if (final.length > FINAL_MAX) final = final.slice(0, FINAL_MAX) + "\n…";
  lines.push("## Final message", "", final || "(none)", "");
  lines.push("## Commits", "");
  if (s.changes.commits.length === 0) lines.push("(none)");
  for (const c of s.changes.commits) lines.push(`- ${c.short} ${c.subject}`);
  lines.push("", "## Files", "");
  if (s.changes.files.length === 0) lines.push("(none)");
  for (const f of s.changes.files.slice(0, 60)) lines.push(`- ${f.path} (+${f.add} −${f.del})${f.doc ? "" : " code"}`);
  if (s.changes.files.length > 60) lines.push(`- … and ${s.changes.files.length - 60} more`);
  try {
    mkdirSync(dirname(s.path), { recursive: true });
    writeFileSync(s.path, lines.join("\n") + "\n", { flag: "wx" });
  } catch {
    return null; // the agent's (written at the last moment) wins; or the log dir cannot be written (said already)
  }
  return s.path;
}
