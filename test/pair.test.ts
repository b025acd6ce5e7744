/**
 * One machine, both roles (issue 15): `orch pair` through the same engine as
 * two machines, --no-push and no remote at all, the review cadence,
 * `orch init --pair`, and a crash in ralph's half.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { makeEngineWorld, remoteSubjects, collect, readUntil, AGENTS, worker } from "./helpers/engine-world.ts";
import { sh, type Clone } from "./helpers/world.ts";

const FAST = ["--poll-interval", "0.05"];

function syncSubjects(lines: string[]): string[] {
  // The shas differ between runs; the sequence of transitions must not.
  return lines.filter((s) => s.startsWith("[SYNC")).map((s) => s.replace(/_commit=[0-9a-f]+/, "_commit=<sha>"));
}

function logNames(c: Clone, actor: string): string[] {
  const dir = join(c.dir, "logs/feature-x", actor);
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith(".log")).sort() : [];
}

describe("orch pair", () => {
  test("3 cycles: exactly the subjects and final state of a two-machine run; then two machines continue the same history", async () => {
    const two = makeEngineWorld();
    const sup = two.a.spawnOrch(["supervisor", "--sync-via-git", ...FAST, "--sync-loops", "3"]);
    const loop = two.b.spawnOrch(["loop", "--sync-via-git", ...FAST, "--sync-loops", "3"]);
    const [rs, rl] = await Promise.all([collect(sup), collect(loop)]);
    expect([rs.code, rl.code]).toEqual([0, 0]);
    const expected = syncSubjects(remoteSubjects(two.world, two.a));

    const one = makeEngineWorld();
    const r = one.a.orch(["pair", ...FAST, "--sync-loops", "3"]);
    expect(r.stderr).not.toContain("orch:");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\[pair\] done: 6 turns, 6 ok, 0 failed/);
    expect(syncSubjects(remoteSubjects(one.world, one.a))).toEqual(expected);
    const state = JSON.parse(one.a.git("show", `origin/${one.world.branch}:sync/state.json`));
    expect(state).toMatchObject({ iteration: 4, expected_actor: "galph", status: "complete" });
    expect(logNames(one.a, "galph").map((n) => n.slice(0, 10))).toEqual(["iter-00001", "iter-00002", "iter-00003"]);
    expect(logNames(one.a, "ralph").every((n) => n.endsWith("_main.log"))).toBe(true);
    expect(one.a.git("log", "-1", "--format=%(trailers:only,unfold)", `origin/${one.world.branch}`)).toMatch(/^Orch-Diffstat: /m);

    // The same history, split across two machines afterwards.
    const other = one.world.clone("machine-b");
    const s2 = one.a.spawnOrch(["supervisor", "--sync-via-git", ...FAST, "--sync-loops", "1"]);
    const l2 = other.spawnOrch(["loop", "--sync-via-git", ...FAST, "--sync-loops", "1"]);
    const [r2s, r2l] = await Promise.all([collect(s2), collect(l2)]);
    expect([r2s.code, r2l.code]).toEqual([0, 0]);
    const after = JSON.parse(other.git("show", `origin/${one.world.branch}:sync/state.json`));
    expect(after).toMatchObject({ iteration: 5, expected_actor: "galph", status: "complete" });
  }, 90_000);

  test("--no-push leaves the remote untouched; the turns are committed here", () => {
    const { world, a } = makeEngineWorld();
    const before = a.git("ls-remote", world.remote);
    const r = a.orch(["pair", ...FAST, "--sync-loops", "2", "--no-push"]);
    expect(r.code).toBe(0);
    expect(a.git("ls-remote", world.remote)).toBe(before);
    const state = JSON.parse(a.read("sync/state.json"));
    expect(state).toMatchObject({ iteration: 3, expected_actor: "galph", status: "complete" });
    expect(syncSubjects(a.subjects().reverse())).toHaveLength(9); // init + 2 × (4 transitions)
  }, 40_000);

  test("a branch the remote lacks is published first (create-only), so init then pair needs no git push", () => {
    const { world, a } = makeEngineWorld({ clones: 1 });
    a.git("checkout", "-q", "-b", "feature-new");
    const before = a.git("ls-remote", world.remote);
    const r = a.orch(["pair", ...FAST, "--sync-loops", "1"]);
    expect(r.stderr).not.toContain("orch:");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("[sync] published feature-new to origin (it was not there yet)");
    const state = JSON.parse(a.git("show", "origin/feature-new:sync/state.json"));
    expect(state).toMatchObject({ iteration: 2, expected_actor: "galph", status: "complete" });
    // Every other ref on the remote is as it was.
    const others = a.git("ls-remote", world.remote).split("\n").filter((l) => !/refs\/(heads\/feature-new|orch\/)/.test(l));
    expect(others.join("\n")).toBe(before);
    // Already there next time: no second publish line.
    expect(a.orch(["pair", ...FAST, "--sync-loops", "1"]).stdout).not.toContain("published");
  }, 40_000);

  test("pause and stop from another clone during a pair run", async () => {
    const { world, a, b } = makeEngineWorld({ loopAgent: ["sh", join(AGENTS, "slow.sh"), "ralph", "1"] });
    const pair = a.spawnOrch(["pair", ...FAST, "--sync-loops", "5"]);
    await readUntil(pair, "actor=galph → next=ralph status=ok");
    expect(b.orch(["pause", "galph"]).code).toBe(0); // while ralph's agent works
    const paused = await readUntil(pair, "galph is paused (orch pause)", 20_000);
    expect(paused).toContain("galph is paused (orch pause)");
    // ralph's half of the cycle was taken; galph waits before iteration 2.
    expect(paused).toContain("[SYNC i=2] actor=ralph → next=galph status=ok");
    expect(b.orch(["stop", "--reason", "seen enough"]).code).toBe(0);
    const r = await collect(pair);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Exiting: seen enough");
    b.git("fetch", "-q", "origin");
    const state = JSON.parse(b.git("show", `origin/${world.branch}:sync/state.json`));
    expect(state).toMatchObject({ iteration: 2, expected_actor: "galph", status: "complete" });
  }, 60_000);

  test("a nudge from another clone reaches galph's next half-turn of a pair, once", async () => {
    const { world, a, b } = makeEngineWorld({ loopAgent: ["sh", join(AGENTS, "slow.sh"), "ralph", "1"] });
    const pair = a.spawnOrch(["pair", ...FAST, "--sync-loops", "3"]);
    await readUntil(pair, "actor=galph → next=ralph status=ok");
    const n = b.orch(["nudge", "galph", "focus on the failing test"]);
    expect(n.code).toBe(0);
    expect((await collect(pair)).code).toBe(0);
    b.git("fetch", "-q", "origin");
    const stamps = b.git("log", "--format=%s%x09%(trailers:key=Orch-Nudges,valueonly,separator=)", "--fixed-strings", "--grep=actor=galph →", `origin/${world.branch}`).trim().split("\n");
    const nudged = stamps.filter((l) => /\tn-[0-9a-f]{6}$/.test(l));
    expect(nudged).toHaveLength(1);
    expect(nudged[0]).toMatch(/^\[SYNC i=2\] actor=galph/);
  }, 60_000);

  test("a repository with no remote at all", () => {
    const { world } = makeEngineWorld({ clones: 0 });
    const dir = join(world.root, "solo");
    const env = world.env;
    sh(["git", "clone", "-q", world.remote, dir], { cwd: world.root, env });
    sh(["git", "checkout", "-q", "-B", world.branch, `origin/${world.branch}`], { cwd: dir, env });
    sh(["git", "remote", "remove", "origin"], { cwd: dir, env });
    const r = sh([process.env.ORCH_BIN ?? join(import.meta.dir, "../dist/orch"), "pair", ...FAST, "--sync-loops", "1"], { cwd: dir, env });
    expect(r.stderr).not.toContain("orch:");
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, "sync/state.json"), "utf8"))).toMatchObject({ iteration: 2, status: "complete" });
    const orch = (...args: string[]) => sh([process.env.ORCH_BIN ?? join(import.meta.dir, "../dist/orch"), ...args], { cwd: dir, env });
    const pushed = orch("pair", "--push");
    expect(pushed.code).toBe(2);
    expect(pushed.stderr).toContain("has no remote 'origin'");
    // status and report read this clone: no fetch failure, no "unpushed" nagging.
    const status = orch("status");
    expect(status.code).toBe(0);
    expect(status.stdout).toContain("this clone only (no remote 'origin')");
    expect(status.stdout).not.toMatch(/FETCH FAILED|unpushed|WARNING/);
    expect(JSON.parse(orch("status", "--json").stdout)).toMatchObject({ fetch: "local", fetch_error: null, sync: { unpushed_stamps: [] } });
    const report = orch("report", "--json");
    expect(report.code).toBe(0);
    expect(JSON.parse(report.stdout)).toMatchObject({ fetch: "local", fetch_error: null });
    expect(orch("report").stdout).not.toContain("FETCH FAILED");
  }, 40_000);

  test("review every 2: the reviewer prompt runs on cycles 2 and 4, and the log name and the receipt say so", () => {
    const { world, a } = makeEngineWorld({ supervisorAgent: ["sh", "-c", "head -1; echo ran"] });
    a.write("prompts/reviewer.md", "REVIEW\n");
    a.commitAll("reviewer prompt");
    const r = a.orch(["pair", ...FAST, "--sync-loops", "4", "--review-every", "2", "--no-push"]);
    expect(r.code).toBe(0);
    const logs = logNames(a, "galph");
    expect(logs.map((n) => n.endsWith("_reviewer.log"))).toEqual([false, true, false, true]);
    const reviewLog = readFileSync(join(a.dir, "logs/feature-x/galph", logs[1]!), "utf8");
    expect(reviewLog).toContain("REVIEW");
    const prompts = a.git("log", "--format=%(trailers:key=Orch-Prompt,valueonly)", "--grep=actor=galph → next=ralph").trim().split("\n").filter(Boolean);
    expect(prompts.reverse()).toEqual(["prompts/supervisor.md", "prompts/reviewer.md", "prompts/supervisor.md", "prompts/reviewer.md"]);
    expect(world.branch).toBe("feature/x");
  }, 60_000);

  test("a missing reviewer prompt is a start-up error, not a mid-run surprise", () => {
    const { world, a } = makeEngineWorld();
    const r = a.orch(["pair", ...FAST, "--sync-loops", "4", "--review-every", "3"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("prompt file prompts/reviewer.md not found");
    expect(remoteSubjects(world, a).some((s) => s.startsWith("[SYNC"))).toBe(false);
    // orch supervisor honours the same cadence on two machines.
    const s = a.orch(["supervisor", "--sync-via-git", ...FAST, "--sync-loops", "1", "--review-every", "2"]);
    expect(s.code).toBe(2);
  }, 30_000);

  test("kill -9 during ralph's half: a relaunch resumes as two machines would", async () => {
    const mark = String(process.pid) + "p1";
    const { world, a } = makeEngineWorld({ loopAgent: ["sh", join(AGENTS, "hang.sh"), mark] });
    const p = a.spawnOrch(["pair", ...FAST, "--sync-loops", "1"]);
    const reader = (p.stdout as ReadableStream<Uint8Array>).getReader();
    let seen = "";
    while (!seen.includes("started")) seen += new TextDecoder().decode((await reader.read()).value ?? new Uint8Array());
    reader.releaseLock();
    p.kill("SIGKILL");
    await p.exited;
    expect(remoteSubjects(world, a).at(-1)).toBe("[SYNC i=1] actor=ralph status=running");
    a.write("orch.toml", a.read("orch.toml").replace(/^agent = .*hang\.sh.*$/m, `agent = ${JSON.stringify(worker("ralph"))}`));
    const r = a.orch(["pair", ...FAST, "--sync-loops", "1"], { env: { ORCH_AUTOCOMMIT_ENABLED: "false" } });
    expect(r.stdout).toContain("left running by a previous orch that was killed");
    // Its own clone's mark: the turn is run again (re-marked, unless the relaunch came within the same second) and stamped once.
    const subjects = syncSubjects(remoteSubjects(world, a));
    expect(subjects.filter((s) => s === "[SYNC i=1] actor=ralph status=running").length).toBeGreaterThanOrEqual(1);
    expect(subjects.filter((s) => s.startsWith("[SYNC i=2] actor=ralph → next=galph status=ok"))).toHaveLength(1);
    expect(remoteSubjects(world, a)).toContain("ralph: work for i=1");
    expect(subjects.at(-1)).toBe("[SYNC i=2] actor=ralph → next=galph status=ok ralph_commit=<sha>"); // that cycle was the one asked for
    Bun.spawnSync(["pkill", "-f", `100[01].${mark}`]);
  }, 60_000);

  test("orch init --pair writes the reviewer starter and says the one command to run", () => {
    const { a } = makeEngineWorld({ clones: 1 });
    const r = a.orch(["init", "--pair"]);
    expect(r.code).toBe(0);
    expect(a.exists("prompts/reviewer.md")).toBe(true);
    expect(r.stdout).toContain("next: orch pair");
    // Committed: orch pair starts from a clean tree.
    expect(a.git("status", "--porcelain")).toBe("");
    expect(a.git("log", "-1", "--format=%s")).toMatch(/^orch init: .*prompts\/reviewer\.md/);
  }, 20_000);
});
