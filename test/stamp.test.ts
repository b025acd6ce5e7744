import { describe, expect, test } from "bun:test";
import { disposing, tempWorld, type Clone, type World } from "./helpers/world.ts";

const STATE = "sync/state.json";
const SEVEN = ["iteration", "expected_actor", "status", "last_update", "lease_expires_at", "galph_commit", "ralph_commit"];

/** State bytes as Python's json.dump(indent=2) + newline writes them (SPEC §2). */
function pythonJson(state: Record<string, unknown>): string {
  return JSON.stringify(state, null, 2).replace(/[\u007f-\uffff]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0")) + "\n";
}

const START = {
  iteration: 3,
  expected_actor: "galph",
  status: "complete",
  last_update: "2026-11-24T09:08:31Z",
  lease_expires_at: "2026-11-24T09:18:31Z",
  galph_commit: "aaaaaaa",
  ralph_commit: "bbbbbbb",
  exit: false,
  exit_reason: "caf\u00e9 \u2615",
  custom: { nested: [1, 2.5, null] },
};

/** A remote whose branch holds a state file, and `clones` clones of it; removed when its `using` block ends. */
function stampWorld(opts: { clones?: number; state?: Record<string, unknown> | string; extra?: Record<string, string> } = {}): { world: World; a: Clone; b: Clone } & Disposable {
  const state = opts.state ?? START;
  const { world, clones } = tempWorld({ clones: opts.clones ?? 1, files: { [STATE]: typeof state === "string" ? state : pythonJson(state), ...opts.extra } });
  return disposing({ world, a: clones[0]!, b: clones[1]! });
}

const remoteTip = (c: Clone) => c.git("ls-remote", "origin", `refs/heads/${c.world.branch}`).split("\t")[0]!;
const filesOf = (c: Clone, rev = "HEAD") => c.git("show", "--format=", "--name-only", rev).trim().split("\n");
const shortHead = (c: Clone) => c.git("rev-parse", "--short", "HEAD").trim();

/** Seconds between two SPEC timestamps. */
const secondsBetween = (a: string, b: string) => (Date.parse(b) - Date.parse(a)) / 1000;

function expectNothingChanged(c: Clone, head: string, bytes: string): void {
  expect(c.head()).toBe(head);
  expect(c.read(STATE)).toBe(bytes);
}

describe("orch stamp: every transition, exact subject and JSON bytes, pushed", () => {
  const cases = [
    { actor: "galph", outcome: "ok", subject: (s: string) => `[SYNC i=3] actor=galph \u2192 next=ralph status=ok galph_commit=${s}`, fields: (s: string) => ({ iteration: 3, expected_actor: "ralph", status: "waiting-ralph", galph_commit: s, ralph_commit: "bbbbbbb" }) },
    { actor: "galph", outcome: "fail", subject: (s: string) => `[SYNC i=3] actor=galph status=fail galph_commit=${s}`, fields: (s: string) => ({ iteration: 3, expected_actor: "galph", status: "failed", galph_commit: s, ralph_commit: "bbbbbbb" }) },
    { actor: "ralph", outcome: "ok", subject: (s: string) => `[SYNC i=4] actor=ralph \u2192 next=galph status=ok ralph_commit=${s}`, fields: (s: string) => ({ iteration: 4, expected_actor: "galph", status: "complete", galph_commit: "aaaaaaa", ralph_commit: s }) },
    { actor: "ralph", outcome: "fail", subject: (s: string) => `[SYNC i=3] actor=ralph status=fail ralph_commit=${s}`, fields: (s: string) => ({ iteration: 3, expected_actor: "ralph", status: "failed", galph_commit: "aaaaaaa", ralph_commit: s }) },
  ];
  for (const c of cases) {
    test(`${c.actor} ${c.outcome}`, () => {
      using w = stampWorld({ state: { ...START, expected_actor: c.actor } });
      const { a } = w;
      const sha = shortHead(a);
      const before = new Date(Math.floor(Date.now() / 1000) * 1000);
      const r = a.orch(["stamp", c.actor, c.outcome]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const subject = c.subject(sha);
      expect(r.stdout).toBe(`Stamped: ${subject}\n`);
      expect(a.subjects()[0]).toBe(subject);
      expect(filesOf(a)).toEqual([STATE]);
      expect(remoteTip(a)).toBe(a.head());

      const bytes = a.read(STATE);
      const written = JSON.parse(bytes);
      expect(Object.keys(written)).toEqual([...SEVEN, "exit", "exit_reason", "custom"]);
      expect(Date.parse(written.last_update)).toBeGreaterThanOrEqual(before.getTime());
      expect(Date.parse(written.last_update)).toBeLessThanOrEqual(Date.now());
      expect(secondsBetween(written.last_update, written.lease_expires_at)).toBe(600);
      const expected = { ...START, ...c.fields(sha), last_update: written.last_update, lease_expires_at: written.lease_expires_at };
      expect(bytes).toBe(pythonJson(expected));
      expect(bytes).toContain('"exit_reason": "caf\\u00e9 \\u2615",');
      expect(a.git("show", `HEAD:${STATE}`)).toBe(bytes);
    });
  }

  test("stamping out of turn says so on stderr and still stamps", () => {
    using w = stampWorld();
    const { a } = w;
    const r = a.orch(["stamp", "ralph", "ok"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("note: it was galph's turn (status complete); stamping ralph anyway\n");
  });
});

describe("publishing", () => {
  test("--no-push leaves an unpushed commit that a later stamp publishes", () => {
    using w = stampWorld();
    const { a } = w;
    const tip = remoteTip(a);
    const first = a.orch(["stamp", "galph", "ok", "--no-push"]);
    expect(first.code).toBe(0);
    expect(remoteTip(a)).toBe(tip);
    expect(a.git("rev-list", "--count", `${tip}..HEAD`).trim()).toBe("1");
    const firstHead = a.head();
    const second = a.orch(["stamp", "ralph", "ok"]);
    expect(second.code).toBe(0);
    expect(remoteTip(a)).toBe(a.head());
    expect(a.git("rev-parse", "HEAD~1").trim()).toBe(firstHead);
    a.git("fetch", "-q", "origin");
    const remote = a.subjects(`origin/${a.world.branch}`);
    expect(remote[0]).toStartWith("[SYNC i=4] actor=ralph \u2192 next=galph status=ok");
    expect(remote[1]).toStartWith("[SYNC i=3] actor=galph \u2192 next=ralph status=ok");
  });

  test("pulls first: the remote's new commits are under the stamp and its sha is the pulled HEAD", () => {
    using w = stampWorld({ clones: 2 });
    const { a, b } = w;
    b.write("notes.md", "from b\n");
    b.commitAll("b's work");
    b.git("push", "-q", "origin", `HEAD:${b.world.branch}`);
    const r = a.orch(["stamp", "galph", "ok"]);
    expect(r.code).toBe(0);
    expect(a.subjects().slice(0, 2)).toEqual([expect.stringContaining(`galph_commit=${b.git("rev-parse", "--short", "HEAD").trim()}`), "b's work"]);
    expect(a.read("notes.md")).toBe("from b\n");
  });

  test("--no-pull stamps the local HEAD; the push then rebases onto the remote", () => {
    using w = stampWorld({ clones: 2 });
    const { a, b } = w;
    const localSha = shortHead(a);
    b.write("notes.md", "from b\n");
    b.commitAll("b's work");
    b.git("push", "-q", "origin", `HEAD:${b.world.branch}`);
    const r = a.orch(["stamp", "galph", "ok", "--no-pull"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`galph_commit=${localSha}`);
    expect(remoteTip(a)).toBe(a.head());
    expect(a.subjects().slice(0, 2)).toEqual([expect.stringContaining(`galph_commit=${localSha}`), "b's work"]);
  });
});

describe("refusals leave everything unchanged", () => {
  test("a dirty tree (unstaged or staged tracked changes) is refused; untracked files are not dirt", () => {
    using w = stampWorld();
    const { a } = w;
    const head = a.head();
    const bytes = a.read(STATE);
    a.write("README.md", "changed\n");
    const unstaged = a.orch(["stamp", "galph", "ok"]);
    expect(unstaged.code).toBe(2);
    expect(unstaged.stderr).toBe("orch: working tree has uncommitted changes (README.md); commit or stash them, or pass --allow-dirty\n");
    expectNothingChanged(a, head, bytes);
    a.git("add", "README.md");
    const staged = a.orch(["stamp", "galph", "ok"]);
    expect(staged.code).toBe(2);
    expect(staged.stderr).toContain("README.md");
    expectNothingChanged(a, head, bytes);
    a.git("reset", "-q", "--hard");
    a.write("untracked.txt", "scratch\n");
    expect(a.orch(["stamp", "galph", "ok"]).code).toBe(0);
    expect(a.exists("untracked.txt")).toBe(true);
  });

  test("--allow-dirty stamps anyway and commits only the state file, leaving the dirt as it was", () => {
    using w = stampWorld({ extra: { "other.txt": "one\n" } });
    const { a } = w;
    a.write("README.md", "unstaged edit\n");
    a.write("other.txt", "staged edit\n");
    a.git("add", "other.txt");
    const r = a.orch(["stamp", "galph", "ok", "--allow-dirty"]);
    expect(r.code).toBe(0);
    expect(filesOf(a)).toEqual([STATE]);
    // Nothing to pull: no autostash round trip, so what was staged stays staged.
    expect(a.git("status", "--porcelain").split("\n").filter(Boolean).sort()).toEqual([" M README.md", "M  other.txt"]);
    expect(a.read("README.md")).toBe("unstaged edit\n");
    expect(a.read("other.txt")).toBe("staged edit\n");
  });

  test("a state file with uncommitted changes (behind its own history) is reported, exit 3, not replaced", () => {
    using w = stampWorld();
    const { a } = w;
    const head = a.head();
    const old = pythonJson({ ...START, iteration: 1 });
    a.write(STATE, old);
    for (const extra of [[], ["--allow-dirty"]]) {
      const r = a.orch(["stamp", "galph", "ok", ...extra]);
      expect(r.code).toBe(3);
      expect(r.stderr).toBe(`orch: ${STATE} has uncommitted changes, so it may be behind its git history; restore it (git checkout -- ${STATE}) or commit it, then rerun\n`);
      expectNothingChanged(a, head, old);
    }
  });

  const corrupt: [string, string, string][] = [
    ["not JSON", '{"iteration": 3,\n', `orch: ${STATE}: not valid JSON`],
    ["not an object", "[]\n", `orch: ${STATE}: expected a JSON object`],
    ["ill-typed iteration", pythonJson({ ...START, iteration: "3" }), `orch: ${STATE}: field 'iteration' must be a non-negative integer, got "3"`],
    ["unknown status", pythonJson({ ...START, status: "done" }), `orch: ${STATE}: field 'status' must be one of`],
    ["unknown actor", pythonJson({ ...START, expected_actor: "bob" }), `orch: ${STATE}: field 'expected_actor' must be "galph" or "ralph"`],
  ];
  for (const [what, text, message] of corrupt) {
    test(`committed state that is ${what}: exit 3, file unchanged`, () => {
      using w = stampWorld({ state: text });
      const { a } = w;
      const head = a.head();
      const r = a.orch(["stamp", "galph", "ok"]);
      expect(r.code).toBe(3);
      expect(r.stderr).toStartWith(message);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expectNothingChanged(a, head, text);
      expect(remoteTip(a)).toBe(head);
    });
  }

  test("a missing state file: exit 3 with what to do", () => {
    using w = tempWorld({ clones: 1 });
    const { world, clones } = w;
    const a = clones[0]!;
    const r = a.orch(["stamp", "galph", "ok"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(`orch: ${STATE} not found; start 'orch supervisor --sync-via-git' once (it creates it) or run 'orch init'\n`);
    expect(a.exists(STATE)).toBe(false);
    expect(remoteTip(a)).toBe(a.head());
    expect(world.branch).toBe("feature/x");
  });

  test("bad orch.toml: exit 2 with orch.toml:LINE:COL", () => {
    using w = stampWorld();
    const { a } = w;
    const head = a.head();
    const bytes = a.read(STATE);
    const cases: [string, string][] = [
      ['[git]\nremote = "origin"\nbrnch = "x"\n', "orch: orch.toml:3:1: unknown key 'brnch' in [git] (did you mean 'branch'?)\n"],
      ["[git]\n  lock_timeout_sec = true\n", "orch: orch.toml:2:3: git.lock_timeout_sec must be a whole number >= 0, got true\n"],
      ["[git]\nremote = = 1\n", "orch: orch.toml:2:10: Unexpected character, expecting string, number, datetime, boolean, inline array or inline table\n"],
    ];
    for (const [toml, stderr] of cases) {
      a.write("orch.toml", toml);
      const r = a.orch(["stamp", "galph", "ok"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(stderr);
      expectNothingChanged(a, head, bytes);
    }
  });

  test("wrong branch: exit 2 with the SPEC message (flag, legacy env, or orch.toml)", () => {
    using w = stampWorld();
    const { a } = w;
    const head = a.head();
    const bytes = a.read(STATE);
    const message = "ERROR: Expected to run on branch 'main', but on 'feature/x'. Aborting.\n";
    const byFlag = a.orch(["stamp", "galph", "ok", "--branch", "main"]);
    expect(byFlag.code).toBe(2);
    expect(byFlag.stderr).toBe(message);
    const byEnv = a.orch(["stamp", "galph", "ok"], { env: { ORCHESTRATION_BRANCH: "main" } });
    expect(byEnv.code).toBe(2);
    expect(byEnv.stderr).toBe(message);
    a.write("orch.toml", '[git]\nbranch = "main"\n');
    const byFile = a.orch(["stamp", "galph", "ok"]);
    expect(byFile.code).toBe(2);
    expect(byFile.stderr).toBe(message);
    // The flag beats the file.
    expect(a.orch(["stamp", "galph", "ok", "--branch", "feature/x"]).code).toBe(0);
    expect(a.head()).not.toBe(head);
    expect(a.read(STATE)).not.toBe(bytes);
  });

  test("detached HEAD without --branch is an error", () => {
    using w = stampWorld();
    const { a } = w;
    a.git("checkout", "-q", "--detach");
    const r = a.orch(["stamp", "galph", "ok"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("orch: HEAD is detached; check out the shared branch or pass --branch NAME\n");
  });

  test("unknown flag: exit 2, nothing changed", () => {
    using w = stampWorld();
    const { a } = w;
    const head = a.head();
    const bytes = a.read(STATE);
    const r = a.orch(["stamp", "galph", "ok", "--no-psh"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toStartWith("orch: unknown option '--no-psh' (did you mean '--no-push'?)");
    expectNothingChanged(a, head, bytes);
  });
});

describe("state file location", () => {
  test("--state-file and the legacy STATE_FILE variable choose the file", () => {
    using w = stampWorld({ extra: { "alt/turn.json": pythonJson(START) } });
    const { a } = w;
    const r = a.orch(["stamp", "galph", "ok", "--state-file", "alt/turn.json"]);
    expect(r.code).toBe(0);
    expect(filesOf(a)).toEqual(["alt/turn.json"]);
    expect(JSON.parse(a.read("alt/turn.json")).status).toBe("waiting-ralph");
    expect(JSON.parse(a.read(STATE)).status).toBe("complete");
    const env = a.orch(["stamp", "ralph", "ok"], { env: { STATE_FILE: "alt/turn.json" } });
    expect(env.code).toBe(0);
    expect(filesOf(a)).toEqual(["alt/turn.json"]);
    expect(JSON.parse(a.read("alt/turn.json")).iteration).toBe(4);
  });

  test("a state file outside the repository is refused", () => {
    using w = stampWorld();
    const { a } = w;
    const r = a.orch(["stamp", "galph", "ok", "--state-file", "../elsewhere.json"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("is outside the repository");
  });

  test("runs from a subdirectory of the clone", () => {
    using w = stampWorld({ extra: { "src/x.txt": "x\n" } });
    const { a } = w;
    const r = Bun.spawnSync([process.env.ORCH_BIN ?? `${import.meta.dir}/../dist/orch`, "stamp", "galph", "ok"], { cwd: `${a.dir}/src`, env: a.world.env, stdout: "pipe", stderr: "pipe" });
    expect(r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);
    expect(filesOf(a)).toEqual([STATE]);
  });
});
