/**
 * The engine's fast path (issue 17): state commits written by fast-import and
 * fast-forwarded onto are the commits `git commit --only` writes; the kept
 * cat-file and fast-import see what other git processes write; pulls
 * fast-forward without touching what is staged.
 */
import { describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Git } from "../src/core/git.ts";
import { classifyFailure } from "../src/core/git-errors.ts";
import { maintenanceDue } from "../src/core/git-files.ts";
import { forwardOneFile, recoverFastForward } from "../src/core/index-file.ts";
import { objectId } from "../src/core/loose.ts";
import { openRepo, type Repo } from "../src/core/repo.ts";
import { safePull } from "../src/core/sync.ts";
import { initialState, markRunning, serializeState } from "../src/core/state.ts";
import { writeCommits } from "../src/channel/objects.ts";
import { commitState, commitStateFast, stripspace, type StateMessage } from "../src/engine/handoff.ts";
import { sh, tempWorld, type Clone } from "./helpers/world.ts";

const STATE = "sync/state.json";

/** A clone whose branch holds a state file, opened in process with a fixed commit time (so two ways of committing can be compared). */
async function stateRepo(clone: Clone): Promise<Repo> {
  clone.write(STATE, serializeState(initialState(new Date("2026-01-01T00:00:00Z"))));
  clone.commitAll("[SYNC init] actor=galph status=idle");
  const env = { ...clone.world.env, GIT_AUTHOR_DATE: "@1767225600 +0100", GIT_COMMITTER_DATE: "@1767225601 +0100" };
  const repo = await openRepo({ command: "supervisor", cwd: clone.dir, env, branch: "require" });
  repo.git = new Git({ cwd: repo.top, env });
  return repo;
}

const MESSAGE: StateMessage = {
  subject: "[SYNC i=1] actor=galph status=running",
  // Trailing blanks and an inner newline: git's whitespace clean-up must be matched byte for byte.
  trailers: [["Orch-Runner", "host=h clone=c pid=1 "], ["Orch-Reason", "two\nlines  "], ["Orch-Empty", ""]],
};

describe("state commits the fast way", () => {
  test("the same commit object as git commit --only writes (same sha), staged work left staged, the state file written", async () => {
    await using w = tempWorld();
    const c = w.clones[0]!;
    const repo = await stateRepo(c);
    const base = c.head();
    const marked = markRunning(initialState(new Date("2026-01-01T00:00:00Z")), "galph", new Date("2026-01-01T00:01:00Z"));
    await commitState(repo, marked, MESSAGE);
    const porcelain = c.head();
    const porcelainObject = c.git("cat-file", "commit", porcelain);
    c.git("reset", "-q", "--hard", base);

    c.write("staged.txt", "the agent's work\n");
    c.git("add", "staged.txt");
    c.write("README.md", "unstaged edit\n");
    const made = await commitStateFast(repo, base, marked, MESSAGE);
    expect(made.sha).toBe(porcelain);
    expect(c.head()).toBe(porcelain);
    expect(c.git("cat-file", "commit", made.sha)).toBe(porcelainObject);
    // HEAD moved in-process (only the state file differs): no merge printed an abbreviation.
    expect(made.short).toBeNull();
    expect(c.git("show", "--name-only", "--format=", "HEAD").trim()).toBe(STATE);
    expect(c.read(STATE)).toBe(serializeState(marked));
    expect(c.git("diff", "--cached", "--name-only").trim()).toBe("staged.txt");
    expect(c.git("status", "--porcelain", "--untracked-files=no").split("\n").filter(Boolean).sort()).toEqual([" M README.md", "A  staged.txt"]);
  });

  test("never runs the repository's hooks", async () => {
    await using w = tempWorld();
    const c = w.clones[0]!;
    const repo = await stateRepo(c);
    for (const hook of ["prepare-commit-msg", "commit-msg", "post-commit", "post-merge", "post-checkout", "reference-transaction"]) {
      const path = c.write(`.git/hooks/${hook}`, `#!/bin/sh\ntouch "$(git rev-parse --git-dir)/ran-${hook}"\n`);
      chmodSync(path, 0o755);
    }
    const made = await commitStateFast(repo, c.head(), markRunning(initialState(), "galph"), MESSAGE);
    expect(c.head()).toBe(made.sha);
    expect(c.git("log", "-1", "--format=%s").trim()).toBe(MESSAGE.subject);
    const ran = ["prepare-commit-msg", "commit-msg", "post-commit", "post-merge", "post-checkout", "reference-transaction"].filter((hook) => existsSync(join(c.dir, ".git", `ran-${hook}`)));
    expect(ran).toEqual([]);
  });

  test("a state file the agent left modified: committed the porcelain way, with orch's content", async () => {
    await using w = tempWorld();
    const c = w.clones[0]!;
    const repo = await stateRepo(c);
    const base = c.head();
    c.write(STATE, "{ not json\n");
    const marked = markRunning(initialState(), "galph");
    const made = await commitStateFast(repo, base, marked, MESSAGE);
    expect(made.sha).toBe(c.head());
    expect(c.git("rev-parse", "HEAD~1").trim()).toBe(base);
    expect(c.git("show", `HEAD:${STATE}`)).toBe(serializeState(marked));
    expect(c.git("status", "--porcelain", "--untracked-files=no").trim()).toBe("");
  });

  test("whitespace clean-up as git commit -F does it", () => {
    expect(stripspace("\n\nsubject  \n\n\n\nOrch-A: b \t\n\n")).toBe("subject\n\nOrch-A: b\n");
    expect(stripspace("# kept\n")).toBe("# kept\n");
    expect(stripspace("\n \n")).toBe("");
  });
});

