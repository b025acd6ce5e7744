import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { disposing, ROOT, tempWorld, type Clone } from "./helpers/world.ts";
import { collect } from "./helpers/engine-world.ts";
import { Git } from "../src/core/git.ts";
import { PullBlockedError, pushWithRetry, recoverOwnRebase, safePull } from "../src/core/sync.ts";
import { acquireLock, tryLock } from "../src/core/lock.ts";
import { OrchError } from "../src/core/errors.ts";

const STATE = "sync/state.json";
const STATE_JSON =
  '{\n  "iteration": 1,\n  "expected_actor": "galph",\n  "status": "idle",\n  "last_update": "2026-11-24T09:08:31Z",\n' +
  '  "lease_expires_at": "2026-11-24T09:18:31Z",\n  "galph_commit": null,\n  "ralph_commit": null\n}\n';

/** A remote whose branch holds a state file, and `clones` clones of it; removed when its `using` block ends. */
function stateWorld(clones = 1, files: Record<string, string> = {}) {
  const { world, clones: cs } = tempWorld({ clones, files: { [STATE]: STATE_JSON, ...files } });
  return disposing({ world, a: cs[0]!, b: cs[1]! });
}

const gitOf = (c: Clone, opts: { lockTimeoutMs?: number; log?: (l: string) => void } = {}) => new Git({ cwd: c.dir, env: c.world.env, networkRetryMs: 1000, ...opts });
const lockPath = (c: Clone) => join(c.dir, ".git", "orchestrator.lock");
const remoteTip = (c: Clone) => c.git("ls-remote", "origin", `refs/heads/${c.world.branch}`).split("\t")[0]!;
const rebaseLeft = (c: Clone) => existsSync(join(c.dir, ".git", "rebase-merge")) || existsSync(join(c.dir, ".git", "rebase-apply"));

/** Start the fixture that holds the mutex with orch's own lock code; resolves once it holds it. */
async function holdLock(c: Clone, holdMs: number) {
  const proc = Bun.spawn([process.execPath, join(ROOT, "test/fixtures/hold-lock.ts"), lockPath(c), String(holdMs)], { stdout: "pipe", stderr: "inherit" });
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  const { value } = await reader.read();
  expect(new TextDecoder().decode(value)).toBe("locked\n");
  reader.releaseLock();
  return proc;
}

/** Wait until something else holds the lock (polling with a non-blocking attempt). */
async function untilLockedElsewhere(path: string): Promise<void> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const mine = existsSync(path) ? tryLock(path) : null;
    if (existsSync(path) && !mine) return;
    mine?.release();
    if (Date.now() > deadline) throw new Error(`nobody took ${path}`);
    await Bun.sleep(20);
  }
}

