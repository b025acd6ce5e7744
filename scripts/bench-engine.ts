#!/usr/bin/env bun
/**
 * Engine benchmark (`make bench` runs it): orch's own cost per sync iteration.
 * A local bare remote and two clones; `orch supervisor` and `orch loop` run
 * concurrently for N iterations with instant agents (`true`) and
 * `--poll-interval 0`, so what is left is orchestration: process start-up,
 * git calls, polling, the lock. One iteration = one galph turn + one ralph turn.
 *
 * - overhead per iteration = wall time of the concurrent run / N
 *   (timing runs use the real git directly);
 * - git processes per iteration: counting runs put a `git` wrapper first on
 *   PATH that logs each call (one file per runner) and execs the real git;
 * - `orch --version` start-up time.
 * Targets: overhead < 0.15 s and at most 20 git processes per iteration (both
 * runners together). Exit 1 when a target is missed, 2 when a run fails.
 *
 * Usage: bun scripts/bench-engine.ts [--iterations N] [--runs N] [--keep]
 * Env ORCH_BIN picks the binary (default dist/orch).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, release, type } from "node:os";
import { join } from "node:path";
import { children, cleanUpOnSignal, createWorkspace, ORCH, run, type Workspace } from "./demo.ts";

const argv = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(argv[i + 1]) : dflt;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} needs a positive whole number`);
  return v;
};
const ITERATIONS = opt("iterations", 10);
const RUNS = opt("runs", 3);
const KEEP = argv.includes("--keep") || process.env.KEEP === "1";
const TARGET = { overheadSec: 0.15, gitPerIteration: 20 };
const STARTUP_RUNS = 20;
/** A run that takes longer than this is stuck (instant agents). */
const RUN_TIMEOUT_MS = 60_000;
/** The workspace of the run in progress (removed on Ctrl-C). */
let current: string | null = null;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * A `git` that logs its subcommand and arguments (one line per process) to
 * $BENCH_GIT_LOG, then becomes the real git. Git's own sub-processes resolve
 * git through its exec path, so only processes started by orch (or an agent) count.
 */
function installGitWrapper(dir: string, realGit: string): void {
  mkdirSync(dir, { recursive: true });
  const wrapper = join(dir, "git");
  writeFileSync(
    wrapper,
    `#!/bin/sh
if [ -n "\${BENCH_GIT_LOG:-}" ]; then
  line=$(printf '%s ' "$@" | tr '\\n\\t' '  ')
  printf '%s\\n' "$line" >>"$BENCH_GIT_LOG"
fi
exec ${JSON.stringify(realGit)} "$@"
`,
  );
  chmodSync(wrapper, 0o755);
}

/** `git -C x -c k=v fetch origin …` → "fetch origin …" (global options dropped). */
function gitCommandOf(line: string): string {
  const words = line.trim().split(/\s+/);
  let i = 0;
  while (i < words.length && words[i]!.startsWith("-")) i += ["-C", "-c", "--git-dir", "--work-tree", "--namespace"].includes(words[i]!) ? 2 : 1;
  return words.slice(i).join(" ");
}

/** Subcommand plus the first argument when it says what kind of call it is (rev-parse --git-dir vs rev-parse HEAD). */
function callKind(command: string): string {
  const [sub = "?", first] = command.split(" ");
  if (first && first.startsWith("-") && ["rev-parse", "symbolic-ref", "config", "ls-remote", "status", "log", "diff", "show"].includes(sub)) return `${sub} ${first}`;
  return sub;
}

interface RunResult {
  wallSec: number;
  /** Git commands per runner (empty when not counted). */
  calls: { supervisor: string[]; loop: string[] };
}

async function drain(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text();
}

