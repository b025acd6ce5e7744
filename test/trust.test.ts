/**
 * Trust (issue 11): one run per turn across clones, takeover and fencing, the
 * user's hooks and clone left alone, a second runner refused, crash leftovers
 * published or set aside. Real git, real processes, the compiled binary.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync, chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { makeEngineWorld, remoteSubjects, collect, AGENTS, readUntil, processesWith } from "./helpers/engine-world.ts";
import type { Clone } from "./helpers/world.ts";

const FAST = ["--sync-via-git", "--poll-interval", "0.05"];
const slow = (name: string, secs: number) => ["sh", join(AGENTS, "slow.sh"), name, String(secs)];

function runsIn(record: string): string[] {
  return existsSync(record) ? readFileSync(record, "utf8").trim().split("\n").filter(Boolean) : [];
}

/** The rest of a child's output after readUntil, and its exit code. */
async function rest(proc: ReturnType<typeof Bun.spawn>): Promise<{ code: number; stdout: string; stderr: string }> {
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  let stdout = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    stdout += new TextDecoder().decode(value);
  }
  const [stderr, code] = await Promise.all([new Response(proc.stderr as ReadableStream).text(), proc.exited]);
  return { code, stdout, stderr };
}

function localBranches(c: Clone): string[] {
  return c.git("for-each-ref", "--format=%(refname:short)", "refs/heads/").trim().split("\n");
}

