#!/usr/bin/env bun
/**
 * `make demo-pair`: the one-machine start. In a fresh repository without a
 * remote it runs what a new user types: `orch init --pair`, names the
 * agents in orch.toml (scripts/demo-agent.sh in place of codex and claude, a
 * review every 3rd iteration), checks with `orch doctor --for pair`, then
 * `orch pair --sync-loops 3`: galph then
 * ralph, three times, in one clone, through the same turn engine as two
 * machines. Then the branch history, `orch status`, `orch report` and, last,
 * `orch tail feature-pair -n 3 --source summaries`.
 * Hermetic like `make demo`; KEEP=1 keeps the temporary directory. Exits 0
 * when the run ended as it should.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { ORCH, ROOT, children, cleanUpOnSignal, heading, hermeticEnv, indent, out, run, runMachine, step } from "./demo.ts";

const BRANCH = "feature/pair";
const LOOPS = 3;
const DEMO_AGENT = join(ROOT, "scripts/demo-agent.sh");

const tomlArray = (argv: string[]) => "[" + argv.map((a) => JSON.stringify(a)).join(", ") + "]";

/** Uncomment-and-set one `# key = …` line of a section in the orch.toml that `orch init` wrote. */
function setting(toml: string, section: string, key: string, value: string): string {
  const start = toml.indexOf(`[${section}]\n`);
  const line = new RegExp(`^# ${key} = .*$`, "m");
  const at = start < 0 ? -1 : toml.slice(start).search(line);
  if (at < 0) throw new Error(`orch init's orch.toml has no '# ${key} = …' line under [${section}]`);
  const rest = toml.slice(start + at);
  return toml.slice(0, start + at) + rest.replace(line, `${key} = ${value}`);
}

async function main(): Promise<number> {
  if (!existsSync(ORCH)) {
    process.stderr.write(`demo-pair: ${ORCH} not found; run 'make build' first (or 'make demo-pair')\n`);
    return 2;
  }
  const keep = process.env.KEEP === "1";
  const started = performance.now();
  const root = mkdtempSync(join(tmpdir(), "orch-demo-pair-"));
  const env = hermeticEnv(root);
  const removeRoot = () => keep || rmSync(root, { recursive: true, force: true });
  cleanUpOnSignal(removeRoot);
  const repo = join(root, "project");
  const git = (...args: string[]) => {
    const r = run(["git", ...args], repo, env);
    if (r.code !== 0) throw new Error(`git ${args.join(" ")} failed: ${r.stderr.trim()}`);
    return r.stdout;
  };
  try {
    out("orch demo-pair: one machine, both agents, strict turns in one clone (no remote)");
    out(`  ${run([ORCH, "--version"], root, env).stdout.trim()}`);
    out(`  project  ${repo}${keep ? "  (kept: KEEP=1)" : "  (removed at the end; KEEP=1 keeps it)"}`);
    mkdirSync(join(repo, "docs"), { recursive: true });
    git("init", "-q", "-b", BRANCH);
    writeFileSync(join(repo, "README.md"), "# orch pair demo project\n");
    writeFileSync(join(repo, "docs/fix_plan.md"), "# Plan\n\n1. Steps 1 to 3, one per iteration.\n");
    git("add", "-A");
    git("commit", "-q", "-m", "Start the project");

    const problems: string[] = [];
    if (!step("orch init --pair", ["init", "--pair"], repo, env)) problems.push("orch init failed");

    heading("name the agents in orch.toml (scripts/demo-agent.sh stands in for codex and claude)");
    let toml = readFileSync(join(repo, "orch.toml"), "utf8");
    const edits: [string, string, string][] = [
      ["supervisor", "agent", tomlArray(["sh", DEMO_AGENT, "galph"])],
      ["loop", "agent", tomlArray(["sh", DEMO_AGENT, "ralph"])],
      ["pair", "review_every", "3"],
    ];
    for (const [section, key, value] of edits) {
      toml = setting(toml, section, key, value);
      out(`  [${section}] ${key} = ${value.replace(ROOT + "/", "")}`);
    }
    writeFileSync(join(repo, "orch.toml"), toml);
    git("commit", "-q", "-am", "Name the agents");
    if (!step("orch doctor --for pair", ["doctor", "--for", "pair"], repo, env)) problems.push("orch doctor --for pair found a problem");

    heading(`live output: orch pair --sync-loops ${LOOPS}`);
    const pair = await runMachine("pair", repo, ["pair", "--sync-loops", String(LOOPS)], env);
    if (pair.code !== 0) problems.push(`orch pair exited ${pair.code}`);

    heading(`branch history: git log --oneline ${BRANCH}`);
    out(indent(git("log", "--oneline", BRANCH)));

    const state = JSON.parse(git("show", `${BRANCH}:sync/state.json`));
    if (state.iteration !== LOOPS + 1 || state.expected_actor !== "galph" || state.status !== "complete") {
      problems.push(`final state is iteration=${state.iteration} expected_actor=${state.expected_actor} status=${state.status}, expected iteration=${LOOPS + 1} galph complete`);
    }
    const reviewerLog = git("log", "--format=%(trailers:key=Orch-Prompt,valueonly)").includes("prompts/reviewer.md");
    if (!reviewerLog) problems.push(`no turn ran prompts/reviewer.md (pair.review_every = 3)`);

    const prefix = BRANCH.replace(/\//g, "-");
    if (!step("orch status", ["status"], repo, env)) problems.push("orch status failed");
    if (!step("orch report", ["report"], repo, env)) problems.push("orch report failed");
    if (!step(`orch tail ${prefix} -n 3 --source summaries`, ["tail", prefix, "-n", "3", "--source", "summaries"], repo, env)) problems.push("orch tail --source summaries failed");
    out(`\n  logs in ${relative(root, join(repo, "logs", prefix))}/; total ${((performance.now() - started) / 1000).toFixed(1)} s; ${problems.length === 0 ? "the demo ran as expected" : "PROBLEMS: " + problems.join("; ")}`);
    return problems.length === 0 ? 0 : 1;
  } finally {
    for (const child of children) child.kill("SIGTERM");
    removeRoot();
  }
}

if (import.meta.main) process.exit(await main());
