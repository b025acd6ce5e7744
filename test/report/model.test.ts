import { describe, expect, test } from "bun:test";
import { buildReport, needsNumstat, median, type CommitRecord, type ModelInput } from "../../src/report/model.ts";
import { parseReceipt } from "../../src/report/trailers.ts";
import { heartbeatView } from "../../src/report/heartbeat.ts";
import { subjects, type Actor } from "../../src/core/state.ts";

const T0 = Date.UTC(2026, 11, 1, 0, 0, 0) / 1000;
const m = (min: number) => T0 + min * 60;
let n = 0;
const sha = () => (++n).toString(16).padStart(40, "0");

const running = (actor: Actor, iter: number, at: number): CommitRecord => ({ sha: sha(), time: at, subject: subjects.running(actor, iter), trailers: "" });
const stamp = (actor: Actor, outcome: "ok" | "fail", iter: number, at: number, trailers: Record<string, string> = {}): CommitRecord => ({
  sha: sha(),
  time: at,
  subject: subjects.stamp(actor, outcome, actor === "ralph" && outcome === "ok" ? iter + 1 : iter, "abc1234"),
  trailers: Object.entries(trailers).map(([k, v]) => `${k}: ${v}`).join("\n"),
});
const work = (at: number, files?: CommitRecord["files"]): CommitRecord => ({ sha: sha(), time: at, subject: "work", trailers: "", files });
const noCode = "files=1 add=3 del=0 code_files=0 code_add=0 code_del=0 doc_files=1 doc_add=3 doc_del=0";
const someCode = "files=1 add=3 del=0 code_files=1 code_add=3 code_del=0 doc_files=0 doc_add=0 doc_del=0";

function model(commits: CommitRecord[], over: Partial<ModelInput> = {}) {
  return buildReport({
    branch: "feature/x",
    remote: "origin",
    ref: "refs/remotes/origin/feature/x",
    fetch: "offline",
    fetchError: null,
    since: m(0),
    until: m(24 * 60),
    now: m(24 * 60),
    commits,
    numstat: commits.some((c) => c.files),
    stateFile: "sync/state.json",
    isDoc: (p) => p.endsWith(".md"),
    heartbeats: { galph: null, ralph: null },
    stalemateCycles: 3,
    staleAfterSec: 600,
    ...over,
  });
}

/** n full cycles from minute `start`, ralph's diffstat per cycle from `diffs`. */
function cycles(start: number, diffs: string[]): CommitRecord[] {
  const out: CommitRecord[] = [];
  diffs.forEach((d, k) => {
    const base = start + k * 20;
    const i = k + 1;
    out.push(running("galph", i, m(base)), stamp("galph", "ok", i, m(base + 2), { "Orch-Duration": "120s", "Orch-Diffstat": noCode }));
    out.push(running("ralph", i, m(base + 5)), stamp("ralph", "ok", i, m(base + 15), { "Orch-Duration": "600s", "Orch-Diffstat": d }));
  });
  return out;
}

