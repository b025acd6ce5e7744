import { describe, expect, test } from "bun:test";
import { Notifier } from "../../src/notify/notifier.ts";
import { makeEvent, EVENT_NAMES, type NotifyEvent } from "../../src/notify/events.ts";
import { FORMATS } from "../../src/notify/formats/index.ts";
import { ntfyTopic } from "../../src/notify/formats/ntfy.ts";
import { truncate } from "../../src/notify/formats/discord.ts";
import { SETTING_BY_KEY } from "../../src/core/settings.ts";
import { notifyToml, settingsFrom, startServer } from "./helpers.ts";

const server = startServer();

const failed = makeEvent({
  event: "turn_failed",
  actor: "ralph",
  iteration: 42,
  host: "box1",
  branch: "feature/x",
  message: "agent exited 3",
  log: "logs/feature-x/ralph/iter-00042_20261201_061000_main.log",
  at: "2026-12-01T06:10:00Z",
  repo: "proj",
});

/** Send one event through a fresh Notifier (no git dir) with this format; return what the server got. */
async function sendWith(format: string, event: NotifyEvent, path = "/my-topic") {
  server.received.length = 0;
  const logged: string[] = [];
  const n = new Notifier({ settings: settingsFrom(notifyToml({ webhook_url: server.url + path, webhook_format: format })), gitDir: null, log: (l) => logged.push(l) });
  expect(n.emit(event)).toBe(true);
  await n.drain();
  expect(logged).toEqual([]);
  expect(server.received).toHaveLength(1);
  const got = server.received[0]!;
  expect(got.method).toBe("POST");
  return got;
}

describe("webhook formats: the exact body and content type reach the server, once", () => {
  test("json: the event itself, with its documented field names", async () => {
    const got = await sendWith("json", failed);
    expect(got.path).toBe("/my-topic");
    expect(got.contentType).toBe("application/json");
    expect(got.body).toBe(
      '{"event":"turn_failed","actor":"ralph","iteration":42,"host":"box1","branch":"feature/x","message":"agent exited 3",' +
        '"blocked_until":null,"log":"logs/feature-x/ralph/iter-00042_20261201_061000_main.log","at":"2026-12-01T06:10:00Z","repo":"proj"}',
    );
  });

  test("text: one plain line with ntfy's Title, Priority and Tags headers", async () => {
    const got = await sendWith("text", failed);
    expect(got.path).toBe("/my-topic");
    expect(got.contentType).toBe("text/plain; charset=utf-8");
    expect(got.body).toBe("orch turn_failed: ralph #42 - agent exited 3 [proj feature/x on box1]");
    expect(got.headers["title"]).toBe("orch turn_failed: ralph #42");
    expect(got.headers["priority"]).toBe("4");
    expect(got.headers["tags"]).toBe("x,turn_failed");
  });

  test("text: a usage limit carries its reset time", async () => {
    const blocked = makeEvent({ event: "blocked", actor: "galph", iteration: 7, host: "box2", branch: "main", message: "codex usage limit", blocked_until: "2026-12-01T09:00:00Z" });
    const got = await sendWith("text", blocked);
    expect(got.body).toBe("orch blocked: galph #7 - codex usage limit (until 2026-12-01T09:00:00Z) [main on box2]");
    expect(got.headers["priority"]).toBe("3");
    expect(got.headers["tags"]).toBe("hourglass,blocked");
  });

  test("ntfy: JSON published to the server root, the topic taken from the URL's last segment", async () => {
    const got = await sendWith("ntfy", failed);
    expect(got.path).toBe("/");
    expect(got.contentType).toBe("application/json");
    expect(got.body).toBe('{"topic":"my-topic","message":"agent exited 3 [proj feature/x on box1]","title":"orch turn_failed: ralph #42","priority":4,"tags":["x","turn_failed"]}');
  });

  test("ntfy: a server under a sub-path keeps it as its root", async () => {
    const got = await sendWith("ntfy", failed, "/ntfy/alerts");
    expect(got.path).toBe("/ntfy/");
    expect(JSON.parse(got.body).topic).toBe("alerts");
    expect(ntfyTopic("https://user:pw@ntfy.example.com/a/b/t%20x?x=1")).toEqual({ root: "https://user:pw@ntfy.example.com/a/b/", topic: "t x" });
    expect(ntfyTopic("https://ntfy.sh/")).toEqual({ root: "https://ntfy.sh/", topic: "" });
  });

  test("slack: {text}, with & < > escaped as Slack asks", async () => {
    const got = await sendWith("slack", failed);
    expect(got.contentType).toBe("application/json");
    expect(got.body).toBe('{"text":"orch turn_failed: ralph #42 - agent exited 3 [proj feature/x on box1]"}');
    const odd = await sendWith("slack", makeEvent({ ...failed, iteration: 43, message: "a <b> & c" }));
    expect(odd.body).toBe('{"text":"orch turn_failed: ralph #43 - a &lt;b&gt; &amp; c [proj feature/x on box1]"}');
  });

  test("discord: {content} that pings nobody, at most 2000 characters", async () => {
    const got = await sendWith("discord", failed);
    expect(got.contentType).toBe("application/json");
    expect(got.body).toBe('{"content":"orch turn_failed: ralph #42 - agent exited 3 [proj feature/x on box1]","allowed_mentions":{"parse":[]}}');
    const long = await sendWith("discord", makeEvent({ ...failed, iteration: 44, message: "@everyone " + "x".repeat(3000) }));
    const content = JSON.parse(long.body).content as string;
    expect(content.length).toBe(2000);
    expect(content.startsWith("orch turn_failed: ralph #44 - @everyone xxx")).toBe(true);
    expect(content.endsWith("x…")).toBe(true);
    // Never half a surrogate pair at the cut.
    expect(truncate("a".repeat(1998) + "😀😀", 2000)).toBe("a".repeat(1998) + "…");
  });

  test("a message with newlines travels as one line", async () => {
    const got = await sendWith("text", makeEvent({ ...failed, iteration: 45, message: "line one\nline two\r\n" }));
    expect(got.body).toBe("orch turn_failed: ralph #45 - line one line two [proj feature/x on box1]");
  });
});

describe("formats and events are data", () => {
  test("the webhook_format choices are exactly the format files registered", () => {
    expect(SETTING_BY_KEY.get("notify.webhook_format")!.choices).toEqual(Object.keys(FORMATS));
  });

  test("notify.on defaults to every event of SPEC §15", () => {
    expect(SETTING_BY_KEY.get("notify.on")!.default).toEqual([...EVENT_NAMES]);
  });
});
