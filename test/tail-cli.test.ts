import { describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeWorld, sh, ORCH_BIN, type Clone } from "./helpers/world.ts";
import { stamp, subjects, writeLog, readDigest } from "./fixtures/tail/helpers.ts";

/** One clone with iterations 1–4 for both roles (logs and summaries), galph 1–3 and ralph 1–2 stamped. */
function cliWorld(): Clone {
  const { clones } = makeWorld();
  const c = clones[0]!;
  for (let i = 1; i <= 4; i++) {
    if (i <= 3) stamp(c, subjects.galphOk(i), { [`docs/g${i}.md`]: "g\n" });
    if (i <= 2) stamp(c, subjects.ralphOk(i), { [`reports/r${i}.txt`]: "r\n" });
    writeLog(c, { role: "galph", iteration: i, content: `galph ${i}\n` });
    writeLog(c, { role: "ralph", iteration: i, suffix: "_main", content: `ralph ${i}\n` });
    writeLog(c, { role: "galph", iteration: i, summary: true, content: `# galph summary ${i}\n` });
  }
  return c;
}

const c = cliWorld();
/** PREFIX defaults to feature-x unless the arguments start with one. */
const withPrefix = (args: string[]) => (args[0] !== undefined && !args[0].startsWith("-") ? args : ["feature-x", ...args]);
const ok = (args: string[], clone: Clone = c, env?: Record<string, string>) => {
  const r = clone.orch(["tail", ...withPrefix(args)], { env });
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  return readDigest(r.stdout);
};
const failure = (args: string[], clone: Clone = c) => {
  const r = clone.orch(["tail", ...withPrefix(args)]);
  expect(r.stdout).toBe("");
  return { code: r.code, message: r.stderr.trim().split("\n")[0]!, lines: r.stderr.trim().split("\n").length };
};
const order = (logs: { role: string; iter: number }[]) => logs.map((l) => `${l.role}${l.iter}`);

