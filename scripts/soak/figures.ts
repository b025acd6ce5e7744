/** The numbers a soak publishes, and their plain-text rendering. */
import type { CheckStats } from "./check.ts";
import type { SideStats } from "./check-side.ts";
import type { SplitBrainStats } from "./runner-faults.ts";
import { FAULT_KINDS, type FaultKind, type FaultRecord } from "./faults.ts";

export interface Figures {
  seed: number;
  iterations: number;
  faultsPlanned: number;
  turnsCompleted: number;
  runs: number;
  reruns: number;
  faultsInjected: number;
  faultsByKind: Record<FaultKind, number>;
  /** Max ms from the end of a fault to the next [SYNC commit, by kind. */
  maxRecoveryMsByKind: Partial<Record<FaultKind, number>>;
  recoveries: { restarts: number; humanStamps: number; rerunsAfterFailure: number; outagesRidden: number };
  maxRecoveryAfterOutageMs: number;
  peakRssMb: number;
  runtimeSec: number;
  stats: CheckStats;
  side: SideStats;
  splitBrain: SplitBrainStats;
}

export function collectFigures(opts: {
  seed: number;
  iterations: number;
  faultsPlanned: number;
  records: FaultRecord[];
  stats: CheckStats;
  side: SideStats;
  splitBrain: SplitBrainStats;
  restarts: number;
  humanStamps: number;
  rerunsAfterFailure: number;
  maxRecoveryAfterOutageMs: number;
  peakRssKb: number;
  runtimeMs: number;
}): Figures {
  const faultsByKind = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  const maxRecoveryMsByKind: Partial<Record<FaultKind, number>> = {};
  for (const r of opts.records) {
    if (!r.injected) continue;
    faultsByKind[r.kind]++;
    if (r.recoveryMs !== null) maxRecoveryMsByKind[r.kind] = Math.max(maxRecoveryMsByKind[r.kind] ?? 0, r.recoveryMs);
  }
  return {
    seed: opts.seed,
    iterations: opts.iterations,
    faultsPlanned: opts.faultsPlanned,
    turnsCompleted: opts.stats.turnsCompleted,
    runs: opts.stats.runs,
    reruns: opts.stats.reruns,
    faultsInjected: Object.values(faultsByKind).reduce((a, b) => a + b, 0),
    faultsByKind,
    maxRecoveryMsByKind,
    recoveries: { restarts: opts.restarts, humanStamps: opts.humanStamps, rerunsAfterFailure: opts.rerunsAfterFailure, outagesRidden: faultsByKind.outage },
    maxRecoveryAfterOutageMs: opts.maxRecoveryAfterOutageMs,
    peakRssMb: Math.round((opts.peakRssKb / 1024) * 10) / 10,
    runtimeSec: Math.round(opts.runtimeMs / 100) / 10,
    stats: opts.stats,
    side: opts.side,
    splitBrain: opts.splitBrain,
  };
}

export function renderFigures(f: Figures): string {
  const kinds = FAULT_KINDS.map((k) => `${k} ${f.faultsByKind[k]}`).join(", ");
  const rec = FAULT_KINDS.filter((k) => f.maxRecoveryMsByKind[k] !== undefined)
    .map((k) => `${k} ${(f.maxRecoveryMsByKind[k]! / 1000).toFixed(1)}s`)
    .join(", ");
  return [
    `soak figures (seed ${f.seed}, ${f.iterations} iterations)`,
    `  turns completed           ${f.turnsCompleted} (${f.runs} agent runs, ${f.reruns} reruns after faults)`,
    `  faults injected           ${f.faultsInjected} of ${f.faultsPlanned} planned: ${kinds}`,
    `  recoveries                ${f.recoveries.restarts} runner restarts, ${f.recoveries.humanStamps} orch stamp by hand, ${f.recoveries.rerunsAfterFailure} reruns after a failed turn, ${f.recoveries.outagesRidden} outages ridden out`,
    `  max recovery after remote back  ${(f.maxRecoveryAfterOutageMs / 1000).toFixed(2)}s`,
    `  max recovery by fault     ${rec || "n/a"}`,
    `  split brains              extra runner waited naming the holder ${f.splitBrain.waited}, exited 7 ${f.splitBrain.fenced}, ran turns ${f.splitBrain.tookTurns} (${f.splitBrain.turnsTaken} turns); ${f.splitBrain.takeovers} orch takeover, ${f.splitBrain.restartsToRecount} restarts to recount`,
    `  second runners            ${f.splitBrain.secondRunnersRefused} refused with exit 7 (slowest ${(f.splitBrain.maxSecondRunnerMs / 1000).toFixed(2)}s)`,
    `  side channel              ${f.side.shippedLogs} shipped log files, ${f.side.stampsPublishedAlone} stamps published alone after a crash; ${f.side.agentRuns} agent runs never overlapping`,
    `  secret scan               ${f.side.objectsScanned} objects (${(f.side.bytesScanned / 1024).toFixed(0)} KiB) on every ref of the remote`,
    `  orch peak RSS             ${f.peakRssMb} MB`,
    `  commits                   ${f.stats.commits} (${f.stats.syncCommits} [SYNC], ${f.stats.failStamps} fail stamps, ${f.stats.remarks} re-marks, ${f.stats.stampsNamingRebasedCommit} stamps naming a pre-rebase sha)`,
    `  runtime                   ${f.runtimeSec}s`,
  ].join("\n");
}
