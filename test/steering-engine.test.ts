/**
 * Steering through git (issue 14): pause, stop and nudge take effect in the
 * runners between turns; the stalemate breaker pauses a pair going in circles.
 * A third clone plays the person's laptop.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { makeEngineWorld, remoteSubjects, collect, worker, readUntil } from "./helpers/engine-world.ts";

const FAST = ["--sync-via-git", "--poll-interval", "0.05"];

/** An agent that keeps its stdin (the prompt) in a file outside the clone, then works like worker.sh. */
function recording(file: string, name: string): string[] {
  return ["sh", "-c", `cat >> ${JSON.stringify(file)}; echo "=== END OF PROMPT ===" >> ${JSON.stringify(file)}; echo "$ORCH_ACTOR i=$ORCH_ITERATION" >> work-${name}.txt; git add work-${name}.txt; git commit -q -m "${name}: work for i=$ORCH_ITERATION"; sleep 0.3`];
}

const syncOnly = (subjects: string[]) => subjects.filter((s) => s.startsWith("[SYNC"));

describe("pause, stop and nudge from another clone", () => {
  test("pause galph while its agent runs: it finishes that turn, ralph runs its own, galph waits until orch resume", async () => {
    const { world, a, b, clones } = makeEngineWorld({ clones: 3, supervisorAgent: ["sh", "-c", `cat >/dev/null; echo started; sleep 1; ${worker("galph").map((x) => JSON.stringify(x)).join(" ")} </dev/null`] });
    const laptop = clones[2]!;
    const sup = a.spawnOrch(["supervisor", ...FAST, "--sync-loops", "2"]);
    const loop = b.spawnOrch(["loop", ...FAST, "--sync-loops", "1"]);
    await readUntil(sup, "started");
    const paused = laptop.orch(["pause", "galph"]);
    expect(paused.code).toBe(0);
    expect(paused.stdout).toContain("paused galph");
    expect((await collect(loop)).code).toBe(0); // ralph was not paused
    await readUntil(sup, "galph is paused");
    await Bun.sleep(800);
    expect(syncOnly(remoteSubjects(world, laptop)).filter((s) => s.includes("[SYNC i=2] actor=galph status=running"))).toEqual([]);
    const status = laptop.orch(["status"]);
    expect(status.stdout).toMatch(/galph on \S+ · paused/);
    expect(laptop.orch(["resume"]).code).toBe(0);
    const loop2 = b.spawnOrch(["loop", ...FAST, "--sync-loops", "1"]);
    const [rs, rl] = await Promise.all([collect(sup), collect(loop2)]);
    expect([rs.code, rl.code]).toEqual([0, 0]);
    expect(syncOnly(remoteSubjects(world, laptop))).toContain("[SYNC i=2] actor=galph status=running");
  }, 90_000);

  test("orch stop: both runners end after their current turn with exit 0 and 'Exiting: <reason>'", async () => {
    const { a, b, clones } = makeEngineWorld({ clones: 3 });
    const laptop = clones[2]!;
    const sup = a.spawnOrch(["supervisor", ...FAST, "--sync-loops", "10"]);
    const loop = b.spawnOrch(["loop", ...FAST, "--sync-loops", "10"]);
    await readUntil(loop, "status=ok");
    expect(laptop.orch(["stop", "--reason", "done for today"]).code).toBe(0);
    const [rs, rl] = await Promise.all([collect(sup), collect(loop)]);
    expect([rs.code, rl.code]).toEqual([0, 0]);
    expect(rs.stdout).toContain("[supervisor] Exiting: done for today");
    expect(rl.stdout).toContain("[loop] Exiting: done for today");
    // A new start is not stopped by that old stop.
    const again = a.orch(["supervisor", ...FAST, "--sync-loops", "1", "--max-wait-sec", "1"]);
    expect(again.stdout).not.toContain("Exiting");
  }, 90_000);

  test("a nudge for ralph reaches ralph's next prompt and its receipt, exactly once", async () => {
    const { world, a, b, clones } = makeEngineWorld({ clones: 3 });
    const laptop = clones[2]!;
    const prompts = join(world.root, "ralph-prompts.txt");
    b.write("orch.toml", b.read("orch.toml").replace(/^agent = .*worker\.sh", "ralph".*$/m, `agent = ${JSON.stringify(recording(prompts, "ralph"))}`));
    b.commitAll("orch.toml: recording agent");
    b.git("push", "-q", "origin", `HEAD:${world.branch}`);
    const n = laptop.orch(["nudge", "ralph", "focus on the failing test, not the docs"]);
    expect(n.code).toBe(0);
    const id = /nudge (n-[0-9a-f]{6})/.exec(n.stdout)![1]!;
    a.git("pull", "-q", "--rebase", "origin", world.branch);
    const sup = a.spawnOrch(["supervisor", ...FAST, "--sync-loops", "2"]);
    const loop = b.spawnOrch(["loop", ...FAST, "--sync-loops", "2"]);
    const [rs, rl] = await Promise.all([collect(sup), collect(loop)]);
    expect([rs.code, rl.code]).toEqual([0, 0]);
    const seen = readFileSync(prompts, "utf8").split("=== END OF PROMPT ===\n");
    expect(seen[0]).toContain("focus on the failing test, not the docs");
    expect(seen[0]).toContain(id);
    expect(seen[1]).not.toContain("focus on the failing test");
    laptop.git("fetch", "-q", "origin");
    const nudged = laptop.git("log", "--format=%(trailers:key=Orch-Nudges,valueonly)", `origin/${world.branch}`).trim().split("\n").filter(Boolean);
    expect(nudged).toEqual([id]);
    expect(laptop.orch(["status"]).stdout).not.toContain(id); // delivered: no longer listed as waiting
  }, 90_000);
});

describe("the stalemate breaker", () => {
  test("ralph commits only docs for stalemate.cycles cycles: the pair is paused, with the evidence; orch resume continues", async () => {
    const docsOnly = ["sh", "-c", 'cat >/dev/null; mkdir -p plans; echo "i=$ORCH_ITERATION" >> plans/notes.md; git add plans/notes.md; git commit -q -m "ralph: notes"'];
    const planner = ["sh", "-c", 'cat >/dev/null; echo "step $ORCH_ITERATION" > input.md'];
    const { world, a, clones } = makeEngineWorld({ clones: 3, supervisorAgent: planner, loopAgent: docsOnly });
    const env = { ORCH_STALEMATE_CYCLES: "2" };
    const pair = a.spawnOrch(["pair", "--poll-interval", "0.05", "--sync-loops", "4"], { env });
    const seen = await readUntil(pair, "stalemate:");
    expect(seen).toContain("stalemate: ralph changed no file outside the doc/meta whitelist in iterations 1, 2; the pair is paused (orch resume to continue)");
    await Bun.sleep(500);
    const subjects = syncOnly(remoteSubjects(world, clones[2]!));
    expect(subjects.at(-1)).toMatch(/^\[SYNC i=3\] actor=ralph → next=galph status=ok/);
    expect(clones[2]!.orch(["resume"]).code).toBe(0);
    const r = await collect(pair);
    expect(r.code).toBe(0);
    expect(syncOnly(remoteSubjects(world, clones[2]!)).at(-1)).toMatch(/^\[SYNC i=5\] actor=ralph → next=galph status=ok/);
  }, 90_000);

  test("orch pair --no-push: a stalemate stops the pair (nothing to pause it through), exit 0, with the evidence", () => {
    const docsOnly = ["sh", "-c", 'cat >/dev/null; mkdir -p plans; echo "i=$ORCH_ITERATION" >> plans/notes.md; git add plans/notes.md; git commit -q -m "ralph: notes"'];
    const planner = ["sh", "-c", 'cat >/dev/null; echo "step $ORCH_ITERATION" > input.md'];
    const { a } = makeEngineWorld({ clones: 1, supervisorAgent: planner, loopAgent: docsOnly });
    const r = a.orch(["pair", "--no-push", "--poll-interval", "0.05", "--sync-loops", "5"], { env: { ORCH_STALEMATE_CYCLES: "2" } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("[sync] stalemate: ralph changed no file outside the doc/meta whitelist in iterations 1, 2; the pair stops here");
    expect(JSON.parse(a.read("sync/state.json"))).toMatchObject({ iteration: 3, expected_actor: "galph", status: "complete" });
  }, 40_000);

  test("only cycles this run saw count: a docs-only cycle stamped before the start is not evidence", async () => {
    const docsOnly = ["sh", "-c", 'cat >/dev/null; mkdir -p plans; echo "i=$ORCH_ITERATION" >> plans/notes.md; git add plans/notes.md; git commit -q -m "ralph: notes"'];
    const planner = ["sh", "-c", 'cat >/dev/null; echo "step $ORCH_ITERATION" > input.md'];
    const { a } = makeEngineWorld({ clones: 1, supervisorAgent: planner, loopAgent: docsOnly });
    const env = { ORCH_STALEMATE_CYCLES: "2" };
    expect(a.orch(["pair", "--poll-interval", "0.05", "--sync-loops", "1"], { env }).code).toBe(0);
    const again = a.spawnOrch(["pair", "--poll-interval", "0.05", "--sync-loops", "2"], { env });
    const seen = await readUntil(again, "done:", 30_000);
    expect(seen).not.toContain("stalemate:");
    expect((await collect(again)).code).toBe(0);
  }, 60_000);
});

