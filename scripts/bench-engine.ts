#!/usr/bin/env bun
/**
 * Engine benchmark (`make bench` runs it): what a sync iteration costs orch,
 * beside the raw-git floor (scripts/bench-floor.ts: the same protocol in plain
 * git commands) measured in the same run, in the same workspaces, in turn.
 * A local bare remote and two clones; `orch supervisor` and `orch loop` run
 * concurrently with instant agents (`true`) and `--poll-interval 0`, so what
 * is left is orchestration: process start-up, git calls, polling, the lock.
 * The side channel is on (heartbeats and shipped logs ride the pushes).
 * One iteration = one galph turn + one ralph turn.
 *
 * - time per iteration = wall time of the concurrent run / N, orch and the
 *   floor alternating round by round (the machine's load moves both);
 * - git processes per iteration: counting runs put a `git` wrapper first on
 *   PATH that logs each call (one file per runner) and execs the real git;
 * - the same in a tree of 50,000 files (built with fast-import);
 * - `orch --version` start-up time.
 * The floor does the protocol only: no side channel, no hygiene status, no
 * receipts or logs; what orch costs beyond it is those and its own code.
 * Targets (issue 17): at most 16 git processes per iteration (both runners;
 * issue 12: no more than the 38 of orch 0.1), a small-tree iteration within
 * 1.1× the floor, a 50,000-file one within 1.3×. Exit 1 when a target is
 * missed, 2 when a run fails.
 *
 * Usage: bun scripts/bench-engine.ts [--iterations N] [--runs N] [--big-files N] [--big-iterations N] [--keep]
 * (--big-files 0 skips the big tree). Env ORCH_BIN picks the binary (default dist/orch).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, release, type } from "node:os";
import { join } from "node:path";
import { children, cleanUpOnSignal, createWorkspace, ORCH, ROOT, run, type Workspace } from "./demo.ts";

const argv = process.argv.slice(2);
const opt = (name: string, dflt: number, min = 1) => {
  const i = argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(argv[i + 1]) : dflt;
  if (!Number.isInteger(v) || v < min) throw new Error(`--${name} needs a whole number of at least ${min}`);
  return v;
};
const ITERATIONS = opt("iterations", 10);
const RUNS = opt("runs", 4);
const BIG_FILES = opt("big-files", 50_000, 0);
const BIG_ITERATIONS = opt("big-iterations", 5);
const KEEP = argv.includes("--keep") || process.env.KEEP === "1";
const TARGET = { gitPerIteration: 16, gitPerIterationBefore: 38, smallRatio: 1.1, bigRatio: 1.3 };
const STARTUP_RUNS = 20;
const BRANCH = "bench/engine";
const FLOOR = join(ROOT, "scripts/bench-floor.ts");
/** A run that takes longer than this is stuck (instant agents). */
const RUN_TIMEOUT_MS = 120_000;
/** Workspaces in use (removed on Ctrl-C). */
const current = new Set<string>();

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

type System = "orch" | "floor";

interface RunResult {
  wallSec: number;
  /** Git commands per runner (empty when not counted). */
  calls: { supervisor: string[]; loop: string[] };
}

async function drain(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new Response(stream).text();
}

/** The workspace of a case: two clones on BRANCH, optionally with `files` more files in the tree. */
function workspace(files: number): Workspace {
  const ws = createWorkspace({ prefix: "orch-bench-", branch: BRANCH, supervisorAgent: ["true"], loopAgent: ["true"], pollInterval: 0, extraToml: ["[stalemate]", "cycles = 0"] });
  current.add(ws.root);
  if (files > 0) addFiles(ws, files);
  return ws;
}

