import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { OrchError } from "../src/core/errors.ts";
import { Git } from "../src/core/git.ts";
import { PullBlockedError, safePull } from "../src/core/sync.ts";
import { afterTurn, prePullPublish, pullWithRecovery, type HygieneContext } from "../src/hygiene/index.ts";
import { filesOf, hook, hygieneClone, message, statusLines } from "./helpers/hygiene.ts";
import { makeWorld, sh, type Clone } from "./helpers/world.ts";

const PRE_PULL = "RALPH AUTO PRE-PULL: reports evidence — autopublish";
const DOCS = "SUPERVISOR AUTO: doc/meta hygiene — tests: not run";
const TRACKED = "SUPERVISOR AUTO: tracked outputs — tests: not run";

/** What the engine passes: fetch first, then rebase onto the fetched branch. */
async function pullLikeTheEngine(ctx: HygieneContext): Promise<void> {
  const { git, remote, branch } = ctx.repo;
  await git.fetch(remote, branch);
  await pullWithRecovery(ctx, () => safePull(git, remote, branch, { fetched: true }));
}

/** Commit and push a change from the other machine. */
function upstream(peer: Clone, files: Record<string, string>): void {
  for (const [p, c] of Object.entries(files)) peer.write(p, c);
  peer.commitAll("peer change");
  peer.git("push", "-q", "origin", `HEAD:${peer.world.branch}`);
}

