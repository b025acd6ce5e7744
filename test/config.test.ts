import { describe, expect, test, afterAll } from "bun:test";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describeSource, editDistance, loadConfig, suggest, type LoadOptions } from "../src/core/config.ts";
import { SETTINGS, type CommandName, type SettingKey } from "../src/core/settings.ts";
import { OrchError } from "../src/core/errors.ts";

const root = mkdtempSync(join(tmpdir(), "orch-config-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** A fresh directory holding `toml` as orch.toml (none when undefined). */
function dirWith(toml?: string): string {
  const dir = join(root, `d${++n}`);
  mkdirSync(dir, { recursive: true });
  if (toml !== undefined) writeFileSync(join(dir, "orch.toml"), toml);
  return dir;
}

const load = (opts: Partial<LoadOptions> & { dir: string }) => loadConfig({ env: {}, ...opts });

/** The usage error (exit 2) loading this orch.toml raises, with the file shown as "orch.toml". */
function fileError(toml: string): string {
  const dir = dirWith(toml);
  let caught: unknown;
  try {
    load({ dir });
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(OrchError);
  expect((caught as OrchError).exitCode).toBe(2);
  const message = (caught as OrchError).message;
  expect(message).not.toContain("\n");
  const shown = relative(process.cwd(), join(dir, "orch.toml"));
  return message.replace(shown.startsWith("..") ? join(dir, "orch.toml") : shown, "orch.toml");
}

function usageError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(OrchError);
    expect((e as OrchError).exitCode).toBe(2);
    return (e as OrchError).message;
  }
  throw new Error("expected a usage error");
}

describe("defaults and orch.toml", () => {
  test("no orch.toml: every setting has its default and source", () => {
    const c = load({ dir: dirWith() });
    expect(c.file).toBeNull();
    for (const s of SETTINGS) {
      expect(c.get(s.key) as unknown).toEqual(s.default);
      expect(describeSource(c.sources.get(s.key)!)).toBe("default");
    }
    expect(c.get("git.state_file")).toBe("sync/state.json");
    expect(c.get("sync.loops")).toBe(20);
    expect(() => c.get("no.such" as SettingKey)).toThrow();
  });

  test("values from the file, each with its line as source", () => {
    const dir = dirWith('# comment\n[git]\nremote = "upstream"\nlock_timeout_sec = 7\n\n[sync]\npoll_interval = 0.25\nverbose = true\n[loop]\nagent = ["my-agent", "--flag"]\n[tail]\nroles = ["ralph"]\n');
    const c = load({ dir });
    expect(c.get("git.remote")).toBe("upstream");
    expect(c.get("git.lock_timeout_sec")).toBe(7);
    expect(c.get("sync.poll_interval")).toBe(0.25);
    expect(c.get("sync.verbose")).toBe(true);
    expect(c.get("loop.agent")).toEqual(["my-agent", "--flag"]);
    expect(c.get("tail.roles")).toEqual(["ralph"]);
    const src = c.sources.get("git.lock_timeout_sec")!;
    expect(src.kind).toBe("file");
    expect(describeSource(src)).toEndWith("orch.toml:4");
    expect(describeSource(c.sources.get("sync.verbose")!)).toEndWith("orch.toml:8");
  });

  test("dotted keys and CRLF line endings are understood", () => {
    const c = load({ dir: dirWith('git.remote = "up"\r\n[sync]\r\nloops = 3\r\n') });
    expect(c.get("git.remote")).toBe("up");
    expect(c.get("sync.loops")).toBe(3);
  });

  test("--config PATH reads that file; a missing one is exit 2", () => {
    const dir = dirWith('[sync]\nloops = 1\n');
    writeFileSync(join(dir, "alt.toml"), "[sync]\nloops = 9\n");
    expect(load({ dir, configPath: "alt.toml" }).get("sync.loops")).toBe(9);
    expect(load({ dir, env: { ORCH_CONFIG: "alt.toml" } }).get("sync.loops")).toBe(9);
    expect(usageError(() => load({ dir, configPath: "missing.toml" }))).toBe("config file missing.toml not found; check --config / ORCH_CONFIG");
  });
});

describe("bad orch.toml: exit 2 with orch.toml:LINE:COL (1-based)", () => {
  test("unknown key, with a suggestion", () => {
    expect(fileError('[git]\nremote = "o"\n  brnch = "x"\n')).toBe("orch.toml:3:3: unknown key 'brnch' in [git] (did you mean 'branch'?)");
    expect(fileError("[sync]\nzzzzzzzzzz = 1\n")).toBe("orch.toml:2:1: unknown key 'zzzzzzzzzz' in [sync]");
  });

  test("unknown section", () => {
    expect(fileError('[git]\nremote = "o"\n\n[synk]\nloops = 2\n')).toBe("orch.toml:4:1: unknown section 'synk' (did you mean 'sync'?)");
  });

  test("a section that is not a table", () => {
    expect(fileError('git = "x"\n')).toBe("orch.toml:1:1: 'git' must be a table ([git])");
  });

  test("wrong types name the key and the value", () => {
    expect(fileError('[git]\nlock_timeout_sec = "30"\n')).toBe('orch.toml:2:1: git.lock_timeout_sec must be a whole number >= 0, got "30"');
    expect(fileError("[git]\nlock_timeout_sec = 1.5\n")).toBe("orch.toml:2:1: git.lock_timeout_sec must be a whole number >= 0, got 1.5");
    expect(fileError("[sync]\n\npoll_interval = -1\n")).toBe("orch.toml:3:1: sync.poll_interval must be a number >= 0, got -1");
    expect(fileError('[sync]\nverbose = "yes"\n')).toBe('orch.toml:2:1: sync.verbose must be true or false, got "yes"');
    expect(fileError("[git]\nremote = 5\n")).toBe("orch.toml:2:1: git.remote must be a string, got 5");
    expect(fileError('[tail]\nsource = "files"\n')).toBe('orch.toml:2:1: tail.source must be one of logs, summaries, got "files"');
    expect(fileError("[tail]\nroles = [1, 2]\n")).toBe("orch.toml:2:1: tail.roles must be an array of strings, got an array");
    expect(fileError("[loop]\nagent = []\n")).toBe("orch.toml:2:1: loop.agent must be a non-empty array of strings (the agent's argv), got an array");
    expect(fileError('[loop]\nagent = "claude -p"\n')).toContain("orch.toml:2:1: loop.agent must be a non-empty array of strings");
    expect(fileError("[git]\nremote = 2024-01-01\n")).toBe("orch.toml:2:1: git.remote must be a string, got a date");
  });

  test("TOML syntax errors point at the offending character", () => {
    expect(fileError("a = = 1\n")).toBe("orch.toml:1:5: Unexpected character, expecting string, number, datetime, boolean, inline array or inline table");
    expect(fileError("[git\nremote = 1\n")).toBe("orch.toml:1:5: Unexpected character, expected whitespace, . or ]");
    expect(fileError('[git]\nremote = "abc\n')).toBe("orch.toml:2:14: Unterminated string");
    expect(fileError("[sync]\n\n  verbose = tru\n")).toBe("orch.toml:3:16: Invalid boolean, expected true or false");
    expect(fileError("[sync]\nloops = 1\nloops = 2\n")).toMatch(/^orch\.toml:3:\d+: Can't redefine existing key$/);
  });
});

describe("environment variables (the old tool's names keep working)", () => {
  const legacy: [string, string, string, unknown, string?][] = [
    ["SYNC_LOOPS", "7", "sync.loops", 7],
    ["POLL_INTERVAL", "0.5", "sync.poll_interval", 0.5],
    ["MAX_WAIT_SEC", "90", "sync.max_wait_sec", 90],
    ["STATE_FILE", "other/state.json", "git.state_file", "other/state.json"],
    ["ORCHESTRATION_BRANCH", "feature/y", "git.branch", "feature/y"],
    ["HEARTBEAT_SECS", "15", "sync.heartbeat_secs", 15],
    ["CODEX_CMD", "/opt/codex", "supervisor.agent", ["/opt/codex", "exec", "--json", "--dangerously-bypass-approvals-and-sandbox"], "supervisor"],
    ["CLAUDE_CMD", "/opt/claude", "loop.agent", ["/opt/claude", "-p", "--dangerously-skip-permissions", "--verbose", "--output-format", "stream-json"], "loop"],
    ["LOOP_PROMPT", "debug", "loop.prompt", "debug", "loop"],
  ];
  for (const [name, raw, key, want, command] of legacy) {
    test(`${name} sets ${key}`, () => {
      const c = load({ dir: dirWith(), env: { [name]: raw }, command: (command ?? "stamp") as CommandName });
      expect(c.get(key as SettingKey) as unknown).toEqual(want);
      expect(describeSource(c.sources.get(key)!)).toBe(`env ${name}`);
    });
  }

  test("CODEX_CMD replaces only the executable of a configured argv", () => {
    const c = load({ dir: dirWith('[supervisor]\nagent = ["codex", "exec", "--x"]\n'), env: { CODEX_CMD: "/bin/codex2" }, command: "supervisor" });
    expect(c.get("supervisor.agent")).toEqual(["/bin/codex2", "exec", "--x"]);
  });

  test("the ORCH_ name beats the legacy one; empty variables are ignored", () => {
    const dir = dirWith();
    expect(load({ dir, env: { SYNC_LOOPS: "7", ORCH_SYNC_LOOPS: "8" } }).get("sync.loops")).toBe(8);
    expect(load({ dir, env: { SYNC_LOOPS: "" } }).get("sync.loops")).toBe(20);
    expect(load({ dir, env: { ORCH_GIT_LOCK_TIMEOUT_SEC: "3" } }).get("git.lock_timeout_sec")).toBe(3);
  });

  test("an invalid value names the variable", () => {
    const dir = dirWith();
    expect(usageError(() => load({ dir, env: { SYNC_LOOPS: "many" } }))).toBe("env SYNC_LOOPS: expected a whole number >= 0, got 'many'");
    expect(usageError(() => load({ dir, env: { POLL_INTERVAL: "-1" } }))).toBe("env POLL_INTERVAL: expected a number >= 0, got '-1'");
    expect(usageError(() => load({ dir, env: { ORCH_SYNC_VERBOSE: "perhaps" } }))).toBe("env ORCH_SYNC_VERBOSE: expected true or false, got 'perhaps'");
  });
});

describe("precedence: flag > environment > orch.toml > default", () => {
  const toml = '[git]\nbranch = "from-file"\nremote = "file-remote"\n[sync]\nloops = 3\npoll_interval = 2\n';

  test("each layer overrides the one below, key by key", () => {
    const dir = dirWith(toml);
    const c = load({ dir, command: "supervisor", env: { ORCHESTRATION_BRANCH: "from-env", SYNC_LOOPS: "4" }, flags: { branch: "from-flag" } });
    expect(c.get("git.branch")).toBe("from-flag");
    expect(c.sources.get("git.branch")).toEqual({ kind: "flag", name: "branch" });
    expect(c.get("sync.loops")).toBe(4);
    expect(c.sources.get("sync.loops")).toEqual({ kind: "env", name: "SYNC_LOOPS" });
    expect(c.get("sync.poll_interval")).toBe(2);
    expect(c.sources.get("sync.poll_interval")!.kind).toBe("file");
    expect(c.get("git.remote")).toBe("file-remote");
    expect(c.get("sync.max_wait_sec")).toBe(0);
    expect(c.sources.get("sync.max_wait_sec")).toEqual({ kind: "default" });
  });

  test("env beats the file, flag beats env, for the same key", () => {
    const dir = dirWith(toml);
    expect(load({ dir, command: "stamp" }).get("git.branch")).toBe("from-file");
    expect(load({ dir, command: "stamp", env: { ORCHESTRATION_BRANCH: "e" } }).get("git.branch")).toBe("e");
    expect(load({ dir, command: "stamp", env: { ORCHESTRATION_BRANCH: "e" }, flags: { branch: "f" } }).get("git.branch")).toBe("f");
  });

  test("boolean flags, including --no-<flag> (false)", () => {
    const dir = dirWith("[sync]\nverbose = true\n");
    expect(load({ dir, command: "loop", flags: { verbose: false } }).get("sync.verbose")).toBe(false);
    expect(load({ dir: dirWith(), command: "loop", flags: { verbose: true } }).get("sync.verbose")).toBe(true);
  });

  test("a flag only applies to the commands that have it", () => {
    const dir = dirWith();
    expect(load({ dir, command: "stamp", flags: { "sync-loops": "9" } }).get("sync.loops")).toBe(20);
    expect(load({ dir, command: "loop", flags: { "sync-loops": "9" } }).get("sync.loops")).toBe(9);
  });

  test("an invalid flag value names the flag", () => {
    expect(usageError(() => load({ dir: dirWith(), command: "loop", flags: { "sync-loops": "x" } }))).toBe("flag --sync-loops: expected a whole number >= 0, got 'x'");
  });
});

describe("suggestions", () => {
  test("edit distance and did-you-mean", () => {
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("", "abc")).toBe(3);
    expect(suggest("brnch", ["branch", "remote"])).toBe(" (did you mean 'branch'?)");
    expect(suggest("xyzzy", ["branch", "remote"])).toBe("");
  });
});