/** `files` small files in 1,000-file folders, written by one fast-import on machine A, checked out on both machines. */
function addFiles(ws: Workspace, files: number): void {
  const parts: string[] = [`commit refs/heads/${BRANCH}\ncommitter bench <bench@orch.invalid> ${Math.floor(Date.now() / 1000)} +0000\ndata 11\nbulk files\nfrom refs/heads/${BRANCH}^0\n`];
  for (let i = 0; i < files; i++) {
    const body = `file ${i}\n`;
    parts.push(`M 100644 inline src/d${Math.floor(i / 1000)}/s${Math.floor(i / 100) % 10}/f${i}.txt\ndata ${body.length}\n${body}`);
  }
  parts.push("\n");
  const fi = Bun.spawnSync(["git", "fast-import", "--quiet"], { cwd: ws.a, env: ws.env, stdin: Buffer.from(parts.join("")), stdout: "pipe", stderr: "pipe" });
  if (fi.exitCode !== 0) throw new Error(`fast-import of ${files} files failed: ${fi.stderr.toString().trim()}`);
  ws.git(ws.a, "reset", "-q", "--hard");
  ws.git(ws.a, "push", "-q", "origin", `HEAD:refs/heads/${BRANCH}`);
  ws.git(ws.b, "fetch", "-q", "origin");
  ws.git(ws.b, "merge", "-q", "--ff-only", `origin/${BRANCH}`);
}

function remoteIteration(ws: Workspace): number {
  const r = run(["git", "show", `${BRANCH}:sync/state.json`], ws.remote, ws.env);
  return r.code === 0 ? (JSON.parse(r.stdout) as { iteration: number }).iteration : 1;
}

