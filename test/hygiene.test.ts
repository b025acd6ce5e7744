import { describe, expect, test } from "bun:test";
import { unlinkSync } from "node:fs";
import { afterTurn } from "../src/hygiene/index.ts";
import { commitExactly } from "../src/hygiene/commit.ts";
import { collapseNeverDir, extensionOf, globMatcher, ignoreMatcher, neverCommitReason } from "../src/hygiene/paths.ts";
import { filesOf, hook, hygieneClone, message, statusLines } from "./helpers/hygiene.ts";

const DOCS = "SUPERVISOR AUTO: doc/meta hygiene — tests: not run";
const SUP_REPORTS = "SUPERVISOR AUTO: reports evidence — tests: not run";
const RALPH_REPORTS = "RALPH AUTO: reports evidence — tests: not run";
const TRACKED = "SUPERVISOR AUTO: tracked outputs — tests: not run";
const NO_REPORTS = { "auto-commit-reports": false };

describe("path rules", () => {
  test("globs are picomatch with dot: true; ** is zero or more directories", () => {
    const m = globMatcher(["prompts/**/*.md", "plans/active/**/reports/**"]);
    expect(m("prompts/main.md")).toBe(true);
    expect(m("prompts/a/b/c.md")).toBe(true);
    expect(m("prompts/.hidden.md")).toBe(true);
    expect(m("plans/active/reports/r.txt")).toBe(true);
    expect(m("plans/active/x/y/reports/deep/r.txt")).toBe(true);
    expect(m("prompts.md")).toBe(false);
    expect(m("other/prompts/main.md")).toBe(false);
    // A glob with a slash-free pattern matches the whole path, not the name at any depth.
    expect(globMatcher(["input.md"])("docs/input.md")).toBe(false);
    expect(globMatcher([])("anything")).toBe(false);
  });

  test("ignore globs without a slash match the file name at any depth", () => {
    const m = ignoreMatcher(["*.bak", ".DS_Store", "*~", "build/*.tmp"]);
    expect(m("a.bak")).toBe(true);
    expect(m("deep/er/a.bak")).toBe(true);
    expect(m("x/.DS_Store")).toBe(true);
    expect(m("notes.md~")).toBe(true);
    expect(m("build/x.tmp")).toBe(true);
    expect(m("other/build/x.tmp")).toBe(false);
    expect(m("a.md")).toBe(false);
  });

  test("never-leak list: secrets by name, tool directories anywhere", () => {
    for (const p of [".env", ".env.json", "cfg/.env.local", "k.pem", "a/server.KEY", "secrets/id_rsa.txt", "id_rsa", "c.p12", ".netrc", "x/.npmrc", "credentials.json", "aws/credentials"]) {
      expect(neverCommitReason(p)).toContain("secret");
    }
    for (const p of [".venv/lib/x.py", "web/node_modules/a/b.js", "node_modules/", "a/__pycache__/m.pyc", "venv/bin/activate", ".git/config"]) {
      expect(neverCommitReason(p)).toContain("tool directory");
    }
    for (const p of ["environment.md", ".gitignore", ".github/workflows/ci.yml", "docs/keys.md", "src/venvy/x.py", "my.env.md"]) {
      expect(neverCommitReason(p)).toBeNull();
    }
    expect(collapseNeverDir("web/node_modules/a/b.js")).toBe("web/node_modules/");
    expect(collapseNeverDir("src/a.py")).toBe("src/a.py");
  });

  test("extensions are lowercase, last suffix only, dot files have none", () => {
    expect(extensionOf("a/B.PNG")).toBe(".png");
    expect(extensionOf("x.tar.gz")).toBe(".gz");
    expect(extensionOf(".bashrc")).toBe("");
    expect(extensionOf("Makefile")).toBe("");
  });
});

