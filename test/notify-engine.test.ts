/**
 * Notifications from the turn engine (issue 14 item 3): the observing runner
 * sends each event once, to a real webhook server on 127.0.0.1; a hanging
 * hook never holds a turn beyond its time limit.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeEngineWorld, collect, AGENTS } from "./helpers/engine-world.ts";

const FAST = ["--sync-via-git", "--poll-interval", "0.05"];
const scratch = mkdtempSync(join(tmpdir(), "orch-notify-engine-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function server() {
  const received: { event: string; actor: string; iteration: number | null; message: string; blocked_until: string | null }[] = [];
  const s = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      received.push((await req.json()) as (typeof received)[number]);
      return new Response("ok");
    },
  });
  return { url: `http://127.0.0.1:${s.port}/hook`, received, stop: () => s.stop(true) };
}

describe("the engine notifies what it observes, once", () => {
  test("turn_failed from the runner whose turn failed; run_done at the end of a run", async () => {
    const hook = server();
    try {
      const env = { ORCH_NOTIFY_WEBHOOK_URL: hook.url };
      const failing = makeEngineWorld({ supervisorAgent: ["sh", "-c", "cat >/dev/null; exit 3"] });
      // Spawned, not run synchronously: the webhook server lives in this test's own event loop.
      expect((await collect(failing.a.spawnOrch(["supervisor", ...FAST, "--sync-loops", "1"], { env }))).code).toBe(3);
      expect(hook.received.map((e) => e.event)).toEqual(["turn_failed"]);
      expect(hook.received[0]).toMatchObject({ actor: "galph", iteration: 1 });
      expect(hook.received[0]!.message).toContain("galph's turn i=1 failed");
      const ok = makeEngineWorld();
      expect((await collect(ok.a.spawnOrch(["supervisor", ...FAST, "--sync-loops", "1", "--max-wait-sec", "0.2"], { env }))).code).toBe(5);
      expect((await collect(ok.b.spawnOrch(["loop", ...FAST, "--sync-loops", "1"], { env }))).code).toBe(0);
      expect(hook.received.map((e) => e.event)).toEqual(["turn_failed", "run_done"]);
      expect(hook.received[1]).toMatchObject({ actor: "ralph" });
    } finally {
      hook.stop();
    }
  }, 40_000);

  test("blocked and unblocked around a usage-limit wait", async () => {
    const hook = server();
    try {
      const replay = [process.execPath, join(AGENTS, "replay.ts"), "--state", join(scratch, "limit"), "--fixtures", "codex-json-429-usage,codex-exec-json-ok", "--reset-in", "1"];
      const { a } = makeEngineWorld({ supervisorAgent: replay, supervisorKind: "codex" });
      expect((await collect(a.spawnOrch(["supervisor", ...FAST, "--sync-loops", "1", "--max-wait-sec", "0.2"], { env: { ORCH_NOTIFY_WEBHOOK_URL: hook.url } }))).code).toBe(5);
      expect(hook.received.map((e) => e.event)).toEqual(["blocked", "unblocked"]);
      expect(hook.received[0]!.blocked_until).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    } finally {
      hook.stop();
    }
  }, 40_000);

  test("a notify command that hangs does not hold the turn beyond its time limit", () => {
    const { a } = makeEngineWorld({ supervisorAgent: ["sh", "-c", "cat >/dev/null; exit 2"] });
    const started = Date.now();
    const r = a.orch(["supervisor", ...FAST, "--sync-loops", "1"], { env: { ORCH_NOTIFY_COMMAND: "sleep,60", ORCH_NOTIFY_TIMEOUT_SEC: "1" } });
    expect(r.code).toBe(2);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r.stdout).toMatch(/\[notify\] WARNING: notify turn_failed: .*command/);
  }, 30_000);

  test("a webhook nobody answers: run_done still ends the run, and the failure is said on the console", () => {
    const { a } = makeEngineWorld({ clones: 1 });
    // A port nothing listens on (bound, then released).
    const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
    const port = probe.port;
    probe.stop(true);
    const r = a.orch(["pair", ...FAST.filter((f) => f !== "--sync-via-git"), "--sync-loops", "1"], { env: { ORCH_NOTIFY_WEBHOOK_URL: `http://127.0.0.1:${port}/hook` } });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\[notify\] WARNING: notify run_done: .*webhook/);
  }, 30_000);
});