describe("orch tail flags", () => {
  test("-n/--count: the last N iterations, 0 = all; count echoes the request", () => {
    const two = ok(["-n", "2"]);
    expect(two.root.attrs).toEqual({ prefix: "feature-x", count: "2", source: "logs" });
    expect(order(two.logs)).toEqual(["galph3", "ralph3", "galph4", "ralph4"]);
    const all = ok(["--count=0"]);
    expect(all.root.attrs.count).toBe("0");
    expect(all.logs).toHaveLength(8);
    expect(ok([]).root.attrs.count).toBe("5");
  });

  test("--min-iter/--max-iter bound the iterations before -n takes the last ones", () => {
    expect(order(ok(["--min-iter", "2", "--max-iter", "3"]).logs)).toEqual(["galph2", "ralph2", "galph3", "ralph3"]);
    expect(order(ok(["--max-iter", "3", "-n", "1"]).logs)).toEqual(["galph3", "ralph3"]);
    expect(order(ok(["--min-iter=4"]).logs)).toEqual(["galph4", "ralph4"]);
  });

  test("--roles keeps the given order and drops the others; summaries with --source", () => {
    expect(order(ok(["--roles", "ralph,galph", "-n", "1"]).logs)).toEqual(["ralph4", "galph4"]);
    expect(order(ok(["--roles", "ralph", "-n", "2"]).logs)).toEqual(["ralph3", "ralph4"]);
    const summaries = ok(["--source", "summaries", "-n", "2"]);
    expect(summaries.root.attrs.source).toBe("summaries");
    expect(summaries.logs.map((l) => [l.role, l.iter, l.source, l.format, l.text])).toEqual([
      ["galph", 3, "summary", "markdown", "# galph summary 3\n"],
      ["galph", 4, "summary", "markdown", "# galph summary 4\n"],
    ]);
  });

  test("--no-ls and --ls-paths", () => {
    expect(ok(["--no-ls", "--max-iter", "3", "-n", "1"]).logs.map((l) => [l.commit !== undefined, l.ls.length])).toEqual([
      [true, 0],
      [false, 0],
    ]);
    const stamped = ok(["--ls-paths", "reports,docs", "--max-iter", "2", "-n", "1"]).logs;
    expect(stamped.map((l) => l.ls.map((s) => [s.path, s.files]))).toEqual([
      [["reports", ["reports/r1.txt"]], ["docs", ["docs/g1.md", "docs/g2.md"]]],
      [["reports", ["reports/r1.txt", "reports/r2.txt"]], ["docs", ["docs/g1.md", "docs/g2.md"]]],
    ]);
  });

  test("PREFIX may start with logs/ or be the branch name; --logdir moves the log root", () => {
    expect(ok(["logs/feature-x", "-n", "1"]).root.attrs.prefix).toBe("feature-x");
    expect(ok(["feature/x", "-n", "1"]).root.attrs.prefix).toBe("feature-x");
    const { clones } = makeWorld();
    const other = clones[0]!;
    writeLog(other, { logDir: "var/agent-logs", role: "galph", iteration: 9, content: "moved\n" });
    const moved = ok(["--logdir", "var/agent-logs"], other);
    expect(moved.logs.map((l) => [l.path, l.text])).toEqual([["var/agent-logs/feature-x/galph/iter-00009_20260101_000000.log", "moved\n"]]);
    expect(failure([], other).code).toBe(2);
  });

  test("--state-file reads the stamps of another state file", () => {
    const { clones } = makeWorld();
    const other = clones[0]!;
    const sha = stamp(other, subjects.galphOk(1), {}, "turns/state.json");
    writeLog(other, { role: "galph", iteration: 1, content: "g\n" });
    expect(ok(["--no-ls"], other).logs[0]!.commit).toBeUndefined();
    expect(ok(["--no-ls", "--state-file", "turns/state.json"], other).logs[0]!.commit).toBe(other.git("rev-parse", "--short", sha).trim());
  });

  test("settings come from orch.toml and the environment, flags win", () => {
    const { clones } = makeWorld();
    const other = clones[0]!;
    for (let i = 1; i <= 3; i++) writeLog(other, { role: "ralph", iteration: i, content: `${i}\n` });
    other.write("orch.toml", '[tail]\ncount = 1\nroles = ["ralph"]\n');
    expect(order(ok([], other).logs)).toEqual(["ralph3"]);
    expect(order(ok(["-n", "2"], other).logs)).toEqual(["ralph2", "ralph3"]);
    expect(order(ok([], other, { ORCH_TAIL_COUNT: "3" }).logs)).toEqual(["ralph1", "ralph2", "ralph3"]);
  });

  test("-o FILE writes the digest there, replacing it only when complete", () => {
    const out = join(c.dir, "tmp", "digest.xml");
    c.write("tmp/digest.xml", "previous\n");
    const r = c.orch(["tail", "feature-x", "-n", "1", "-o", "tmp/digest.xml"]);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(order(readDigest(readFileSync(out, "utf8")).logs)).toEqual(["galph4", "ralph4"]);
    writeFileSync(out, "previous\n");
    expect(c.orch(["tail", "feature-x", "--roles", "bob", "-o", "tmp/digest.xml"]).code).toBe(6);
    expect(c.orch(["tail", "feature-x", "--min-iter", "99", "--output", "tmp/digest.xml"]).code).toBe(4);
    expect(readFileSync(out, "utf8")).toBe("previous\n");
    expect(readdirSync(join(c.dir, "tmp"))).toEqual(["digest.xml"]);
  });

  test("-o to something that is not a regular file (a FIFO, a symlink) writes through it and leaves it what it was", async () => {
    const fifo = join(c.dir, "tmp", "digest.fifo");
    expect(sh(["mkfifo", fifo], { cwd: c.dir, env: c.world.env }).code).toBe(0);
    const reader = Bun.spawn(["cat", fifo], { stdout: "pipe" });
    setTimeout(() => reader.kill(), 15_000).unref(); // a broken -o must fail the test, not leave cat waiting
    const r = c.orch(["tail", "feature-x", "-n", "1", "-o", fifo]);
    expect(r.code).toBe(0);
    const got = await new Response(reader.stdout).text();
    expect(order(readDigest(got).logs)).toEqual(["galph4", "ralph4"]);
    expect(lstatSync(fifo).isFIFO()).toBe(true); // not replaced by a regular file (as root, -o /dev/null would have been)
    const target = join(c.dir, "tmp", "real.xml");
    writeFileSync(target, "previous\n");
    symlinkSync(target, join(c.dir, "tmp", "link.xml"));
    expect(c.orch(["tail", "feature-x", "-n", "1", "-o", "tmp/link.xml"]).code).toBe(0);
    expect(lstatSync(join(c.dir, "tmp", "link.xml")).isSymbolicLink()).toBe(true);
    expect(order(readDigest(readFileSync(target, "utf8")).logs)).toEqual(["galph4", "ralph4"]);
    for (const f of [fifo, target, join(c.dir, "tmp", "link.xml")]) rmSync(f);
  });

  test("works from a subdirectory and outside any git repository", () => {
    c.write("docs/sub/.keep", "");
    const sub = sh([ORCH_BIN, "tail", "feature-x", "-n", "1"], { cwd: join(c.dir, "docs", "sub"), env: c.world.env });
    expect(sub.code).toBe(0);
    expect(order(readDigest(sub.stdout).logs)).toEqual(["galph4", "ralph4"]);
    const plain = mkdtempSync(join(tmpdir(), "orch-tail-nogit-"));
    try {
      writeFileSync(join(plain, "x"), "");
      const dir = join(plain, "logs", "p", "galph");
      sh(["mkdir", "-p", dir], { cwd: plain, env: c.world.env });
      writeFileSync(join(dir, "iter-00001_20260101_000000.log"), "no git here\n");
      const r = sh([ORCH_BIN, "tail", "p"], { cwd: plain, env: { ...c.world.env, GIT_CEILING_DIRECTORIES: tmpdir() } });
      expect(r.code).toBe(0);
      expect(readDigest(r.stdout).logs.map((l) => [l.text, l.commit, l.ls.length])).toEqual([["no git here\n", undefined, 0]]);
    } finally {
      rmSync(plain, { recursive: true, force: true });
    }
  });

  test("a reader that stops early (| head) ends the digest quietly", () => {
    const { clones } = makeWorld();
    const other = clones[0]!;
    writeLog(other, { role: "galph", iteration: 1, content: "x".repeat(100) + "\n".repeat(1) + "y\n".repeat(500_000) });
    const r = sh(["bash", "-c", `"${ORCH_BIN}" tail feature-x | head -c 100 >/dev/null; echo "exit=\${PIPESTATUS[0]}"`], { cwd: other.dir, env: other.world.env });
    expect(r.stdout.trim()).toBe("exit=0");
    expect(r.stderr).toBe("");
  });
});

