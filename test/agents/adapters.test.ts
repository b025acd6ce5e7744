import { describe, expect, test } from "bun:test";
import { adapterFor, AGENT_KINDS, DEFAULT_ARGV } from "../../src/agents/index.ts";
import { feed } from "./feed.ts";

const claude = adapterFor("claude", []);
const codex = adapterFor("codex", []);
const command = adapterFor("command", []);
const ID = "5e2ca233-1829-4dc1-8c75-8f701eb47937";
const V01_CODEX = ["codex", "exec", "-m", "gpt-5-codex", "-c", "model_reasoning_effort=high", "--dangerously-bypass-approvals-and-sandbox"];

describe("adapterFor", () => {
  test("auto: from the executable's basename; a wrapper keeps its kind; agent_kind overrides", () => {
    expect(adapterFor("auto", ["claude", "-p"]).kind).toBe("claude");
    expect(adapterFor("auto", ["/opt/bin/claude-wrapper", "-p"]).kind).toBe("claude");
    expect(adapterFor("auto", ["codex", "exec"]).kind).toBe("codex");
    expect(adapterFor("auto", ["/usr/local/bin/codex-cli", "exec"]).kind).toBe("codex");
    expect(adapterFor("auto", ["aider", "--yes"]).kind).toBe("command");
    expect(adapterFor("auto", ["sh", "claude.sh"]).kind).toBe("command");
    expect(adapterFor("auto", []).kind).toBe("command");
    expect(adapterFor("claude", ["/path/to/my-agent"]).kind).toBe("claude");
    expect(AGENT_KINDS).toEqual(["claude", "codex", "command"]);
  });

  test("the default argv of each role is the right kind, structured", () => {
    expect(adapterFor("auto", [...DEFAULT_ARGV.supervisor]).kind).toBe("codex");
    expect(adapterFor("auto", [...DEFAULT_ARGV.loop]).kind).toBe("claude");
    expect(codex.structured([...DEFAULT_ARGV.supervisor])).toBe(true);
    expect(claude.structured([...DEFAULT_ARGV.loop])).toBe(true);
  });
});

describe("structured(argv): a JSON stream goes to <log>.jsonl", () => {
  test("claude: --output-format stream-json | json", () => {
    expect(claude.structured(["claude", "-p", "--output-format=stream-json", "--verbose"])).toBe(true);
    expect(claude.structured(["claude", "-p", "--output-format", "json"])).toBe(true);
    expect(claude.structured(["claude", "-p", "--output-format", "text"])).toBe(false);
    expect(claude.structured(["claude", "-p", "--dangerously-skip-permissions"])).toBe(false);
  });
  test("codex: --json (or its old alias); the 0.1 argv is text", () => {
    expect(codex.structured(["codex", "exec", "--experimental-json"])).toBe(true);
    expect(codex.structured(V01_CODEX)).toBe(false);
    expect(command.structured(["anything", "--json"])).toBe(false);
  });
});

describe("resumeArgv", () => {
  test("claude: --resume <id> added; flags that conflict with it dropped", () => {
    expect(claude.resumeArgv([...DEFAULT_ARGV.loop], ID)).toEqual([...DEFAULT_ARGV.loop, "--resume", ID]);
    expect(claude.resumeArgv(["claude", "-p", "--session-id", "11111111-2222-4333-8444-555555555555", "--continue", "--resume=old", "-r", "older", "--verbose"], ID)).toEqual(["claude", "-p", "--verbose", "--resume", ID]);
    // No session file is written, so nothing to resume; an id that could pass for a flag is refused.
    expect(claude.resumeArgv(["claude", "-p", "--no-session-persistence"], ID)).toBeNull();
    expect(claude.resumeArgv(["claude", "-p"], "--dangerously-skip-permissions")).toBeNull();
    expect(claude.resumeArgv(["claude", "-p"], "")).toBeNull();
  });

  test("codex: `codex exec [every configured option] resume <id>`, prompt still on stdin", () => {
    expect(codex.resumeArgv([...DEFAULT_ARGV.supervisor], ID)).toEqual(["codex", "exec", "--json", "--dangerously-bypass-approvals-and-sandbox", "resume", ID]);
    // The 0.1 argv: -c is not a global flag of `exec resume`, so it must stay before `resume`.
    expect(codex.resumeArgv(V01_CODEX, ID)).toEqual([...V01_CODEX, "resume", ID]);
    expect(codex.resumeArgv(["codex", "-c", "model=o3", "exec", "--json"], ID)).toEqual(["codex", "-c", "model=o3", "exec", "--json", "resume", ID]);
    expect(codex.resumeArgv(["codex", "exec", "--ephemeral", "--json"], ID)).toBeNull();
    expect(codex.resumeArgv(["codex", "exec", "resume", "--last"], ID)).toBeNull();
    expect(codex.resumeArgv(["codex", "--full-auto"], ID)).toBeNull();
    expect(codex.resumeArgv(["codex", "exec", "--json"], "-x")).toBeNull();
  });

  test("command agents cannot resume", () => {
    expect(command.resumeArgv(["my-agent"], ID)).toBeNull();
  });
});