describe("doc/meta whitelist (supervisor)", () => {
  test("whitelisted files are committed with the exact subject and Files: body; prompts/**/*.md covers prompts/main.md", async () => {
    const clone = hygieneClone({ "docs/fix_plan.md": "plan\n", "prompts/main.md": "old\n" });
    clone.write("docs/fix_plan.md", "plan v2\n");
    clone.write("prompts/main.md", "new\n");
    clone.write("galph_memory.md", "remember\n");
    clone.write("plans/a/b.md", "deep plan\n");
    const before = clone.head();
    const h = await hook(clone, NO_REPORTS);
    const result = await afterTurn(h.ctx);
    expect(result.blocked).toEqual([]);
    expect(result.committed.sort()).toEqual(["docs/fix_plan.md", "galph_memory.md", "plans/a/b.md", "prompts/main.md"]);
    expect(message(clone)).toBe(`${DOCS}\n\nFiles:\n - docs/fix_plan.md\n - galph_memory.md\n - plans/a/b.md\n - prompts/main.md`);
    expect(clone.git("rev-parse", "HEAD~1").trim()).toBe(before);
    expect(statusLines(clone)).toEqual([]);
  });

  test("a stray src/x.bin blocks the handoff and is left untouched; whitelisted files are still committed", async () => {
    const clone = hygieneClone();
    clone.write("src/x.bin", "\u0000junk");
    clone.write("input.md", "next step\n");
    const h = await hook(clone, NO_REPORTS);
    const result = await afterTurn(h.ctx);
    expect(result.blocked).toEqual(["src/x.bin"]);
    expect(filesOf(clone)).toEqual(["input.md"]);
    expect(clone.read("src/x.bin")).toBe("\u0000junk");
    expect(statusLines(clone)).toEqual(["?? src/x.bin"]);
    expect(h.logs.join("\n")).toContain("blocks the handoff: src/x.bin: untracked, not in the doc/meta whitelist");
  });

  test("a deleted tracked file outside the whitelist blocks; a deleted whitelisted one is committed", async () => {
    const clone = hygieneClone({ "src/keep.c": "int x;\n", "plans/old.md": "old\n" });
    unlinkSync(`${clone.dir}/src/keep.c`);
    unlinkSync(`${clone.dir}/plans/old.md`);
    const result = await afterTurn((await hook(clone, NO_REPORTS)).ctx);
    expect(result.blocked).toEqual(["src/keep.c"]);
    expect(message(clone)).toBe(`${DOCS}\n\nFiles:\n - plans/old.md`);
    expect(clone.git("ls-tree", "-r", "--name-only", "HEAD")).not.toContain("plans/old.md");
    expect(statusLines(clone)).toEqual([" D src/keep.c"]);
  });

  test("ignore globs are left alone at any depth; a staged rename out of the whitelist blocks", async () => {
    const clone = hygieneClone({ "plans/a.md": "a\n" });
    clone.write("notes.bak", "x");
    clone.write("deep/dir/scratch.tmp", "x");
    clone.write("plans/b.md~", "x");
    clone.git("mv", "plans/a.md", "a.md");
    const result = await afterTurn((await hook(clone, NO_REPORTS)).ctx);
    expect(result.blocked).toEqual(["a.md"]);
    // The deletion half of the rename is whitelisted and committed.
    expect(filesOf(clone)).toEqual(["plans/a.md"]);
    expect(clone.exists("notes.bak") && clone.exists("deep/dir/scratch.tmp") && clone.exists("plans/b.md~")).toBe(true);
  });

  test("a whitelisted file over max-autocommit-bytes blocks", async () => {
    const clone = hygieneClone();
    clone.write("input.md", "x".repeat(200));
    const result = await afterTurn((await hook(clone, { ...NO_REPORTS, "max-autocommit-bytes": "100" })).ctx);
    expect(result.blocked).toEqual(["input.md"]);
    expect(result.committed).toEqual([]);
  });

  test("a secret that git does not ignore blocks and the log says to ignore it; --no-auto-commit-docs checks nothing", async () => {
    const clone = hygieneClone();
    clone.write("plans/.env.md", "TOKEN=1\n");
    const h = await hook(clone, NO_REPORTS);
    const result = await afterTurn(h.ctx);
    expect(result.blocked).toEqual(["plans/.env.md"]);
    expect(h.logs.join("\n")).toContain('plans/.env.md looks like a secret (".env*" matches ".env.md") and is not ignored by git: it is never auto-committed; add it to .gitignore');
    // A secret blocking the handoff is said on the console too, by path and rule.
    expect(h.out.join("\n")).toContain('[doc/meta] blocks the handoff: plans/.env.md: looks like a secret (".env*" matches ".env.md"); never auto-committed');
    const off = await afterTurn((await hook(clone, { ...NO_REPORTS, "auto-commit-docs": false })).ctx);
    expect(off).toEqual({ blocked: [], committed: [] });
  });

  test("the state file and the log directory are never dirt", async () => {
    const clone = hygieneClone({ "sync/state.json": "{}\n" });
    clone.write("sync/state.json", '{"x":1}\n');
    clone.write("runlogs/galph/iter-1.log", "log\n");
    const result = await afterTurn((await hook(clone, { logdir: "runlogs" })).ctx);
    expect(result).toEqual({ blocked: [], committed: [] });
  });
});

