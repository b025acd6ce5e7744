/**
 * One scripted night on the shared branch, with every figure known in advance:
 * four cycles, one failure (ralph i=2, agent exited 3), one usage-limit wait
 * (ralph's rerun of i=2: 1800 s blocked, 2 attempts), one retry (galph i=3, 2
 * attempts), one old-tool stamp without trailers (ralph i=3), and ralph's i=4
 * still running at the end.
 */
import { HistoryBuilder, MIN, type Trailers } from "./helpers.ts";
import type { Clone } from "../helpers/world.ts";
import type { Cycle } from "../../src/report/types.ts";

export const LOG = {
  galph1: "logs/feature-x/galph/iter-00001_a.log",
  ralph1: "logs/feature-x/ralph/iter-00001_b_main.log",
  ralphFail: "logs/feature-x/ralph/iter-00002_c_main.log",
  ralph2: "logs/feature-x/ralph/iter-00002_d_main.log",
};

const receipt = (o: { dur: number; exit?: number; cost?: number; tokens?: string; attempts?: number; limit?: number; diff?: string; started: number; log?: string; reason?: string; host: string }): Trailers => {
  const t: Trailers = { "Orch-Duration": `${o.dur}s`, "Orch-Exit": o.exit ?? 0, "Orch-Agent": o.host === "host-a" ? "kind=codex version=0.63.0 model=gpt-5.1-codex" : "kind=claude version=2.1.197 model=claude-sonnet-4-5", "Orch-Session": `s-${o.started}` };
  if (o.cost !== undefined) t["Orch-Cost-USD"] = o.cost.toFixed(4);
  if (o.tokens) t["Orch-Tokens"] = o.tokens;
  t["Orch-Attempts"] = o.attempts ?? 1;
  t["Orch-Limit-Wait"] = `${o.limit ?? 0}s`;
  t["Orch-Diffstat"] = o.diff ?? "files=0 add=0 del=0 code_files=0 code_add=0 code_del=0 doc_files=0 doc_add=0 doc_del=0";
  t["Orch-Host"] = o.host;
  t["Orch-Started"] = new Date(o.started * 1000).toISOString().replace(/\.000Z$/, "Z");
  if (o.log) t["Orch-Log"] = o.log;
  t["Orch-Prompt"] = o.host === "host-a" ? "prompts/supervisor.md" : "prompts/main.md";
  if (o.reason) t["Orch-Reason"] = o.reason;
  return t;
};

/** Minutes after t0 → epoch seconds. */
export const at = (t0: number, minutes: number) => t0 + minutes * MIN;

/** Build the night on `c` starting at t0 (epoch seconds) and push it; the builder can go on. */
export function buildNight(c: Clone, t0: number): HistoryBuilder {
  const m = (n: number) => at(t0, n);
  const h = new HistoryBuilder(c);
  h.init(m(0));
  // cycle 1
  h.running("galph", m(1));
  h.work(m(5), { "docs/fix_plan.md": "# plan\n" + "step\n".repeat(9) }, "SUPERVISOR AUTO: doc/meta hygiene — tests: not run");
  h.stamp("galph", "ok", m(6), receipt({ dur: 300, cost: 0.1, tokens: "input=1000 output=200 cache_read=50 cache_write=0", diff: "files=1 add=10 del=0 code_files=0 code_add=0 code_del=0 doc_files=1 doc_add=10 doc_del=0", started: m(1), log: LOG.galph1, host: "host-a" }));
  h.running("ralph", m(8));
  h.work(m(20), { "src/a.ts": "export const a = 1;\n".repeat(50) }, "implement a");
  h.stamp("ralph", "ok", m(21), receipt({ dur: 780, cost: 0.5, tokens: "input=5000 output=1000 cache_read=0 cache_write=0", diff: "files=1 add=50 del=2 code_files=1 code_add=50 code_del=2 doc_files=0 doc_add=0 doc_del=0", started: m(8), log: LOG.ralph1, host: "host-b" }));
  // cycle 2: ralph fails once, then its rerun waits 30 min on a usage limit
  h.running("galph", m(22));
  h.stamp("galph", "ok", m(26), receipt({ dur: 240, cost: 0.08, started: m(22), host: "host-a" }));
  h.running("ralph", m(27));
  h.stamp("ralph", "fail", m(37), receipt({ dur: 600, exit: 3, cost: 0.2, started: m(27), log: LOG.ralphFail, reason: "agent exited 3", host: "host-b" }));
  h.running("ralph", m(60));
  h.work(m(139), { "src/b.ts": "export const b = 2;\n".repeat(20) }, "implement b");
  h.stamp("ralph", "ok", m(140), receipt({ dur: 4800, cost: 0.9, attempts: 2, limit: 1800, diff: "files=1 add=20 del=0 code_files=1 code_add=20 code_del=0 doc_files=0 doc_add=0 doc_del=0", started: m(60), log: LOG.ralph2, host: "host-b" }));
  // cycle 3: galph retried once; ralph stamped by the old tool (no trailers: its diffstat is counted from the commits)
  h.running("galph", m(141));
  h.stamp("galph", "ok", m(145), receipt({ dur: 240, cost: 0.12, attempts: 2, started: m(141), host: "host-a" }));
  h.running("ralph", m(146));
  h.work(m(150), { "src/c.ts": "c\nc\nc\n", "docs/fix_plan.md": "# plan\n" + "step\n".repeat(9) + "more\nmore\n" }, "old tool work");
  h.stamp("ralph", "ok", m(160), null);
  // cycle 4: galph without cost; ralph still running
  h.running("galph", m(161));
  h.stamp("galph", "ok", m(165), receipt({ dur: 240, started: m(161), host: "host-a" }));
  h.running("ralph", m(166));
  return h.push();
}

/** The night's figures, worked out by hand from buildNight (full period). */
export const KNOWN = {
  galph: { turns: 4, ok: 4, failed: 0, retried: 1, unknown_duration: 0, duration_sec: { total: 1020, median: 240, longest: 300 }, limit_wait_sec: 0, peer_wait_sec: 180, cost_usd: 0.3, cost_turns: 3 },
  ralph: { turns: 4, ok: 3, failed: 1, retried: 1, unknown_duration: 1, duration_sec: { total: 6180, median: 780, longest: 4800 }, limit_wait_sec: 1800, peer_wait_sec: 300, cost_usd: 1.6, cost_turns: 3 },
  cycles: [
    { iteration: 1, commits: 2, code: { files: 1, add: 50, del: 2 }, docs: { files: 1, add: 10, del: 0 }, ralph_code_files: 1, galph: "ok", ralph: "ok" },
    { iteration: 2, commits: 1, code: { files: 1, add: 20, del: 0 }, docs: { files: 0, add: 0, del: 0 }, ralph_code_files: 1, galph: "ok", ralph: "ok" },
    { iteration: 3, commits: 1, code: { files: 1, add: 3, del: 0 }, docs: { files: 1, add: 2, del: 0 }, ralph_code_files: 1, galph: "ok", ralph: "ok" },
    { iteration: 4, commits: 0, code: { files: 0, add: 0, del: 0 }, docs: { files: 0, add: 0, del: 0 }, ralph_code_files: 0, galph: "ok", ralph: null },
  ] as Cycle[],
  /** Minutes after t0 of the last running mark (ralph i=4). */
  ralphRunningAt: 166,
};
