/**
 * The side channel (issue 12): heartbeats, peer health, both machines' logs,
 * redaction, refusal fallback. Real git, two or three clones, the binary.
 */
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeEngineWorld, collect, AGENTS, readUntil } from "./helpers/engine-world.ts";
import { tempWorld, type Clone, type World } from "./helpers/world.ts";
import { Git } from "../src/core/git.ts";
import { writeCommits } from "../src/channel/objects.ts";
import { importLogs, type ImportMemo } from "../src/channel/logs.ts";

const FAST = ["--sync-via-git", "--poll-interval", "0.05"];

function remoteRefs(world: World, c: Clone): Map<string, string> {
  const out = c.git("ls-remote", world.remote).trim().split("\n");
  return new Map(out.filter(Boolean).map((l) => [l.split("\t")[1]!, l.split("\t")[0]!]));
}

function heartbeatOn(world: World, c: Clone, actor: string): Record<string, unknown> | null {
  const ref = `refs/orch/heartbeat/${actor}/${world.branch}`;
  const r = c.gitResult("fetch", "-q", "origin", `+${ref}:refs/test-hb/${actor}`);
  if (r.code !== 0) return null;
  return JSON.parse(c.git("show", `refs/test-hb/${actor}:heartbeat.json`));
}

/** A clone of the remote on a new branch of its own holding one file (a person's other work). */
function orphanClone(world: World, name: string, branch: string, file: string, text: string): Clone {
  const c = world.clone(name);
  c.git("checkout", "-q", "--orphan", branch);
  c.git("rm", "-rqf", ".");
  c.write(file, text);
  c.commitAll(branch);
  return c;
}