async function thrown(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

describe("loop pre-pull publish", () => {
  test("commits reports under plans/active/**/reports/** with the PRE-PULL subject, nothing else", async () => {
    const clone = hygieneClone();
    clone.write("plans/active/p1/reports/r.txt", "evidence\n");
    clone.write("plans/active/reports/top.json", "{}\n");
    clone.write("notes/other.txt", "x\n");
    const h = await hook(clone, {}, "loop");
    await prePullPublish(h.ctx);
    expect(message(clone)).toBe(`${PRE_PULL}\n\nFiles:\n - plans/active/p1/reports/r.txt\n - plans/active/reports/top.json`);
    expect(statusLines(clone)).toEqual(["?? notes/other.txt"]);
    // Nothing to publish: no commit, no error, no noise about the other file.
    const head = clone.head();
    const quiet = await hook(clone, {}, "loop");
    await prePullPublish(quiet.ctx);
    expect(clone.head()).toBe(head);
    expect(quiet.logs).toEqual([]);
    clone.write("plans/active/p1/reports/r2.txt", "x\n");
    await prePullPublish((await hook(clone, { "auto-commit-reports": false }, "loop")).ctx);
    expect(clone.head()).toBe(head);
  });

  test("a failure is logged, never thrown", async () => {
    const clone = hygieneClone();
    clone.write("plans/active/reports/r.txt", "x\n");
    const h = await hook(clone, {}, "loop");
    // A real failure: git cannot even start in a directory that vanished.
    h.ctx.repo.git = new Git({ cwd: join(clone.dir, "vanished"), env: clone.world.env });
    await prePullPublish(h.ctx);
    expect(h.logs.join("\n")).toContain("[pre-pull] WARNING: publishing reports before the pull failed");
  });
});

describe("supervisor pull recovery", () => {
  test("an untracked whitelisted file colliding with the remote is committed and the pull retried", async () => {
    const { clones } = makeWorld({ clones: 2 });
    const [me, peer] = clones as [Clone, Clone];
    upstream(peer, { "plans/new.md": "same\n" });
    me.write("plans/new.md", "same\n");
    const h = await hook(me);
    await pullLikeTheEngine(h.ctx);
    expect(me.subjects()).toContain("peer change");
    expect(me.read("plans/new.md")).toBe("same\n");
    expect(statusLines(me)).toEqual([]);
    expect(h.logs.join("\n")).toContain("[pull] recovered after the doc/meta commit");
  });

  test("a dirty whitelisted file the remote also changed is committed, then the pull merges both", async () => {
    const { clones } = makeWorld({ clones: 2, files: { "plans/a.md": "one\ntwo\nthree\nfour\nfive\n" } });
    const [me, peer] = clones as [Clone, Clone];
    upstream(peer, { "plans/a.md": "ONE\ntwo\nthree\nfour\nfive\n" });
    me.write("plans/a.md", "one\ntwo\nthree\nfour\nFIVE\n");
    const h = await hook(me);
    await pullLikeTheEngine(h.ctx);
    expect(me.read("plans/a.md")).toBe("ONE\ntwo\nthree\nfour\nFIVE\n");
    expect(message(me)).toBe(`${DOCS}\n\nFiles:\n - plans/a.md`);
    expect(me.subjects()[1]).toBe("peer change");
    expect(statusLines(me)).toEqual([]);
  });

  test("a dirty tracked output the remote also changed is committed by the tracked-outputs step", async () => {
    const { clones } = makeWorld({ clones: 2, files: { "tests/fixtures/d.json": "[\n1,\n2,\n3,\n4\n]\n" } });
    const [me, peer] = clones as [Clone, Clone];
    upstream(peer, { "tests/fixtures/d.json": "[\n0,\n2,\n3,\n4\n]\n" });
    me.write("tests/fixtures/d.json", "[\n1,\n2,\n3,\n5\n]\n");
    const h = await hook(me);
    await pullLikeTheEngine(h.ctx);
    expect(me.read("tests/fixtures/d.json")).toBe("[\n0,\n2,\n3,\n5\n]\n");
    expect(message(me)).toBe(`${TRACKED}\n\nFiles:\n - tests/fixtures/d.json`);
  });

  test("dirt that no step may commit fails with one line naming it; the file is untouched", async () => {
    const { clones } = makeWorld({ clones: 2 });
    const [me, peer] = clones as [Clone, Clone];
    upstream(peer, { "src/x.bin": "theirs" });
    me.write("src/x.bin", "mine");
    const head = me.head();
    const e = await thrown(pullLikeTheEngine((await hook(me)).ctx));
    expect(e).toBeInstanceOf(OrchError);
    expect((e as OrchError).exitCode).toBe(1);
    expect(e.message).not.toContain("\n");
    expect(e.message).toContain("untracked files would be overwritten: src/x.bin");
    expect(e.message).toContain("move or delete them, then rerun");
    expect(me.head()).toBe(head);
    expect(me.read("src/x.bin")).toBe("mine");
  });

  test("--no-prepull-auto-commit-docs: no recovery, one line, nothing committed, no conflict markers", async () => {
    const { clones } = makeWorld({ clones: 2, files: { "plans/a.md": "a\n" } });
    const [me, peer] = clones as [Clone, Clone];
    upstream(peer, { "plans/a.md": "theirs\n" });
    me.write("plans/a.md", "mine\n");
    const head = me.head();
    const e = await thrown(pullLikeTheEngine((await hook(me, { "prepull-auto-commit-docs": false })).ctx));
    expect(e.message).toBe("pull blocked by local changes that the remote also changed: plans/a.md (pre-pull recovery is off (--no-prepull-auto-commit-docs)); commit or discard them, then rerun");
    expect(me.head()).toBe(head);
    expect(me.read("plans/a.md")).toBe("mine\n");
  });

  test("--commit-dry-run: says what recovery would commit, commits nothing, fails with one line", async () => {
    const { clones } = makeWorld({ clones: 2, files: { "plans/a.md": "a\nb\nc\n" } });
    const [me, peer] = clones as [Clone, Clone];
    upstream(peer, { "plans/a.md": "A\nb\nc\n" });
    me.write("plans/a.md", "a\nb\nC\n");
    const head = me.head();
    const h = await hook(me, { "commit-dry-run": true });
    const e = await thrown(pullLikeTheEngine(h.ctx));
    expect(e.message).toContain("plans/a.md (dry run: nothing was committed)");
    expect(h.logs.join("\n")).toContain(`[doc/meta] dry run: would commit 1 file(s) (6 bytes) as "${DOCS}"`);
    expect(me.head()).toBe(head);
    expect(statusLines(me)).toEqual([" M plans/a.md"]);
  });

  test("the loop does not recover: it fails with one line and leaves the tree as it was", async () => {
    const { clones } = makeWorld({ clones: 2, files: { "src/main.py": "x = 1\n" } });
    const [me, peer] = clones as [Clone, Clone];
    upstream(peer, { "src/main.py": "x = 2\n" });
    me.write("src/main.py", "x = 3\n");
    const e = await thrown(pullLikeTheEngine((await hook(me, {}, "loop")).ctx));
    expect(e).toBeInstanceOf(PullBlockedError);
    expect(e.message).toContain("src/main.py");
    expect(me.read("src/main.py")).toBe("x = 3\n");
    expect(statusLines(me)).toEqual([" M src/main.py"]);
    // Dirt the remote did not touch never blocks: autostash carries it over.
    me.git("checkout", "--", "src/main.py");
    me.write("notes.txt", "local\n");
    upstream(peer, { "other.md": "o\n" });
    await pullLikeTheEngine((await hook(me, {}, "loop")).ctx);
    expect(me.read("notes.txt")).toBe("local\n");
    expect(me.exists("other.md")).toBe(true);
  });
});

describe("submodules", () => {
  test("pointer drift is scrubbed before the check and never fails the handoff", async () => {
    const { world, clones } = makeWorld({ clones: 1 });
    const me = clones[0]!;
    // A library repository with two commits; the project records the first.
    const lib = join(world.root, "lib.git");
    const run = (argv: string[], cwd: string) => {
      const r = sh(argv, { cwd, env: world.env });
      if (r.code !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
      return r.stdout;
    };
    run(["git", "init", "-q", "--bare", lib], world.root);
    const work = join(world.root, "libwork");
    run(["git", "clone", "-q", lib, work], world.root);
    writeFileSync(join(work, "l.txt"), "1\n");
    run(["git", "add", "."], work);
    run(["git", "commit", "-q", "-m", "l1"], work);
    const first = run(["git", "rev-parse", "HEAD"], work).trim();
    writeFileSync(join(work, "l.txt"), "2\n");
    run(["git", "commit", "-q", "-am", "l2"], work);
    run(["git", "push", "-q", "origin", "HEAD:refs/heads/main"], work);
    me.git("submodule", "add", "-q", lib, "vendor/lib");
    me.git("-C", "vendor/lib", "checkout", "-q", first);
    me.git("add", "vendor/lib");
    me.git("commit", "-q", "-m", "add submodule");
    // The agent moved the submodule to the newer commit and left it.
    me.git("-C", "vendor/lib", "checkout", "-q", "main");
    expect(statusLines(me)).toEqual([" M vendor/lib"]);
    const h = await hook(me);
    const result = await afterTurn(h.ctx);
    expect(result.blocked).toEqual([]);
    expect(me.git("-C", "vendor/lib", "rev-parse", "HEAD").trim()).toBe(first);
    expect(h.logs.join("\n")).toContain(`[submodules] vendor/lib aligned to ${first.slice(0, 7)}`);
    expect(statusLines(me)).toEqual([]);
  });
});

describe("performance", () => {
  test("50,000 ignored files under node_modules/: the whole supervisor hygiene step stays under one second", async () => {
    const clone = hygieneClone({ ".gitignore": "logs/\ntmp/\nnode_modules/\n" });
    for (let d = 0; d < 500; d++) {
      const dir = join(clone.dir, "node_modules", `pkg${d}`, "lib");
      mkdirSync(dir, { recursive: true });
      for (let f = 0; f < 100; f++) writeFileSync(join(dir, `f${f}.js`), "x");
    }
    clone.write("reports/r.md", "r\n");
    clone.write("input.md", "i\n");
    const h = await hook(clone);
    const started = performance.now();
    const result = await afterTurn(h.ctx);
    const ms = performance.now() - started;
    console.log(`[perf] afterTurn with 50,000 ignored files: ${ms.toFixed(0)} ms`);
    expect(result.blocked).toEqual([]);
    expect(result.committed.sort()).toEqual(["input.md", "reports/r.md"]);
    expect(filesOf(clone).some((f) => f.startsWith("node_modules"))).toBe(false);
    expect(ms).toBeLessThan(1000);
  }, 60_000);
});
