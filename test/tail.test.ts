import { describe, expect, test, afterAll } from "bun:test";
import { symlinkSync } from "node:fs";
import { join } from "node:path";
import { World, makeWorld, sh, type Clone } from "./helpers/world.ts";
import { Git } from "../src/core/git.ts";
import { loadStamps } from "../src/digest/annotate.ts";
import { commit, stamp, subjects, writeLog, digest, golden, resetDates, readDigest, XMLLINT, xmllint } from "./fixtures/tail/helpers.ts";

const short = (clone: Clone, sha: string) => clone.git("rev-parse", "--short", sha).trim();

/** The golden world: fixed commit dates, so the commit ids in the golden files are stable. */
function goldenWorld(): Clone {
  const world = new World("feature/x");
  afterAll(() => world.cleanup());
  const c = world.clone("golden");
  resetDates();
  commit(c, "initial", { "README.md": "# golden\n", ".gitignore": "logs/\n", "docs/index.md": "index\n" });
  stamp(c, subjects.running("galph", 1));
  stamp(c, subjects.galphOk(1), { "docs/design.md": "design\n", "plans/active/p1.md": "plan\n" });
  stamp(c, subjects.ralphOk(1), { "reports/r1.txt": "report\n" });
  stamp(c, subjects.galphFail(2));
  stamp(c, subjects.galphOk(2), { "docs/a b ]]> & \u00e9.md": "odd name\n" });
  stamp(c, subjects.ralphFail(2));
  stamp(c, subjects.galphOk(3));
  writeLog(c, { role: "galph", iteration: 1, stamp: "20260101_000001", content: "$ codex exec\n\x1b[1;32mplan\x1b[0m ready\r\nprogress 50%\r100%\n" });
  writeLog(c, { role: "ralph", iteration: 1, stamp: "20260101_000002", suffix: "_main", content: 'wrote <code> & "quotes" ]]> done\n' });
  writeLog(c, { role: "galph", iteration: 2, stamp: "20260101_000100", content: "older attempt, not shown\n" });
  writeLog(c, { role: "galph", iteration: 2, stamp: "20260101_000200", content: Buffer.from([...Buffer.from("NUL \0 BEL \x07 invalid "), 0xff, 0xfe, ...Buffer.from(" end")]) });
  writeLog(c, { role: "ralph", iteration: 2, stamp: "20260101_000300", suffix: "_main", content: "r\u00e9sum\u00e9 \u65e5\u672c\u8a9e \u{1f600}\n" });
  writeLog(c, { role: "galph", iteration: 3, stamp: "20260101_000400", content: "" });
  writeLog(c, { role: "ralph", iteration: 3, stamp: "20260101_000500", suffix: "_main", content: "not stamped yet\n" });
  writeLog(c, { role: "ralph", iteration: 4, stamp: "20260101_000600", suffix: "_main", content: "ralph only\n" });
  writeLog(c, { role: "galph", iteration: 1, summary: true, content: "# Summary\n\n- planned **x** ]]> y\n" });
  writeLog(c, { role: "ralph", iteration: 1, summary: true, content: "# Done\n\nAll <tests> pass.\n" });
  writeLog(c, { role: "galph", iteration: 2, summary: true, content: "# Retry\n" });
  return c;
}