function logsIn(c: Clone, actor: string): string[] {
  const dir = join(c.dir, "logs/feature-x", actor);
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** Every heartbeat the remote receives, in order (actor and phase): a post-receive hook there keeps each one. */
function recordHeartbeats(world: World): () => string[] {
  const log = join(world.root, "heartbeats.log");
  const hook = join(world.remote, "hooks", "post-receive");
  writeFileSync(
    hook,
    `#!/bin/sh
while read old new ref; do
  case "$ref" in refs/orch/heartbeat/*) git show "$new:heartbeat.json" | tr -d '\\n' >>${JSON.stringify(log)}; echo >>${JSON.stringify(log)} ;; esac
done
`,
  );
  chmodSync(hook, 0o755);
  return () =>
    existsSync(log)
      ? readFileSync(log, "utf8").trim().split("\n").filter(Boolean).map((l) => {
          const hb = JSON.parse(l) as { actor: string; phase: string };
          return `${hb.actor} ${hb.phase}`;
        })
      : [];
}

describe("heartbeats", () => {
  test("a start goes straight to its mark's heartbeat (running); one that runs git's maintenance first says starting", async () => {
    const { world, a, b } = makeEngineWorld();
    const seen = recordHeartbeats(world);
    const run = async () => {
      const [rs, rl] = await Promise.all([collect(a.spawnOrch(["supervisor", ...FAST, "--sync-loops", "1"])), collect(b.spawnOrch(["loop", ...FAST, "--sync-loops", "1"]))]);
      expect(rs.code).toBe(0);
      expect(rl.code).toBe(0);
    };
    await run();
    const galph = (lines: string[]) => lines.filter((l) => l.startsWith("galph ")).map((l) => l.slice(6));
    expect(galph(seen())[0]).toBe("running");
    expect(galph(seen())).not.toContain("starting");
    // Maintenance due on machine A (more small packs than gc.autoPackLimit): "starting" goes out before it.
    const before = seen().length;
    a.git("pull", "-q", "--rebase", "origin", world.branch);
    a.git("config", "gc.autoPackLimit", "1");
    a.git("config", "gc.autoDetach", "false");
    for (const n of [1, 2]) {
      a.write(`pack-${n}.txt`, `${n}\n`);
      a.git("add", `pack-${n}.txt`);
      a.git("commit", "-qm", `pack ${n}`);
      a.git("repack", "-q");
    }
    a.git("push", "-q", "origin", `HEAD:refs/heads/${world.branch}`);
    b.git("pull", "-q", "--rebase", "origin", world.branch);
    await run();
    expect(galph(seen().slice(before))[0]).toBe("starting");
  }, 40_000);

  test("visible from the other clone while the agent sleeps, with phase and iteration; a parentless commit", async () => {
    const { world, a, b } = makeEngineWorld({ supervisorAgent: ["sh", join(AGENTS, "slow.sh"), "galph", "3"] });
    const sup = a.spawnOrch(["supervisor", ...FAST, "--sync-loops", "1", "--max-wait-sec", "1"]);
    await readUntil(sup, "started");
    const hb = heartbeatOn(world, b, "galph")!;
    expect(hb).toMatchObject({ schema: 1, actor: "galph", role: "supervisor", phase: "running", iteration: 1, blocked_until: null });
    expect(hb.host).toBeString();
    expect(hb.clone).toMatch(/^[0-9a-f]{16}$/);
    expect(hb.pid).toBe(sup.pid);
    expect((hb.agent as { argv0: string }).argv0).toBe("sh");
    expect(hb.turn_started_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(b.git("rev-list", "--count", "refs/test-hb/galph").trim()).toBe("1");
    await sup.exited;
    expect(heartbeatOn(world, b, "galph")!.phase).toBe("stopped");
  }, 40_000);

  test("kill -9 of the loop during its agent: the waiting supervisor says ralph went silent, and orch status there shows it", async () => {
    const { world, a, b } = makeEngineWorld({ loopAgent: ["sh", join(AGENTS, "hang.sh"), String(process.pid) + "c1"] });
    const env = { ORCH_SYNC_STALE_AFTER_SEC: "2", ORCH_SYNC_HEARTBEAT_PUSH_SEC: "0.5" };
    const sup = a.spawnOrch(["supervisor", ...FAST, "--sync-loops", "2", "--max-wait-sec", "30"], { env });
    await readUntil(sup, "status=ok");
    const loop = b.spawnOrch(["loop", ...FAST, "--sync-loops", "1"], { env });
    await readUntil(loop, "started");
    loop.kill("SIGKILL");
    await loop.exited;
    const seen = await readUntil(sup, "silent for", 20_000);
    expect(seen).toMatch(/\[sync\] ralph on \S+ silent for \d+s \(last heartbeat \d\d:\d\dZ, running i=1, last agent output \S+\); if that machine is gone: orch takeover ralph/);
    const status = a.orch(["status"], { env });
    expect(status.stdout).toMatch(/ralph on \S+ · running i=1 since \d\d:\d\dZ .*heartbeat \d+s ago \(SILENT/);
    sup.kill("SIGTERM");
    await sup.exited;
    Bun.spawnSync(["pkill", "-f", `1001.${process.pid}c1`]);
    expect(world.branch).toBe("feature/x");
  }, 60_000);

  test("two runners of one actor: one exits 7 on the heartbeat lease", async () => {
    const { a, clones } = makeEngineWorld({ clones: 3 });
    const env = { ORCH_SYNC_HEARTBEAT_PUSH_SEC: "0.3" };
    const [b, c] = [clones[1]!, clones[2]!];
    expect(a.orch(["supervisor", ...FAST, "--sync-loops", "0"]).code).toBe(0); // galph's turn, nobody runs galph
    const one = b.spawnOrch(["loop", ...FAST, "--sync-loops", "1", "--max-wait-sec", "20"], { env });
    await Bun.sleep(800);
    const two = c.spawnOrch(["loop", ...FAST, "--sync-loops", "1", "--max-wait-sec", "20"], { env });
    const first = await Promise.race([one.exited.then((code) => ({ who: one, code })), two.exited.then((code) => ({ who: two, code }))]);
    expect(first.code).toBe(7);
    const r = await collect(first.who);
    expect(r.stderr).toContain("another runner of ralph is writing refs/orch/heartbeat/ralph/feature/x");
    for (const p of [one, two]) if (p.exitCode === null) p.kill("SIGTERM");
    await Promise.all([one.exited, two.exited]);
  }, 40_000);

  test("a heartbeat deleted on the remote under a waiting runner is written again (no rival, no exit 7)", async () => {
    const { world, a, b } = makeEngineWorld({ clones: 2 });
    const env = { ORCH_SYNC_HEARTBEAT_PUSH_SEC: "0.3" };
    expect(a.orch(["supervisor", ...FAST, "--sync-loops", "0"]).code).toBe(0); // galph's turn, nobody runs galph
    const loop = b.spawnOrch(["loop", ...FAST, "--sync-loops", "1", "--max-wait-sec", "6"], { env });
    const ref = `refs/orch/heartbeat/ralph/${world.branch}`;
    const deadline = Date.now() + 10_000;
    while (!remoteRefs(world, a).has(ref) && Date.now() < deadline) await Bun.sleep(100);
    a.git("push", "-q", "origin", "--delete", ref);
    await Bun.sleep(1500);
    expect(loop.exitCode).toBeNull();
    expect(remoteRefs(world, a).has(ref)).toBe(true);
    expect(heartbeatOn(world, a, "ralph")!.phase).toBe("waiting");
    loop.kill("SIGTERM");
    const r = await collect(loop);
    expect(r.stderr).not.toContain("another runner");
  }, 40_000);

  test("a peer with no heartbeat (the old tool) is shown as unknown, never stale", () => {
    const { a, b } = makeEngineWorld();
    expect(a.orch(["supervisor", ...FAST, "--sync-loops", "0"]).code).toBe(0);
    b.git("pull", "-q", "--rebase", "origin", "feature/x");
    expect(b.orch(["stamp", "galph", "ok"]).code).toBe(0); // a stamp by hand: like the old tool, no heartbeat
    const status = b.orch(["status"]);
    expect(status.stdout).toMatch(/galph on \S+ · stopped/); // galph's runner said goodbye
    expect(status.stdout).toContain("ralph  no heartbeat (older tool?)");
  }, 30_000);
});

describe("both machines' logs", () => {
  test("ralph's log reaches galph's clone after ralph's stamp, and orch tail there shows it annotated", async () => {
    const { world, a, b } = makeEngineWorld();
    const sup = a.spawnOrch(["supervisor", ...FAST, "--sync-loops", "2", "--max-wait-sec", "20"]);
    await readUntil(sup, "status=ok");
    expect(b.orch(["loop", ...FAST, "--sync-loops", "1"]).code).toBe(0);
    await readUntil(sup, "[SYNC i=2] actor=galph status=running");
    expect(logsIn(a, "ralph").map((n) => n.slice(0, 10))).toContain("iter-00001");
    const tail = a.orch(["tail", "feature-x", "--no-ls", "--no-fetch"]);
    expect(tail.code).toBe(0);
    expect(tail.stdout).toMatch(/<log role="ralph" iter="1" path="logs\/feature-x\/ralph\/iter-00001_\d{8}_\d{6}_main\.log" source="log" format="text" commit="[0-9a-f]+" commit_subject="\[SYNC i=2\] actor=ralph → next=galph status=ok/);
    expect(tail.stdout).toContain("agent ralph: done");
    sup.kill("SIGTERM");
    await sup.exited;
    // A third clone (the person's laptop) sees both actors through orch tail's own fetch.
    const laptop = world.clone("laptop");
    const t3 = laptop.orch(["tail", "feature-x", "--no-ls"]);
    expect(t3.code).toBe(0);
    expect(t3.stdout).toContain('role="galph" iter="1"');
    expect(t3.stdout).toContain('role="ralph" iter="1"');
  }, 60_000);

  test("a planted AKIA key and the value of MY_API_KEY are redacted in the shipped copy and intact locally", async () => {
    const secret = "Zq8vX2mKp4Lr9sT1uW6y";
    const leak = ["sh", "-c", `cat >/dev/null; echo "aws key AKIAIOSFODNN7EXAMPLE"; echo "api key $MY_API_KEY"; echo ok`];
    const { world, a, b } = makeEngineWorld({ loopAgent: leak });
    expect(a.orch(["supervisor", ...FAST, "--sync-loops", "1", "--max-wait-sec", "0.2"]).code).toBe(5);
    expect(b.orch(["loop", ...FAST, "--sync-loops", "1"], { env: { MY_API_KEY: secret } }).code).toBe(0);
    const local = readFileSync(join(b.dir, "logs/feature-x/ralph", logsIn(b, "ralph")[0]!), "utf8");
    expect(local).toContain("AKIAIOSFODNN7EXAMPLE");
    expect(local).toContain(secret);
    a.git("fetch", "-q", "origin", `+refs/orch/logs/ralph/${world.branch}:refs/test-logs/ralph`);
    const shipped = a.git("show", `refs/test-logs/ralph:ralph/${logsIn(b, "ralph")[0]!}`);
    expect(shipped).not.toContain("AKIAIOSFODNN7EXAMPLE");
    expect(shipped).not.toContain(secret);
    expect(shipped).toContain("[REDACTED:");
    expect(shipped).toContain("echo ok".slice(5)); // the rest stays readable
  }, 40_000);

  test("orch tail PREFIX from a clone on another branch fetches that branch's logs; a log dir git does not ignore gets none, with a note", () => {
    const { world, a, b } = makeEngineWorld();
    expect(a.orch(["supervisor", ...FAST, "--sync-loops", "1", "--max-wait-sec", "0.2"]).code).toBe(5);
    expect(b.orch(["loop", ...FAST, "--sync-loops", "1"]).code).toBe(0);
    // The person's laptop works on another branch, which ignores logs/ too.
    const laptop = orphanClone(world, "laptop", "notes", ".gitignore", "logs/\n");
    const t = laptop.orch(["tail", "feature-x", "--no-ls"]);
    expect(t.code).toBe(0);
    expect(t.stdout).toContain('role="galph" iter="1"');
    expect(t.stdout).toContain('role="ralph" iter="1"');
    // Another clone whose branch does not ignore logs/: nothing is copied into its tree.
    const bare = orphanClone(world, "bare", "plain", "README", "x\n");
    const t2 = bare.orch(["tail", "feature-x", "--no-ls"]);
    expect(t2.stderr).toContain("logs/feature-x is not ignored by git: the peer's shipped logs are not copied here");
    expect(bare.git("status", "--porcelain")).toBe("");
    const st = bare.orch(["status", "--branch", world.branch]);
    expect(st.stdout).toContain("WARNING");
    expect(st.stdout).toContain("is not ignored by git");
    expect(bare.git("status", "--porcelain")).toBe("");
  }, 40_000);

  test("orch tail in a clone without a remote does not try to fetch", () => {
    const { a } = makeEngineWorld({ clones: 1 });
    a.git("remote", "remove", "origin");
    expect(a.orch(["pair", "--poll-interval", "0.05", "--sync-loops", "1"]).code).toBe(0);
    // Trying would retry the "network" for a minute and then print a note: the test's timeout catches the first.
    const t = a.orch(["tail", "feature-x"]);
    expect(t.code).toBe(0);
    expect(t.stderr).toBe("");
  }, 30_000);

  test("logs.ship = false pushes no log ref", () => {
    const { world, a, b } = makeEngineWorld({ extraToml: "[logs]\nship = false\n" });
    expect(a.orch(["supervisor", ...FAST, "--sync-loops", "1", "--max-wait-sec", "0.2"]).code).toBe(5);
    expect(b.orch(["loop", ...FAST, "--sync-loops", "1"]).code).toBe(0);
    const refs = [...remoteRefs(world, a).keys()];
    expect(refs.some((r) => r.startsWith("refs/orch/logs/"))).toBe(false);
    expect(refs).toContain(`refs/orch/heartbeat/ralph/${world.branch}`);
  }, 30_000);
});

describe("a remote that refuses refs/orch/*", () => {
  test("a clear warning, and turns still work", () => {
    const { world, a, b } = makeEngineWorld();
    const hook = join(world.remote, "hooks/pre-receive");
    writeFileSync(hook, '#!/bin/sh\nwhile read o n r; do case "$r" in refs/orch/*) echo "refs/orch is not allowed here" >&2; exit 1;; esac; done\nexit 0\n');
    chmodSync(hook, 0o755);
    const sup = a.orch(["supervisor", ...FAST, "--sync-loops", "1", "--max-wait-sec", "0.3"]);
    expect(sup.code).toBe(5);
    expect(sup.stdout).toContain("WARNING: origin refuses pushes to refs/orch/* (refs/orch is not allowed here");
    expect(sup.stdout).toContain("turns are not affected");
    const loop = b.orch(["loop", ...FAST, "--sync-loops", "1"]);
    expect(loop.code).toBe(0);
    expect([...remoteRefs(world, a).keys()].some((r) => r.startsWith("refs/orch/"))).toBe(false);
    const doctor = a.orch(["doctor", "--for", "supervisor"]);
    expect(doctor.stdout).toContain("does not accept pushes to refs/orch/*");
  }, 40_000);
});

describe("importing the peer's shipped logs", () => {
  test("a long log ref costs only its new files: what was imported before is remembered, a tree that is not an extension is read whole", async () => {
    await using w = tempWorld();
    const c = w.clones[0]!;
    const git = new Git({ cwd: c.dir, env: c.world.env });
    const dir = join(c.dir, "logs", "feature-x");
    const file = (n: number, ext = ".log") => ({ path: `ralph/iter-${String(n).padStart(5, "0")}_20260101_000000${ext}`, data: Buffer.from(`ralph ${n}\n`) });
    const ref = "refs/orch-remote/origin/logs/ralph/feature/x";
    let parent: string | null = null;
    const ship = async (files: { path: string; data: Buffer }[]) => {
      [parent] = await writeCommits(git, [{ ref, parent, files, message: "logs\n" }]);
    };
    const memo: ImportMemo = { present: new Set(), trees: new Map() };
    await ship([file(1), file(1, ".log.jsonl"), file(2)]);
    expect(await importLogs(git, ref, dir, undefined, memo)).toBe(3);
    await ship([file(3), file(3, ".log.jsonl")]);
    expect(await importLogs(git, ref, dir, undefined, memo)).toBe(2);
    expect(await importLogs(git, ref, dir, undefined, memo)).toBe(0);
    // A file that sorts before the others (not an extension of the last tree): still found.
    await ship([{ path: "ralph/iter-00000_20260101_000000.log", data: Buffer.from("ralph 0\n") }]);
    expect(await importLogs(git, ref, dir, undefined, memo)).toBe(1);
    expect(readdirSync(join(dir, "ralph")).sort()).toEqual([
      "iter-00000_20260101_000000.log",
      "iter-00001_20260101_000000.log",
      "iter-00001_20260101_000000.log.jsonl",
      "iter-00002_20260101_000000.log",
      "iter-00003_20260101_000000.log",
      "iter-00003_20260101_000000.log.jsonl",
    ]);
    // A fresh importer (the next run) finds them all here and writes nothing.
    expect(await importLogs(git, ref, dir)).toBe(0);
    expect(readFileSync(join(dir, "ralph", "iter-00003_20260101_000000.log"), "utf8")).toBe("ralph 3\n");
  });
});