describe("the fast-forward onto a state commit, in process", () => {
  /** Everything git checks of an index and a working tree after a fast-forward. */
  function expectConsistent(c: Clone, sha: string, stateText: string, staged: string[] = []): void {
    expect(c.head()).toBe(sha);
    expect(c.read(STATE)).toBe(stateText);
    expect(c.git("ls-files", "-s", STATE).split(" ")[1]).toBe(c.git("rev-parse", `${sha}:${STATE}`).trim());
    // The cache-tree of the state file's directories was invalidated: write-tree (of a copy of the index
    // without what the user staged) rebuilds HEAD's tree, not the old one.
    const copy = join(c.dir, ".git", "index-copy");
    copyFileSync(join(c.dir, ".git", "index"), copy);
    const env = { ...c.world.env, GIT_INDEX_FILE: copy };
    for (const path of staged) sh(["git", "rm", "-q", "--cached", path], { cwd: c.dir, env });
    expect(sh(["git", "write-tree"], { cwd: c.dir, env }).stdout.trim()).toBe(c.git("rev-parse", `${sha}^{tree}`).trim());
    rmSync(copy);
    expect(c.gitResult("fsck", "--no-dangling").code).toBe(0);
  }

  test("HEAD, the index and the file move with no process; staged and unstaged work stay; reflog and ORIG_HEAD as git merge writes them", async () => {
    await using w = tempWorld();
    const c = w.clones[0]!;
    const repo = await stateRepo(c);
    repo.git.keepBatches();
    try {
      const base = c.head();
      c.write("staged.txt", "the agent's work\n");
      c.git("add", "staged.txt");
      c.write("README.md", "unstaged edit\n");
      c.write("untracked.txt", "left alone\n");
      c.git("status"); // git refreshes the index (and writes its cache-tree extension): the index as a user has it
      const marked = markRunning(initialState(new Date("2026-01-01T00:00:00Z")), "galph", new Date("2026-01-01T00:01:00Z"));
      // What a runner asks once at start (the kept cat-file, git var -l, the git dir): not counted below.
      await repo.git.catFiles([`${base}^{tree}`]);
      await repo.git.loose();
      const calls = repo.git.calls;
      const made = await commitStateFast(repo, base, marked, MESSAGE);
      expect(repo.git.calls).toBe(calls); // no git process at all
      expectConsistent(c, made.sha, serializeState(marked), ["staged.txt"]);
      expect(c.git("status", "--porcelain").split("\n").filter(Boolean).sort()).toEqual([" M README.md", "?? untracked.txt", "A  staged.txt"]);
      expect(c.git("reflog", "-1", "--format=%gs").trim()).toBe(`merge ${made.sha}: Fast-forward`);
      expect(c.git("reflog", "-1", "--format=%gs", "HEAD").trim()).toBe(`merge ${made.sha}: Fast-forward`);
      expect(c.git("rev-parse", "ORIG_HEAD").trim()).toBe(base);
      // The next state commit builds on it the same way.
      const stamped = { ...marked, status: "idle" as const, expected_actor: "ralph" as const };
      const again = await commitStateFast(repo, made.sha, stamped, MESSAGE);
      expectConsistent(c, again.sha, serializeState(stamped), ["staged.txt"]);
      expect(c.git("rev-parse", "HEAD~1").trim()).toBe(made.sha);
    } finally {
      repo.git.closeBatches();
    }
  });

  test("with the extensions git may write (end of entries, offset table, untracked cache), the index stays readable and right", async () => {
    await using w = tempWorld();
    const c = w.clones[0]!;
    const repo = await stateRepo(c);
    c.git("config", "index.recordEndOfIndexEntries", "true");
    c.git("config", "index.recordOffsetTable", "true");
    c.git("config", "index.threads", "2");
    c.git("config", "core.untrackedCache", "true");
    c.git("update-index", "--refresh", "--untracked-cache");
    c.git("status");
    const marked = markRunning(initialState(), "galph");
    const made = await commitStateFast(repo, c.head(), marked, MESSAGE);
    expect(made.short).toBeNull(); // in process
    expectConsistent(c, made.sha, serializeState(marked));
    expect(c.git("status", "--porcelain").trim()).toBe("");
    // The untracked cache still sees a file that appears beside the state file.
    c.write("sync/new.txt", "untracked\n");
    expect(c.git("status", "--porcelain").trim()).toBe("?? sync/new.txt");
  });

  for (const [name, setup] of [
    ["an index in version 4 (compressed paths)", (c: Clone) => c.git("update-index", "--index-version", "4")],
    ["a split index", (c: Clone) => c.git("update-index", "--split-index")],
    ["a state file with uncommitted bytes", (c: Clone) => c.write(STATE, c.read(STATE).replace("idle", "idle ") )],
  ] as const) {
    test(`${name}: left to git merge (or the porcelain commit), with the same result`, async () => {
      await using w = tempWorld();
      const c = w.clones[0]!;
      const repo = await stateRepo(c);
      setup(c);
      const marked = markRunning(initialState(), "galph");
      const made = await commitStateFast(repo, c.head(), marked, MESSAGE);
      expect(c.git("rev-parse", "HEAD").trim()).toBe(made.sha);
      expect(c.read(STATE)).toBe(serializeState(marked));
      expect(c.git("status", "--porcelain").trim()).toBe("");
      expect(c.gitResult("fsck", "--no-dangling").code).toBe(0);
    });
  }

  test("a held index.lock or branch lock: nothing written, the other process's lock left in place", async () => {
    await using w = tempWorld();
    const c = w.clones[0]!;
    const repo = await stateRepo(c);
    const head = c.head();
    const blob = c.git("rev-parse", `HEAD:${STATE}`).trim();
    const data = Buffer.from(serializeState(markRunning(initialState(), "galph")));
    const args = { gitDir: join(c.dir, ".git"), top: c.dir, branch: repo.branch, from: head, to: head, path: STATE, oldBlob: blob, newBlob: objectId("blob", data), mode: "100644" as const, data, reflogIdent: "x <x@x> 1 +0000", createReflogs: true };
    const indexBefore = readFileSync(join(c.dir, ".git", "index"));
    for (const held of [join(c.dir, ".git", "index.lock"), join(c.dir, ".git", "refs", "heads", `${repo.branch}.lock`)]) {
      mkdirSync(dirname(held), { recursive: true });
      writeFileSync(held, "someone else's\n");
      expect(forwardOneFile(args)).toBe(false);
      expect(readFileSync(held, "utf8")).toBe("someone else's\n");
      rmSync(held);
    }
    // A ref that moved since HEAD was read: nothing either.
    expect(forwardOneFile({ ...args, from: "0".repeat(40) })).toBe(false);
    // A merge the user has in progress: left alone, as git merge leaves it.
    writeFileSync(join(c.dir, ".git", "MERGE_HEAD"), `${head}\n`);
    expect(forwardOneFile(args)).toBe(false);
    rmSync(join(c.dir, ".git", "MERGE_HEAD"));
    expect(readFileSync(join(c.dir, ".git", "index")).equals(indexBefore)).toBe(true);
    expect(c.read(STATE)).not.toBe(data.toString());
    expect(existsSync(join(c.dir, ".git", "index.lock"))).toBe(false);
  });
});

