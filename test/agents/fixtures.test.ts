/**
 * Contract tests on captured real output (claude-code 2.1.197, codex-cli 0.171.0, see
 * test/fixtures/agent-cli/README.md): every captured case classifies as the table says.
 */
import { describe, expect, test } from "bun:test";
import { feed, fixtureNames, loadFixture } from "./feed.ts";

type Expect = { kind: "ok" | "limit" | "transient" | "auth" | "fail"; resetAt?: string | null; window?: string; message?: RegExp };

const LIMIT_CLAUDE_EPOCH = new Date(1796112820 * 1000).toISOString();
const EXPECTED: Record<string, Expect> = {
  "claude-oauth-stream-429-usage": { kind: "limit", resetAt: LIMIT_CLAUDE_EPOCH, window: "five_hour", message: /You've hit your session limit · resets 8:13am \(UTC\)/ },
  "claude-oauth-stream-hang": { kind: "ok" },
  "claude-oauth-text-401": { kind: "auth", message: /Not logged in/ },
  "claude-oauth-text-429-usage": { kind: "limit", resetAt: "2026-12-01T08:13:00.000Z", window: "five_hour", message: /session limit/ },
  "claude-oauth-text-429": { kind: "transient", message: /not your usage limit/ },
  "claude-oauth-text-529": { kind: "transient", message: /529 Overloaded/ },
  "claude-stream-401": { kind: "auth", message: /Invalid API key/ },
  // API-key mode: the server said "usage limit" but no reset time reaches the CLI: wait with back-off.
  "claude-stream-429-usage": { kind: "limit", resetAt: null, message: /You have reached your usage limit/ },
  "claude-stream-429": { kind: "transient", message: /rate limit for your organization/ },
  "claude-stream-500": { kind: "transient", message: /500 Internal server error/ },
  "claude-stream-529": { kind: "transient", message: /529 Overloaded/ },
  "claude-stream-529-recovers": { kind: "ok" },
  "claude-stream-hang-headers": { kind: "transient", message: /timed out/ },
  "claude-stream-hang": { kind: "ok" },
  "claude-stream-json-ok": { kind: "ok" },
  "claude-stream-json-partial": { kind: "ok" },
  "claude-stream-json-toolresult": { kind: "ok" },
  "claude-stream-json-tooluse": { kind: "ok" },
  "claude-text-401": { kind: "auth", message: /Invalid API key/ },
  "claude-text-429-usage": { kind: "limit", resetAt: null, message: /usage limit/ },
  "claude-text-429": { kind: "transient", message: /rate limit/ },
  "claude-text-500": { kind: "transient", message: /500/ },
  "claude-text-529": { kind: "transient", message: /529/ },
  "codex-exec-json-ok": { kind: "ok" },
  "codex-exec-json-tooluse": { kind: "ok" },
  "codex-exec-text-tooluse": { kind: "ok" },
  "codex-json-401": { kind: "auth", message: /401 Unauthorized/ },
  "codex-json-429-usage": { kind: "limit", resetAt: "2026-12-01T08:09:00.000Z", message: /^You've hit your usage limit\./ },
  "codex-json-429": { kind: "transient", message: /exceeded retry limit, last status: 429/ },
  "codex-json-500": { kind: "transient", message: /high demand/ },
  "codex-json-529": { kind: "transient", message: /529/ },
  "codex-text-401": { kind: "auth", message: /401 Unauthorized/ },
  "codex-text-429-usage": { kind: "limit", resetAt: "2026-12-01T08:09:00.000Z", message: /try again at 8:09 AM/ },
  "codex-text-429": { kind: "transient", message: /429 Too Many Requests/ },
  "codex-text-500-recovers": { kind: "ok" },
  "codex-text-500": { kind: "transient", message: /high demand/ },
  "codex-text-529": { kind: "transient", message: /Overloaded/ },
  "codex-text-hang": { kind: "transient", message: /timed out/ },
  "codex-text-hang-headers": { kind: "transient", message: /timed out/ },
};

describe("every captured case classifies right", () => {
  test("the table covers every fixture in the directory", () => {
    expect(fixtureNames()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const [name, want] of Object.entries(EXPECTED)) {
    test(name, () => {
      const f = loadFixture(name);
      const { end, lines } = feed(f);
      expect(end.kind).toBe(want.kind);
      if (end.kind === "limit") {
        expect(end.resetAt?.toISOString() ?? null).toBe(want.resetAt ?? null);
        if (want.window) expect(end.window).toBe(want.window);
      }
      if (want.message && end.kind !== "ok") expect(end.message).toMatch(want.message);
      if (end.kind === "auth") expect(end.advice).toContain(f.kind === "claude" ? "claude /login" : "codex login");
      // The last transcript line is the result line, naming the verdict.
      expect(lines.at(-1)).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d ■ ${want.kind}\\b`));
      // One line per event: nothing multi-line, nothing huge.
      for (const l of lines) {
        expect(l).not.toContain("\n");
        expect(Buffer.byteLength(l)).toBeLessThan(700);
      }
    });
  }

  test("a limit's reset is read off the structured resetsAt, not the minute-rounded text", () => {
    const { end } = feed(loadFixture("claude-oauth-stream-429-usage"));
    // resetsAt says 08:13:40; the text says 8:13am.
    expect(end.kind === "limit" && end.resetAt?.toISOString()).toBe("2026-12-01T08:13:40.000Z");
  });

  test("codex's local reset time follows the agent host's zone", () => {
    const f = loadFixture("codex-json-429-usage");
    const { end } = feed(f, { ctx: { localTimeZone: "America/New_York" } });
    // 8:09 AM in New York (EST, UTC-5) on 2026-12-01.
    expect(end.kind === "limit" && end.resetAt?.toISOString()).toBe("2026-12-01T13:09:00.000Z");
  });
});

describe("facts of successful turns", () => {
  const claude = [
    ["claude-stream-json-ok", "1e68a7e1-99a6-4ecb-a625-47340a4737a1", 0.00026, { input: 12, output: 8, cacheRead: 0, cacheWrite: 0 }, 1],
    ["claude-stream-json-tooluse", "d8472535-43fb-4ce0-8a24-f6a41fb8b2d3", 0.00082, { input: 24, output: 28, cacheRead: 0, cacheWrite: 0 }, 2],
    ["claude-stream-json-toolresult", "0f61757e-6945-4162-a031-fe6ec4ddf72a", 0.00082, { input: 24, output: 28, cacheRead: 0, cacheWrite: 0 }, 2],
    ["claude-stream-json-partial", "dfa8194f-eada-4b88-a4d9-320e4013a622", 0.00026, { input: 12, output: 8, cacheRead: 0, cacheWrite: 0 }, 1],
  ] as const;
  for (const [name, session, cost, tokens, turns] of claude) {
    test(name, () => {
      const { facts, transcript } = feed(loadFixture(name));
      expect(facts).toEqual({ sessionId: session, model: "claude-opus-4-8", agentVersion: "2.1.197", costUsd: cost, tokens, numTurns: turns, finalMessage: "Done. (fake model answer)", unknownEvents: 0 });
      expect(transcript).toContain(`▶ claude 2.1.197 model=claude-opus-4-8[1m] session=${session}`);
      expect(transcript).toMatch(new RegExp(`■ ok · turns=${turns} \\$${cost} in=${tokens.input} out=${tokens.output} cache_r=0 cache_w=0 wall=\\S+ api=\\S+ exit=0$`));
      // The final answer appears once, though the result line repeats it.
      expect(transcript.split("Done. (fake model answer)").length - 1).toBe(1);
    });
  }

  test("the limit turn still reports its session id (to resume after the wait) and model", () => {
    const { facts } = feed(loadFixture("claude-oauth-stream-429-usage"));
    expect(facts.sessionId).toBe("5e2ca233-1829-4dc1-8c75-8f701eb47937");
    // <synthetic> is the CLI's own message, never the model.
    expect(facts.model).toBe("claude-sonnet-5");
  });

  test("codex exec --json", () => {
    const ok = feed(loadFixture("codex-exec-json-ok"));
    expect(ok.facts).toEqual({ sessionId: "01a2306b-313d-7792-afc0-fca3bcff96c5", model: null, agentVersion: null, costUsd: null, tokens: { input: 12, output: 8, cacheRead: 0, cacheWrite: 0, reasoning: 0 }, numTurns: null, finalMessage: "Done. (fake model answer)", unknownEvents: 0 });
    const tool = feed({ ...loadFixture("codex-exec-json-tooluse"), argv: ["codex", "exec", "--json", "-m", "gpt-5.5"] });
    expect(tool.facts.model).toBe("gpt-5.5");
    expect(tool.facts.tokens).toEqual({ input: 24, output: 16, cacheRead: 0, cacheWrite: 0, reasoning: 0 });
    expect(tool.transcript).toMatch(/🔧 sh\(echo hello-from-codex > g\.txt\)\n\S+ +→ exit 0 \(no output\)/);
    expect(tool.transcript).toMatch(/■ ok · in=24 out=16 cache_r=0 cache_w=0 reasoning=0 wall=\S+ exit=0$/);
  });

  test("codex text mode: banner facts, final answer once, prompt echo dropped", () => {
    const f = loadFixture("codex-exec-text-tooluse");
    expect(f.prompt).toBe("work [[fake:bash echo hello-from-codex > g.txt]]");
    const r = feed(f);
    expect(r.end.kind).toBe("ok");
    expect(r.facts).toMatchObject({ sessionId: "01a2306b-685a-7ef0-b9dd-40d88265c4d4", model: "gpt-5-codex", agentVersion: "0.171.0", finalMessage: "Done. (fake model answer)" });
    expect(r.transcript).not.toContain("[[fake:bash");
    expect(r.transcript.split("Done. (fake model answer)").length - 1).toBe(1);
    expect(r.transcript).toMatch(/🔧 sh\(echo hello-from-codex > g\.txt\)\n\S+ +→ exit 0 \(no output\)/);
    expect(r.transcript).toMatch(/■ ok · tokens=40 /);
  });
});

describe("transcripts are compact", () => {
  test("a 60-line tool result is a line, not 9.5 KB", () => {
    const f = loadFixture("claude-stream-json-toolresult");
    const { lines, transcript } = feed(f);
    expect(f.rawBytes).toBeGreaterThan(9000);
    const call = lines.findIndex((l) => l.includes("🔧 Bash(sed -n 1,60p README-copy.md)"));
    expect(call).toBeGreaterThan(0);
    expect(lines[call + 1]).toMatch(/^\S+ +→ ok, \d+ lines: /);
    expect(Buffer.byteLength(lines[call]! + lines[call + 1]!)).toBeLessThan(400);
    expect(Buffer.byteLength(transcript)).toBeLessThan(900);
    // The README's content does not leak into the log beyond that one line.
    expect(transcript).not.toContain("## Install");
  });

  test("codex text mode never shows the prompt echo, with or without the prompt", () => {
    for (const name of fixtureNames().filter((n) => n.startsWith("codex-") && !n.includes("json"))) {
      const f = loadFixture(name);
      if (!f.prompt) continue;
      // With the prompt the echo is dropped exactly; without it, up to the next block header.
      for (const variant of [f, { ...f, prompt: null }]) {
        const r = feed(variant);
        const bodies = r.lines.map((l) => l.replace(/^\d\d:\d\d:\d\d /, ""));
        expect(bodies).not.toContain(f.prompt);
        expect(r.lines.some((l) => l.endsWith(" user"))).toBe(false);
      }
    }
  });

  test("codex text mode through a pty (stderr merged into stdout): answer once, no echo", () => {
    const f = loadFixture("codex-exec-text-tooluse");
    const r = feed({ ...f, stderr: [], stdout: [...f.stderr, ...f.stdout] });
    expect(r.end.kind).toBe("ok");
    expect(r.transcript).not.toContain("[[fake:bash");
    expect(r.transcript.split("Done. (fake model answer)").length - 1).toBe(1);
    expect(r.facts.sessionId).toBe("01a2306b-685a-7ef0-b9dd-40d88265c4d4");
  });

  test("codex prints its final error twice; the transcript shows it once", () => {
    const r = feed(loadFixture("codex-text-529"));
    expect(r.lines.filter((l) => l.includes("⚠ error: unexpected status 529")).length).toBe(1);
    const j = feed(loadFixture("codex-json-529"));
    expect(j.lines.filter((l) => l.includes("⚠") && l.includes("req_fake_74")).length).toBe(1);
  });

  test("claude's api retries are one line each", () => {
    const r = feed(loadFixture("claude-stream-529"));
    const retries = r.lines.filter((l) => l.includes("↻ api_retry 529 overloaded"));
    expect(retries.length).toBe(10);
    expect(retries[0]).toMatch(/↻ api_retry 529 overloaded 1\/10 in 0\.5s$/);
  });
});