describe("repository mutex (flock on <git-dir>/orchestrator.lock)", () => {
  test("a second process waits for the holder, then gets the lock when it exits", async () => {
    await using w = stateWorld();
    const { a } = w;
    const holder = await holdLock(a, 1500);
    const started = Date.now();
    const stamp = a.spawnOrch(["stamp", "galph", "ok"]);
    await Bun.sleep(800);
    expect(stamp.exitCode).toBeNull(); // still waiting
    expect(a.subjects()[0]).toBe("initial");
    const r = await collect(stamp);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1200);
    expect(await holder.exited).toBe(0);
    expect(a.subjects()[0]).toStartWith("[SYNC i=1] actor=galph");
  });

  test("the same lock as flock(1) / Python's fcntl.flock: orch waits for it", async () => {
    const flock = Bun.which("flock");
    if (!flock) return; // util-linux absent: the fixture-based test above covers orch's side
    await using w = stateWorld();
    const { a } = w;
    const holder = Bun.spawn([flock, lockPath(a), "sleep", "1.2"], { stdout: "ignore", stderr: "inherit" });
    await untilLockedElsewhere(lockPath(a));
    const started = Date.now();
    const r = await collect(a.spawnOrch(["stamp", "galph", "ok"]));
    expect(r.code).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    await holder.exited;
  });

  test("git.lock_timeout_sec bounds the wait: exit 1, one clear line, nothing changed", async () => {
    await using w = stateWorld();
    const { a } = w;
    a.write("orch.toml", "[git]\nlock_timeout_sec = 1\n");
    const holder = await holdLock(a, 60_000);
    try {
      const head = a.head();
      const started = Date.now();
      const r = a.orch(["stamp", "galph", "ok"]);
      const elapsed = Date.now() - started;
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`orch: repository lock ${lockPath(a)} is held by another process (waited 1s); wait for the other orch to finish or stop it\n`);
      expect(elapsed).toBeGreaterThanOrEqual(900);
      expect(elapsed).toBeLessThan(5000);
      expect(a.head()).toBe(head);
      expect(a.read(STATE)).toBe(STATE_JSON);
    } finally {
      holder.kill("SIGKILL");
      await holder.exited;
    }
  });

  test("a crashed holder (kill -9) releases the lock", async () => {
    await using w = stateWorld();
    const { a } = w;
    const holder = await holdLock(a, 60_000);
    const started = Date.now();
    const stamp = a.spawnOrch(["stamp", "galph", "ok"]);
    await Bun.sleep(400);
    expect(stamp.exitCode).toBeNull();
    holder.kill("SIGKILL");
    const r = await collect(stamp);
    expect(r.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await holder.exited).not.toBe(0);
  });

  test("in process: withLock is re-entrant, excludes a second binding, and never proceeds unlocked", async () => {
    await using w = stateWorld();
    const { a } = w;
    const first = gitOf(a);
    const second = gitOf(a, { lockTimeoutMs: 200 });
    await first.withLock(async () => {
      await first.withLock(async () => {
        expect(tryLock(lockPath(a))).toBeNull();
      });
      // Still held after the inner section ends.
      expect(tryLock(lockPath(a))).toBeNull();
      await expect(second.withLock(async () => "ran")).rejects.toThrow(/is held by another process \(waited 0s\)/);
    });
    expect(await second.withLock(async () => "ran")).toBe("ran");
  });

  test("acquireLock waits, then takes the lock once released", async () => {
    await using w = stateWorld();
    const { a } = w;
    const held = tryLock(lockPath(a))!;
    expect(held).not.toBeNull();
    setTimeout(() => held.release(), 300);
    const started = Date.now();
    const mine = await acquireLock(lockPath(a), 5000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    mine.release();
  });
});

describe("index.lock: back off and retry, never delete it", () => {
  test("a stamp waits out a busy index.lock and succeeds once it is gone", async () => {
    await using w = stateWorld();
    const { a } = w;
    const indexLock = join(a.dir, ".git", "index.lock");
    writeFileSync(indexLock, "");
    const started = Date.now();
    const stamp = a.spawnOrch(["stamp", "galph", "ok"]);
    await Bun.sleep(1000);
    expect(existsSync(indexLock)).toBe(true); // orch never deletes it
    expect(stamp.exitCode).toBeNull();
    rmSync(indexLock);
    const r = await collect(stamp);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(a.subjects()[0]).toStartWith("[SYNC i=1] actor=galph");
    expect(remoteTip(a)).toBe(a.head());
  });

  test("in process: each retry is logged with its delay", async () => {
    await using w = stateWorld();
    const { a } = w;
    const indexLock = join(a.dir, ".git", "index.lock");
    writeFileSync(indexLock, "");
    const lines: string[] = [];
    const git = gitOf(a, { log: (l) => lines.push(l) });
    a.write("new.txt", "x\n");
    setTimeout(() => rmSync(indexLock), 700);
    await git.add(["new.txt"]);
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines[0]).toMatch(/^\[git\] index\.lock busy; retrying in 0\.4s$/);
    if (lines[1]) expect(lines[1]).toBe("[git] index.lock busy; retrying in 0.8s");
    expect(a.git("status", "--porcelain")).toContain("A  new.txt");
  });
});