describe("report model", () => {
  test("a ralph ok stamp names the next iteration; the turn is the one it worked on", () => {
    const r = model(cycles(10, [someCode, someCode]));
    expect(r.turns.map((t) => `${t.actor}${t.iteration}`)).toEqual(["galph1", "ralph1", "galph2", "ralph2"]);
    expect(r.cycles.map((c) => c.iteration)).toEqual([1, 2]);
  });

  test("handover: the peer's stamp to this actor's next running mark, once per stamp, clipped to the period", () => {
    const commits = [
      running("galph", 1, m(-30)),
      stamp("galph", "ok", 1, m(-10), { "Orch-Duration": "1200s" }),
      running("ralph", 1, m(5)), // 15 min after galph's stamp; 5 of them inside the period
      stamp("ralph", "fail", 1, m(10), { "Orch-Duration": "300s", "Orch-Reason": "agent exited 3" }),
      running("ralph", 1, m(40)), // a rerun after its own failure: no handover
      running("ralph", 1, m(45)), // a crashed run's second mark: no new handover either
      stamp("ralph", "ok", 1, m(50), { "Orch-Duration": "300s" }),
      running("galph", 2, m(53)),
    ];
    const r = model(commits);
    expect(r.actors.ralph.peer_wait_sec).toBe(5 * 60);
    expect(r.actors.galph.peer_wait_sec).toBe(3 * 60);
    expect(r.turns.map((t) => t.peer_wait_sec)).toEqual([300, 0]);
    // galph's stamp before the period is context only
    expect(r.actors.galph.turns).toBe(0);
    expect(r.actors.galph.running).toEqual({ iteration: 2, since: "2026-12-01T00:53:00Z" });
    expect(r.failures).toEqual([{ actor: "ralph", iteration: 1, at: "2026-12-01T00:10:00Z", reason: "agent exited 3", exit: null, log: null, stamp_commit: commits[3]!.sha }]);
  });

  test("a turn starts at Orch-Started, else at its running mark; an old-tool stamp counts with an unknown duration", () => {
    const commits = [
      running("galph", 1, m(1)),
      stamp("galph", "ok", 1, m(9), { "Orch-Duration": "420s", "Orch-Started": "2026-12-01T00:02:00Z" }),
      running("ralph", 1, m(10)),
      stamp("ralph", "ok", 1, m(30)),
    ];
    const r = model(commits);
    expect(r.turns[0]!.started_at).toBe("2026-12-01T00:02:00Z");
    expect(r.turns[1]!.started_at).toBe("2026-12-01T00:10:00Z");
    expect(r.turns[1]!.receipt).toBe(false);
    expect(r.turns[1]!.duration_sec).toBeNull();
    expect(r.actors.ralph).toMatchObject({ turns: 1, ok: 1, unknown_duration: 1, duration_sec: null });
    expect(needsNumstat(commits, m(0), m(60))).toBe(true);
    expect(needsNumstat(commits.slice(0, 2), m(0), m(60))).toBe(true); // galph's receipt has no Orch-Diffstat either
    expect(needsNumstat(cycles(0, [someCode]), m(0), m(60))).toBe(false);
  });

  test("durations, retries, limits, cost and tokens add up per actor", () => {
    const t = (d: number, extra: Record<string, string> = {}) => ({ "Orch-Duration": `${d}s`, ...extra });
    const commits = [
      running("ralph", 1, m(1)),
      stamp("ralph", "fail", 1, m(2), t(100, { "Orch-Attempts": "3", "Orch-Cost-USD": "0.1", "Orch-Tokens": "input=10 output=1" })),
      running("ralph", 1, m(3)),
      stamp("ralph", "fail", 1, m(4), t(400, { "Orch-Attempts": "1", "Orch-Cost-USD": "0.2", "Orch-Limit-Wait": "90s" })),
      running("ralph", 1, m(5)),
      stamp("ralph", "ok", 1, m(6), t(250, { "Orch-Attempts": "2", "Orch-Limit-Wait": "30s", "Orch-Tokens": "input=5 output=2 cache_read=7 cache_write=1" })),
      running("ralph", 2, m(7)),
      stamp("ralph", "ok", 2, m(8), t(300)),
    ];
    const a = model(commits).actors.ralph;
    expect(a).toMatchObject({ turns: 4, ok: 2, failed: 2, retried: 2, limit_wait_sec: 120, cost_usd: 0.3, cost_turns: 2 });
    expect(a.duration_sec).toEqual({ total: 1050, median: 275, longest: 400 });
    expect(a.tokens).toEqual({ input: 15, output: 3, cache_read: 7, cache_write: 1 });
    expect(model(commits).actors.galph).toMatchObject({ turns: 0, cost_usd: null, tokens: null, duration_sec: null });
    expect(median([1, 2, 9])).toBe(2);
  });

  test("without Orch-Diffstat the turn's commits are counted: docs by the whitelist, the state file never", () => {
    const commits = [
      running("ralph", 1, m(1)),
      work(m(2), [{ path: "src/a.ts", add: 10, del: 2 }, { path: "README.md", add: 1, del: 0 }]),
      work(m(3), [{ path: "src/a.ts", add: 5, del: 5 }, { path: "img.png", add: 0, del: 0 }]),
      { ...stamp("ralph", "ok", 1, m(4)), files: [{ path: "sync/state.json", add: 3, del: 3 }] },
    ];
    const t = model(commits).turns[0]!;
    expect(t.commits).toBe(2);
    expect(t.diffstat).toEqual({ files: 3, add: 16, del: 7, code_files: 2, code_add: 15, code_del: 7, doc_files: 1, doc_add: 1, doc_del: 0, source: "numstat" });
  });

  test("stalemate: N cycles in a row where ralph changed no code; cycles ralph did not run in neither count nor break", () => {
    const commits = cycles(0, [someCode, noCode, noCode, noCode, someCode, noCode, noCode]);
    const r = model(commits);
    expect(r.stalemates).toEqual([{ from_iteration: 2, to_iteration: 4, cycles: 3 }]);
    expect(model(commits, { stalemateCycles: 2 }).stalemates).toEqual([
      { from_iteration: 2, to_iteration: 4, cycles: 3 },
      { from_iteration: 6, to_iteration: 7, cycles: 2 },
    ]);
    // galph-only cycle 8 (ralph never ran) between two no-code cycles keeps the run going
    const more = [...cycles(0, [noCode, noCode]), running("galph", 3, m(100)), stamp("galph", "fail", 3, m(101)), running("galph", 3, m(102)), stamp("galph", "ok", 3, m(103)), running("ralph", 3, m(104)), stamp("ralph", "ok", 3, m(105), { "Orch-Diffstat": noCode })];
    expect(model(more).stalemates).toEqual([{ from_iteration: 1, to_iteration: 3, cycles: 3 }]);
  });

  test("period bounds: stamps after --until are left out, a running mark before it is shown as running", () => {
    const commits = cycles(0, [someCode, someCode]);
    const r = model(commits, { until: m(30) });
    expect(r.turns.map((t) => `${t.actor}${t.iteration}`)).toEqual(["galph1", "ralph1", "galph2"]);
    expect(r.actors.ralph.running).toEqual({ iteration: 2, since: "2026-12-01T00:25:00Z" });
    expect(r.period).toEqual({ since: "2026-12-01T00:00:00Z", until: "2026-12-01T00:30:00Z", seconds: 1800 });
  });

  test("commits before the init stamp are nobody's work; a takeover names who took over", () => {
    const commits = [
      work(m(-100)),
      { sha: sha(), time: m(0), subject: subjects.init(), trailers: "" },
      running("galph", 1, m(1)),
      stamp("galph", "fail", 1, m(2), { "Orch-Takeover": "by host-z" }),
    ];
    const t = model(commits).turns[0]!;
    expect(t.commits).toBe(0);
    expect(t.takeover).toBe("host-z");
    expect(t.reason).toBe("taken over by host-z");
  });
});