describe("reports", () => {
  test("supervisor and loop subjects; other extensions stay", async () => {
    const clone = hygieneClone();
    clone.write("reports/summary.md", "# sum\n");
    clone.write("out/metrics.json", "{}\n");
    clone.write("out/model.bin", "bin");
    const sup = await afterTurn((await hook(clone, { "auto-commit-docs": false, "auto-commit-tracked-outputs": false })).ctx);
    expect(sup.committed).toEqual(["out/metrics.json", "reports/summary.md"]);
    expect(message(clone)).toBe(`${SUP_REPORTS}\n\nFiles:\n - out/metrics.json\n - reports/summary.md`);
    clone.write("reports/loop.txt", "evidence\n");
    const loop = await afterTurn((await hook(clone, {}, "loop")).ctx);
    expect(loop).toEqual({ blocked: [], committed: ["reports/loop.txt"] });
    expect(message(clone)).toBe(`${RALPH_REPORTS}\n\nFiles:\n - reports/loop.txt`);
    expect(statusLines(clone)).toEqual(["?? out/model.bin"]);
  });

  test("per-file and per-turn caps leave the excess dirty and say so", async () => {
    const clone = hygieneClone();
    clone.write("r/a.txt", "a".repeat(40));
    clone.write("r/b.txt", "b".repeat(40));
    clone.write("r/c.txt", "c".repeat(40));
    clone.write("r/huge.txt", "h".repeat(500));
    const h = await hook(clone, { "max-report-file-bytes": "100", "max-report-total-bytes": "100" }, "loop");
    const result = await afterTurn(h.ctx);
    expect(result.committed).toEqual(["r/a.txt", "r/b.txt"]);
    expect(statusLines(clone)).toEqual(["?? r/c.txt", "?? r/huge.txt"]);
    const said = h.out.join("\n");
    expect(said).toContain("left r/huge.txt dirty: 500 bytes is over the per-file cap of 100 (max-report-file-bytes)");
    expect(said).toContain("left r/c.txt dirty: 40 more bytes would pass the per-turn cap of 100 (max-report-total-bytes)");
  });

  test("force-add commits ignored reports under the force-add globs but never secrets or tool directories", async () => {
    const clone = hygieneClone({ ".gitignore": "logs/\ntmp/\n*.log\n.venv/\nsecrets/\nout/\n" });
    clone.write("reports/run.log", "ran\n");
    // Inside an ignored directory git collapses to "out/": walked when the force-add globs reach it, tool dirs inside pruned.
    clone.write("plans/p/reports/out/deep/summary.txt", "s\n");
    clone.write("plans/p/reports/out/node_modules/pkg/readme.md", "no\n");
    // Outside reports/** and plans/**/reports/**, git's ignore rules win.
    clone.write("out/deep/summary.txt", "s\n");
    clone.write(".env.json", '{"token":1}\n');
    clone.write("secrets/id_rsa.txt", "KEY\n");
    clone.write(".venv/lib/x.py", "print(1)\n");
    clone.write("tmp/scratch.txt", "x\n");
    const h = await hook(clone, {}, "loop");
    const result = await afterTurn(h.ctx);
    expect(result.committed).toEqual(["plans/p/reports/out/deep/summary.txt", "reports/run.log"]);
    expect(filesOf(clone)).toEqual(["plans/p/reports/out/deep/summary.txt", "reports/run.log"]);
    expect(statusLines(clone)).toEqual(["!! .venv/", "!! out/", "!! plans/p/reports/out/node_modules/", "!! secrets/", "!! tmp/", "?? .env.json"]);
    expect(h.logs.join("\n")).toContain('.env.json looks like a secret (".env*" matches ".env.json") and is not ignored by git');
    expect(h.logs.join("\n")).toContain("[reports] left out/: ignored by git, outside reports.force_add_globs (git's ignore rules win)");
    // Without force-add, ignored reports stay ignored.
    clone.write("reports/run2.log", "ran\n");
    expect((await afterTurn((await hook(clone, { "force-add-reports": false }, "loop")).ctx)).committed).toEqual([]);
  });

  test(".reportsignore prefixes (loop), comments and a custom file from REPORT_SKIP_CONFIG's setting", async () => {
    const clone = hygieneClone({ ".reportsignore": "# scratch space\nscratch/\n./plans/private  # not this\n" });
    clone.write("scratch/a.txt", "x\n");
    clone.write("plans/private/b.md", "x\n");
    clone.write("plans/privateer.md", "x\n");
    clone.write("other/c.txt", "x\n");
    const result = await afterTurn((await hook(clone, {}, "loop")).ctx);
    expect(result.committed).toEqual(["other/c.txt", "plans/privateer.md"]);
    clone.write("custom.ignore", "other\n");
    clone.write("orch.toml", '[reports]\nskip_config = "custom.ignore"\n');
    clone.git("add", "custom.ignore", "orch.toml");
    clone.git("commit", "-q", "-m", "config");
    clone.write("other/d.txt", "x\n");
    const custom = await afterTurn((await hook(clone, {}, "loop")).ctx);
    expect(custom.committed).toEqual(["plans/private/b.md", "scratch/a.txt"]);
  });

  test("report path globs restrict the candidates", async () => {
    const clone = hygieneClone();
    clone.write("plans/x/reports/r.txt", "x\n");
    clone.write("notes/n.txt", "x\n");
    const result = await afterTurn((await hook(clone, { "report-path-globs": "plans/**/reports/**" }, "loop")).ctx);
    expect(result.committed).toEqual(["plans/x/reports/r.txt"]);
  });

  test("odd names: spaces, quotes, non-ASCII, leading dash, glob characters are committed literally", async () => {
    const clone = hygieneClone();
    const names = ["notes/a b.md", 'notes/say "hi".md', "notes/café ünï.md", "-dash.md", "notes/a[1].md", "notes/it's.txt"];
    for (const n of names) clone.write(n, `${n}\n`);
    const result = await afterTurn((await hook(clone, {}, "loop")).ctx);
    expect(result.committed.sort()).toEqual([...names].sort());
    expect(filesOf(clone)).toEqual([...names].sort());
    expect(statusLines(clone)).toEqual([]);
    // A pattern-like name never commits its look-alikes.
    clone.write("z[1].md", "x");
    clone.write("z1.md", "y");
    await commitExactly((await hook(clone)).ctx.repo.git, "one file", ["z[1].md"]);
    expect(filesOf(clone)).toEqual(["z[1].md"]);
    expect(statusLines(clone)).toEqual(["?? z1.md"]);
  });
});

