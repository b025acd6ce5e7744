// Report benchmark (`make bench` runs it): a branch with months of history,
// N iterations (default 2,000) of running marks, work commits and stamps with
// receipt trailers, written with one `git fast-import`; then times
// `orch report --no-fetch` over all of it as text, JSON and HTML, and once
// more on a history stamped without receipts (the old tool), where the
// code-vs-docs split is counted with `git log --numstat`.
//
// Usage: bun scripts/bench-report.ts [--iterations N] [--runs N] [--keep]
// Env ORCH_BIN picks the binary (default dist/orch).
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { initialState, markRunning, serializeState, stampOutcome, subjects, type State } from "../src/core/state.ts";

const ROOT = resolve(import.meta.dir, "..");
const BIN = process.env.ORCH_BIN ?? join(ROOT, "dist/orch");
const argv = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const ITERATIONS = opt("iterations", 2000);
const RUNS = opt("runs", 5);
const KEEP = argv.includes("--keep");
const TARGET_MS = 1000;
const BRANCH = "feature/bench";

const env: Record<string, string> = {
  ...(process.env as Record<string, string>),
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  NO_COLOR: "1",
};

function git(cwd: string, args: string[], input?: string): string {
  const r = Bun.spawnSync(["git", ...args], { cwd, env, stdin: input === undefined ? "ignore" : Buffer.from(input), stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

/** The fast-import stream of the whole history, one iteration every ~65 minutes up to an hour ago. */
function history(receipts: boolean): { stream: string; commits: number; days: number } {
  const out: string[] = [];
  const step = 65 * 60;
  const end = Math.floor(Date.now() / 1000) - 3600;
  let t = end - ITERATIONS * step;
  const days = Math.round((ITERATIONS * step) / 86400);
  let state: State = initialState(new Date(t * 1000));
  let mark = 0;
  let commits = 0;
  const commit = (message: string, files: Record<string, string>) => {
    mark++;
    commits++;
    out.push(`commit refs/heads/${BRANCH}\nmark :${mark}\ncommitter Bench <bench@example.com> ${t} +0000\ndata ${Buffer.byteLength(message)}\n${message}\n`);
    for (const [path, content] of Object.entries(files)) out.push(`M 100644 inline ${path}\ndata ${Buffer.byteLength(content)}\n${content}\n`);
  };
  const putState = (s: State, message: string) => {
    state = s;
    commit(message, { "sync/state.json": serializeState(s) });
  };
  const at = () => new Date(t * 1000);
  putState(state, subjects.init());
  for (let i = 1; i <= ITERATIONS; i++) {
    for (const actor of ["galph", "ralph"] as const) {
      t += 60;
      putState(markRunning(state, actor, at()), `${subjects.running(actor, state.iteration)}\n\nOrch-Runner: host=h-${actor} clone=c1 pid=1\n`);
      const started = t;
      t += actor === "galph" ? 300 + (i % 7) * 20 : 1500 + (i % 11) * 60;
      commit(`${actor} work ${i}`, actor === "galph" ? { "docs/fix_plan.md": `plan ${i}\n` } : { [`src/m${i % 50}.ts`]: `export const v = ${i};\n`, "README.md": `readme ${i}\n` });
      t += 30;
      const fail = actor === "ralph" && i % 40 === 0;
      const trailers = receipts
        ? [
            `Orch-Duration: ${t - started}s`,
            `Orch-Exit: ${fail ? 3 : 0}`,
            `Orch-Agent: kind=${actor === "galph" ? "codex" : "claude"} version=1.0.0 model=m`,
            `Orch-Session: s-${i}-${actor}`,
            `Orch-Cost-USD: ${(0.05 + (i % 13) * 0.01).toFixed(4)}`,
            `Orch-Tokens: input=${1000 + i} output=${200 + i} cache_read=0 cache_write=0`,
            `Orch-Attempts: ${i % 25 === 0 ? 2 : 1}`,
            `Orch-Limit-Wait: ${i % 100 === 0 ? 1800 : 0}s`,
            actor === "galph"
              ? "Orch-Diffstat: files=1 add=1 del=1 code_files=0 code_add=0 code_del=0 doc_files=1 doc_add=1 doc_del=1"
              : "Orch-Diffstat: files=2 add=2 del=2 code_files=2 code_add=2 code_del=2 doc_files=0 doc_add=0 doc_del=0",
            `Orch-Host: h-${actor}`,
            `Orch-Started: ${new Date(started * 1000).toISOString().replace(/\.000Z$/, "Z")}`,
            `Orch-Log: logs/feature-bench/${actor}/iter-${String(i).padStart(5, "0")}.log`,
            ...(fail ? ["Orch-Reason: agent exited 3"] : []),
          ].join("\n")
        : "";
      const sha = (mark + 1).toString(16).padStart(7, "0");
      const next = stampOutcome(state, actor, fail ? "fail" : "ok", sha, at());
      putState(fail ? { ...next, expected_actor: "galph", status: "complete", iteration: state.iteration + 1 } : next, `${subjects.stamp(actor, fail ? "fail" : "ok", next.iteration, sha)}${trailers ? `\n\n${trailers}\n` : ""}`);
      t += 60;
    }
    t = Math.max(t, end - (ITERATIONS - i) * step);
  }
  return { stream: out.join("") + "done\n", commits, days };
}

function makeRepo(receipts: boolean): { dir: string; commits: number; days: number } {
  const dir = mkdtempSync(join(tmpdir(), "orch-bench-report-"));
  git(dir, ["init", "-q"]);
  const h = history(receipts);
  git(dir, ["fast-import", "--quiet", "--done"], h.stream);
  git(dir, ["symbolic-ref", "HEAD", `refs/heads/${BRANCH}`]);
  return { dir, commits: h.commits, days: h.days };
}

function time(dir: string, args: string[]): { ms: number; bytes: number } {
  const runs: number[] = [];
  let bytes = 0;
  for (let k = 0; k < RUNS; k++) {
    const started = performance.now();
    const r = Bun.spawnSync([BIN, "report", "--no-fetch", ...args], { cwd: dir, env, stdout: "pipe", stderr: "pipe" });
    runs.push(performance.now() - started);
    if (r.exitCode !== 0) throw new Error(`orch report ${args.join(" ")} exited ${r.exitCode}: ${r.stderr.toString()}`);
    bytes = r.stdout.length;
  }
  runs.sort((a, b) => a - b);
  return { ms: runs[Math.floor(runs.length / 2)]!, bytes };
}

const withReceipts = makeRepo(true);
const oldTool = makeRepo(false);
console.log(`history: ${ITERATIONS} iterations over ${withReceipts.days} days, ${withReceipts.commits} commits on ${BRANCH}; median of ${RUNS} runs`);
const since = ["--since", `${withReceipts.days + 2}d`];
const html = join(withReceipts.dir, "report.html");
const rows: [string, { ms: number; bytes: number }, boolean][] = [
  ["text", time(withReceipts.dir, since), true],
  ["--json", time(withReceipts.dir, [...since, "--json"]), true],
  ["--html", time(withReceipts.dir, [...since, "--html", html]), true],
  ["old tool (numstat), text", time(oldTool.dir, since), true],
  ["last 24h, text", time(withReceipts.dir, []), true],
];
let missed = false;
for (const [name, r, targeted] of rows) {
  const over = targeted && r.ms > TARGET_MS;
  if (over) missed = true;
  console.log(`orch report ${name.padEnd(26)} ${r.ms.toFixed(0).padStart(5)} ms  | target < ${TARGET_MS} ms${over ? "  MISSED" : ""}`);
}
console.log(`html page: ${(statSync(html).size / 1024 / 1024).toFixed(1)} MiB for ${ITERATIONS * 2} turns`);
if (!KEEP) {
  rmSync(withReceipts.dir, { recursive: true, force: true });
  rmSync(oldTool.dir, { recursive: true, force: true });
} else console.log(`kept: ${withReceipts.dir} ${oldTool.dir}`);
if (missed) process.exitCode = 1;