describe("a fast-forward cut short (kill -9 while orch held git's locks)", () => {
  test("the next start removes the locks it left, and only those; the state file is back to HEAD's", async () => {
    await using w = tempWorld();
    const c = w.clones[0]!;
    const gitDir = join(c.dir, ".git");
    const record = join(gitDir, "orch-fast-forward");
    const indexLock = join(gitDir, "index.lock");
    const refLock = join(gitDir, "refs", "heads", `${w.world.branch}.lock`);
    // What a killed fast-forward leaves: its record, both locks (made just after it).
    writeFileSync(record, JSON.stringify({ pid: 999999, at: Date.now(), locks: [indexLock, refLock] }));
    mkdirSync(dirname(refLock), { recursive: true });
    writeFileSync(indexLock, "half an index");
    writeFileSync(refLock, "");
    expect(recoverFastForward(gitDir).sort()).toEqual([indexLock, refLock].sort());
    expect(existsSync(indexLock) || existsSync(refLock) || existsSync(record)).toBe(false);
    // A lock made well after the record belongs to a git process started since: left alone.
    writeFileSync(record, JSON.stringify({ pid: 999999, at: Date.now() - 60_000, locks: [indexLock] }));
    writeFileSync(indexLock, "someone else's");
    expect(recoverFastForward(gitDir)).toEqual([]);
    expect(readFileSync(indexLock, "utf8")).toBe("someone else's");
    expect(existsSync(record)).toBe(false);
    rmSync(indexLock);
    expect(recoverFastForward(gitDir)).toEqual([]); // no record: nothing to do
  });
});