describe("preflight", () => {
  const problem = { problem: "claude refuses --dangerously-skip-permissions as root", fix: "run orch as a normal user, or set IS_SANDBOX=1 if this machine is a disposable sandbox" };
  test("root + claude's skip-permissions (or bypass mode) without IS_SANDBOX=1 is refused before the turn", () => {
    expect(claude.preflight([...DEFAULT_ARGV.loop], {}, 0)).toEqual(problem);
    expect(claude.preflight(["claude", "-p", "--permission-mode", "bypassPermissions"], {}, 0)).toEqual(problem);
    expect(claude.preflight(["claude", "-p", "--allow-dangerously-skip-permissions"], { IS_SANDBOX: "yes" }, 0)).toEqual(problem);
  });
  test("IS_SANDBOX=1 (or bubblewrap), a normal user, or no skip flag pass", () => {
    expect(claude.preflight([...DEFAULT_ARGV.loop], { IS_SANDBOX: "1" }, 0)).toBeNull();
    expect(claude.preflight([...DEFAULT_ARGV.loop], { CLAUDE_CODE_BUBBLEWRAP: "1" }, 0)).toBeNull();
    expect(claude.preflight([...DEFAULT_ARGV.loop], {}, 1000)).toBeNull();
    expect(claude.preflight(["claude", "-p"], {}, 0)).toBeNull();
    expect(codex.preflight([...DEFAULT_ARGV.supervisor], {}, 0)).toBeNull();
    expect(command.preflight(["x", "--dangerously-skip-permissions"], {}, 0)).toBeNull();
  });
});

describe("command adapter", () => {
  const run = (stdout: string[], code: number, stderr: string[] = []) => feed({ kind: "command", stdout, stderr, code, argv: ["my-agent"] });

  test("output passes through unchanged; the exit code decides", () => {
    const r = run(["\x1b[32mgreen\x1b[0m text", "second"], 0, ["a warning"]);
    expect(r.end).toEqual({ kind: "ok" });
    expect(r.lines.slice(0, 3)).toEqual(["a warning", "\x1b[32mgreen\x1b[0m text", "second"]);
    expect(r.lines[3]).toMatch(/^\S+ ■ ok · wall=4\.0s exit=0$/);
    expect(r.facts).toEqual({ sessionId: null, model: null, agentVersion: null, costUsd: null, tokens: null, numTurns: null, finalMessage: "a warning\ngreen text\nsecond", unknownEvents: 0 });
    expect(run(["tests failed"], 3).end).toEqual({ kind: "fail", message: "agent exited 3: tests failed" });
  });

  test("a usage limit in the last lines of a failed run is a limit; other scary words are not", () => {
    const limit = run(["working…", "You've hit your session limit · resets 3pm (UTC)"], 1);
    expect(limit.end).toMatchObject({ kind: "limit", window: "five_hour" });
    expect(limit.end.kind === "limit" && limit.end.resetAt?.toISOString()).toBe("2026-12-01T15:00:00.000Z");
    expect(run(["Error: Timeout of 2000ms exceeded", "HTTP 401 from test server"], 1).end.kind).toBe("fail");
    // On a successful exit, the words are just words.
    expect(run(["You've hit your session limit · resets 3pm (UTC)"], 0).end.kind).toBe("ok");
    // Only the last lines count.
    expect(run(["You've hit your session limit · resets 3pm (UTC)", ...Array.from({ length: 12 }, (_, i) => `line ${i}`)], 1).end.kind).toBe("fail");
  });

  test("the final message is bounded: 40 lines, 4 KB", () => {
    const many = Array.from({ length: 500 }, (_, i) => `line ${i} ${"x".repeat(50)}`);
    const { facts } = run(many, 0);
    expect(facts.finalMessage!.split("\n").length).toBeLessThanOrEqual(40);
    expect(Buffer.byteLength(facts.finalMessage!)).toBeLessThanOrEqual(4096);
    expect(facts.finalMessage!.endsWith(`line 499 ${"x".repeat(50)}`)).toBe(true);
  });

  test("a timeout is transient for every kind", () => {
    for (const kind of ["claude", "codex", "command"] as const) {
      expect(feed({ kind, stdout: [], stderr: [], code: 124, argv: ["x"] }).end.kind).toBe("transient");
    }
  });
});