/** One concurrent supervisor + loop run (orch or the floor) of `iterations` iterations in `ws`, continuing where the last run left. */
async function benchRun(system: System, ws: Workspace, iterations: number, count: boolean, realGit: string): Promise<RunResult> {
  const binDir = join(ws.root, "bin");
  if (count) installGitWrapper(binDir, realGit);
  const logOf = (runner: string) => join(ws.root, `git-${runner}.log`);
  for (const runner of ["supervisor", "loop"]) rmSync(logOf(runner), { force: true });
  const envFor = (runner: string) => (count ? { ...ws.env, PATH: `${binDir}:${ws.env.PATH ?? ""}`, BENCH_GIT_LOG: logOf(runner) } : ws.env);
  const before = remoteIteration(ws);
  const flags = ["--sync-via-git", "--sync-loops", String(iterations), "--poll-interval", "0", "--max-wait-sec", "60"];
  const argvOf = (runner: "supervisor" | "loop") =>
    system === "orch" ? [ORCH, runner, ...flags] : [process.execPath, FLOOR, runner === "supervisor" ? "galph" : "ralph", runner === "supervisor" ? ws.a : ws.b, BRANCH, String(iterations)];
  const started = performance.now();
  const procs = (["supervisor", "loop"] as const).map((runner) => {
    const proc = Bun.spawn(argvOf(runner), { cwd: runner === "supervisor" ? ws.a : ws.b, env: envFor(runner), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
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
    if (r.code !== 0) throw new Error(`${system} ${r.runner} exited ${r.code}: ${(r.stderr || r.stdout).trim().split("\n").slice(-3).join(" | ")}`);
  }
  const after = remoteIteration(ws);
  if (after !== before + iterations) throw new Error(`${system}: expected iteration ${before + iterations} at the end, found ${after}`);
  const read = (runner: string) => (existsSync(logOf(runner)) ? readFileSync(logOf(runner), "utf8").split("\n").filter(Boolean).map(gitCommandOf) : []);
  return { wallSec, calls: { supervisor: read("supervisor"), loop: read("loop") } };
}

/** Polls that saw nothing move: an ls-remote not followed by a fetch. */
function idlePolls(calls: string[]): number {
  return calls.filter((c, i) => c.startsWith("ls-remote") && !calls[i + 1]?.startsWith("fetch")).length;
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

/** Git processes per iteration by command: orch's two runners and the floor's total. */
function breakdown(orch: RunResult, floor: RunResult, iterations: number): void {
  const kinds = new Map<string, { supervisor: number; loop: number; floor: number }>();
  const add = (k: string, col: "supervisor" | "loop" | "floor") => {
    const row = kinds.get(k) ?? { supervisor: 0, loop: 0, floor: 0 };
    row[col]++;
    kinds.set(k, row);
  };
  for (const runner of ["supervisor", "loop"] as const) for (const c of orch.calls[runner]) add(callKind(c), runner);
  for (const c of [...floor.calls.supervisor, ...floor.calls.loop]) add(callKind(c), "floor");
  const per = (n: number) => (n / iterations).toFixed(1);
  const rows = [...kinds.entries()].sort((a, b) => b[1].supervisor + b[1].loop - (a[1].supervisor + a[1].loop) || b[1].floor - a[1].floor);
  const width = Math.max(20, ...rows.map(([k]) => k.length));
  console.log(`\n  git processes per iteration by command (small tree, one counting run each):`);
  console.log(`    ${"command".padEnd(width)}  supervisor    loop   orch   floor`);
  for (const [k, v] of rows) console.log(`    ${k.padEnd(width)}  ${per(v.supervisor).padStart(10)}  ${per(v.loop).padStart(6)}  ${per(v.supervisor + v.loop).padStart(5)}  ${per(v.floor).padStart(6)}`);
}

/** RUNS rounds of orch and the floor in one workspace (each continues where the other left); per-iteration seconds of each. */
async function timeCase(name: string, files: number, iterations: number, realGit: string): Promise<{ orch: number[]; floor: number[]; ws: Workspace }> {
  const t = performance.now();
  const ws = workspace(files);
  if (files > 0) console.log(`  ${name}: built a ${files.toLocaleString("en")}-file tree in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const orch: number[] = [];
  const floor: number[] = [];
  for (let i = 1; i <= RUNS; i++) {
    // Which goes first alternates, so neither gains from going second (a warm cache, a quieter moment).
    const time = async (s: System) => (await benchRun(s, ws, iterations, false, realGit)).wallSec / iterations;
    let o: number, f: number;
    if (i % 2) [o, f] = [await time("orch"), await time("floor")];
    else [f, o] = [await time("floor"), await time("orch")];
    orch.push(o);
    floor.push(f);
    console.log(`  ${name} round ${i}/${RUNS}: orch ${(o * 1000).toFixed(0)} ms, floor ${(f * 1000).toFixed(0)} ms per iteration (${(o / f).toFixed(2)}×)`);
  }
  return { orch, floor, ws };
}

function dispose(ws: Workspace): void {
  if (KEEP) process.stderr.write(`kept ${ws.root}\n`);
  else rmSync(ws.root, { recursive: true, force: true });
  current.delete(ws.root);
}

async function main(): Promise<number> {
  if (!existsSync(ORCH)) {
    process.stderr.write(`bench-engine: ${ORCH} not found; run 'make build' first (or 'make bench')\n`);
    return 2;
  }
  cleanUpOnSignal(() => {
    if (!KEEP) for (const dir of current) rmSync(dir, { recursive: true, force: true });
  });
  const realGit = Bun.which("git");
  if (!realGit) {
    process.stderr.write("bench-engine: git not found on PATH\n");
    return 2;
  }
  const version = run([ORCH, "--version"], process.cwd(), process.env as Record<string, string>).stdout.trim();
  const gitVersion = run([realGit, "--version"], process.cwd(), process.env as Record<string, string>).stdout.trim();
  console.log(`engine benchmark: orch beside the raw-git floor; instant agents (true), --poll-interval 0, local bare remote, side channel on`);
  console.log(`  ${version}; ${gitVersion}; ${type()} ${release()}; ${cpus().length} CPU(s)`);

  let small: Awaited<ReturnType<typeof timeCase>>;
  let big: Awaited<ReturnType<typeof timeCase>> | null = null;
  let countOrch: RunResult;
  let countFloor: RunResult;
  try {
    small = await timeCase(`small tree, ${ITERATIONS} iterations`, 0, ITERATIONS, realGit);
    countOrch = await benchRun("orch", small.ws, ITERATIONS, true, realGit);
    countFloor = await benchRun("floor", small.ws, ITERATIONS, true, realGit);
    const n = (r: RunResult) => r.calls.supervisor.length + r.calls.loop.length;
    console.log(`  counting run: git processes: orch ${n(countOrch)} (supervisor ${countOrch.calls.supervisor.length}, loop ${countOrch.calls.loop.length}), floor ${n(countFloor)}`);
    dispose(small.ws);
    if (BIG_FILES > 0) {
      big = await timeCase(`${BIG_FILES.toLocaleString("en")} files, ${BIG_ITERATIONS} iterations`, BIG_FILES, BIG_ITERATIONS, realGit);
      dispose(big.ws);
    }
  } catch (e) {
    process.stderr.write(`bench-engine: ${(e as Error).message}\n`);
    for (const dir of current) if (!KEEP) rmSync(dir, { recursive: true, force: true });
    return 2;
  }
  const startup = startupSeconds();
  breakdown(countOrch, countFloor, ITERATIONS);

  const verdict = (ok: boolean) => (ok ? "PASS" : "FAIL");
  const ms = (s: number) => `${(s * 1000).toFixed(0)} ms`;
  const gitOrch = (countOrch.calls.supervisor.length + countOrch.calls.loop.length) / ITERATIONS;
  const gitFloor = (countFloor.calls.supervisor.length + countFloor.calls.loop.length) / ITERATIONS;
  // The ratio of each round (orch and the floor ran back to back), then their median: robust to a busy machine.
  const ratio = (c: { orch: number[]; floor: number[] }) => median(c.orch.map((o, i) => o / c.floor[i]!));
  const smallRatio = ratio(small);
  const bigRatio = big ? ratio(big) : null;
  const idle = (r: RunResult) => (idlePolls(r.calls.supervisor) + idlePolls(r.calls.loop)) / ITERATIONS;
  const gitOk = gitOrch <= TARGET.gitPerIteration;
  console.log(`\n  results (median of ${RUNS} rounds; the floor measured in the same rounds):`);
  console.log(`    git processes per iteration  orch ${gitOrch.toFixed(1)} (supervisor ${(countOrch.calls.supervisor.length / ITERATIONS).toFixed(1)}, loop ${(countOrch.calls.loop.length / ITERATIONS).toFixed(1)}), floor ${gitFloor.toFixed(1)}   target <= ${TARGET.gitPerIteration} (issue 12: <= ${TARGET.gitPerIterationBefore}: ${verdict(gitOrch <= TARGET.gitPerIterationBefore)})   ${verdict(gitOk)}`);
  console.log(`      without the polls that saw nothing move   orch ${(gitOrch - idle(countOrch)).toFixed(1)}, floor ${(gitFloor - idle(countFloor)).toFixed(1)}`);
  console.log(`    iteration, small tree        orch ${ms(median(small.orch))}, floor ${ms(median(small.floor))}: ${smallRatio.toFixed(2)}× the floor   target <= ${TARGET.smallRatio}×   ${verdict(smallRatio <= TARGET.smallRatio)}`);
  if (big && bigRatio !== null) {
    console.log(`    iteration, ${BIG_FILES.toLocaleString("en")} files     orch ${ms(median(big.orch))}, floor ${ms(median(big.floor))}: ${bigRatio.toFixed(2)}× the floor   target <= ${TARGET.bigRatio}×   ${verdict(bigRatio <= TARGET.bigRatio)}`);
  }
  console.log(`    orch --version start-up      ${(median(startup) * 1000).toFixed(1)} ms (median of ${STARTUP_RUNS}; min ${(Math.min(...startup) * 1000).toFixed(1)}, max ${(Math.max(...startup) * 1000).toFixed(1)})`);
  const ok = gitOk && smallRatio <= TARGET.smallRatio && (bigRatio === null || bigRatio <= TARGET.bigRatio);
  return ok ? 0 : 1;
}

if (import.meta.main) process.exit(await main());