describe("kept batch processes", () => {
  test("cat-file sees objects and refs written after it started; big blobs, missing names and newlines", async () => {
    await using w = tempWorld();
    const c = w.clones[0]!;
    const git = new Git({ cwd: c.dir, env: c.world.env });
    git.keepBatches();
    try {
      const [first] = await git.catFiles(["HEAD^{commit}"]);
      expect(first!.sha).toBe(c.head());
      const big = "x".repeat(1_500_000) + "\n";
      c.write("big.txt", big);
      c.commitAll("big");
      c.git("pack-refs", "--all");
      const [commit, blob, missing, odd] = await git.catFiles([`refs/heads/${c.world.branch}^{commit}`, "HEAD:big.txt", "HEAD:nope", "HEAD:a\nb"]);
      expect(commit!.sha).toBe(c.head());
      expect(blob!.body.toString()).toBe(big);
      expect(missing).toBeNull();
      expect(odd).toBeNull();
      expect(await git.headSha()).toBe(c.head());
      expect(git.calls).toBeLessThanOrEqual(2); // the kept cat-file and at most rev-parse --git-dir
    } finally {
      git.closeBatches();
    }
  });

  /** A binding that writes commits in-process (loose objects) or, with the object directory named in its environment, through fast-import. */
  const writerGit = (c: Clone, writer: "loose" | "fast-import") =>
    new Git({ cwd: c.dir, env: writer === "loose" ? c.world.env : { ...c.world.env, GIT_OBJECT_DIRECTORY: join(c.dir, ".git", "objects") } });

  for (const writer of ["loose", "fast-import"] as const) test(`${writer}: commits on top of commits other processes wrote, readable by them at once`, async () => {
    await using w = tempWorld();
    const c = w.clones[0]!;
    const git = writerGit(c, writer);
    git.keepBatches();
    try {
      const [a] = await writeCommits(git, [{ ref: "refs/orch-local/t/a", parent: null, files: [{ path: "heartbeat.json", data: Buffer.from("{}\n") }], message: "a\n" }]);
      expect(c.git("cat-file", "-t", a!).trim()).toBe("commit");
      c.write("later.txt", "made after the importer started\n");
      c.commitAll("later");
      const head = c.head();
      const [b, d] = await writeCommits(git, [
        { ref: "refs/orch-local/t/b", parent: head, files: [{ path: STATE, data: Buffer.from("{}\n") }], message: "b\n" },
        { ref: "refs/orch-local/t/a", parent: null, files: [{ path: "heartbeat.json", data: Buffer.from("{\"n\":2}\n") }], message: "a2\n" },
      ]);
      expect(c.git("rev-parse", `${b}^`).trim()).toBe(head);
      expect(c.git("ls-tree", "-r", "--name-only", b!).trim().split("\n")).toEqual(["README.md", ".gitignore", "later.txt", STATE].sort());
      expect(c.git("rev-parse", "refs/orch-local/t/a").trim()).toBe(d!);
      expect(c.gitResult("rev-parse", "-q", "--verify", `${d}^`).code).not.toBe(0); // parentless, as asked
    } finally {
      git.closeBatches();
    }
  });

  test("loose objects are the commits fast-import writes (same shas), trees with names that sort as git sorts them; fsck is clean", async () => {
    await using w = tempWorld();
    const c = w.clones[0]!;
    // Names whose order differs between plain string order and git's (a tree sorts as if it ended in "/"), non-ASCII, spaces, an executable.
    for (const p of ["a.txt", "a/x", "a-b/y", "a0", "sync/other.json", "sync/state.json", "ü/z", "deep/er/file.txt", "with space/f"]) c.write(p, `${p}\n`);
    c.commitAll("tree");
    const head = c.head();
    const specs = [
      {
        ref: "refs/orch-local/t/s",
        parent: head,
        files: [
          { path: STATE, data: Buffer.from('{"n":1}\n') },
          { path: "a/new", data: Buffer.from("new\n") },
          { path: "new/dir/file", data: Buffer.from("deep new\n"), mode: "100755" },
          { path: "ü/z", data: Buffer.from("changed\n") },
          { path: "deep/er/file.txt", data: Buffer.from("changed too\n") },
        ],
        message: "state\n\nOrch-Runner: x\n",
        author: "A U Thor <a@example.com> 1767225600 +0100",
        committer: "C O Mitter <c@example.com> 1767225601 +0100",
      },
      { ref: "refs/orch-local/t/h", parent: null, files: [{ path: "heartbeat.json", data: Buffer.from("{}\n") }], message: "hb\n", committer: "orch <orch@localhost> 1767225602 +0000" },
    ];
    const loose = writerGit(c, "loose");
    const imported = writerGit(c, "fast-import");
    expect(await loose.loose()).not.toBeNull();
    expect(await imported.loose()).toBeNull();
    const a = await writeCommits(loose, specs);
    // The stamp after the mark: its parent's trees come from what the writer wrote itself.
    const a2 = await writeCommits(loose, [{ ...specs[0]!, parent: a[0]!, files: [{ path: STATE, data: Buffer.from('{"n":2}\n') }] }]);
    const b = await writeCommits(imported, specs);
    const b2 = await writeCommits(imported, [{ ...specs[0]!, parent: b[0]!, files: [{ path: STATE, data: Buffer.from('{"n":2}\n') }] }]);
    expect(a).toEqual(b);
    expect(a2).toEqual(b2);
    expect(c.git("show", `${a2[0]}:${STATE}`)).toBe('{"n":2}\n');
    expect(c.git("ls-tree", "-r", a2[0]!, "new/dir/file").split(" ")[0]).toBe("100755");
    expect(c.gitResult("fsck", "--strict", "--no-dangling").code).toBe(0);
  });

  test("a lock of orch's own ref that a killed run left is taken over; one held now is not", async () => {
    await using w = tempWorld();
    const c = w.clones[0]!;
    const git = new Git({ cwd: c.dir, env: c.world.env });
    const spec = { ref: "refs/orch-local/t/s", parent: null, files: [{ path: "f", data: Buffer.from("x\n") }], message: "s\n", committer: "orch <orch@localhost> 1 +0000" };
    const lock = join(c.dir, ".git", "refs", "orch-local", "t", "s.lock");
    mkdirSync(dirname(lock), { recursive: true });
    writeFileSync(lock, "");
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    const [sha] = await writeCommits(git, [spec]);
    expect(c.git("rev-parse", "refs/orch-local/t/s").trim()).toBe(sha!);
    expect(existsSync(lock)).toBe(false);
    writeFileSync(lock, ""); // held right now (by another writer): the in-process writer leaves it to git
    await expect((await git.loose())!.writeCommits([spec])).rejects.toThrow();
    expect(existsSync(lock)).toBe(true);
  });

  test("no in-process writer for a linked worktree: commits go through fast-import there", async () => {
    await using w = tempWorld();
    const c = w.clones[0]!;
    const wt = join(w.world.root, "linked");
    c.git("worktree", "add", "-q", "-b", "side", wt);
    const git = new Git({ cwd: wt, env: c.world.env });
    expect(await git.loose()).toBeNull();
    const [sha] = await writeCommits(git, [{ ref: "refs/orch-local/t/w", parent: null, files: [{ path: "f", data: Buffer.from("x\n") }], message: "w\n" }]);
    expect(c.git("cat-file", "-t", sha!).trim()).toBe("commit");
  });
});

