/**
 * The traps others fell into (reference §1): limit text in tool results or the model's own
 * words, `allowed` rate-limit events, codex's transient errors, exit codes that lie.
 */
import { describe, expect, test } from "bun:test";
import { ev, feed, loadFixture } from "./feed.ts";

const claudeArgv = ["claude", "-p", "--verbose", "--output-format", "stream-json"];
const claude = (stdout: string[], code: number, stderr: string[] = []) => feed({ kind: "claude", stdout, stderr, code, argv: claudeArgv });
const codex = (stdout: string[], code: number, stderr: string[] = []) => feed({ kind: "codex", stdout, stderr, code, argv: ["codex", "exec", "--json"] });

const LIMIT = "You've hit your session limit · resets 3pm (UTC)";
const base = loadFixture("claude-stream-json-toolresult").stdout;
const [init, toolUse, toolResult, finalText, result] = base as [string, string, string, string, string];
const withLimitInToolResult = toolResult.replace('"content":"# orch', `"content":"${LIMIT}\\n# orch`).replace('"tool_use_result":{', `"tool_use_result":{"stdout":"${LIMIT}",`);

describe("claude", () => {
  test("a tool result quoting a limit message is not a limit (ok run, and a failed run without a result)", () => {
    expect(withLimitInToolResult).toContain(LIMIT);
    expect(claude([init, toolUse, withLimitInToolResult, finalText, result], 0).end).toEqual({ kind: "ok" });
    const died = claude([init, toolUse, withLimitInToolResult], 1);
    expect(died.end.kind).toBe("fail");
    // The echoed file content is not in the transcript beyond a one-line summary either.
    expect(died.lines.filter((l) => l.includes(LIMIT)).length).toBeLessThanOrEqual(1);
  });

  test("the model's own words about limits are not a limit, even when the turn then errs", () => {
    const talk = ev({ type: "assistant", message: { model: "claude-opus-4-8", content: [{ type: "text", text: `The log said: ${LIMIT}. Retrying.` }] }, parent_tool_use_id: null, session_id: "s1" });
    const r500 = loadFixture("claude-stream-500").stdout;
    expect(claude([init, talk, finalText, result], 0).end.kind).toBe("ok");
    expect(claude([init, talk, ...r500.slice(-2)], 1).end.kind).toBe("transient");
    expect(claude([init, talk], 1).end.kind).toBe("fail");
  });

  test("rate_limit_event `allowed` and `allowed_warning` are not limits", () => {
    const allowed = ev({ type: "rate_limit_event", rate_limit_info: { status: "allowed", isUsingOverage: false }, session_id: "s1" });
    const warning = ev({ type: "rate_limit_event", rate_limit_info: { status: "allowed_warning", utilization: 0.9, rateLimitType: "seven_day" }, session_id: "s1" });
    const r = claude([init, allowed, warning, finalText, result], 0);
    expect(r.end).toEqual({ kind: "ok" });
    expect(r.transcript).toContain("⚠ usage warning (weekly) 90% used");
    // Allowed, then a 529 error: transient, not a limit.
    expect(claude([init, allowed, ...loadFixture("claude-stream-529").stdout.slice(-2)], 1).end.kind).toBe("transient");
  });

  test("a subagent's synthetic limit message is not the main session's", () => {
    const sub = ev({ type: "assistant", message: { model: "<synthetic>", content: [{ type: "text", text: LIMIT }] }, parent_tool_use_id: "toolu_agent_1", error: "rate_limit", session_id: "s1" });
    expect(claude([init, sub], 1).end.kind).toBe("fail");
    expect(claude([init, sub, finalText, result], 0).end.kind).toBe("ok");
  });

  test("a rejected rate_limit_event is a limit even when the process dies before its result", () => {
    const f = loadFixture("claude-oauth-stream-429-usage").stdout;
    const r = claude(f.slice(0, 2), 1);
    expect(r.end).toMatchObject({ kind: "limit", window: "five_hour" });
    expect(r.end.kind === "limit" && r.end.resetAt?.toISOString()).toBe("2026-12-01T08:13:40.000Z");
  });

  test("a rejected event whose resetsAt is already past: null (probe again), not the text's 8:13am tomorrow", () => {
    const f = loadFixture("claude-oauth-stream-429-usage").stdout;
    const r = feed({ kind: "claude", stdout: f, stderr: [], code: 1, argv: claudeArgv }, { now: new Date("2026-12-01T08:13:50Z") });
    expect(r.end).toMatchObject({ kind: "limit", resetAt: null, window: "five_hour" });
  });

  test("a rejected event without resetsAt falls back to the text's reset", () => {
    const f = loadFixture("claude-oauth-stream-429-usage").stdout;
    const noEpoch = f[1]!.replace(/"resetsAt":\d+,/, "");
    const r = claude([f[0]!, noEpoch, f[2]!, f[3]!], 1);
    expect(r.end.kind === "limit" && r.end.resetAt?.toISOString()).toBe("2026-12-01T08:13:00.000Z");
  });

  test("is_error decides, never subtype or exit code: exit 0 + is_error is an error; exit 1 + success is ok", () => {
    // anthropics/claude-code#79500: a per-model rate limit with is_error:true and exit 0.
    const rateLimited = result.replace('"is_error":false', '"is_error":true').replace('"api_error_status":null', '"api_error_status":429').replace('"result":"Done. (fake model answer)"', '"result":"API Error: Rate limit reached"');
    expect(claude([init, rateLimited], 0).end).toEqual({ kind: "transient", message: "API Error: Rate limit reached" });
    // A successful result line wins over a non-zero exit (a hook failing after the turn).
    expect(claude([init, toolUse, toolResult, finalText, result], 1).end).toEqual({ kind: "ok" });
    // The result line is not always last.
    const summary = ev({ type: "system", subtype: "task_summary", session_id: "s1" });
    expect(claude([init, finalText, result, summary], 0).end).toEqual({ kind: "ok" });
  });

  test("an interrupted run (error_during_execution) and max turns are failures", () => {
    const interrupted = ev({ type: "result", subtype: "error_during_execution", is_error: true, errors: ["[ede_diagnostic] interrupted"], session_id: "s1", num_turns: 3 });
    const user = ev({ type: "user", message: { role: "user", content: [{ type: "text", text: "[Request interrupted by user]" }] }, session_id: "s1" });
    expect(claude([init, user, interrupted], 0).end).toEqual({ kind: "fail", message: "[ede_diagnostic] interrupted" });
    const maxTurns = ev({ type: "result", subtype: "error_max_turns", is_error: true, session_id: "s1" });
    expect(claude([init, maxTurns], 1).end).toEqual({ kind: "fail", message: "claude reported an error (error_max_turns)" });
  });

  test("no result: the last api_retry says transient (or auth); nothing at all is a failure", () => {
    const f = loadFixture("claude-stream-529").stdout;
    expect(claude(f.slice(0, 4), 1).end.kind).toBe("transient");
    expect(claude(loadFixture("claude-stream-401").stdout.slice(0, 3), 1).end.kind).toBe("auth");
    expect(claude([init], 1).end).toEqual({ kind: "fail", message: "claude exited 1 without a result line" });
    expect(claude([init], 0).end.kind).toBe("fail");
  });

  test("a refused resume is a failure that says the session is gone", () => {
    const r = claude([], 1, ["No conversation found with session ID: 5e2ca233-1829-4dc1-8c75-8f701eb47937"]);
    expect(r.end).toMatchObject({ kind: "fail", noSession: true });
  });

  test("the root guard's own message is a plain failure (preflight catches it earlier)", () => {
    const r = claude([], 1, ["--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons"]);
    expect(r.end).toEqual({ kind: "fail", message: "--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons" });
  });

  test("unknown event types are counted, never fatal; a non-JSON line is shown as text; thinking is never shown", () => {
    const unknown = ev({ type: "brand_new_event", session_id: "s1" });
    const unknownSystem = ev({ type: "system", subtype: "brand_new_subtype", session_id: "s1" });
    const thinking = ev({ type: "assistant", message: { model: "claude-opus-4-8", content: [{ type: "thinking", thinking: "secret chain of thought", signature: "x" }] }, parent_tool_use_id: null, session_id: "s1" });
    const r = claude([init, unknown, unknownSystem, "plain words from a wrapper", thinking, "{not json", finalText, result], 0);
    expect(r.end).toEqual({ kind: "ok" });
    expect(r.facts.unknownEvents).toBe(2);
    expect(r.transcript).toMatch(/^\d\d:\d\d:\d\d plain words from a wrapper$/m);
    expect(r.transcript).toMatch(/^\d\d:\d\d:\d\d \{not json$/m);
    expect(r.transcript).not.toContain("secret chain of thought");
    expect(r.lines.at(-1)).toContain("unknown_events=2");
  });

  test("text mode: exit code decides; on exit 0 only a lone line in the CLI's error wording counts", () => {
    const text = (stdout: string[], code: number) => feed({ kind: "claude", stdout, stderr: [], code, argv: ["claude", "-p"] });
    expect(text(["All done.", `I saw "${LIMIT}" in a log.`], 0).end.kind).toBe("ok");
    expect(text([LIMIT], 0).end.kind).toBe("limit");
    expect(text(["API Error: Rate limit reached"], 0).end.kind).toBe("transient");
    expect(text(["Something broke"], 1).end).toEqual({ kind: "fail", message: "Something broke" });
    // Text mode passes the answer through as is, with one result line at the end.
    const r = text(["Line one", "Line two"], 0);
    expect(r.lines).toEqual(["Line one", "Line two", expect.stringMatching(/^\S+ ■ ok · wall=\S+ exit=0$/)]);
  });

  test("tool results in a line: Bash's exit code and last lines, a Read's size, errors", () => {
    const call = (id: string, name: string, input: object) => ev({ type: "assistant", message: { model: "m", content: [{ type: "tool_use", id, name, input }] }, parent_tool_use_id: null, session_id: "s1" });
    const res = (id: string, content: unknown, isError = false) => ev({ type: "user", message: { content: [{ type: "tool_result", tool_use_id: id, content, is_error: isError }] }, parent_tool_use_id: null, session_id: "s1" });
    const file = Array.from({ length: 212 }, (_, i) => `${i + 1}\tconst x${i} = ${i};`).join("\n");
    const r = claude([init, call("a", "Read", { file_path: "/repo/src/x.ts" }), res("a", file), call("b", "Bash", { command: "bun test x", description: "run" }), res("b", "Exit code 1\nrunning 3 tests\n(fail) x > y\n 2 pass\n 1 fail", true), call("c", "Grep", { pattern: "TODO" }), res("c", [{ type: "text", text: "src/a.ts\nsrc/b.ts\nsrc/c.ts" }]), call("d", "Edit", { file_path: "/repo/x" }), res("d", "<tool_use_error>String not found</tool_use_error>", true), finalText, result], 0);
    const after = (needle: string) => r.lines[r.lines.findIndex((l) => l.includes(needle)) + 1];
    expect(after("🔧 Read(/repo/src/x.ts)")).toMatch(/→ ok, 212 lines$/);
    expect(after("🔧 Bash(bun test x)")).toMatch(/→ exit 1, 4 lines: 2 pass \| 1 fail …$/);
    expect(after("🔧 Grep(TODO)")).toMatch(/→ ok, 3 lines: src\/a\.ts \| src\/b\.ts …$/);
    expect(after("🔧 Edit(/repo/x)")).toMatch(/→ error: <tool_use_error>String not found<\/tool_use_error>$/);
    expect(r.transcript).not.toContain("const x100");
  });

  test("subagent tool calls and task progress are rendered, marked ↳", () => {
    const agent = ev({ type: "assistant", message: { model: "claude-opus-4-8", content: [{ type: "tool_use", id: "toolu_a", name: "Agent", input: { subagent_type: "Explore", description: "Survey repo", prompt: "look around" } }] }, parent_tool_use_id: null, session_id: "s1" });
    const started = ev({ type: "system", subtype: "task_started", task_id: "t1", description: "Survey repo", subagent_type: "Explore", session_id: "s1" });
    const subRead = ev({ type: "assistant", message: { model: "claude-haiku", content: [{ type: "tool_use", id: "toolu_b", name: "Read", input: { file_path: "/repo/src/x.ts" } }] }, parent_tool_use_id: "toolu_a", session_id: "s1" });
    const r = claude([init, agent, started, subRead, finalText, result], 0);
    expect(r.transcript).toContain("🔧 Agent[Explore](Survey repo)");
    expect(r.transcript).toContain("🧩 task started: Survey repo [Explore]");
    expect(r.transcript).toContain("🔧 ↳ Read(/repo/src/x.ts)");
    // The main session's model, not the subagent's.
    expect(r.facts.model).toBe("claude-opus-4-8");
  });
});

describe("codex", () => {
  const ok = loadFixture("codex-exec-json-ok").stdout;

  test("a transient `Reconnecting... 1/5` error followed by turn.completed is ok", () => {
    const reconnect = ev({ type: "error", message: "Reconnecting... 1/5 (timeout waiting for child process to exit)" });
    const blip = ev({ type: "error", message: "stream disconnected before completion: idle timeout" });
    const r = codex([ok[0]!, ok[1]!, reconnect, blip, ok[2]!, ok[3]!], 0);
    expect(r.end).toEqual({ kind: "ok" });
    expect(r.transcript).toContain("↻ reconnecting 1/5: timeout waiting for child process to exit");
  });

  test("limit text in an agent message or command output is not a limit", () => {
    const msg = ev({ type: "item.completed", item: { id: "item_0", type: "agent_message", text: "You’ve hit your usage limit. try again at 8:09 AM." } });
    const cmd = ev({ type: "item.completed", item: { id: "item_1", type: "command_execution", command: "cat log", aggregated_output: "You’ve hit your usage limit.\n", exit_code: 0, status: "completed" } });
    expect(codex([ok[0]!, msg, cmd, ok[3]!], 0).end.kind).toBe("ok");
    expect(codex([ok[0]!, msg, cmd], 1).end.kind).toBe("fail");
  });

  test("only turn.failed (or a non-zero exit) is terminal; the turn.failed message wins", () => {
    const e1 = ev({ type: "error", message: "Reconnecting... 5/5 (unexpected status 529)" });
    const failed = ev({ type: "turn.failed", error: { message: "unexpected status 401 Unauthorized: bad key" } });
    expect(codex([ok[0]!, e1, failed], 1).end).toMatchObject({ kind: "auth", advice: expect.stringContaining("codex login") });
    expect(codex([ok[0]!, ev({ type: "turn.failed", error: { message: "Selected model is at capacity. Please try a different model." } })], 1).end.kind).toBe("transient");
    expect(codex([ok[0]!, ev({ type: "turn.failed", error: { message: "Your workspace is out of credits. Add credits to continue." } })], 1).end).toMatchObject({ kind: "limit", resetAt: null });
    expect(codex([ok[0]!, ev({ type: "turn.failed", error: { message: "sandbox denied the write" } })], 1).end).toEqual({ kind: "fail", message: "sandbox denied the write" });
  });

  test("a refused resume (stderr only) is a failure that says the session is gone", () => {
    const r = codex([], 1, ["Error: No saved session found with ID 01a2306b-313d-7792-afc0-fca3bcff96c5. Run `codex exec resume --last` to continue the most recent session."]);
    expect(r.end).toMatchObject({ kind: "fail", noSession: true });
  });

  test("stderr is never parsed for events, even when it holds JSON", () => {
    const r = codex(ok, 0, ['{"type":"turn.failed","error":{"message":"fixture echo"}}']);
    expect(r.end).toEqual({ kind: "ok" });
  });

  test("unknown events and item types are counted; file changes, todo lists, reasoning titles are one line each", () => {
    const items = [
      ev({ type: "item.completed", item: { id: "i1", type: "reasoning", text: "**Planning the fix**\n\nDetails that stay out." } }),
      ev({ type: "item.completed", item: { id: "i2", type: "file_change", changes: [{ path: "src/a.ts", kind: "update" }, { path: "src/b.ts", kind: "add" }], status: "completed" } }),
      ev({ type: "item.started", item: { id: "i3", type: "todo_list", items: [{ text: "write test", completed: false }, { text: "fix", completed: false }] } }),
      ev({ type: "item.updated", item: { id: "i3", type: "todo_list", items: [{ text: "write test", completed: true }, { text: "fix", completed: false }] } }),
      ev({ type: "item.completed", item: { id: "i4", type: "hologram" } }),
      ev({ type: "thread.teleported" }),
    ];
    const r = codex([ok[0]!, ok[1]!, ...items, ok[2]!, ok[3]!], 0);
    expect(r.end).toEqual({ kind: "ok" });
    expect(r.facts.unknownEvents).toBe(2);
    expect(r.transcript).toContain("💭 Planning the fix");
    expect(r.transcript).not.toContain("Details that stay out");
    expect(r.transcript).toContain("✎ src/a.ts (update), src/b.ts (add)");
    expect(r.transcript).toContain("☑ todo 0/2 done, next: write test");
    expect(r.transcript).toContain("☑ todo 1/2 done, next: fix");
  });
});