describe("one run per turn across clones", () => {
  test("two supervisors on two clones, 2.5 s apart: one agent run, the other waits and names the holder", async () => {
    const { world, a, clones } = makeEngineWorld({ clones: 3, supervisorAgent: slow("galph", 4) });
    const c = clones[2]!;
    const record = join(world.root, "runs.txt");
    const env = { TEST_RUN_RECORD: record };
    const first = a.spawnOrch(["supervisor", ...FAST, "--sync-loops", "1", "--max-wait-sec", "6"], { env });
    await readUntil(first, "started");
    await Bun.sleep(2500);
    const second = c.orch(["supervisor", ...FAST, "--sync-loops", "1", "--max-wait-sec", "3"], { env });
    // It never took the turn: it waited (naming the holder) and gave up at its max wait.
    expect(second.code).toBe(5);
    expect(second.stdout).toMatch(/\[sync\] galph's turn i=1 is held by \S+ \(pid \d+\) since \d\d:\d\dZ; if that machine is gone: orch takeover galph/);
    const r1 = await rest(first);
    expect(r1.code).toBe(5); // the supervisor then waits for ralph, who never comes
    expect(runsIn(record)).toHaveLength(1);
    const subjects = remoteSubjects(world, a).filter((s) => s.startsWith("[SYNC i=1] actor=galph"));
    expect(subjects).toEqual(["[SYNC i=1] actor=galph status=running", expect.stringMatching(/^\[SYNC i=1\] actor=galph → next=ralph status=ok/)]);
    expect(a.git("log", "-1", "--format=%B", "--grep=status=running$", `origin/${world.branch}`)).toMatch(/Orch-Runner: host=\S+ clone=[0-9a-f]{16} pid=\d+/);
  }, 40_000);

  test("two supervisors started at the same instant: exactly one runs the agent", async () => {
    const { world, a, clones } = makeEngineWorld({ clones: 3, supervisorAgent: slow("galph", 2) });
    const c = clones[2]!;
    const record = join(world.root, "runs.txt");
    const env = { TEST_RUN_RECORD: record };
    // Initialise the state first so both race for the same mark.
    const init = a.orch(["supervisor", ...FAST, "--sync-loops", "0"]);
    expect(init.code).toBe(0);
    c.git("pull", "-q", "--rebase", "origin", world.branch);
    const p1 = a.spawnOrch(["supervisor", ...FAST, "--sync-loops", "1", "--max-wait-sec", "5"], { env });
    const p2 = c.spawnOrch(["supervisor", ...FAST, "--sync-loops", "1", "--max-wait-sec", "5"], { env });
    const [r1, r2] = await Promise.all([collect(p1), collect(p2)]);
    expect(runsIn(record)).toHaveLength(1);
    const loser = [r1, r2].find((r) => !r.stdout.includes("status=ok"))!;
    expect(loser.stdout).toContain("is held by");
    const marks = remoteSubjects(world, a).filter((s) => s === "[SYNC i=1] actor=galph status=running");
    expect(marks).toHaveLength(1);
  }, 40_000);

  test("orch takeover, then the zombie's late stamp: refused with exit 7, nothing pushed, its work kept on a branch", async () => {
    const { world, a, b } = makeEngineWorld({ supervisorAgent: slow("galph", 3) });
    const zombie = a.spawnOrch(["supervisor", ...FAST, "--sync-loops", "1"]);
    await readUntil(zombie, "started");
    // A person on the other machine: the holder is on another clone (and, for the test, the same host: --yes).
    const refused = b.orch(["takeover", "galph"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("pass --yes");
    const taken = b.orch(["takeover", "galph", "--yes"]);
    expect(taken.stderr).toBe("");
    expect(taken.code).toBe(0);
    expect(taken.stdout).toMatch(/^Took over: \[SYNC i=1\] actor=galph status=fail galph_commit=[0-9a-f]+\n$/);
    const afterTakeover = remoteSubjects(world, b);
    expect(b.git("log", "-1", "--format=%B", `origin/${world.branch}`)).toMatch(/Orch-Takeover: by \S+/);
    const r = await rest(zombie);
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(/galph's turn i=1 was taken over or stamped elsewhere while it ran: nothing was pushed; this turn's work is kept on orch\/obsolete\/galph-i1-\d{8}_\d{6}/);
    expect(remoteSubjects(world, b)).toEqual(afterTakeover);
    const kept = localBranches(a).find((n) => n.startsWith("orch/obsolete/galph-i1-"))!;
    expect(a.git("log", "-1", "--format=%s", kept)).toMatch(/^\[SYNC i=1\] actor=galph → next=ralph status=ok/);
    expect(a.git("log", "--format=%s", kept)).toContain("galph: work for i=1");
    // The clone continues from the remote.
    expect(a.head()).toBe(a.git("rev-parse", `origin/${world.branch}`).trim());
    // Not running any more: a second takeover has nothing to do.
    expect(b.orch(["takeover", "galph"]).code).toBe(2);
  }, 40_000);

  test("a clone holding an obsolete unpushed stamp sets it aside at start and continues from the remote", () => {
    const { world, a, b } = makeEngineWorld();
    expect(a.orch(["supervisor", ...FAST, "--sync-loops", "0"]).code).toBe(0);
    b.git("pull", "-q", "--rebase", "origin", world.branch);
    // Machine A stamps by hand without pushing; meanwhile machine B stamps and pushes.
    a.git("pull", "-q", "--rebase", "origin", world.branch);
    expect(a.orch(["stamp", "galph", "ok", "--no-push"]).code).toBe(0);
    expect(b.orch(["stamp", "galph", "fail"]).code).toBe(0);
    const r = a.orch(["supervisor", ...FAST, "--sync-loops", "1", "--max-wait-sec", "1"]);
    expect(r.stdout).toMatch(/\[sync\] this clone's unpushed stamp is for a turn the remote has moved past \(\[SYNC i=1\] actor=galph status=fail .*\); kept on orch\/obsolete\/galph-i1-\d{8}_\d{6}, continuing from origin\/feature\/x/);
    expect(localBranches(a).some((n) => n.startsWith("orch/obsolete/galph-i1-"))).toBe(true);
  }, 30_000);
});

describe("the user's clone and hooks", () => {
  test("a prepare-commit-msg hook that prefixes every subject never touches orch's commits", () => {
    const { world, a, b } = makeEngineWorld();
    for (const c of [a, b]) {
      const hook = join(c.dir, ".git/hooks/prepare-commit-msg");
      mkdirSync(join(c.dir, ".git/hooks"), { recursive: true });
      writeFileSync(hook, '#!/bin/sh\nsed -i "1s/^/[TICKET-1] /" "$1"\n');
      chmodSync(hook, 0o755);
    }
    const sup = a.orch(["supervisor", ...FAST, "--sync-loops", "1", "--max-wait-sec", "0.1"]);
    expect(sup.code).toBe(5);
    const loop = b.orch(["loop", ...FAST, "--sync-loops", "1"]);
    expect(loop.code).toBe(0);
    const subjects = remoteSubjects(world, a).filter((s) => s.includes("SYNC"));
    expect(subjects.every((s) => s.startsWith("[SYNC "))).toBe(true);
    expect(subjects).toHaveLength(5);
    // The agent's own commit did run the hook: it is the user's, not orch's.
    expect(remoteSubjects(world, a)).toContain("[TICKET-1] galph: work for i=1");
    // A relaunch recognises its own last stamp: no spin, it simply waits for ralph's next turn.
    const again = a.orch(["supervisor", ...FAST, "--sync-loops", "1", "--max-wait-sec", "0.5"]);
    expect(again.stdout).not.toContain("not galph's turn");
  }, 30_000);

  test("a second runner in the same clone exits 7 naming the first, and the first one's agent lives on", async () => {
    const mark = String(process.pid) + "7";
    const { a } = makeEngineWorld({ supervisorAgent: ["sh", join(AGENTS, "hang.sh"), mark] });
    const first = a.spawnOrch(["supervisor", ...FAST, "--sync-loops", "1"]);
    await readUntil(first, "started");
    const second = a.orch(["supervisor", ...FAST, "--sync-loops", "1"]);
    expect(second.code).toBe(7);
    expect(second.stderr).toBe(`orch: another orch (pid ${first.pid}) is already running galph in this clone; stop it first (kill ${first.pid}), or run this one in another clone\n`);
    expect(second.stdout).not.toContain("left running by a previous orch");
    expect(processesWith(`1001.${mark}`)).toHaveLength(1);
    first.kill("SIGTERM");
    await first.exited;
  }, 30_000);

  test("a missing agent executable: exit 2 before anything is marked", () => {
    const { world, a } = makeEngineWorld({ supervisorAgent: ["no-such-agent-xyz", "exec"] });
    const r = a.orch(["supervisor", ...FAST, "--sync-loops", "1"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("supervisor agent 'no-such-agent-xyz' not found on PATH; install it, or set [supervisor] agent in orch.toml (or CODEX_CMD / --codex-cmd)");
    expect(remoteSubjects(world, a).some((s) => s.includes("status=running"))).toBe(false);
  }, 20_000);

  test("the agent's background children (nohup, setsid) are stopped when it exits", () => {
    const mark = String(process.pid) + "8";
    const { a } = makeEngineWorld({ supervisorAgent: ["sh", join(AGENTS, "nohup.sh"), mark] });
    const r = a.orch(["supervisor", ...FAST, "--sync-loops", "1", "--max-wait-sec", "0.1"]);
    expect(r.code).toBe(5);
    expect(processesWith(`1003.${mark}`)).toEqual([]);
    expect(processesWith(`1004.${mark}`)).toEqual([]);
  }, 20_000);

  test("a refused supervisor handoff pushes its fail stamp and nothing else", () => {
    const agent = ["sh", "-c", 'cat >/dev/null; mkdir -p reports; echo evidence > reports/summary.md; echo code > stray.bin; echo notes > input.md'];
    const { world, a } = makeEngineWorld({ supervisorAgent: agent });
    const r = a.orch(["supervisor", ...FAST, "--sync-loops", "1"]);
    expect(r.code).toBe(4);
    const subjects = remoteSubjects(world, a);
    expect(subjects.at(-1)).toMatch(/^\[SYNC i=1\] actor=galph status=fail/);
    expect(subjects.some((s) => s.startsWith("SUPERVISOR AUTO"))).toBe(false);
    // The files are left as the agent left them, for a person to look at.
    expect(a.gitResult("status", "--porcelain").stdout).toContain("stray.bin");
    expect(a.exists("reports/summary.md")).toBe(true);
    expect(a.git("log", "-1", "--format=%B", `origin/${world.branch}`)).toContain("Orch-Reason: hygiene violation");
  }, 20_000);

  test("a pre-receive hook that rejects: the remote's own words are quoted, with advice", () => {
    const { world, a } = makeEngineWorld();
    const hook = join(world.remote, "hooks/pre-receive");
    writeFileSync(hook, '#!/bin/sh\necho "branch is protected by policy X" >&2\nexit 1\n');
    chmodSync(hook, 0o755);
    const r = a.orch(["supervisor", ...FAST, "--sync-loops", "1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("origin refused the push to refs/heads/feature/x: branch is protected by policy X");
    expect(r.stderr).toContain("[remote rejected]");
    expect(r.stderr).toContain("check the remote's hooks and branch protection");
  }, 20_000);

  test("a hung transport while waiting: the runner keeps waiting instead of failing, and no ssh helper is left", async () => {
    const { world, a } = makeEngineWorld({ extraToml: "timeout_sec = 1\n" });
    const hang = join(world.root, "hang-ssh.sh");
    writeFileSync(hang, "#!/bin/sh\nexec sleep 600\n");
    chmodSync(hang, 0o755);
    const sup = a.spawnOrch(["supervisor", ...FAST, "--sync-loops", "1"], { env: { GIT_SSH_COMMAND: hang } });
    await readUntil(sup, "status=ok");
    // From now on the remote is reached over a "network" that never answers.
    a.git("remote", "set-url", "origin", `ssh://example.invalid${world.remote}`);
    const seen = await Promise.race([readUntil(sup, "remote unreachable"), Bun.sleep(15_000).then(() => "")]);
    expect(seen).toContain("remote unreachable");
    await Bun.sleep(1500);
    expect(sup.exitCode).toBeNull(); // still waiting
    sup.kill("SIGTERM");
    await sup.exited;
    await Bun.sleep(200);
    expect(processesWith("sleep 600")).toEqual([]);
  }, 40_000);
});

describe("crash leftovers", () => {
  test("orch stamp --no-push, then a runner publishes it; a rerun of orch stamp does not stamp twice", () => {
    const { world, a, b } = makeEngineWorld();
    expect(a.orch(["supervisor", ...FAST, "--sync-loops", "0"]).code).toBe(0);
    const first = a.orch(["stamp", "galph", "ok", "--no-push"]);
    expect(first.code).toBe(0);
    const rerun = a.orch(["stamp", "galph", "ok", "--no-push"]);
    expect(rerun.code).toBe(0);
    expect(rerun.stderr).toContain("already stamped here");
    expect(a.subjects().filter((s) => s.startsWith("[SYNC i=1] actor=galph → next=ralph status=ok"))).toHaveLength(1);
    const runner = a.orch(["supervisor", ...FAST, "--sync-loops", "1", "--max-wait-sec", "0.3"]);
    expect(runner.stdout).toContain("found an unpushed galph stamp (i=1 ok); pushing it instead of rerunning the turn");
    expect(remoteSubjects(world, b).filter((s) => s.includes("actor=galph → next=ralph status=ok"))).toHaveLength(1);
  }, 30_000);

  test("a stale state temp file is removed at start", () => {
    const { a } = makeEngineWorld();
    expect(a.orch(["supervisor", ...FAST, "--sync-loops", "0"]).code).toBe(0);
    a.write("sync/.state.json.99999.tmp", "{partial");
    expect(a.orch(["supervisor", ...FAST, "--sync-loops", "0"]).code).toBe(0);
    expect(a.exists("sync/.state.json.99999.tmp")).toBe(false);
  }, 20_000);

  test("an agent that switches the clone to another branch fails the turn, and orch switches back", () => {
    const agent = ["sh", "-c", "cat >/dev/null; git switch -q -c elsewhere"];
    const { world, a } = makeEngineWorld({ supervisorAgent: agent });
    const r = a.orch(["supervisor", ...FAST, "--sync-loops", "1"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("the agent switched the clone to branch 'elsewhere'");
    expect(a.git("symbolic-ref", "--short", "HEAD").trim()).toBe(world.branch);
    expect(remoteSubjects(world, a).at(-1)).toMatch(/actor=galph status=fail/);
  }, 20_000);

  test("a log directory that cannot be created is reported; the turn goes on", () => {
    const { world, a } = makeEngineWorld({ extraToml: "[logs]\ndir = \"/proc/orch-no-logs\"\n" });
    const r = a.orch(["supervisor", ...FAST, "--sync-loops", "1", "--max-wait-sec", "0.1"]);
    expect(r.code).toBe(5);
    expect(r.stdout).toContain("cannot create a log under /proc/orch-no-logs");
    expect(remoteSubjects(world, a).some((s) => /actor=galph → next=ralph status=ok/.test(s))).toBe(true);
  }, 20_000);
});
