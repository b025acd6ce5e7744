/**
 * The turn engine with real agent output (issue 13): a fake agent replays
 * captured claude/codex runs. Usage limits are waited out and the session
 * resumed; hung agents are retried; every stamp carries its receipt; the log
 * holds a readable transcript and the raw stream sits beside it.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeEngineWorld, remoteSubjects, AGENTS } from "./helpers/engine-world.ts";
import type { Clone, World } from "./helpers/world.ts";

const FAST = ["--sync-via-git", "--poll-interval", "0.05"];
const REPLAY = join(AGENTS, "replay.ts");
const scratch = mkdtempSync(join(tmpdir(), "orch-replay-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let states = 0;
/** A fresh directory for one replaying agent's call record. */
const stateDir = () => join(scratch, `s${++states}`);
const replay = (state: string, fixtures: string[], ...extra: string[]) => [process.execPath, REPLAY, "--state", state, "--fixtures", fixtures.join(","), ...extra];

function calls(state: string): { n: number; fixture: string; args: string[]; stdin: string }[] {
  const file = join(state, "calls.jsonl");
  return existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l)) : [];
}

function logOf(c: Clone, actor: string): { text: string; path: string } {
  const dir = join(c.dir, "logs/feature-x", actor);
  const name = readdirSync(dir).filter((n) => n.endsWith(".log")).sort().at(-1)!;
  return { text: readFileSync(join(dir, name), "utf8"), path: join(dir, name) };
}

function trailersOf(world: World, c: Clone, rev = `origin/${world.branch}`): string {
  c.git("fetch", "-q", "origin");
  return c.git("log", "-1", "--format=%(trailers:only,unfold)", rev);
}

describe("usage limits are waits, not failures", () => {
  test("claude hits its session limit once: the turn waits, resumes the session, and is stamped ok (never fail)", () => {
    const state = stateDir();
    const { world, a, b } = makeEngineWorld({ loopAgent: replay(state, ["claude-oauth-stream-429-usage", "claude-stream-json-ok"], "--reset-in", "2"), loopKind: "claude" });
    expect(a.orch(["supervisor", ...FAST, "--sync-loops", "1", "--max-wait-sec", "0.2"]).code).toBe(5);
    const r = b.orch(["loop", ...FAST, "--sync-loops", "1"], { env: { IS_SANDBOX: "1" } });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\[sync\] ralph blocked by a usage limit until \d{4}-\d\d-\d\dT\d\d:\d\dZ \(claude: "You've hit your session limit · resets in 2 seconds"\); waiting/);
    expect(r.stdout).toContain("resuming session 5e2ca233-1829-4dc1-8c75-8f701eb47937");
    const runs = calls(state);
    expect(runs).toHaveLength(2);
    expect(runs[1]!.args.join(" ")).toContain("--resume 5e2ca233-1829-4dc1-8c75-8f701eb47937");
    expect(runs[1]!.stdin).toContain("interrupted by a usage limit");
    const subjects = remoteSubjects(world, a).filter((s) => s.includes("actor=ralph"));
    expect(subjects.some((s) => s.includes("status=fail"))).toBe(false);
    expect(subjects.at(-1)).toMatch(/^\[SYNC i=2\] actor=ralph → next=galph status=ok/);
    const t = trailersOf(world, a);
    expect(t).toMatch(/^Orch-Attempts: 2$/m);
    expect(t).toMatch(/^Orch-Limit-Wait: [1-9]\d*s$/m);
    expect(t).toMatch(/^Orch-Agent: kind=claude /m);
    expect(t).toMatch(/^Orch-Session: \S+$/m);
  }, 60_000);
});

