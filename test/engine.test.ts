import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync, rmSync, existsSync, chmodSync, renameSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { tempEngineWorld, remoteSubjects, collect, worker, AGENTS, readUntil, processesWith } from "./helpers/engine-world.ts";
import { stateJson } from "./helpers/world.ts";

const FAST = ["--sync-via-git", "--poll-interval", "0.05"];

function logsOf(dir: string, actor: string, branch = "feature-x"): string[] {
  const d = join(dir, "logs", branch, actor);
  return existsSync(d) ? readdirSync(d).sort() : [];
}

describe("sync turns between two machines", () => {
  test("a start after a run killed inside the stamp's fast-forward: the locks it left are removed, the turn goes on", async () => {
    await using w = tempEngineWorld();
    const { world, a, b } = w;
    const gitDir = join(a.dir, ".git");
    const indexLock = join(gitDir, "index.lock");
    const refLock = join(gitDir, "refs", "heads", `${world.branch}.lock`);
    writeFileSync(join(gitDir, "orch-fast-forward"), JSON.stringify({ pid: 999999, at: Date.now(), locks: [indexLock, refLock] }));
    mkdirSync(dirname(refLock), { recursive: true });
    writeFileSync(indexLock, "half an index");
    writeFileSync(refLock, "");
    const sup = a.spawnOrch(["supervisor", ...FAST, "--sync-loops", "1"]);
    const loop = b.spawnOrch(["loop", ...FAST, "--sync-loops", "1"]);
    const [rs, rl] = await Promise.all([collect(sup), collect(loop)]);
    expect(rs.code).toBe(0);
    expect(rl.code).toBe(0);
    expect(rs.stdout).toContain(`removed ${indexLock}, left by an interrupted run of orch`);
    expect(existsSync(indexLock) || existsSync(refLock)).toBe(false);
    expect(a.git("status", "--porcelain").trim()).toBe("");
  }, 30_000);

  test("3 iterations: exact subject sequence, final state, logs", async () => {
    await using w = tempEngineWorld();
    const { world, a, b } = w;
    const sup = a.spawnOrch(["supervisor", ...FAST, "--sync-loops", "3"]);
    const loop = b.spawnOrch(["loop", ...FAST, "--sync-loops", "3"]);
    const [rs, rl] = await Promise.all([collect(sup), collect(loop)]);
    expect(rs.stderr).toContain("agent galph: done");
    expect(rs.code).toBe(0);
    expect(rl.code).toBe(0);
    const sync = remoteSubjects(world, a).filter((s) => s.startsWith("[SYNC"));
    const galphOk = /^\[SYNC i=(\d)\] actor=galph → next=ralph status=ok galph_commit=[0-9a-f]{7,}$/;
    const ralphOk = /^\[SYNC i=(\d)\] actor=ralph → next=galph status=ok ralph_commit=[0-9a-f]{7,}$/;
    expect(sync[0]).toBe("[SYNC init] actor=galph status=idle");
    for (let i = 1; i <= 3; i++) {
      const at = 1 + (i - 1) * 4;
      expect(sync[at]).toBe(`[SYNC i=${i}] actor=galph status=running`);
      expect(sync[at + 1]).toMatch(galphOk);
      expect(galphOk.exec(sync[at + 1]!)![1]).toBe(String(i));
      expect(sync[at + 2]).toBe(`[SYNC i=${i}] actor=ralph status=running`);
      expect(ralphOk.exec(sync[at + 3]!)![1]).toBe(String(i + 1));
    }
    expect(sync.length).toBe(13);
    const state = JSON.parse(a.git("show", `origin/${world.branch}:sync/state.json`));
    expect(Object.keys(state)).toEqual(["iteration", "expected_actor", "status", "last_update", "lease_expires_at", "galph_commit", "ralph_commit"]);
    expect(state.iteration).toBe(4);
    expect(state.expected_actor).toBe("galph");
    expect(state.status).toBe("complete");
    expect(sync[12]).toEndWith(`ralph_commit=${state.ralph_commit}`);
    expect(sync[10]).toEndWith(`galph_commit=${state.galph_commit}`);
    // Stamp and running commits hold only the state file.
    const files = a.git("log", "--format=%x00%s", "--name-only", `origin/${world.branch}`).split("\0").filter((c) => c.startsWith("[SYNC i="));
    for (const c of files) expect(c.trim().split("\n").slice(1).filter(Boolean)).toEqual(["sync/state.json"]);
    // Logs: SPEC §5 names, numbered by the iteration run, starting with the command.
    const g = logsOf(a.dir, "galph");
    const r = logsOf(b.dir, "ralph");
    expect(g.map((n) => n.slice(0, 10))).toEqual(["iter-00001", "iter-00002", "iter-00003"]);
    expect(r.map((n) => n.slice(0, 10))).toEqual(["iter-00001", "iter-00002", "iter-00003"]);
    for (const n of g) expect(n).toMatch(/^iter-\d{5}_\d{8}_\d{6}\.log$/);
    for (const n of r) expect(n).toMatch(/^iter-\d{5}_\d{8}_\d{6}_main\.log$/);
    const firstLog = readFileSync(join(a.dir, "logs/feature-x/galph", g[0]!), "utf8");
    expect(firstLog.split("\n")[0]).toBe(`$ ${worker("galph").join(" ")}`);
    expect(firstLog).toContain("agent galph: prompt has");
    expect(firstLog).toContain("agent galph: done");
  }, 60_000);

  test("continues a state file written by the old tool, byte for byte compatible", async () => {
    await using w = tempEngineWorld();
    const { world, a, b } = w;
    const old =
      '{\n  "iteration": 7,\n  "expected_actor": "ralph",\n  "status": "waiting-ralph",\n  "last_update": "2026-11-20T10:00:00Z",\n  "lease_expires_at": "2026-11-20T10:10:00Z",\n  "galph_commit": "abc1234",\n  "ralph_commit": "def5678",\n  "note": "caf\\u00e9"\n}\n';
    b.write("sync/state.json", old);
    b.commitAll("[SYNC i=7] actor=galph → next=ralph status=ok galph_commit=abc1234");
    b.git("push", "-q", "origin", `HEAD:${world.branch}`);
    const r = b.orch(["loop", ...FAST, "--sync-loops", "1"]);
    expect(r.code).toBe(0);
    const subjects = remoteSubjects(world, a).filter((s) => s.startsWith("[SYNC i="));
    expect(subjects.at(-2)).toBe("[SYNC i=7] actor=ralph status=running");
    expect(subjects.at(-1)).toMatch(/^\[SYNC i=8\] actor=ralph → next=galph status=ok ralph_commit=[0-9a-f]+$/);
    const text = a.git("show", `origin/${world.branch}:sync/state.json`);
    const state = JSON.parse(text);
    expect(state).toMatchObject({ iteration: 8, expected_actor: "galph", status: "complete", galph_commit: "abc1234", note: "café" });
    expect(text).toContain('"note": "caf\\u00e9"\n}\n');
    expect(text).toBe(stateJson(state).replace("café", "caf\\u00e9"));
  }, 30_000);

  test("agent exit 3: fail stamp pushed, orch exits 3", async () => {
    await using w = tempEngineWorld({ supervisorAgent: worker("galph", 3) });
    const { world, a } = w;
    const r = a.orch(["supervisor", ...FAST, "--sync-loops", "1"]);
    expect(r.code).toBe(3);
    const subjects = remoteSubjects(world, a);
    expect(subjects.at(-1)).toMatch(/^\[SYNC i=1\] actor=galph status=fail galph_commit=[0-9a-f]+$/);
    const state = JSON.parse(a.git("show", `origin/${world.branch}:sync/state.json`));
    expect(state).toMatchObject({ expected_actor: "galph", status: "failed", iteration: 1 });
  }, 30_000);

  test("missing prompt: exit 2 and nothing marked running", async () => {
    await using w = tempEngineWorld();
    const { world, a, b } = w;
    const before = remoteSubjects(world, a);
    const r = b.orch(["loop", ...FAST, "--prompt", "nope"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("prompts/nope.md not found");
    rmSync(join(a.dir, "prompts/supervisor.md"));
    const s = a.orch(["supervisor", ...FAST]);
    expect(s.code).toBe(2);
    expect(s.stderr.trim().split("\n")).toHaveLength(1);
    expect(remoteSubjects(world, a)).toEqual(before);
  }, 30_000);

  test("--max-wait-sec bounds the wait for the turn and the supervisor's wait for ralph (exit 5)", async () => {
    await using w = tempEngineWorld();
    const { a, b } = w;
    const loop = b.orch(["loop", ...FAST, "--max-wait-sec", "0.5"]);
    expect(loop.code).toBe(5);
    expect(loop.stderr).toMatch(/^orch: gave up after \d+s waiting for ralph's turn/);
    const sup = a.orch(["supervisor", ...FAST, "--sync-loops", "1", "--max-wait-sec", "0.5"]);
    expect(sup.code).toBe(5);
    expect(sup.stderr).toContain("waiting for ralph to finish iteration 1");
  }, 30_000);

  test("the exit flag stops both runners at the start of their next iteration", async () => {
    await using w = tempEngineWorld();
    const { world, a, b } = w;
    const s = JSON.parse(stateJson({ iteration: 2, expected_actor: "galph", status: "complete", last_update: "2026-11-20T10:00:00Z", lease_expires_at: "2026-11-20T10:10:00Z", galph_commit: null, ralph_commit: null }));
    a.write("sync/state.json", stateJson({ ...s, exit: true, exit_reason: "done for today" }));
    a.commitAll("set exit flag");
    a.git("push", "-q", "origin", `HEAD:${world.branch}`);
    const before = remoteSubjects(world, a);
    const sup = a.orch(["supervisor", ...FAST]);
    expect(sup.code).toBe(0);
    expect(sup.stdout).toContain("[supervisor] Exiting: done for today");
    const loop = b.orch(["loop", ...FAST]);
    expect(loop.code).toBe(0);
    expect(loop.stdout).toContain("[loop] Exiting: done for today");
    expect(remoteSubjects(world, a)).toEqual(before);
  }, 30_000);

  test("peer failure is announced once while waiting", async () => {
    await using w = tempEngineWorld({ loopAgent: worker("ralph", 9) });
    const { world, a, b } = w;
    a.write("sync/state.json", stateJson({ iteration: 1, expected_actor: "ralph", status: "waiting-ralph", last_update: "2026-11-20T10:00:00Z", lease_expires_at: "2026-11-20T10:10:00Z", galph_commit: "abc1234", ralph_commit: null }));
    a.commitAll("galph done");
    a.git("push", "-q", "origin", `HEAD:${world.branch}`);
    b.git("pull", "-q", "--rebase", "origin", world.branch);
    expect(b.orch(["loop", ...FAST, "--sync-loops", "1"]).code).toBe(9);
    a.git("pull", "-q", "--rebase", "origin", world.branch);
    const sup = a.orch(["supervisor", ...FAST, "--max-wait-sec", "0.6"]);
    expect(sup.code).toBe(5);
    expect(sup.stdout.split("ralph stamped failed at i=1").length - 1).toBe(1);
  }, 30_000);
});

describe("agent execution", () => {
  test("idle timeout in a sync turn: process group killed, fail stamp, exit 124", async () => {
    const mark = String(process.pid) + "1";
    await using w = tempEngineWorld({ supervisorAgent: ["sh", join(AGENTS, "hang.sh"), mark] });
    const { world, a } = w;
    const r = a.orch(["supervisor", ...FAST, "--sync-loops", "1", "--idle-timeout-sec", "0.5"]);
    expect(r.code).toBe(124);
    expect(processesWith(`100${0}.${mark}`).concat(processesWith(`1001.${mark}`))).toEqual([]);
    expect(remoteSubjects(world, a).at(-1)).toMatch(/actor=galph status=fail/);
    const log = readFileSync(join(a.dir, "logs/feature-x/galph", logsOf(a.dir, "galph")[0]!), "utf8");
    expect(log).toContain("[agent] idle timeout");
  }, 30_000);

  test("wall-clock timeout (async mode): exit 124, the chatty agent and its child are gone", async () => {
    const mark = String(process.pid) + "2";
    await using w = tempEngineWorld({ supervisorAgent: ["sh", join(AGENTS, "chatty.sh"), mark] });
    const { a } = w;
    const r = a.orch(["supervisor", "--sync-loops", "1", "--agent-timeout-sec", "0.7", "--idle-timeout-sec", "5"]);
    expect(r.code).toBe(124);
    expect(r.stdout).toContain("tick");
    expect(processesWith(`1002.${mark}`)).toEqual([]);
    // Async logs never share a folder with sync logs (<actor>-async/).
    const log = readFileSync(join(a.dir, "logs/feature-x/galph-async", logsOf(a.dir, "galph-async")[0]!), "utf8");
    expect(log).toContain("[agent] wall-clock timeout");
  }, 30_000);

  test("SIGINT during the agent: orch exits 130, no orphans, no ok stamp", async () => {
    const mark = String(process.pid) + "3";
    await using w = tempEngineWorld({ supervisorAgent: ["sh", join(AGENTS, "hang.sh"), mark] });
    const { world, a } = w;
    const proc = a.spawnOrch(["supervisor", ...FAST, "--sync-loops", "1"]);
    await readUntil(proc, "started");
    proc.kill("SIGINT");
    expect(await proc.exited).toBe(130);
    await Bun.sleep(100);
    expect(processesWith(`.${mark}`)).toEqual([]);
    const subjects = remoteSubjects(world, a);
    expect(subjects.at(-1)).toBe("[SYNC i=1] actor=galph status=running");
    expect(subjects.some((s) => s.includes("status=ok"))).toBe(false);
  }, 30_000);

  test("50 MB of stderr: no deadlock, memory stays flat, partial last line kept", async () => {
    await using w = tempEngineWorld({ supervisorAgent: ["sh", join(AGENTS, "flood.sh"), "50"] });
    const { a } = w;
    const proc = Bun.spawn([process.env.ORCH_BIN ?? join(import.meta.dir, "../dist/orch"), "supervisor", "--sync-loops", "1"], {
      cwd: a.dir,
      env: a.world.env,
      stdout: "pipe",
      stderr: "ignore",
    });
    let peakKb = 0;
    const sampler = setInterval(() => {
      try {
        const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${proc.pid}/status`, "utf8"));
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {}
    }, 20);
    const stdout = await new Response(proc.stdout as ReadableStream).text();
    const code = await proc.exited;
    clearInterval(sampler);
    expect(code).toBe(0);
    expect(stdout).toContain("no newline at the end");
    const logFile = join(a.dir, "logs/feature-x/galph-async", logsOf(a.dir, "galph-async")[0]!);
    const size = Bun.file(logFile).size;
    expect(size).toBeGreaterThan(50 * 1024 * 1024);
    expect(peakKb).toBeGreaterThan(0);
    expect(peakKb).toBeLessThan(150 * 1024);
  }, 60_000);

  test("async mode runs N times and stops at the first failure with its code", async () => {
    await using w = tempEngineWorld();
    const { a } = w;
    const counter = join(a.world.root, "count.txt");
    writeFileSync(join(a.dir, "orch.toml"), `[loop]\nagent = ["sh", "${join(AGENTS, "count.sh")}", "${counter}", "3", "7"]\n`);
    const r = a.orch(["loop", "--sync-loops", "5"]);
    expect(r.code).toBe(7);
    expect(readFileSync(counter, "utf8").trim()).toBe("3");
    expect(logsOf(a.dir, "ralph-async").map((n) => n.slice(0, 10))).toEqual(["iter-00001", "iter-00002", "iter-00003"]);
    expect(logsOf(a.dir, "ralph")).toEqual([]);
    const ok = a.orch(["loop", "--sync-loops", "2"]);
    expect(ok.code).toBe(0);
    expect(readFileSync(counter, "utf8").trim()).toBe("5");
    // Never overwritten: the second batch added logs next to the first.
    expect(logsOf(a.dir, "ralph-async").length).toBe(5);
  }, 30_000);
});

describe("crash safety", () => {
  test("SIGTERM while the stamp's push waits out a vanished remote: exit 143 at once; the relaunch publishes the stamp", async () => {
    await using w = tempEngineWorld({ supervisorAgent: ["sh", join(AGENTS, "slow.sh"), "galph", "1"] });
    const { world, a } = w;
    const proc = a.spawnOrch(["supervisor", ...FAST, "--sync-loops", "1"], { env: { ORCH_GIT_NETWORK_RETRY_SEC: "120" } });
    await readUntil(proc, "started");
    renameSync(world.remote, world.remote + ".gone");
    const seen = await readUntil(proc, "network error", 20_000);
    expect(seen).toContain("retrying in");
    const t0 = Date.now();
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(143);
    expect(Date.now() - t0).toBeLessThan(5_000); // not the two minutes of retries left
    expect(a.git("log", "-1", "--format=%s")).toContain("actor=galph → next=ralph status=ok");
    renameSync(world.remote + ".gone", world.remote);
    const again = a.orch(["supervisor", ...FAST, "--sync-loops", "1", "--max-wait-sec", "0.5"]);
    expect(again.stdout).toContain("found an unpushed galph stamp");
    expect(remoteSubjects(world, a).filter((s) => s.includes("actor=galph → next=ralph status=ok"))).toHaveLength(1);
  }, 60_000);

  test("kill -9 after the stamp commit, before its push: the relaunch pushes it and does not rerun the agent", async () => {
    await using w = tempEngineWorld();
    const { world, a } = w;
    const block = join(world.root, "block-push");
    const hook = join(world.remote, "hooks/pre-receive");
    writeFileSync(
      hook,
      `#!/bin/sh\nwhile read old new ref; do\n  if git log -1 --format=%s "$new" | grep -q 'actor=galph → next=ralph status=ok' && [ -e "${block}" ]; then\n    touch "${block}.held"\n    while [ -e "${block}" ]; do sleep 0.05; done\n    exit 1\n  fi\ndone\nexit 0\n`,
    );
    chmodSync(hook, 0o755);
    writeFileSync(block, "");
    const proc = a.spawnOrch(["supervisor", ...FAST, "--sync-loops", "1"]);
    const deadline = Date.now() + 20_000;
    // Wait until the stamp's push is held in the remote's hook: the stamp is committed, not yet pushed.
    while (!existsSync(`${block}.held`) && Date.now() < deadline) await Bun.sleep(20);
    expect(a.git("log", "-1", "--format=%s")).toContain("actor=galph → next=ralph status=ok");
    proc.kill("SIGKILL");
    await proc.exited;
    rmSync(block);
    await Bun.sleep(200);
    expect(remoteSubjects(world, a).some((s) => s.includes("status=ok"))).toBe(false);
    const again = a.orch(["supervisor", ...FAST, "--sync-loops", "1", "--max-wait-sec", "0.5"]);
    expect(again.stdout).toContain("found an unpushed galph stamp");
    expect(again.code).toBe(5); // resumed, then waited for ralph's turn to come back
    const subjects = remoteSubjects(world, a);
    expect(subjects.filter((s) => s === "[SYNC i=1] actor=galph status=running")).toHaveLength(1);
    expect(subjects.filter((s) => s.includes("actor=galph → next=ralph status=ok"))).toHaveLength(1);
    expect(a.git("show", `origin/${world.branch}:work-galph.txt`).trim().split("\n")).toEqual(["galph i=1"]);
  }, 60_000);
});

describe("console progress", () => {
  test("--verbose state lines and the waiting heartbeat", () => {
    using w = tempEngineWorld();
    const { b } = w;
    const r = b.orch(["loop", ...FAST, "--verbose", "--heartbeat-secs", "0.2", "--max-wait-sec", "0.7"]);
    expect(r.code).toBe(5);
    expect(r.stdout).toContain("[sync] state: actor=galph status=idle iter=1");
    expect(r.stdout).toMatch(/\[sync\] waiting for turn \(ralph\)… \d+s elapsed/);
  }, 30_000);

  test("agent heartbeat while it is quiet, and pty = true gives the agent a terminal", () => {
    const mark = String(process.pid) + "4";
    using w = tempEngineWorld({ supervisorAgent: ["sh", join(AGENTS, "hang.sh"), mark] });
    const { a } = w;
    const r = a.orch(["supervisor", "--sync-loops", "1", "--heartbeat-secs", "0.2", "--idle-timeout-sec", "0.9"]);
    expect(r.code).toBe(124);
    expect(r.stdout).toMatch(/\[agent\] still running \(\d+s, quiet \d+s\) log=.*iter-00001_/);
    writeFileSync(join(a.dir, "orch.toml"), `[supervisor]\nagent = ["sh", "-c", "cat >/dev/null; if [ -t 1 ]; then echo on-a-tty; else echo no-tty; fi"]\npty = true\n`);
    const t = a.orch(["supervisor", "--sync-loops", "1"]);
    expect(t.code).toBe(0);
    expect(t.stdout).toContain("on-a-tty");
  }, 30_000);
});

describe("no orphans after kill -9", () => {
  test("a relaunch stops the agent group a killed orch left running", async () => {
    const mark = String(process.pid) + "5";
    await using w = tempEngineWorld({ supervisorAgent: ["sh", join(AGENTS, "hang.sh"), mark] });
    const { a } = w;
    const proc = a.spawnOrch(["supervisor", "--sync-loops", "1"]);
    await readUntil(proc, "started");
    proc.kill("SIGKILL");
    await proc.exited;
    expect(processesWith(`1001.${mark}`).length).toBe(1);
    writeFileSync(join(a.dir, "orch.toml"), `[supervisor]\nagent = ["true"]\n`);
    const r = a.orch(["supervisor", "--sync-loops", "1"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("left running by a previous orch that was killed");
    await Bun.sleep(100);
    expect(processesWith(`.${mark}`)).toEqual([]);
  }, 30_000);
});