describe("tracked outputs (supervisor)", () => {
  test("modified tracked files matching the globs and extensions are committed; others are left", async () => {
    const clone = hygieneClone({ "tests/fixtures/a/data.json": "{}\n", "tests/fixtures/b.npy": "n", "src/data.json": "{}\n", "tests/fixtures/c.txt": "t" });
    clone.write("tests/fixtures/a/data.json", '{"v":2}\n');
    clone.write("tests/fixtures/b.npy", "nn");
    clone.write("src/data.json", '{"v":2}\n');
    clone.write("tests/fixtures/c.txt", "tt");
    clone.write("tests/fixtures/new.json", "{}\n");
    const result = await afterTurn((await hook(clone, NO_REPORTS)).ctx);
    expect(message(clone, "HEAD")).toBe(`${TRACKED}\n\nFiles:\n - tests/fixtures/a/data.json\n - tests/fixtures/b.npy`);
    expect(result.blocked.sort()).toEqual(["src/data.json", "tests/fixtures/c.txt", "tests/fixtures/new.json"]);
  });

  test("tracked-output caps and custom globs", async () => {
    const clone = hygieneClone({ "out/a.pkl": "a", "out/b.pkl": "b", "tests/fixtures/x.json": "x" });
    clone.write("out/a.pkl", "a".repeat(60));
    clone.write("out/b.pkl", "b".repeat(60));
    clone.write("tests/fixtures/x.json", "xx");
    const h = await hook(clone, { ...NO_REPORTS, "auto-commit-docs": false, "tracked-output-globs": "out/*.pkl", "max-tracked-output-total-bytes": "100" });
    const result = await afterTurn(h.ctx);
    expect(result.committed).toEqual(["out/a.pkl"]);
    expect(h.out.join("\n")).toContain("left out/b.pkl dirty: 60 more bytes would pass the per-turn cap of 100 (max-tracked-output-total-bytes)");
    expect(statusLines(clone)).toEqual([" M out/b.pkl", " M tests/fixtures/x.json"]);
  });
});

describe("--commit-dry-run", () => {
  test("prints what each step would commit and why others are skipped, commits nothing; result as if committed", async () => {
    const clone = hygieneClone();
    clone.write("reports/r.txt", "r\n");
    clone.write("input.md", "i\n");
    clone.write("src/x.bin", "b");
    const head = clone.head();
    const before = statusLines(clone);
    const h = await hook(clone, { "commit-dry-run": true, "report-path-globs": "reports/**" });
    const result = await afterTurn(h.ctx);
    expect(clone.head()).toBe(head);
    expect(statusLines(clone)).toEqual(before);
    expect(result.committed).toEqual(["reports/r.txt", "input.md"]);
    expect(result.blocked).toEqual(["src/x.bin"]);
    const said = h.out.join("\n");
    expect(said).toContain(`[reports] dry run: would commit 1 file(s) (2 bytes) as "${SUP_REPORTS}"`);
    expect(said).toContain("[reports]   commit reports/r.txt");
    expect(said).toContain("[reports]   skip src/x.bin: outside the report path globs");
    expect(said).toContain(`[doc/meta] dry run: would commit 1 file(s) (2 bytes) as "${DOCS}"`);
    expect(said).toContain("[doc/meta]   BLOCKS src/x.bin: untracked, not in the doc/meta whitelist");
    // The doc/meta step does not see reports/r.txt again: computed as if the reports step had committed it.
    expect(said).not.toContain("BLOCKS reports/r.txt");
  });
});