describe("receipt trailers", () => {
  test("every field of the team's format", () => {
    const r = parseReceipt(
      [
        "Orch-Duration: 754s",
        "Orch-Exit: 0",
        "Orch-Agent: kind=claude version=2.1.197 model=claude-sonnet-4-5",
        "Orch-Session: abc-123",
        "Orch-Cost-USD: 0.1234",
        "Orch-Tokens: input=1234 output=567 cache_read=8 cache_write=9",
        "Orch-Attempts: 2",
        "Orch-Limit-Wait: 1800s",
        "Orch-Diffstat: files=3 add=120 del=4 code_files=2 code_add=100 code_del=4 doc_files=1 doc_add=20 doc_del=0",
        "Orch-Host: box",
        "Orch-Started: 2026-12-01T06:10:00Z",
        "Orch-Log: logs/feature-x/ralph/iter-00042_20261201_061000_main.log",
        "Orch-Prompt: prompts/main.md",
        "Orch-Reason: agent exited 3",
        "Orch-Nudges: n1a2b3,n4c5d6",
      ].join("\n"),
    );
    expect(r).toMatchObject({
      durationSec: 754,
      exit: 0,
      agent: { kind: "claude", version: "2.1.197", model: "claude-sonnet-4-5" },
      session: "abc-123",
      costUsd: 0.1234,
      tokens: { input: 1234, output: 567, cache_read: 8, cache_write: 9 },
      attempts: 2,
      limitWaitSec: 1800,
      diffstat: { files: 3, add: 120, del: 4, code_files: 2, code_add: 100, code_del: 4, doc_files: 1, doc_add: 20, doc_del: 0 },
      host: "box",
      started: Date.UTC(2026, 11, 1, 6, 10) / 1000,
      log: "logs/feature-x/ralph/iter-00042_20261201_061000_main.log",
      prompt: "prompts/main.md",
      reason: "agent exited 3",
      nudges: ["n1a2b3", "n4c5d6"],
      any: true,
    });
  });

  test("malformed values read as absent; no trailers at all is an old-tool stamp", () => {
    const r = parseReceipt("Orch-Duration: soon\nOrch-Cost-USD: -1\nOrch-Diffstat: files=3 add=1\nOrch-Agent: kind=codex");
    expect(r).toMatchObject({ durationSec: null, costUsd: null, diffstat: null, agent: { kind: "codex", version: null, model: null }, any: true });
    expect(parseReceipt("orch-duration: 12s\nORCH-EXIT: 1")).toMatchObject({ durationSec: 12, exit: 1, any: true });
    expect(parseReceipt("").any).toBe(false);
    expect(parseReceipt("Signed-off-by: x <x@y>").any).toBe(false);
  });
});