describe("rebase left in progress", () => {
  /** Stop an interactive rebase at its first commit (HEAD detached, tree clean). */
  function leaveRebase(c: Clone): void {
    c.write("local.txt", "mine\n");
    c.commitAll("local work");
    const r = Bun.spawnSync(["git", "rebase", "-q", "-i", "HEAD~1"], { cwd: c.dir, env: { ...c.world.env, GIT_SEQUENCE_EDITOR: "sed -i 1s/^pick/edit/" }, stdout: "pipe", stderr: "pipe" });
    expect(r.exitCode).toBe(0);
    expect(rebaseLeft(c)).toBe(true);
    expect(c.gitResult("symbolic-ref", "-q", "HEAD").code).not.toBe(0);
  }

  /** What a crash of orch mid-pull leaves: its own marker beside the rebase. */
  function markOwn(c: Clone): void {
    writeFileSync(join(c.dir, ".git", "orch-rebase"), `${c.world.branch}\n`);
  }

  test("a rebase the user left in progress is refused, never aborted: exit 2 naming what to do, nothing touched", () => {
    using w = stateWorld();
    const { a } = w;
    leaveRebase(a);
    a.write("staged-new.txt", "hand work\n");
    a.git("add", "staged-new.txt");
    const head = a.head();
    const r = a.orch(["stamp", "galph", "ok"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`orch: a rebase of '${a.world.branch}' is in progress in this clone and orch did not start it; finish it (git rebase --continue) or abort it (git rebase --abort), then rerun\n`);
    expect(rebaseLeft(a)).toBe(true);
    expect(a.head()).toBe(head);
    expect(a.git("diff", "--cached", "--name-only").trim()).toBe("staged-new.txt");
  });

  test("a rebase orch itself started (crash mid-pull) is aborted and said: back on the branch, then pulls and stamps", () => {
    using w = stateWorld();
    const { a } = w;
    leaveRebase(a);
    markOwn(a);
    const r = a.orch(["stamp", "galph", "ok"]);
    expect(r.stderr).toBe(`[git] aborted the rebase of ${a.world.branch} that an interrupted orch left in progress\n`);
    expect(r.code).toBe(0);
    expect(rebaseLeft(a)).toBe(false);
    expect(a.git("symbolic-ref", "--short", "HEAD").trim()).toBe(a.world.branch);
    expect(a.subjects().slice(0, 2)).toEqual([expect.stringMatching(/^\[SYNC i=1\] actor=galph/), "local work"]);
    expect(remoteTip(a)).toBe(a.head());
  });

  test("also with --branch and --no-pull (never stamps onto a half-rebased HEAD)", () => {
    using w = stateWorld();
    const { a } = w;
    leaveRebase(a);
    markOwn(a);
    const r = a.orch(["stamp", "galph", "ok", "--branch", a.world.branch, "--no-pull", "--no-push"]);
    expect(r.code).toBe(0);
    expect(rebaseLeft(a)).toBe(false);
    expect(a.git("symbolic-ref", "--short", "HEAD").trim()).toBe(a.world.branch);
    expect(a.subjects()[1]).toBe("local work");
  });

  test("in process: orch's own stale rebase is undone; a rebase directory with no rebase behind it is forgotten", async () => {
    await using w = stateWorld(2);
    const { a, b } = w;
    leaveRebase(a);
    markOwn(a);
    b.write("remote.txt", "r\n");
    b.commitAll("remote work");
    b.git("push", "-q", "origin", `HEAD:${b.world.branch}`);
    expect(await recoverOwnRebase(gitOf(a), a.world.branch)).toBe(`[git] aborted the rebase of ${a.world.branch} that an interrupted orch left in progress`);
    expect(rebaseLeft(a)).toBe(false);
    await safePull(gitOf(a), "origin", a.world.branch);
    expect(a.subjects().slice(0, 3)).toEqual(["local work", "remote work", "initial"]);

    mkdirSync(join(a.dir, ".git", "rebase-merge"));
    writeFileSync(join(a.dir, ".git", "rebase-merge", "head-name"), `refs/heads/${a.world.branch}\n`);
    markOwn(a);
    expect(await recoverOwnRebase(gitOf(a), a.world.branch)).not.toBeNull();
    expect(rebaseLeft(a)).toBe(false);
    expect(a.subjects()[0]).toBe("local work");
  });

  test("a user's rebase of another branch is refused before anything else, keeping the hand-resolved work", () => {
    using w = stateWorld();
    const { a } = w;
    a.git("checkout", "-q", "-b", "other");
    a.write("shared.txt", "base\n");
    a.commitAll("other base");
    a.git("checkout", "-q", "-b", "other-side", "HEAD~1");
    a.write("shared.txt", "side\n");
    a.commitAll("side edit");
    a.git("checkout", "-q", "other");
    a.write("shared.txt", "mine\n");
    a.commitAll("my edit");
    expect(a.gitResult("rebase", "-q", "other-side").code).not.toBe(0); // stops on the conflict
    a.write("shared.txt", "resolved by hand\n");
    a.git("add", "shared.txt");
    a.write("new-staged.txt", "new\n");
    a.git("add", "new-staged.txt");
    const r = a.orch(["supervisor", "--sync-via-git", "--sync-loops", "1", "--branch", a.world.branch]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("a rebase of 'other' is in progress in this clone and orch did not start it");
    expect(rebaseLeft(a)).toBe(true);
    expect(a.read("shared.txt")).toBe("resolved by hand\n");
    expect(a.git("diff", "--cached", "--name-only").trim().split("\n").sort()).toEqual(["new-staged.txt", "shared.txt"]);
  });

  test("a merge, cherry-pick or revert in progress is refused up front", () => {
    using w = stateWorld();
    const { a } = w;
    writeFileSync(join(a.dir, ".git", "MERGE_HEAD"), a.head() + "\n");
    const r = a.orch(["stamp", "galph", "ok"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("a merge is in progress in this clone and orch did not start it; finish it (git commit) or abort it (git merge --abort)");
    rmSync(join(a.dir, ".git", "MERGE_HEAD"));
  });

  test("a real conflict: exit 1 naming what to do, no rebase left behind, the local commit kept", () => {
    using w = stateWorld(2, { "shared.txt": "base\n" });
    const { a, b } = w;
    b.write("shared.txt", "theirs\n");
    b.commitAll("their edit");
    b.git("push", "-q", "origin", `HEAD:${b.world.branch}`);
    a.write("shared.txt", "mine\n");
    a.commitAll("my edit");
    const head = a.head();
    const r = a.orch(["stamp", "galph", "ok"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^orch: git rebase onto origin\/feature\/x failed: .*; resolve the conflict by hand \(git pull --rebase\), then rerun\n$/);
    expect(rebaseLeft(a)).toBe(false);
    expect(a.head()).toBe(head);
    expect(a.read("shared.txt")).toBe("mine\n");
  });
});

describe("untracked collisions fail fast, naming the paths", () => {
  test("orch stamp: exit 1 with the colliding paths, the untracked files untouched, nothing committed", () => {
    using w = stateWorld(2);
    const { a, b } = w;
    b.write("data/new.txt", "theirs\n");
    b.write("data/other.txt", "theirs too\n");
    b.commitAll("add data");
    b.git("push", "-q", "origin", `HEAD:${b.world.branch}`);
    a.write("local.txt", "mine\n");
    a.commitAll("local work"); // a real rebase, not a fast-forward
    a.write("data/new.txt", "mine\n");
    a.write("data/other.txt", "mine too\n");
    const head = a.head();
    const r = a.orch(["stamp", "galph", "ok"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("orch: pull blocked: untracked files would be overwritten: data/new.txt, data/other.txt; move or delete them, then rerun\n");
    expect(a.read("data/new.txt")).toBe("mine\n");
    expect(a.head()).toBe(head);
    expect(rebaseLeft(a)).toBe(false);
  });

  test("in process: PullBlockedError carries the paths (fast-forward case)", async () => {
    await using w = stateWorld(2);
    const { a, b } = w;
    b.write("report.md", "theirs\n");
    b.commitAll("add report");
    b.git("push", "-q", "origin", `HEAD:${b.world.branch}`);
    a.write("report.md", "mine\n");
    let caught: unknown;
    try {
      await safePull(gitOf(a), "origin", a.world.branch);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(PullBlockedError);
    expect((caught as PullBlockedError).paths).toEqual(["report.md"]);
    expect((caught as PullBlockedError).kind).toBe("untracked");
    expect((caught as OrchError).exitCode).toBe(1);
  });
});

describe("push races", () => {
  test("two clones pushing at once: the loser rebases and retries, no commit lost, history linear", async () => {
    await using w = stateWorld(2);
    const { a, b } = w;
    const rejected: string[] = [];
    const log = (l: string) => l.includes("push rejected") && rejected.push(l);
    for (let round = 1; round <= 3; round++) {
      // Both start the round up to date, so each push races exactly one other (the SPEC's one retry).
      for (const c of [a, b]) c.git("pull", "-q", "--rebase", "origin", c.world.branch);
      a.write(`a${round}.txt`, "a\n");
      a.commitAll(`a round ${round}`);
      b.write(`b${round}.txt`, "b\n");
      b.commitAll(`b round ${round}`);
      await Promise.all([pushWithRetry(gitOf(a, { log }), "origin", a.world.branch), pushWithRetry(gitOf(b, { log }), "origin", b.world.branch)]);
    }
    // Both commits sit on the same base, so whichever pushes second is rejected: one retry per round.
    expect(rejected).toHaveLength(3);
    a.git("fetch", "-q", "origin");
    const remote = a.subjects(`origin/${a.world.branch}`);
    for (let round = 1; round <= 3; round++) {
      expect(remote).toContain(`a round ${round}`);
      expect(remote).toContain(`b round ${round}`);
    }
    expect(a.git("rev-list", "--merges", "--count", `origin/${a.world.branch}`).trim()).toBe("0");
  });

  test("a stamp pushed while the other clone moved the branch: rebased onto it, both kept", () => {
    using w = stateWorld(2);
    const { a, b } = w;
    b.write("notes.md", "b\n");
    b.commitAll("b's notes");
    b.git("push", "-q", "origin", `HEAD:${b.world.branch}`);
    const r = a.orch(["stamp", "galph", "ok", "--no-pull"]);
    expect(r.code).toBe(0);
    a.git("fetch", "-q", "origin");
    expect(a.subjects(`origin/${a.world.branch}`).slice(0, 3)).toEqual([expect.stringMatching(/^\[SYNC i=1\] actor=galph/), "b's notes", "initial"]);
  });

  test("two clones stamping at once: every stamp either lands on the remote or stays committed locally", async () => {
    await using w = stateWorld(2);
    const { a, b } = w;
    const [ra, rb] = await Promise.all([collect(a.spawnOrch(["stamp", "galph", "ok"])), collect(b.spawnOrch(["stamp", "galph", "fail"]))]);
    a.git("fetch", "-q", "origin");
    const remote = a.subjects(`origin/${a.world.branch}`);
    for (const [clone, r] of [[a, ra], [b, rb]] as const) {
      expect([0, 1]).toContain(r.code);
      const mine = clone.subjects()[0]!;
      expect(mine).toStartWith("[SYNC i=1] actor=galph");
      if (r.code === 0) expect(remote).toContain(mine);
      else expect(r.stderr).toStartWith("orch: git rebase onto origin/feature/x failed");
      expect(rebaseLeft(clone)).toBe(false);
    }
    expect(ra.code === 0 || rb.code === 0).toBe(true);
  });
});