describe("receipts and transcripts", () => {
  test("every stamp carries its receipt; the log holds a readable transcript, the raw stream is beside it", () => {
    const state = stateDir();
    const { world, a, b } = makeEngineWorld({ loopAgent: replay(state, ["claude-stream-json-tooluse"], "--output-format", "stream-json"), loopKind: "claude" });
    expect(a.orch(["supervisor", ...FAST, "--sync-loops", "1", "--max-wait-sec", "0.2"]).code).toBe(5);
    const galph = trailersOf(world, a);
    for (const key of ["Orch-Duration", "Orch-Exit", "Orch-Attempts", "Orch-Limit-Wait", "Orch-Diffstat", "Orch-Host", "Orch-Started", "Orch-Log", "Orch-Prompt"]) {
      expect(galph).toMatch(new RegExp(`^${key}: \\S`, "m"));
    }
    expect(galph).toMatch(/^Orch-Diffstat: files=1 add=1 del=0 code_files=1 code_add=1 code_del=0 doc_files=0 doc_add=0 doc_del=0$/m);
    expect(b.orch(["loop", ...FAST, "--sync-loops", "1"], { env: { IS_SANDBOX: "1" } }).code).toBe(0);
    const ralph = trailersOf(world, a);
    expect(ralph).toMatch(/^Orch-Agent: kind=claude( version=\S+)? model=\S+$/m);
    expect(ralph).toMatch(/^Orch-Cost-USD: \d+\.\d{4}$/m);
    expect(ralph).toMatch(/^Orch-Tokens: input=\d+ output=\d+/m);
    const log = logOf(b, "ralph");
    expect(log.text.split("\n")[0]).toStartWith("$ ");
    expect(log.text).toMatch(/Bash\(/);
    expect(log.text).not.toContain('"type":"assistant"');
    const raw = readFileSync(`${log.path}.jsonl`, "utf8");
    expect(raw).toContain('"type":"assistant"');
    // orch status there shows each actor's last receipt.
    expect(a.orch(["status"]).stdout).toMatch(/ralph\s+last OK i=1 · commit \S+ · .*\$\d+\.\d\d/);
  }, 60_000);
});

describe("hung and failing agents", () => {
  test("claude's result says is_error false but the CLI exits 1 (a hook failing after the turn): stamped ok", () => {
    const state = stateDir();
    const { world, a, b } = makeEngineWorld({ loopAgent: replay(state, ["claude-stream-json-ok"], "--exit", "1"), loopKind: "claude" });
    expect(a.orch(["supervisor", ...FAST, "--sync-loops", "1", "--max-wait-sec", "0.2"]).code).toBe(5);
    const r = b.orch(["loop", ...FAST, "--sync-loops", "1"], { env: { IS_SANDBOX: "1" } });
    expect(r.code).toBe(0);
    expect(remoteSubjects(world, a).at(-1)).toMatch(/^\[SYNC i=2\] actor=ralph → next=galph status=ok/);
    expect(trailersOf(world, a)).toMatch(/^Orch-Exit: 1$/m);
  }, 40_000);

  test("an idle-hung agent is retried, then stamped fail after the retries (exit 124)", () => {
    const dir = stateDir();
    const { world, a } = makeEngineWorld({ supervisorAgent: replay(dir, ["codex-exec-json-ok"], "--hang"), supervisorKind: "codex" });
    const r = a.orch(["supervisor", ...FAST, "--sync-loops", "1", "--idle-timeout-sec", "0.5"]);
    expect(r.code).toBe(124);
    expect(r.stdout).toContain("(retry 1/2)");
    expect(r.stdout).toContain("(retry 2/2)");
    expect(calls(dir)).toHaveLength(3);
    expect(remoteSubjects(world, a).at(-1)).toMatch(/actor=galph status=fail/);
    const t = trailersOf(world, a);
    expect(t).toMatch(/^Orch-Attempts: 3$/m);
    expect(t).toMatch(/^Orch-Reason: agent idle timeout \(after 2 retries\)$/m);
  }, 60_000);

  test("a usage limit longer than limits.max_wait_sec (a weekly limit) stamps fail and exits 8", () => {
    const dir = stateDir();
    const { world, a } = makeEngineWorld({ supervisorAgent: replay(dir, ["codex-json-429-usage"], "--reset-in", "7200"), supervisorKind: "codex" });
    const r = a.orch(["supervisor", ...FAST, "--sync-loops", "1"], { env: { ORCH_LIMITS_MAX_WAIT_SEC: "60" } });
    expect(r.code).toBe(8);
    expect(remoteSubjects(world, a).at(-1)).toMatch(/actor=galph status=fail/);
    expect(trailersOf(world, a)).toMatch(/^Orch-Reason: galph blocked by a usage limit for longer than limits.max_wait_sec/m);
  }, 30_000);

  test("an auth failure fails at once with the CLI's login advice (no retry)", () => {
    const dir = stateDir();
    const { a } = makeEngineWorld({ supervisorAgent: replay(dir, ["codex-json-401"]), supervisorKind: "codex" });
    const r = a.orch(["supervisor", ...FAST, "--sync-loops", "1"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("codex login");
    expect(calls(dir)).toHaveLength(1);
  }, 30_000);
});

describe("pre-flight", () => {
  test("claude with --dangerously-skip-permissions as root without IS_SANDBOX=1: exit 2 with advice, nothing marked", () => {
    const argv = ["claude", "-p", "--dangerously-skip-permissions"];
    const { world, b } = makeEngineWorld({ loopAgent: argv });
    const fake = join(world.root, "bin");
    Bun.spawnSync(["mkdir", "-p", fake]);
    writeFileSync(join(fake, "claude"), "#!/bin/sh\necho claude 9.9.9\n");
    Bun.spawnSync(["chmod", "+x", join(fake, "claude")]);
    const env = { PATH: `${fake}:${process.env.PATH}`, IS_SANDBOX: "" };
    const r = b.orch(["loop", ...FAST, "--sync-loops", "1", "--max-wait-sec", "1"], { env });
    if (process.getuid?.() === 0) {
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("IS_SANDBOX=1");
      expect(remoteSubjects(world, b).some((s) => s.includes("actor=ralph status=running"))).toBe(false);
      const doctor = b.orch(["doctor", "--for", "loop"], { env });
      expect(doctor.stdout).toContain("IS_SANDBOX=1");
    } else {
      expect(r.stderr).not.toContain("IS_SANDBOX");
    }
  }, 30_000);
});
