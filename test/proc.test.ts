import { describe, expect, test } from "bun:test";
import { tmpdir } from "node:os";
import { MissingExecutableError, run } from "../src/core/proc.ts";
import { OrchError } from "../src/core/errors.ts";

describe("run(argv, {cwd, env, timeoutMs, input})", () => {
  test("exit code, stdout and stderr, no shell", async () => {
    const r = await run(["sh", "-c", 'echo out; echo err >&2; exit 3']);
    expect(r).toEqual({ code: 3, signal: null, stdout: "out\n", stderr: "err\n", timedOut: false, aborted: false });
    // Arguments are passed verbatim: no shell expansion of argv.
    const literal = await run(["echo", "$HOME", "*", "a;b"]);
    expect(literal.stdout).toBe("$HOME * a;b\n");
  });

  test("cwd, env and stdin input (text and bytes, UTF-8 intact)", async () => {
    const r = await run(["sh", "-c", 'pwd; printf "%s\\n" "$ORCH_PROC_TEST"; cat'], { cwd: tmpdir(), env: { PATH: process.env.PATH, ORCH_PROC_TEST: "héllo" }, input: "ünïcode → stdin" });
    expect(r.stdout).toBe(`${(await run(["realpath", tmpdir()])).stdout.trim()}\nhéllo\nünïcode → stdin`);
    const bytes = await run(["wc", "-c"], { input: new Uint8Array([1, 2, 3, 4]) });
    expect(bytes.stdout.trim()).toBe("4");
  });

  test("large stdout and stderr are read concurrently (no pipe deadlock)", async () => {
    // 2 MiB on each stream, interleaved: a sequential reader would block the child on a full pipe.
    const script = "i=0; while [ $i -lt 64 ]; do head -c 32768 /dev/zero | tr '\\0' o; head -c 32768 /dev/zero | tr '\\0' e >&2; i=$((i+1)); done";
    const r = await run(["sh", "-c", script], { timeoutMs: 20_000 });
    expect(r.code).toBe(0);
    expect(r.timedOut).toBe(false);
    expect(r.stdout.length).toBe(2 * 1024 * 1024);
    expect(r.stderr.length).toBe(2 * 1024 * 1024);
  });

  test("a child killed by a signal reports the signal and 128+n", async () => {
    const r = await run(["sh", "-c", "kill -KILL $$"]);
    expect(r.signal).toBe("SIGKILL");
    expect(r.code).toBe(137);
    expect(r.timedOut).toBe(false);
  });

  test("timeout: SIGTERM first", async () => {
    const started = Date.now();
    const r = await run(["sleep", "30"], { timeoutMs: 150 });
    expect(r.timedOut).toBe(true);
    expect(r.signal).toBe("SIGTERM");
    expect(r.code).toBe(143);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  test("timeout: SIGKILL after the grace period when SIGTERM is ignored", async () => {
    const started = Date.now();
    // The shell we time out ignores SIGTERM, so only the SIGKILL after killGraceMs ends it.
    const r = await run(["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"], { timeoutMs: 200, killGraceMs: 300 });
    const elapsed = Date.now() - started;
    expect(r.timedOut).toBe(true);
    expect(r.signal).toBe("SIGKILL");
    expect(r.code).toBe(137);
    expect(r.stdout).toBe("ready\n");
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(3000);
  });

  test("timeout returns promptly even when a grandchild keeps the pipes open", async () => {
    const started = Date.now();
    // sh is killed; `sleep 20` survives it, still holding stdout and stderr.
    const r = await run(["sh", "-c", "echo partial; sleep 20; echo never"], { timeoutMs: 200 });
    expect(r.timedOut).toBe(true);
    expect(r.stdout).toBe("partial\n");
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test("a missing executable is a clear error, not a crash", async () => {
    let caught: unknown;
    try {
      await run(["orch-no-such-program-xyz", "--version"]);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(MissingExecutableError);
    expect((caught as OrchError).exitCode).toBe(1);
    expect((caught as Error).message).toBe("cannot run 'orch-no-such-program-xyz': not found (is it installed and on PATH?)");
  });

  test("a missing working directory is named as such (not as a missing executable)", async () => {
    await expect(run(["git", "status"], { cwd: "/nonexistent/orch-dir" })).rejects.toThrow("cannot run 'git': working directory /nonexistent/orch-dir does not exist");
  });
});
