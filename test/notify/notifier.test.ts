import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Notifier } from "../../src/notify/notifier.ts";
import { makeEvent } from "../../src/notify/events.ts";
import { SENT_FILE, SENT_KEEP, SentStore } from "../../src/notify/sent.ts";
import { OrchError } from "../../src/core/errors.ts";
import { makeWorld } from "../helpers/world.ts";
import { notifyToml, recordingHook, scratch, script, settingsFrom, startServer } from "./helpers.ts";

const dir = scratch();
const server = startServer();

const event = (fields: Partial<Parameters<typeof makeEvent>[0]> = {}) =>
  makeEvent({ event: "turn_failed", actor: "ralph", iteration: 42, host: "box1", branch: "feature/x", message: "agent exited 3", ...fields });

function notifier(toml: Record<string, unknown>, gitDir: string | null = null) {
  const logged: string[] = [];
  const n = new Notifier({ settings: settingsFrom(notifyToml(toml)), gitDir, log: (l) => logged.push(l) });
  return { n, logged };
}

/** Whether a process still runs; a zombie (killed, not yet reaped by a PID 1 that never reaps) does not. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return existsSync("/proc") ? false : true;
  }
}

describe("command hook", () => {
  test("gets the ORCH_* environment and the event as JSON on stdin, argv passed without a shell", async () => {
    const hook = recordingHook(dir);
    const out = join(dir, "first run");
    const { n, logged } = notifier({ command: [hook, out] });
    const e = event({ event: "blocked", actor: "galph", iteration: 7, message: "usage limit; resets at 09:00", blocked_until: "2026-12-01T09:00:00Z", log: "logs/x/galph/iter-00007.log" });
    expect(n.emit(e)).toBe(true);
    await n.drain();
    expect(logged).toEqual([]);
    expect(readFileSync(out + ".env", "utf8")).toBe(
      [
        "ORCH_ACTOR=galph",
        "ORCH_BLOCKED_UNTIL=2026-12-01T09:00:00Z",
        "ORCH_BRANCH=feature/x",
        "ORCH_EVENT=blocked",
        "ORCH_HOST=box1",
        "ORCH_ITERATION=7",
        "ORCH_LOG=logs/x/galph/iter-00007.log",
        "ORCH_MESSAGE=usage limit; resets at 09:00",
        "",
      ].join("\n"),
    );
    expect(JSON.parse(readFileSync(out + ".json", "utf8"))).toEqual(e);
  });

  test("absent values are empty variables", async () => {
    const hook = recordingHook(dir);
    const out = join(dir, "empty");
    const { n } = notifier({ command: [hook, out] });
    n.emit(event({ event: "run_done", iteration: null, message: "20 turns done" }));
    await n.drain();
    const env = readFileSync(out + ".env", "utf8");
    expect(env).toContain("ORCH_ITERATION=\n");
    expect(env).toContain("ORCH_BLOCKED_UNTIL=\n");
    expect(env).toContain("ORCH_LOG=\n");
  });

  test("a failing hook is logged with its exit code and last stderr line, never thrown", async () => {
    const hook = script(join(dir, "fail.sh"), 'echo "first" >&2\necho "no DISPLAY to notify on" >&2\nexit 3\n');
    const { n, logged } = notifier({ command: [hook] });
    expect(n.emit(event())).toBe(true);
    await n.drain();
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/^notify turn_failed: ✗ command .*fail\.sh: exit 3: no DISPLAY to notify on \(\d+\.\ds\)$/);
  });

  test("a missing executable is logged, not thrown", async () => {
    const { n, logged } = notifier({ command: ["/nonexistent/notify-hook", "x"] });
    expect(() => n.emit(event())).not.toThrow();
    await n.drain();
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain("✗ command /nonexistent/notify-hook …: cannot run '/nonexistent/notify-hook'");
  });

  test("a hook that hangs is killed with its whole process group at the timeout; drain returns", async () => {
    const pidFile = join(dir, "hang.pid");
    // The hook starts a grandchild that would outlive a plain kill of the hook.
    const hook = script(join(dir, "hang.sh"), `sleep 60 &\necho $! > "${pidFile}"\nwait\n`);
    const { n, logged } = notifier({ command: [hook], timeout_sec: 0.5 });
    const started = Date.now();
    n.emit(event());
    await n.drain(5000);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(450);
    expect(took).toBeLessThan(5000);
    expect(n.pending).toBe(0);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/✗ command .*hang\.sh: killed after 0\.5s/);
    const grandchild = Number(readFileSync(pidFile, "utf8"));
    await Bun.sleep(100);
    expect(alive(grandchild)).toBe(false);
  });

  test("drain bounded below the timeout kills the hook at its own deadline", async () => {
    const pidFile = join(dir, "hang2.pid");
    const hook = script(join(dir, "hang2.sh"), `sleep 60 &\necho $! > "${pidFile}"\nwait\n`);
    const { n, logged } = notifier({ command: [hook], timeout_sec: 30 });
    n.emit(event());
    const started = Date.now();
    await n.drain(400);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(n.pending).toBe(0);
    expect(logged[0]).toMatch(/killed: orch is exiting/);
    await Bun.sleep(100);
    expect(alive(Number(readFileSync(pidFile, "utf8")))).toBe(false);
  });
});

describe("webhook", () => {
  test("an HTTP error is logged with its status, never thrown", async () => {
    const failing = startServer(() => 500);
    const { n, logged } = notifier({ webhook_url: failing.url + "/topic" });
    n.emit(event());
    await n.drain();
    expect(failing.received).toHaveLength(1);
    expect(logged).toHaveLength(1);
    // The URL's path (an ntfy topic, a Slack token) is never printed.
    expect(logged[0]).toMatch(new RegExp(`^notify turn_failed: ✗ webhook ${failing.url.replace(/\./g, "\\.")}/…: HTTP 500: \\{"error":"status 500 on purpose"\\} \\(\\d+\\.\\ds\\)$`));
  });

  test("a server that never answers is abandoned at the timeout; drain returns", async () => {
    const silent = startServer(() => "hang");
    const { n, logged } = notifier({ webhook_url: silent.url + "/topic", timeout_sec: 0.5 });
    const started = Date.now();
    n.emit(event());
    await n.drain(5000);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(silent.received).toHaveLength(1);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain("no answer within 0.5s");
  });

  test("a refused connection is logged", async () => {
    const gone = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
    const port = gone.port;
    const url = `http://127.0.0.1:${port}/t`;
    gone.stop(true);
    const { n, logged } = notifier({ webhook_url: url });
    n.emit(event());
    await n.drain();
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain(`✗ webhook http://127.0.0.1:${port}/…: ECONNREFUSED`);
  });

  test("command and webhook both get the event", async () => {
    server.received.length = 0;
    const hook = recordingHook(dir);
    const out = join(dir, "both");
    const { n, logged } = notifier({ command: [hook, out], webhook_url: server.url + "/t" });
    n.emit(event({ event: "stalemate", actor: "ralph", iteration: 12, message: "3 cycles without code changes" }));
    await n.drain();
    expect(logged).toEqual([]);
    expect(server.received).toHaveLength(1);
    expect(JSON.parse(server.received[0]!.body).event).toBe("stalemate");
    expect(readFileSync(out + ".env", "utf8")).toContain("ORCH_EVENT=stalemate\n");
  });
});

describe("which events are sent", () => {
  test("an event not in notify.on is not sent", async () => {
    server.received.length = 0;
    const { n } = notifier({ webhook_url: server.url + "/t", on: ["turn_failed"] });
    expect(n.emit(event({ event: "peer_back" }))).toBe(false);
    expect(n.emit(event({ event: "turn_failed" }))).toBe(true);
    await n.drain();
    expect(server.received.map((r) => JSON.parse(r.body).event)).toEqual(["turn_failed"]);
  });

  test("nothing configured: emit sends nothing", async () => {
    const { n } = notifier({});
    expect(n.emit(event())).toBe(false);
    await n.drain();
  });

  test("the same event twice in one run is sent once; another iteration or reset time is another event", async () => {
    server.received.length = 0;
    const { n } = notifier({ webhook_url: server.url + "/t" });
    expect(n.emit(event())).toBe(true);
    expect(n.emit(event({ message: "said differently" }))).toBe(false);
    expect(n.emit(event({ iteration: 43 }))).toBe(true);
    expect(n.emit(event({ event: "blocked", blocked_until: "2026-12-01T09:00:00Z" }))).toBe(true);
    expect(n.emit(event({ event: "blocked", blocked_until: "2026-12-01T14:00:00Z" }))).toBe(true);
    expect(n.emit(event({ event: "blocked", blocked_until: "2026-12-01T14:00:00Z" }))).toBe(false);
    await n.drain();
    expect(server.received).toHaveLength(4);
  });

  test("a restarted runner (a second Notifier on the same git dir) does not resend", async () => {
    const { clones } = makeWorld();
    const gitDir = join(clones[0]!.dir, ".git");
    server.received.length = 0;
    const hook = recordingHook(dir, "dedupe.sh");
    const out = join(dir, "dedupe");
    const first = notifier({ webhook_url: server.url + "/t", command: [hook, out] }, gitDir);
    expect(first.n.emit(event())).toBe(true);
    await first.n.drain();
    expect(existsSync(join(gitDir, SENT_FILE))).toBe(true);

    const second = notifier({ webhook_url: server.url + "/t", command: [hook, out] }, gitDir);
    expect(second.n.emit(event())).toBe(false);
    expect(second.n.emit(event({ iteration: 99 }))).toBe(true);
    await second.n.drain();
    expect(server.received.map((r) => JSON.parse(r.body).iteration)).toEqual([42, 99]);
    expect(readFileSync(out + ".calls", "utf8").trim().split("\n")).toHaveLength(2);
    // The clone's work tree is untouched: the list lives in the git dir.
    expect(clones[0]!.git("status", "--porcelain")).toBe("");
  });

  test("the persisted list is bounded and a corrupt one counts as empty", () => {
    const { clones } = makeWorld();
    const gitDir = join(clones[0]!.dir, ".git");
    const store = new SentStore(gitDir);
    for (let i = 0; i < SENT_KEEP + 50; i++) store.add(`k${i}`);
    const kept = JSON.parse(readFileSync(join(gitDir, SENT_FILE), "utf8")).sent as { key: string }[];
    expect(kept).toHaveLength(SENT_KEEP);
    expect(kept[0]!.key).toBe("k50");
    expect(store.has("k49")).toBe(false);
    expect(store.has(`k${SENT_KEEP + 49}`)).toBe(true);
    writeFileSync(join(gitDir, SENT_FILE), '{"schema":1,"sent":[{"key":"k1"');
    expect(store.has("k1")).toBe(false);
    store.add("k2");
    expect(store.has("k2")).toBe(true);
  });
});

describe("[notify] settings", () => {
  const usage = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(OrchError);
      expect((e as OrchError).exitCode).toBe(2);
      return (e as Error).message;
    }
    throw new Error("expected a usage error");
  };

  test("an unknown event name is a usage error naming its source", () => {
    expect(usage(() => settingsFrom('[notify]\n\non = ["turn_failed", "turn_fail"]\n'))).toEndWith(
      "/orch.toml:3: notify.on has unknown event 'turn_fail' (did you mean 'turn_failed'?); known events: turn_failed, blocked, unblocked, peer_stale, peer_back, stalemate, run_done, paused, stopped",
    );
    expect(usage(() => settingsFrom("", { ORCH_NOTIFY_ON: "run_done,bogus" }))).toStartWith("env ORCH_NOTIFY_ON: notify.on has unknown event 'bogus'");
  });

  test("a webhook_url that is not http(s), and an ntfy URL without a topic, are usage errors", () => {
    expect(usage(() => settingsFrom(notifyToml({ webhook_url: "ntfy.sh/topic" })))).toEndWith("/orch.toml:2: notify.webhook_url is not a URL; give one like https://ntfy.sh/<topic>");
    expect(usage(() => settingsFrom(notifyToml({ webhook_url: "ftp://x/y" })))).toContain("must start with https:// or http://");
    expect(usage(() => settingsFrom(notifyToml({ webhook_url: "https://ntfy.sh/", webhook_format: "ntfy" })))).toContain('"ntfy" needs the topic in the URL');
    expect(usage(() => settingsFrom(notifyToml({ timeout_sec: 0 })))).toContain("notify.timeout_sec must be more than 0");
  });

  test("defaults: every event, no channel, json, 10 s", () => {
    const s = settingsFrom("");
    expect(s).toEqual({
      on: ["turn_failed", "blocked", "unblocked", "peer_stale", "peer_back", "stalemate", "run_done", "paused", "stopped"],
      command: [],
      webhookUrl: "",
      webhookFormat: "json",
      timeoutMs: 10000,
    });
  });
});