describe("pulls", () => {
  test("a pull that fast-forwards leaves staged and unstaged work exactly as it was", async () => {
    await using w = tempWorld({ clones: 2 });
    const [me, peer] = w.clones as [Clone, Clone];
    peer.write("theirs.txt", "peer\n");
    peer.commitAll("peer change");
    peer.git("push", "-q", "origin", `HEAD:${w.world.branch}`);
    me.write("staged.txt", "staged\n");
    me.git("add", "staged.txt");
    me.write("README.md", "unstaged\n");
    const git = new Git({ cwd: me.dir, env: me.world.env });
    await safePull(git, "origin", w.world.branch);
    expect(me.subjects()[0]).toBe("peer change");
    expect(me.git("diff", "--cached", "--name-only").trim()).toBe("staged.txt");
    expect(me.read("README.md")).toBe("unstaged\n");
    expect(me.read("theirs.txt")).toBe("peer\n");
  });
});

describe("push failures", () => {
  test("the remote dying while it stores a push (an outage mid-push) is worth another try, not a refusal", () => {
    const stderr = "error: remote unpack failed: unpack-objects abnormal exit\nTo /r.git\n ! [remote rejected] HEAD -> refs/heads/x (unpacker error)\nerror: failed to push some refs to '/r.git'\n";
    expect(classifyFailure({ code: 1, signal: null, stdout: "", stderr, timedOut: false, aborted: false })).toBe("network");
    // receive-pack entered the remote's directory, which then went away (seen in the soak's outage)
    const gone = "fatal: not a git repository: '.'\nfatal: the remote end hung up unexpectedly\n";
    expect(classifyFailure({ code: 128, signal: null, stdout: "", stderr: "fatal: not a git repository: '.'\n", timedOut: false, aborted: false })).toBe("network");
    expect(classifyFailure({ code: 128, signal: null, stdout: "", stderr: gone, timedOut: false, aborted: false })).toBe("network");
    // A clone that is not a repository at all is not network trouble.
    expect(classifyFailure({ code: 128, signal: null, stdout: "", stderr: "fatal: not a git repository (or any of the parent directories): .git\n", timedOut: false, aborted: false })).toBe("other");
  });
});