describe("digest shape (golden files)", () => {
  const c = goldenWorld();

  test("logs: exact bytes, well-formed, text round-trips", async () => {
    const { text, bytes } = await digest(c);
    expect(text).toBe(golden("digest-logs.xml", text));
    const { logs } = readDigest(text);
    expect(logs.map((l) => `${l.role}${l.iter}`)).toEqual(["galph1", "ralph1", "galph2", "ralph2", "galph3", "ralph3", "ralph4"]);
    expect(logs[2]!.text).toBe("NUL \ufffd BEL \ufffd invalid \ufffd\ufffd end\n");
    expect(logs[1]!.text).toBe('wrote <code> & "quotes" ]]> done\n');
    if (XMLLINT) expect(xmllint(bytes)).toEqual({ ok: true, errors: "" });
  });

  test("summaries: source=\"summary\" format=\"markdown\"", async () => {
    const { text } = await digest(c, { source: "summaries" });
    expect(text).toBe(golden("digest-summaries.xml", text));
    const { logs } = readDigest(text);
    expect(logs.map((l) => [l.role, l.iter, l.source, l.format])).toEqual([
      ["galph", 1, "summary", "markdown"],
      ["ralph", 1, "summary", "markdown"],
      ["galph", 2, "summary", "markdown"],
    ]);
    expect(logs[0]!.text).toBe("# Summary\n\n- planned **x** ]]> y\n");
  });

  test("the compiled binary prints the same bytes", () => {
    const r = c.orch(["tail", "feature-x"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(golden("digest-logs.xml", r.stdout));
    // git writes long outputs to a temporary file (src/digest/gitout.ts); without one, the pipe does.
    expect(c.orch(["tail", "feature-x"], { env: { TMPDIR: join(c.dir, "no-such-dir") } })).toEqual(r);
  });
});

describe("annotation from the state file's history", () => {
  test("ok: galph i → galph log i; ralph stamped i=N+1 → ralph log N; running marks are ignored", async () => {
    const { clones } = makeWorld();
    const c = clones[0]!;
    stamp(c, subjects.running("galph", 1));
    const g1 = stamp(c, subjects.galphOk(1));
    stamp(c, subjects.running("ralph", 1));
    const r1 = stamp(c, subjects.ralphOk(1));
    stamp(c, subjects.running("galph", 2));
    for (const role of ["galph", "ralph"]) for (const i of [1, 2]) writeLog(c, { role, iteration: i, content: `${role} ${i}\n` });
    const { logs } = readDigest((await digest(c, { ls: false })).text);
    expect(logs.map((l) => [l.role, l.iter, l.commit, l.subject])).toEqual([
      ["galph", 1, short(c, g1), subjects.galphOk(1)],
      ["ralph", 1, short(c, r1), subjects.ralphOk(1)],
      ["galph", 2, undefined, undefined],
      ["ralph", 2, undefined, undefined],
    ]);
    expect(subjects.ralphOk(1)).toStartWith("[SYNC i=2] actor=ralph");
  });

  test("fail: galph fail i → galph log i; ralph fail i=N → ralph log N", async () => {
    const { clones } = makeWorld();
    const c = clones[0]!;
    const g = stamp(c, subjects.galphFail(3));
    const r = stamp(c, subjects.ralphFail(3));
    writeLog(c, { role: "galph", iteration: 3, content: "g\n" });
    writeLog(c, { role: "ralph", iteration: 3, content: "r\n" });
    writeLog(c, { role: "ralph", iteration: 2, content: "r2\n" });
    const { logs } = readDigest((await digest(c, { ls: false })).text);
    expect(logs.map((l) => [l.role, l.iter, l.commit ?? null])).toEqual([
      ["ralph", 2, null],
      ["galph", 3, short(c, g)],
      ["ralph", 3, short(c, r)],
    ]);
  });

  test("duplicates: the newest stamp for a log wins, whichever outcome it has", async () => {
    const { clones } = makeWorld();
    const c = clones[0]!;
    stamp(c, subjects.galphFail(1));
    const retried = stamp(c, subjects.galphOk(1)); // fail, then a successful retry
    stamp(c, subjects.ralphOk(1));
    const overridden = stamp(c, subjects.ralphFail(1)); // a later hand stamp says fail for the same turn
    // Ralph's ok for log 1 is stamped i=2, its fail for log 1 is i=1: both land on ralph log 1.
    writeLog(c, { role: "galph", iteration: 1, content: "g\n" });
    writeLog(c, { role: "ralph", iteration: 1, content: "r\n" });
    const { logs } = readDigest((await digest(c, { ls: false })).text);
    expect(logs.map((l) => [l.role, l.commit, l.subject])).toEqual([
      ["galph", short(c, retried), subjects.galphOk(1)],
      ["ralph", short(c, overridden), subjects.ralphFail(1)],
    ]);
  });

  test("a clone behind its remote sees the stamps of the remote-tracking ref", async () => {
    const { world, clones } = makeWorld({ clones: 2 });
    const [ahead, behind] = clones as [Clone, Clone];
    const g = stamp(ahead, subjects.galphOk(1), { "docs/new.md": "new\n" });
    ahead.git("push", "-q", "origin", `HEAD:refs/heads/${world.branch}`);
    behind.git("fetch", "-q", "origin");
    expect(behind.git("log", "--format=%s", "-1", "HEAD").trim()).toBe("initial");
    writeLog(behind, { role: "galph", iteration: 1, content: "g\n" });
    const { logs } = readDigest((await digest(behind)).text);
    expect(logs[0]!.commit).toBe(short(behind, g));
    expect(logs[0]!.ls[0]).toEqual({ path: "docs", commit: short(behind, g), files: ["docs/new.md"] });
  });

  test("the last few turns of a long history: the same stamps as the whole walk (skewed clocks, retries, a diverged remote)", async () => {
    const { world, clones } = makeWorld({ clones: 2 });
    const [c, peer] = clones as [Clone, Clone];
    // Two machines whose clocks disagree: every other stamp is dated an hour before its parent.
    let n = 0;
    const dated = (clone: Clone, subject: string) => {
      const date = new Date(Date.UTC(2026, 0, 1) + n++ * 60_000 - (n % 2) * 3_600_000).toISOString();
      clone.write("sync/state.json", `{"n": ${n}}\n`);
      const env = { ...clone.world.env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date };
      for (const args of [["add", "-A"], ["commit", "-q", "-m", subject]]) expect(sh(["git", ...args], { cwd: clone.dir, env }).code).toBe(0);
    };
    for (let i = 1; i <= 24; i++) {
      dated(c, subjects.running("galph", i));
      if (i % 5 === 0) dated(c, subjects.galphFail(i));
      dated(c, subjects.galphOk(i));
      dated(c, subjects.running("ralph", i));
      dated(c, subjects.ralphOk(i));
      if (i % 7 === 0) dated(c, subjects.ralphFail(i)); // a later stamp for the same log wins
      for (const role of ["galph", "ralph"]) writeLog(c, { role, iteration: i, content: `${role} ${i}\n` });
    }
    c.git("push", "-q", "origin", `HEAD:refs/heads/${world.branch}`);
    // The peer stamps turn 25 and pushes; c fetches but does not pull, and stamps its own 25 (split brain).
    peer.git("pull", "-q", "origin", world.branch);
    dated(peer, subjects.galphOk(25));
    peer.git("push", "-q", "origin", `HEAD:refs/heads/${world.branch}`);
    c.git("fetch", "-q", "origin");
    dated(c, subjects.galphFail(25));
    writeLog(c, { role: "galph", iteration: 25, content: "galph 25\n" });
    const whole = readDigest((await digest(c, { count: 0 })).text).logs;
    for (const count of [1, 2, 4, 9]) {
      const some = await digest(c, { count });
      const last = readDigest(some.text).logs;
      expect(last).toEqual(whole.slice(whole.length - last.length));
      expect(last.length).toBeGreaterThanOrEqual(2 * count - 1);
    }
    expect(whole.filter((l) => l.commit).length).toBe(49);
  }, 30_000);

  test("a linear stretch needs no sorted walk: the chain is what --date-order prints; skewed clocks and a merge of the state file take the sorted walk", async () => {
    const { world, clones } = makeWorld({ clones: 2 });
    const [c, peer] = clones as [Clone, Clone];
    let n = 0;
    let skew = 0;
    const dated = (clone: Clone, subject: string) => {
      const date = new Date(Date.UTC(2026, 0, 1) + n++ * 60_000 - (n % 2) * skew).toISOString();
      clone.write("sync/state.json", `{"n": ${n}}\n`);
      clone.write(`work-${n}.txt`, "x\n");
      const env = { ...clone.world.env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date };
      for (const args of [["add", "-A"], ["commit", "-q", "-m", subject]]) expect(sh(["git", ...args], { cwd: clone.dir, env }).code).toBe(0);
    };
    for (let i = 1; i <= 12; i++) {
      dated(c, subjects.running("galph", i));
      dated(c, subjects.galphOk(i));
      c.write(`agent-${i}.txt`, "a commit that leaves the state file alone\n");
      const date = new Date(Date.UTC(2026, 0, 1) + n++ * 60_000).toISOString();
      for (const args of [["add", "-A"], ["commit", "-q", "-m", `agent work ${i}`]]) sh(["git", ...args], { cwd: c.dir, env: { ...c.world.env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date } });
      dated(c, subjects.running("ralph", i));
      dated(c, subjects.ralphOk(i));
    }
    c.git("push", "-q", "origin", `HEAD:refs/heads/${world.branch}`); // the tracking ref at HEAD
    const git = new Git({ cwd: c.dir, env: c.world.env });
    const compare = async () => {
      const opts = { stateRel: "sync/state.json", remote: "origin", branch: world.branch, iterations: { from: 9, to: 13 } };
      const fast = await loadStamps(git, opts);
      const sorted = await loadStamps(git, { ...opts, linearShortcut: false });
      for (let i = 1; i <= 17; i++) for (const role of ["galph", "ralph"]) expect(fast.get(role, i)).toEqual(sorted.get(role, i));
      return fast;
    };
    await git.gitDir(); // asked once per binding
    const before = git.calls;
    const linear = await compare();
    expect(linear.get("ralph", 12)).toBeDefined();
    expect(linear.get("galph", 8)).toBeUndefined(); // below the digest's iterations: not walked
    expect(git.calls - before).toBe(3); // the boundary walk for the shortcut, then the boundary walk and the sorted walk for the comparison
    // Two machines whose clocks disagree (every other stamp an hour before its parent): git's newest-first walk
    // can list a commit out of the chain, which the shortcut sees; the result is the sorted walk's.
    skew = 3_600_000;
    for (let i = 13; i <= 15; i++) {
      dated(c, subjects.running("galph", i));
      dated(c, subjects.galphOk(i));
      dated(c, subjects.running("ralph", i));
      dated(c, subjects.ralphOk(i));
    }
    c.git("push", "-q", "origin", `HEAD:refs/heads/${world.branch}`);
    await compare();
    // A merge whose sides both changed the state file: not a chain, the sorted walk decides.
    peer.git("pull", "-q", "origin", world.branch);
    dated(peer, subjects.galphOk(16));
    dated(c, subjects.galphFail(16));
    peer.git("push", "-q", "origin", `HEAD:refs/heads/${world.branch}`);
    c.git("pull", "-q", "--no-rebase", "-X", "ours", "origin", world.branch);
    expect(c.git("rev-list", "--merges", "--count", "HEAD").trim()).toBe("1");
    await compare();
  }, 30_000);

  test("no history: the logs come without annotation; outside a git repository too", async () => {
    const { clones } = makeWorld();
    const c = clones[0]!;
    writeLog(c, { role: "galph", iteration: 1, content: "g\n" });
    const inRepo = readDigest((await digest(c)).text).logs;
    expect(inRepo.map((l) => [l.role, l.commit, l.ls.length])).toEqual([["galph", undefined, 0]]);
    const outside = await digest(c.dir, { inRepo: false });
    expect(readDigest(outside.text).logs.map((l) => [l.text, l.commit])).toEqual([["g\n", undefined]]);
    expect(outside.result.gitCalls).toBe(0);
  });

  test("an unborn branch (no commit at all) is no history, not an error", async () => {
    const world = new World("main");
    afterAll(() => world.cleanup());
    const c = world.clone("empty");
    writeLog(c, { prefix: "main", role: "ralph", iteration: 7, content: "r\n" });
    const { logs } = readDigest((await digest(c, { prefix: "main" })).text);
    expect(logs.map((l) => [l.role, l.iter, l.commit])).toEqual([["ralph", 7, undefined]]);
  });
});

describe("<ls> snapshots", () => {
  /** Twelve stamps adding, deleting, renaming and replacing files (a file becomes a directory). */
  function churnWorld(): { c: Clone; shas: string[] } {
    const { clones } = makeWorld({ files: { "docs/keep.md": "k\n", "plans/x": "file\n", "docs-extra/z.md": "z\n" } });
    const c = clones[0]!;
    const shas: string[] = [];
    for (let i = 1; i <= 6; i++) {
      const files: Record<string, string> = { [`docs/n${i}.md`]: `${i}\n`, [`reports/${i}/r.txt`]: "r\n" };
      const deleted: string[] = [];
      if (i === 2) deleted.push("plans/x");
      if (i === 3) files["plans/x/now-a-dir.md"] = "d\n";
      if (i === 4) files["docs/\u00e9t\u00e9 \u65e5.md"] = "u\n";
      if (i === 5) deleted.push("docs/n1.md", "reports/2");
      if (i === 6) files["docs.md"] = "not under docs/\n";
      for (const path of deleted) c.git("rm", "-q", "-r", path);
      shas.push(stamp(c, subjects.galphOk(i), files));
      shas.push(stamp(c, subjects.ralphOk(i), { [`docs/r${i}.md`]: "r\n" }));
      writeLog(c, { role: "galph", iteration: i, content: `g${i}\n` });
      writeLog(c, { role: "ralph", iteration: i, content: `r${i}\n` });
    }
    return { c, shas };
  }
  const { c, shas } = churnWorld();

  const lsTree = (sha: string, root: string) =>
    c.git("ls-tree", "-r", "--name-only", "-z", sha, "--", root).split("\0").filter((p) => p === root || p.startsWith(root + "/"));

  test("one <ls> per requested path, in order, even when empty, as git ls-tree lists it at the stamp commit", async () => {
    const roots = ["reports", "docs", "missing", "plans"];
    const { logs } = readDigest((await digest(c, { count: 0, lsPaths: roots })).text);
    expect(logs).toHaveLength(12);
    logs.forEach((log, i) => {
      expect(log.ls.map((l) => l.path)).toEqual(roots);
      for (const ls of log.ls) {
        expect(ls.commit).toBe(log.commit!);
        expect({ log: `${log.role}${log.iter}`, root: ls.path, files: ls.files }).toEqual({ log: `${log.role}${log.iter}`, root: ls.path, files: lsTree(shas[i]!, ls.path) });
      }
    });
    expect(logs[0]!.ls.find((l) => l.path === "missing")!.files).toEqual([]);
  });

  test("nested paths, a single file and '.' work too", async () => {
    const { logs } = readDigest((await digest(c, { count: 1, lsPaths: ["plans/x", "docs.md", "./reports/", "."] })).text);
    const last = logs[logs.length - 1]!;
    expect(last.ls.map((l) => l.path)).toEqual(["plans/x", "docs.md", "reports", "."]);
    expect(last.ls[0]!.files).toEqual(["plans/x/now-a-dir.md"]);
    expect(last.ls[1]!.files).toEqual(["docs.md"]);
    expect(last.ls[2]!.files).toEqual(lsTree(shas[11]!, "reports"));
    expect(last.ls[3]!.files).toEqual(c.git("ls-tree", "-r", "--name-only", "-z", shas[11]!).split("\0").filter(Boolean));
  });

  test("the number of git processes does not grow with the number of logs", async () => {
    const few = await digest(c, { count: 1 });
    const more = await digest(c, { count: 4 });
    const all = await digest(c, { count: 0 });
    expect(readDigest(all.text).logs).toHaveLength(12);
    expect(all.result.annotated).toBe(12);
    expect(more.result.annotated).toBe(8);
    expect(more.result.gitCalls).toBe(few.result.gitCalls);
    // The last few turns: one short newest-first walk finds where their stamps begin (see loadStamps).
    expect(few.result.gitCalls).toBeLessThanOrEqual(6);
    expect(all.result.gitCalls).toBeLessThanOrEqual(5);
  });

  test("--no-ls keeps the annotation and drops the snapshots", async () => {
    const { logs } = readDigest((await digest(c, { count: 2, ls: false })).text);
    expect(logs.map((l) => [l.commit !== undefined, l.ls.length])).toEqual([
      [true, 0],
      [true, 0],
      [true, 0],
      [true, 0],
    ]);
  });
});

describe("discovery", () => {
  test("only iter-NNNNN_* files count; an unreadable log says so in its place and the digest goes on", async () => {
    const { clones } = makeWorld();
    const c = clones[0]!;
    writeLog(c, { role: "galph", iteration: 1, content: "g1\n" });
    c.write("logs/feature-x/galph/notes.txt", "not a log\n");
    c.write("logs/feature-x/galph/iter-xx_20260101_000000.log", "no number\n");
    c.write("logs/feature-x/galph/iter-00002_20260101_000000.log.bak", "backup\n");
    c.write("logs/feature-x/ralph/iter-00001_20260101_000000-summary.md", "a summary, not a log\n");
    symlinkSync(join(c.dir, "nowhere.log"), join(c.dir, "logs/feature-x/ralph/iter-00002_20260101_000000.log"));
    const { logs } = readDigest((await digest(c)).text);
    expect(logs.map((l) => [l.role, l.iter])).toEqual([
      ["galph", 1],
      ["ralph", 2],
    ]);
    expect(logs[1]!.text).toStartWith("<error reading ");
    expect(logs[1]!.text).toContain("iter-00002_20260101_000000.log");
  });
});
