#!/usr/bin/env bun
/**
 * `make demo`: two "machines" (clones of one temporary bare remote) take turns
 * on one branch. Machine A runs `orch supervisor --sync-via-git`, machine B
 * runs `orch loop --sync-via-git`, concurrently, for 3 iterations, with the
 * small agent scripts/demo-agent.sh. Then it prints the branch history, the
 * final state file, the logs (each machine has both actors', by the side
 * channel), `orch status`, the `orch tail` digest, `orch report` and, last,
 * `orch tail feature-demo -n 3 --source summaries`.
 * Hermetic: its own git config (no identity needed), a temp dir removed at the
 * end (KEEP=1 keeps it). Exits 0 when the run ended as it should.
 * The workspace helpers are exported for scripts/bench-engine.ts, the printing
 * ones for scripts/demo-pair.ts.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";

export const ROOT = resolve(import.meta.dir, "..");
export const ORCH = process.env.ORCH_BIN ?? join(ROOT, "dist/orch");
const DEMO_AGENT = join(ROOT, "scripts/demo-agent.sh");
const BRANCH = "feature/demo";
const LOOPS = 3;
/** orch's own waits give up after this; the demo kills stragglers a little later. */
const MAX_WAIT_SEC = 30;

/** Variables of the user's environment that would change what git or orch do. */
const LEAKY_ENV = /^(GIT_|ORCH_|SYNC_LOOPS$|POLL_INTERVAL$|MAX_WAIT_SEC$|STATE_FILE$|ORCHESTRATION_BRANCH$|CODEX_CMD$|CLAUDE_CMD$|HEARTBEAT_SECS$|LOOP_PROMPT$)/;

/** A git environment of our own: identity and defaults from a config file in `root`, nothing from the user or the system. */
export function hermeticEnv(root: string): Record<string, string> {
  const config = join(root, "gitconfig");
  writeFileSync(
    config,
    '[user]\n\tname = orch demo\n\temail = demo@orch.invalid\n[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n[advice]\n\tdetachedHead = false\n[protocol "file"]\n\tallow = always\n',
  );
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !LEAKY_ENV.test(k)) env[k] = v;
  return { ...env, HOME: root, GIT_CONFIG_GLOBAL: config, GIT_CONFIG_NOSYSTEM: "1", GIT_TERMINAL_PROMPT: "0", NO_COLOR: "1" };
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(argv: string[], cwd: string, env: Record<string, string>): Run {
  const r = Bun.spawnSync(argv, { cwd, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? 128, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

export interface Workspace {
  root: string;
  remote: string;
  branch: string;
  /** Machine A (runs the supervisor) and machine B (runs the loop). */
  a: string;
  b: string;
  env: Record<string, string>;
  git(cwd: string, ...args: string[]): string;
}

const tomlArray = (argv: string[]) => "[" + argv.map((a) => JSON.stringify(a)).join(", ") + "]";

/**
 * A temp dir with a bare remote whose `branch` holds prompts, .gitignore and an
 * orch.toml naming the two agents, and two clones of it on that branch.
 */
export function createWorkspace(opts: { prefix: string; branch: string; supervisorAgent: string[]; loopAgent: string[]; pollInterval: number; extraToml?: string[] }): Workspace {
  const root = mkdtempSync(join(tmpdir(), opts.prefix));
  const env = hermeticEnv(root);
  const git = (cwd: string, ...args: string[]) => {
    const r = run(["git", ...args], cwd, env);
    if (r.code !== 0) throw new Error(`git ${args.join(" ")} failed in ${cwd}: ${r.stderr.trim()}`);
    return r.stdout;
  };
  const remote = join(root, "remote.git");
  git(root, "init", "-q", "--bare", remote);
  const a = join(root, "machine-a");
  const b = join(root, "machine-b");
  // Machine A sets the project up and publishes the branch; machine B clones it.
  git(root, "clone", "-q", remote, a);
  git(a, "checkout", "-q", "-b", opts.branch);
  const files: Record<string, string> = {
    "README.md": "# orch demo project\n",
    "docs/fix_plan.md": "# Plan\n\n1. Steps 1 to 3, one per iteration (galph plans in input.md, ralph does them).\n",
    ".gitignore": "logs/\ntmp/\n",
    "prompts/supervisor.md": "You are galph, the supervisor. Read the project, then write the next instructions for ralph to input.md.\n",
    "prompts/main.md": "You are ralph, the engineer. Do what input.md asks, then commit.\n",
    "orch.toml": [
      "[supervisor]",
      `agent = ${tomlArray(opts.supervisorAgent)}`,
      "[loop]",
      `agent = ${tomlArray(opts.loopAgent)}`,
      "[sync]",
      `poll_interval = ${opts.pollInterval}`,
      ...(opts.extraToml ?? []),
      "",
    ].join("\n"),
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(a, path)), { recursive: true });
    writeFileSync(join(a, path), text);
  }
  git(a, "add", "-A");
  git(a, "commit", "-q", "-m", "Set up the demo project");
  git(a, "push", "-q", "-u", "origin", `HEAD:refs/heads/${opts.branch}`);
  git(root, "clone", "-q", "--branch", opts.branch, remote, b);
  return { root, remote, branch: opts.branch, a, b, env, git };
}

/** Child processes still running (killed on Ctrl-C before the workspace goes). */
export const children = new Set<{ kill(signal?: NodeJS.Signals | number): void; exited: Promise<number> }>();

/** On Ctrl-C or SIGTERM: stop the children, run `cleanup`, exit 130/143. */
export function cleanUpOnSignal(cleanup: () => void): void {
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    process.on(signal, async () => {
      for (const child of children) child.kill("SIGTERM");
      await Promise.race([Promise.all([...children].map((c) => c.exited)), Bun.sleep(3000)]);
      cleanup();
      process.exit(code);
    });
  }
}