describe("maintenance", () => {
  const packs = (c: Clone) => Number(/^packs: (\d+)$/m.exec(c.git("count-objects", "-v"))?.[1] ?? 0);
  /** Two small packs, one commit each. */
  function morePacks(c: Clone): void {
    for (const n of [1, 2]) {
      c.write(`p${n}.txt`, `pack ${n}\n`);
      c.commitAll(`pack ${n}`);
      c.git("repack", "-q", "-d");
    }
  }

  test("orch's own calls never start it, orch runs it with the user's settings; maintenance.auto = false is respected", async () => {
    await using w = tempWorld();
    const c = w.clones[0]!;
    c.git("config", "gc.autoPackLimit", "1");
    c.git("config", "gc.autoDetach", "false");
    morePacks(c);
    const before = packs(c);
    expect(before).toBeGreaterThanOrEqual(2);
    const git = new Git({ cwd: c.dir, env: c.world.env });
    // orch's own calls carry maintenance.auto=false and gc.auto=0: a commit of its own leaves the packs alone.
    await git.run(["commit", "-q", "--allow-empty", "-m", "orch's own"]);
    expect(packs(c)).toBe(before);
    c.git("config", "maintenance.auto", "false");
    await new Git({ cwd: c.dir, env: c.world.env }).maintain();
    expect(packs(c)).toBe(before);
    c.git("config", "--unset", "maintenance.auto");
    await new Git({ cwd: c.dir, env: c.world.env }).maintain();
    expect(packs(c)).toBeLessThanOrEqual(1);
  });

  test("whether it is due is read from the object directory with git's thresholds (no process when it is not)", async () => {
    await using w = tempWorld();
    const c = w.clones[0]!;
    const gitDir = join(c.dir, ".git");
    const vars = (extra: Record<string, string> = {}) => new Map(Object.entries(extra));
    expect(maintenanceDue(vars(), gitDir)).toBe(false); // a fresh clone: one pack, few loose objects
    expect(maintenanceDue(vars({ "gc.auto": "0" }), gitDir)).toBe(false);
    expect(maintenanceDue(vars({ "maintenance.strategy": "incremental" }), gitDir)).toBe(true); // other tasks: git decides
    expect(maintenanceDue(vars({ "gc.autopacklimit": "oops" }), gitDir)).toBe(true);
    morePacks(c);
    expect(maintenanceDue(vars({ "gc.autopacklimit": "1" }), gitDir)).toBe(true);
    expect(maintenanceDue(vars({ "gc.autopacklimit": "0" }), gitDir)).toBe(false);
    // Loose objects in objects/17 beyond gc.auto/256.
    mkdirSync(join(gitDir, "objects", "17"), { recursive: true });
    for (let i = 0; i < 3; i++) writeFileSync(join(gitDir, "objects", "17", "a".repeat(37) + i), "");
    expect(maintenanceDue(vars({ "gc.auto": "256" }), gitDir)).toBe(true);
    expect(maintenanceDue(vars({ "gc.auto": "1k" }), gitDir)).toBe(false);
  });
});