describe("heartbeat view", () => {
  const now = m(60);
  const hb = (over: Record<string, unknown>) => ({ schema: 1, phase: "running", host: "h", turn_started_at: "2026-12-01T00:10:00Z", updated_at: "2026-12-01T00:55:00Z", ...over });
  test("since, age and staleness", () => {
    expect(heartbeatView(hb({}), { now, staleAfterSec: 600, branchSaysRunning: false })).toMatchObject({ phase: "running", since: "2026-12-01T00:10:00Z", age_sec: 300, stale: false });
    expect(heartbeatView(hb({ updated_at: "2026-12-01T00:30:00Z" }), { now, staleAfterSec: 600, branchSaysRunning: false })!.stale).toBe(true);
    // a waiting runner pushes only at phase changes: an old heartbeat is not stale unless the branch says it is running
    expect(heartbeatView(hb({ phase: "waiting", updated_at: "2026-12-01T00:00:00Z" }), { now, staleAfterSec: 600, branchSaysRunning: false })).toMatchObject({ since: "2026-12-01T00:00:00Z", stale: false });
    expect(heartbeatView(hb({ phase: "waiting", updated_at: "2026-12-01T00:00:00Z" }), { now, staleAfterSec: 600, branchSaysRunning: true })!.stale).toBe(true);
    // blocked: late only once the reset time is long past, whatever the branch says
    const blocked = (until: string) => heartbeatView(hb({ phase: "blocked", updated_at: "2026-12-01T00:00:00Z", blocked_until: until }), { now, staleAfterSec: 600, branchSaysRunning: true })!;
    expect(blocked("2026-12-01T02:00:00Z")).toMatchObject({ stale: false, blocked_until: "2026-12-01T02:00:00Z" });
    expect(blocked("2026-12-01T00:49:00Z").stale).toBe(true);
    expect(heartbeatView(null, { now, staleAfterSec: 600, branchSaysRunning: true })).toBeNull();
    expect(heartbeatView("not json", { now, staleAfterSec: 600, branchSaysRunning: false })!.phase).toBe("unreadable");
  });
});