describe("orch tail exit codes (one line on stderr)", () => {
  test("2: no logs found, naming where it looked", () => {
    const r = failure(["nope"]);
    expect(r).toEqual({ code: 2, message: "orch: no logs found under logs/nope/galph, logs/nope/ralph; check the prefix (the branch name with / as -) and --logdir", lines: 1 });
  });

  test("2: --source summaries where the turns have logs but no summaries says so and points at the logs", () => {
    const { clones } = makeWorld();
    const d = clones[0]!;
    expect(failure(["--source", "summaries"], d)).toMatchObject({ code: 2, message: "orch: no logs found under logs/feature-x/galph-summaries, logs/feature-x/ralph-summaries; check the prefix (the branch name with / as -) and --logdir" });
    writeLog(d, { role: "galph", iteration: 1, content: "g\n" });
    writeLog(d, { role: "ralph", iteration: 1, content: "r\n" });
    expect(failure(["--source", "summaries"], d)).toEqual({
      code: 2,
      message: "orch: no summaries found under logs/feature-x/galph-summaries, logs/feature-x/ralph-summaries; this branch has 2 logs (its turns predate summaries): use --source logs",
      lines: 1,
    });
    expect(failure(["--source", "summaries", "--roles", "ralph"], d).message).toBe("orch: no summaries found under logs/feature-x/ralph-summaries; this branch has 1 log (its turns predate summaries): use --source logs");
  });

  test("4: nothing within --min-iter/--max-iter", () => {
    const r = failure(["--min-iter", "10", "--max-iter", "20"]);
    expect(r).toEqual({ code: 4, message: "orch: no iterations within 10..20 (logs have 1..4); widen --min-iter/--max-iter", lines: 1 });
  });

  test("6: unknown role", () => {
    const r = failure(["--roles", "galph,bob"]);
    expect(r).toEqual({ code: 6, message: "orch: unknown role 'bob'; valid roles: galph, ralph", lines: 1 });
  });

  test("2: bad usage", () => {
    expect(c.orch(["tail"])).toMatchObject({ code: 2, stdout: "" });
    expect(failure(["--min-iter", "x"])).toMatchObject({ code: 2, message: "orch: --min-iter: expected a whole number >= 0, got 'x'" });
    expect(failure(["-n", "-1"]).code).toBe(2);
    expect(failure(["--source", "both"]).code).toBe(2);
    const bogus = failure(["--bogus"]);
    expect(bogus.code).toBe(2);
    expect(bogus.message).toStartWith("orch: unknown option '--bogus'");
    expect(existsSync(join(c.dir, "orch.toml"))).toBe(false);
  });
});
