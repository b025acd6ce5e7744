#!/usr/bin/env bun
/**
 * The raw-git floor of the engine benchmark: one runner of the same protocol
 * as `orch supervisor|loop --sync-via-git`, done with plain git commands and
 * nothing else — no side channel, no hygiene, no receipts, no logs. It is what
 * a sync iteration cannot cost less than with git as the transport; the
 * benchmark runs it in the same workspaces, the same way, beside orch.
 *
 * Per turn (a handoff): the wait polls `ls-remote` (with orch's own back-off,
 * src/engine/wait.ts) and on a move `fetch`es the branch and reads the state
 * through one persistent `cat-file --batch`; then `merge --ff-only`, the
 * running mark (`commit` + `push`), the agent (`true`), the stamp (`commit`
 * + `push`): 7 git processes per handoff plus the polls. The state bytes and
 * subjects are orch's (src/core/state.ts). Pushes are plain (a non-fast-forward
 * is refused: the compare-and-swap); the short sha comes from `commit`'s own
 * output line. Git runs with background maintenance off, as orch's calls do.
 *
 * Usage: bun scripts/bench-floor.ts galph|ralph <clone dir> <branch> <iterations>
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { initialState, markRunning, parseState, serializeState, stampOutcome, subjects, type Actor, type State } from "../src/core/state.ts";
import { pollDelay } from "../src/engine/wait.ts";

const [actorArg, dir, branch, iterationsArg] = process.argv.slice(2);
if ((actorArg !== "galph" && actorArg !== "ralph") || !dir || !branch || !iterationsArg) {
  process.stderr.write("usage: bun scripts/bench-floor.ts galph|ralph <clone dir> <branch> <iterations>\n");
  process.exit(2);
}
const actor: Actor = actorArg;
const iterations = Number(iterationsArg);
const STATE = "sync/state.json";
const MAX_WAIT_MS = 60_000;

const env: Record<string, string> = { ...(process.env as Record<string, string>), LC_ALL: "C", GIT_CONFIG_COUNT: "2", GIT_CONFIG_KEY_0: "maintenance.auto", GIT_CONFIG_VALUE_0: "false", GIT_CONFIG_KEY_1: "gc.auto", GIT_CONFIG_VALUE_1: "0" };

const TRACE = process.env.ORCH_TRACE === "1";

async function git(...args: string[]): Promise<string> {
  const t0 = performance.now();
  const p = Bun.spawn(["git", ...args], { cwd: dir, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (TRACE) process.stderr.write(`[git] +${t0.toFixed(0)}ms ${(performance.now() - t0).toFixed(0)}ms ${args.join(" ")}\n`);
  if (code !== 0) throw new Error(`git ${args.join(" ")}: ${err.trim() || out.trim()}`);
  return out;
}

/** One cat-file for the whole run, as a runner keeps one. */
const cat = Bun.spawn(["git", "cat-file", "--batch"], { cwd: dir, env, stdin: "pipe", stdout: "pipe", stderr: "ignore" });
const catReader = cat.stdout.getReader();
let catBuf = Buffer.alloc(0);
async function catRead(need: (b: Buffer) => number): Promise<Buffer> {
  for (;;) {
    const n = need(catBuf);
    if (n >= 0) {
      const out = catBuf.subarray(0, n);
      catBuf = catBuf.subarray(n);
      return out;
    }
    const { done, value } = await catReader.read();
    if (done) throw new Error("cat-file ended");
    catBuf = Buffer.concat([catBuf, value]);
  }
}
async function stateAt(rev: string): Promise<State | null> {
  cat.stdin.write(`${rev}:${STATE}\n`);
  cat.stdin.flush();
  const header = (await catRead((b) => (b.indexOf(10) < 0 ? -1 : b.indexOf(10) + 1))).toString().trim();
  const m = /^[0-9a-f]+ blob (\d+)$/.exec(header);
  if (!m) return null;
  const body = await catRead((b) => (b.length >= Number(m[1]) + 1 ? Number(m[1]) + 1 : -1));
  return parseState(body.subarray(0, Number(m[1])).toString(), STATE);
}

const tracking = `refs/remotes/origin/${branch}`;
let seen = "";
let view: State | null = null;

/** Poll until `ready`; a move is fetched and its state read. */
async function waitFor(ready: (s: State) => boolean): Promise<void> {
  const started = Date.now();
  let polls = 0;
  for (;;) {
    if (view && ready(view)) return;
    if (Date.now() - started > MAX_WAIT_MS) throw new Error(`${actor}: gave up waiting`);
    await Bun.sleep(pollDelay(0, polls++));
    const line = (await git("ls-remote", "origin", `refs/heads/${branch}`)).split("\t")[0]!.trim();
    if (line && line !== seen) {
      seen = line;
      await git("fetch", "--quiet", "--no-tags", "origin", `+refs/heads/${branch}:${tracking}`);
      view = await stateAt(tracking);
    }
  }
}

/** Commit the state file; returns the short sha from commit's own "[branch abc1234] subject" line. */
async function commitState(state: State, subject: string): Promise<string> {
  writeFileSync(join(dir!, STATE), serializeState(state));
  const out = await git("commit", "-m", subject, "--", STATE);
  return /^\[\S+ ([0-9a-f]+)\]/.exec(out)?.[1] ?? "";
}

async function main(): Promise<void> {
  // The first look: fetch, read, and (galph) start the state file if the branch has none.
  seen = (await git("ls-remote", "origin", `refs/heads/${branch}`)).split("\t")[0]!.trim();
  await git("fetch", "--quiet", "--no-tags", "origin", `+refs/heads/${branch}:${tracking}`);
  view = await stateAt(tracking);
  if (!view && actor === "galph") {
    await git("merge", "--ff-only", "-q", tracking);
    mkdirSync(join(dir!, "sync"), { recursive: true });
    writeFileSync(join(dir!, STATE), serializeState(initialState()));
    await git("add", STATE);
    await git("commit", "-q", "-m", subjects.init(), "--", STATE);
    await git("push", "-q", "origin", `HEAD:refs/heads/${branch}`);
    view = parseState(readFileSync(join(dir!, STATE), "utf8"), STATE);
  }
  let last = 0;
  for (let turn = 0; turn < iterations; turn++) {
    // galph also waits for ralph to finish the iteration it planned (as orch supervisor does).
    await waitFor((s) => s.expected_actor === actor && s.iteration > (actor === "galph" ? last : 0));
    const state = view!;
    await git("merge", "--ff-only", "-q", tracking);
    const running = markRunning(state, actor);
    const head = await commitState(running, subjects.running(actor, state.iteration));
    await git("push", "-q", "origin", `HEAD:refs/heads/${branch}`);
    const agent = Bun.spawn(["true"], { cwd: dir, env, stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    await agent.exited;
    const stamped = stampOutcome(running, actor, "ok", head);
    await commitState(stamped, subjects.stamp(actor, "ok", stamped.iteration, head));
    await git("push", "-q", "origin", `HEAD:refs/heads/${branch}`);
    // What we pushed is the remote's now (push updated the tracking ref): no need to fetch it back.
    view = stamped;
    seen = readFileSync(join(dir!, ".git", tracking), "utf8").trim();
    last = state.iteration;
  }
  cat.stdin.end();
}

await main().catch((e) => {
  process.stderr.write(`bench-floor ${actor}: ${(e as Error).message}\n`);
  process.exit(1);
});