/** One concurrent supervisor + loop run in a fresh workspace. */
async function benchRun(count: boolean, realGit: string): Promise<RunResult> {
  const ws: Workspace = createWorkspace({ prefix: "orch-bench-", branch: "bench/engine", supervisorAgent: ["true"], loopAgent: ["true"], pollInterval: 0, extraToml: ["[stalemate]", "cycles = 0"] });
  current = ws.root;
  try {
    const binDir = join(ws.root, "bin");
    if (count) installGitWrapper(binDir, realGit);
    const envFor = (runner: string) => {
      if (!count) return ws.env;
      return { ...ws.env, PATH: `${binDir}:${ws.env.PATH ?? ""}`, BENCH_GIT_LOG: join(ws.root, `git-${runner}.log`) };
    };
    const flags = ["--sync-via-git", "--sync-loops", String(ITERATIONS), "--poll-interval", "0", "--max-wait-sec", "50"];
    const started = performance.now();
    const procs = (["supervisor", "loop"] as const).map((runner) => {
      const proc = Bun.spawn([ORCH, runner, ...flags], { cwd: runner === "supervisor" ? ws.a : ws.b, env: envFor(runner), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
      children.add(proc);
      const killer = setTimeout(() => proc.kill("SIGTERM"), RUN_TIMEOUT_MS);
      return Promise.all([drain(proc.stdout), drain(proc.stderr), proc.exited]).then(([stdout, stderr, code]) => {
        clearTimeout(killer);
        children.delete(proc);
        return { runner, stdout, stderr, code };
      });
    });
    const results = await Promise.all(procs);
    const wallSec = (performance.now() - started) / 1000;
    for (const r of results) {
      if (r.code !== 0) throw new Error(`orch ${r.runner} exited ${r.code}: ${(r.stderr || r.stdout).trim().split("\n").slice(-3).join(" | ")}`);
    }
    const state = JSON.parse(ws.git(ws.remote, "show", `${ws.branch}:sync/state.json`));
    if (state.iteration !== ITERATIONS + 1) throw new Error(`expected iteration ${ITERATIONS + 1} at the end, found ${state.iteration}`);
    const read = (runner: string) => {
      const file = join(ws.root, `git-${runner}.log`);
      return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean).map(gitCommandOf) : [];
    };
    return { wallSec, calls: { supervisor: read("supervisor"), loop: read("loop") } };
  } finally {
    if (KEEP) process.stderr.write(`kept ${ws.root}\n`);
    else rmSync(ws.root, { recursive: true, force: true });
    current = null;
  }
}

function startupSeconds(): number[] {
  const times: number[] = [];
  for (let i = 0; i < STARTUP_RUNS + 1; i++) {
    const t = performance.now();
    const r = Bun.spawnSync([ORCH, "--version"], { stdout: "pipe", stderr: "pipe" });
    const dt = (performance.now() - t) / 1000;
    if (r.exitCode !== 0) throw new Error(`orch --version exited ${r.exitCode}`);
    if (i > 0) times.push(dt); // the first run warms the page cache
  }
  return times;
}

function breakdown(calls: { supervisor: string[]; loop: string[] }[]): void {
  const kinds = new Map<string, { supervisor: number; loop: number }>();
  for (const run of calls) {
    for (const runner of ["supervisor", "loop"] as const) {
      for (const c of run[runner]) {
        const k = callKind(c);
        const row = kinds.get(k) ?? { supervisor: 0, loop: 0 };
        row[runner]++;
        kinds.set(k, row);
      }
    }
  }
  const per = (n: number) => (n / calls.length / ITERATIONS).toFixed(1);
  const rows = [...kinds.entries()].sort((a, b) => b[1].supervisor + b[1].loop - (a[1].supervisor + a[1].loop));
  const width = Math.max(20, ...rows.map(([k]) => k.length));
  console.log(`\n  git processes per iteration by command (mean of ${calls.length} counting runs):`);
  console.log(`    ${"command".padEnd(width)}  supervisor    loop   total`);
  for (const [k, v] of rows) console.log(`    ${k.padEnd(width)}  ${per(v.supervisor).padStart(10)}  ${per(v.loop).padStart(6)}  ${per(v.supervisor + v.loop).padStart(6)}`);
}

async function main(): Promise<number> {
  if (!existsSync(ORCH)) {
    process.stderr.write(`bench-engine: ${ORCH} not found; run 'make build' first (or 'make bench')\n`);
    return 2;
  }
  cleanUpOnSignal(() => current && !KEEP && rmSync(current, { recursive: true, force: true }));
  const realGit = Bun.which("git");
  if (!realGit) {
    process.stderr.write("bench-engine: git not found on PATH\n");
    return 2;
  }
  const version = run([ORCH, "--version"], process.cwd(), process.env as Record<string, string>).stdout.trim();
  const gitVersion = run([realGit, "--version"], process.cwd(), process.env as Record<string, string>).stdout.trim();
  console.log(`engine benchmark: ${ITERATIONS} sync iterations, instant agents (true), --poll-interval 0, local bare remote`);
  console.log(`  ${version}; ${gitVersion}; ${type()} ${release()}; ${cpus().length} CPU(s)`);

  const timing: number[] = [];
  const counting: RunResult[] = [];
  try {
    for (let i = 1; i <= RUNS; i++) {
      const r = await benchRun(false, realGit);
      timing.push(r.wallSec);
      console.log(`  timing run ${i}/${RUNS}: ${r.wallSec.toFixed(2)} s wall = ${((r.wallSec / ITERATIONS) * 1000).toFixed(0)} ms per iteration`);
    }
    for (let i = 1; i <= RUNS; i++) {
      const r = await benchRun(true, realGit);
      counting.push(r);
      const s = r.calls.supervisor.length;
      const l = r.calls.loop.length;
      console.log(`  counting run ${i}/${RUNS}: git processes: supervisor ${s}, loop ${l}, total ${s + l} (${((s + l) / ITERATIONS).toFixed(1)} per iteration; wall ${r.wallSec.toFixed(2)} s with the wrapper)`);
    }
  } catch (e) {
    process.stderr.write(`bench-engine: ${(e as Error).message}\n`);
    return 2;
  }
  const startup = startupSeconds();

  const overhead = median(timing) / ITERATIONS;
  const perIter = (pick: (r: RunResult) => number) => median(counting.map(pick)) / ITERATIONS;
  const gitSup = perIter((r) => r.calls.supervisor.length);
  const gitLoop = perIter((r) => r.calls.loop.length);
  const gitTotal = perIter((r) => r.calls.supervisor.length + r.calls.loop.length);
  breakdown(counting.map((r) => r.calls));

  const verdict = (ok: boolean) => (ok ? "PASS" : "FAIL");
  const overheadOk = overhead < TARGET.overheadSec;
  // Each orch process is held to the target: one runner's git processes per iteration.
  const gitOk = Math.max(gitSup, gitLoop) <= TARGET.gitPerIteration;
  console.log(`\n  results (median of ${RUNS} runs each):`);
  console.log(`    overhead per iteration      ${(overhead * 1000).toFixed(0)} ms   target < ${TARGET.overheadSec * 1000} ms   ${verdict(overheadOk)}`);
  console.log(`    git processes per iteration supervisor ${gitSup.toFixed(1)}, loop ${gitLoop.toFixed(1)} (both ${gitTotal.toFixed(1)})   target <= ${TARGET.gitPerIteration} per runner   ${verdict(gitOk)}`);
  console.log(`    orch --version start-up     ${(median(startup) * 1000).toFixed(1)} ms (median of ${STARTUP_RUNS}; min ${(Math.min(...startup) * 1000).toFixed(1)}, max ${(Math.max(...startup) * 1000).toFixed(1)})`);
  return overheadOk && gitOk ? 0 : 1;
}

if (import.meta.main) process.exit(await main());