// ---- the demo (scripts/demo-pair.ts borrows the printing helpers) ------------------------------------------------------------------

export const out = (line = "") => process.stdout.write(line + "\n");
export const heading = (title: string) => out(`\n── ${title} ${"─".repeat(Math.max(3, 72 - title.length))}`);
export const indent = (text: string, by = "  ") => text.replace(/\n$/, "").split("\n").map((l) => by + l).join("\n");

/** Copy a child's output to ours line by line, each line labelled with its machine. */
async function relay(stream: ReadableStream<Uint8Array>, label: string, keep: string[]): Promise<void> {
  const decoder = new TextDecoder();
  let pending = "";
  const emit = (line: string) => {
    keep.push(line);
    out(`${label} │ ${line}`);
  };
  for await (const chunk of stream) {
    pending += decoder.decode(chunk, { stream: true });
    const lines = pending.split("\n");
    pending = lines.pop()!;
    lines.forEach(emit);
  }
  if (pending) emit(pending);
}

export async function runMachine(label: string, cwd: string, args: string[], env: Record<string, string>): Promise<{ code: number; lines: string[] }> {
  const proc = Bun.spawn([ORCH, ...args], { cwd, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  children.add(proc);
  const killer = setTimeout(() => proc.kill("SIGTERM"), (MAX_WAIT_SEC + 15) * 1000);
  const lines: string[] = [];
  await Promise.all([relay(proc.stdout, label, lines), relay(proc.stderr, label, lines)]);
  const code = await proc.exited;
  clearTimeout(killer);
  children.delete(proc);
  return { code, lines };
}

/** Every file under `dir`, relative to `base`, sorted. */
function filesUnder(dir: string, base: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((p) => join(dir, p))
    .filter((p) => statSync(p).isFile())
    .map((p) => relative(base, p))
    .sort();
}

function showLogs(machine: string, dir: string): string[] {
  const logs = filesUnder(join(dir, "logs"), dir);
  heading(`${machine}: log files (${logs.length}: turn logs and summaries, its own and its peer's)`);
  for (const log of logs) out(`  ${log}  (${readFileSync(join(dir, log), "utf8").split("\n").length - 1} lines)`);
  const last = logs.at(-1);
  if (last) {
    out(`\n  ${last}:`);
    out(indent(readFileSync(join(dir, last), "utf8"), "    "));
  }
  return logs;
}

/** Run `orch <args>` on one machine under a heading, echoing its output; false when it failed. */
export function step(title: string, args: string[], cwd: string, env: Record<string, string>): boolean {
  heading(title);
  const r = run([ORCH, ...args], cwd, env);
  if (r.stdout) process.stdout.write(r.stdout.endsWith("\n") ? r.stdout : r.stdout + "\n");
  if (r.code !== 0) out(`  orch ${args[0]} exited ${r.code}: ${r.stderr.trim() || "(no message)"}`);
  return r.code === 0;
}

async function main(): Promise<number> {
  if (!existsSync(ORCH)) {
    process.stderr.write(`demo: ${ORCH} not found; run 'make build' first (or 'make demo')\n`);
    return 2;
  }
  const keep = process.env.KEEP === "1";
  const started = performance.now();
  const ws = createWorkspace({
    prefix: "orch-demo-",
    branch: BRANCH,
    supervisorAgent: ["sh", DEMO_AGENT, "galph"],
    loopAgent: ["sh", DEMO_AGENT, "ralph"],
    pollInterval: 0.1,
  });
  const removeWorkspace = () => keep || rmSync(ws.root, { recursive: true, force: true });
  cleanUpOnSignal(removeWorkspace);
  try {
    const common = ["--sync-via-git", "--sync-loops", String(LOOPS), "--max-wait-sec", String(MAX_WAIT_SEC)];
    out("orch demo: two machines, two agents, strict turns on one git branch");
    out(`  ${run([ORCH, "--version"], ws.root, ws.env).stdout.trim()}`);
    out(`  workspace  ${ws.root}${keep ? "  (kept: KEEP=1)" : "  (removed at the end; KEEP=1 keeps it)"}`);
    out(`  remote     ${relative(ws.root, ws.remote)}  branch ${BRANCH}  (bare, local)`);
    out(`  machine A  ${relative(ws.root, ws.a)}  runs: orch supervisor ${common.join(" ")}`);
    out(`  machine B  ${relative(ws.root, ws.b)}  runs: orch loop ${common.join(" ")}`);
    out(`  agents     ${relative(ROOT, DEMO_AGENT)} galph|ralph (poll interval 0.1 s, from orch.toml)`);

    heading("live output (A = machine A: supervisor/galph, B = machine B: loop/ralph)");
    const runStarted = performance.now();
    const [sup, loop] = await Promise.all([
      runMachine("A", ws.a, ["supervisor", ...common], ws.env),
      runMachine("B", ws.b, ["loop", ...common], ws.env),
    ]);
    const runSeconds = (performance.now() - runStarted) / 1000;
    out(`\n  machine A: orch supervisor exited ${sup.code}; machine B: orch loop exited ${loop.code}; ${runSeconds.toFixed(1)} s for ${LOOPS} iterations`);

    heading(`branch history: git log --oneline ${BRANCH} (on the remote)`);
    out(indent(ws.git(ws.remote, "log", "--oneline", BRANCH)));

    heading(`final state file: sync/state.json on ${BRANCH}`);
    const stateText = ws.git(ws.remote, "show", `${BRANCH}:sync/state.json`);
    out(indent(stateText));

    heading(`what the agents wrote: input.md and src/progress.txt on ${BRANCH}`);
    out(indent(ws.git(ws.remote, "show", `${BRANCH}:input.md`)));
    out("  ·");
    out(indent(ws.git(ws.remote, "show", `${BRANCH}:src/progress.txt`)));

    // Each machine holds its own logs and, through the side channel, its peer's.
    const aLogs = showLogs("machine A", ws.a);
    const bLogs = showLogs("machine B", ws.b);

    const state = JSON.parse(stateText);
    const problems: string[] = [];
    if (sup.code !== 0) problems.push(`orch supervisor exited ${sup.code}`);
    if (loop.code !== 0) problems.push(`orch loop exited ${loop.code}`);
    if (state.iteration !== LOOPS + 1 || state.expected_actor !== "galph" || state.status !== "complete") {
      problems.push(`final state is iteration=${state.iteration} expected_actor=${state.expected_actor} status=${state.status}, expected iteration=${LOOPS + 1} galph complete`);
    }
    const turnLogs = (logs: string[], actor: string) => logs.filter((l) => l.includes(`/${actor}/`) && l.endsWith(".log")).length;
    for (const [machine, logs] of [["A", aLogs], ["B", bLogs]] as const) {
      for (const actor of ["galph", "ralph"]) {
        if (turnLogs(logs, actor) !== LOOPS) problems.push(`machine ${machine} holds ${turnLogs(logs, actor)} ${actor} logs, expected ${LOOPS}`);
      }
    }

    const prefix = BRANCH.replace(/\//g, "-");
    if (!step("orch status (machine A)", ["status"], ws.a, ws.env)) problems.push("orch status failed");
    if (!step(`orch tail ${prefix} -n 1 (machine A: both actors' last logs; machine B's came by the side channel)`, ["tail", prefix, "-n", "1"], ws.a, ws.env)) problems.push("orch tail failed");
    if (!step("orch report (machine B: the morning report of the last 24 h)", ["report"], ws.b, ws.env)) problems.push("orch report failed");
    if (!step(`orch tail ${prefix} -n 3 --source summaries (machine A: what each turn says it did)`, ["tail", prefix, "-n", "3", "--source", "summaries"], ws.a, ws.env)) {
      problems.push("orch tail --source summaries failed");
    }
    out(`\n  total ${((performance.now() - started) / 1000).toFixed(1)} s; ${problems.length === 0 ? "the demo ran as expected" : "PROBLEMS: " + problems.join("; ")}`);
    return problems.length === 0 ? 0 : 1;
  } finally {
    removeWorkspace();
  }
}

if (import.meta.main) process.exit(await main());
