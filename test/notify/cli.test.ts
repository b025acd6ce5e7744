import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { makeWorld, ORCH_BIN, type Clone, type Result } from "../helpers/world.ts";
import { notifyToml, recordingHook, scratch, script, startServer } from "./helpers.ts";

const dir = scratch();
const ok = startServer(() => 200);
const failing = startServer(() => 500);

/** Run the binary without blocking this process: the webhook servers live in it. */
async function orch(c: Clone, args: string[], env: Record<string, string> = {}): Promise<Result> {
  const p = Bun.spawn([ORCH_BIN, ...args], { cwd: c.dir, env: { ...c.world.env, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

function cloneWith(toml: string): Clone {
  const { clones } = makeWorld({ files: { "orch.toml": toml } });
  return clones[0]!;
}

describe("orch notify --test", () => {
  test("every configured channel succeeds: one ✓ line each, exit 0", async () => {
    const hook = recordingHook(dir);
    const out = join(dir, "cli");
    const c = cloneWith(notifyToml({ command: [hook, out], webhook_url: ok.url + "/my-topic", webhook_format: "ntfy" }));
    ok.received.length = 0;
    const r = await orch(c, ["notify", "--test"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^✓ command .*hook\.sh … \(exit 0, \d+\.\ds\)$/);
    expect(lines[1]).toMatch(new RegExp(`^✓ webhook ${ok.url.replace(/\./g, "\\.")}/… \\(HTTP 200, \\d+\\.\\ds\\)$`));
    // The sample event is event "test", on this branch, from this repository.
    expect(ok.received).toHaveLength(1);
    const body = JSON.parse(ok.received[0]!.body);
    expect(body.topic).toBe("my-topic");
    expect(body.title).toBe("orch test");
    expect(body.message).toContain("[m1 feature/x on ");
    const sent = JSON.parse(readFileSync(out + ".json", "utf8"));
    expect(sent.event).toBe("test");
    expect(sent.branch).toBe("feature/x");
    expect(sent.repo).toBe("m1");
    expect(readFileSync(out + ".env", "utf8")).toContain("ORCH_EVENT=test\n");
  });

  test("one channel fails: ✗ with the reason, exit 1; the test event is not deduplicated", async () => {
    const c = cloneWith(notifyToml({ command: ["true"], webhook_url: failing.url + "/t" }));
    for (let i = 0; i < 2; i++) {
      failing.received.length = 0;
      const r = await orch(c, ["notify", "--test"]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^✓ command true \(exit 0, \d+\.\ds\)\n/);
      expect(r.stdout).toContain(`✗ webhook ${failing.url}/…: HTTP 500`);
      expect(failing.received).toHaveLength(1);
    }
  });

  test("a failing hook: its exit code and stderr", async () => {
    const hook = script(join(dir, "no-display.sh"), 'echo "cannot open display" >&2\nexit 1\n');
    const c = cloneWith(notifyToml({ command: [hook] }));
    const r = await orch(c, ["notify", "--test"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^✗ command .*no-display\.sh: exit 1: cannot open display \(\d+\.\ds\)\n$/);
  });

  test("nothing configured: exit 2 with an ntfy and a notify-send example", async () => {
    const c = cloneWith("[sync]\nloops = 3\n");
    const r = await orch(c, ["notify", "--test"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.split("\n")).toHaveLength(2); // one line
    expect(r.stderr).toContain('webhook_url = "https://ntfy.sh/<your-topic>"');
    expect(r.stderr).toContain('command = ["notify-send", "orch"]');
  });

  test("the environment configures it too (ORCH_NOTIFY_WEBHOOK_URL)", async () => {
    const c = cloneWith("");
    ok.received.length = 0;
    const r = await orch(c, ["notify", "--test"], { ORCH_NOTIFY_WEBHOOK_URL: ok.url + "/x", ORCH_NOTIFY_WEBHOOK_FORMAT: "slack" });
    expect(r.code).toBe(0);
    expect(ok.received).toHaveLength(1);
    expect(JSON.parse(ok.received[0]!.body).text).toStartWith("orch test - Test notification");
  });

  test("bad usage and bad [notify] exit 2 with one line", async () => {
    const c = cloneWith(notifyToml({ on: ["run_done", "run_dun"], command: ["true"] }));
    const bad = await orch(c, ["notify", "--test"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      "orch: orch.toml:2: notify.on has unknown event 'run_dun' (did you mean 'run_done'?); known events: turn_failed, blocked, unblocked, peer_stale, peer_back, stalemate, run_done, paused, stopped\n",
    );
    const unknown = await orch(c, ["notify", "--tset"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe("orch: unknown option '--tset' (did you mean '--test'?); run 'orch notify --help' for usage\n");
    const bare = await orch(c, ["notify"]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toBe("orch: --test is required (send a test notification through every configured channel)\n");
    const help = await orch(c, ["notify", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--test");
  });
});
