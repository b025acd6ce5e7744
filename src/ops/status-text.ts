import type { Actor } from "../core/state.ts";
import type { StatusReport, StampView, LogView, StateView, HeartbeatView } from "./status.ts";

const ROLE_OF: Record<Actor, string> = { galph: "supervisor", ralph: "loop" };

/** `45s`, `3m`, `2h 5m`, `3d 4h`: coarse enough to read at a glance. */
export function formatDuration(sec: number): string {
  const s = Math.max(0, Math.round(sec));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** `3m ago`; a time in the future (clock skew between machines) reads `in 3m`. */
export function formatAge(sec: number | null): string {
  if (sec === null) return "at an unknown time";
  return sec < 0 ? `in ${formatDuration(-sec)}` : `${formatDuration(sec)} ago`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function stampLine(stamp: StampView | null): string {
  if (!stamp) return "no ok/fail stamp yet";
  const iter = stamp.iteration === null ? "" : ` i=${stamp.iteration}`;
  const r = stamp.receipt;
  const receipt = r
    ? [
        r.duration_sec !== null ? `took ${formatDuration(r.duration_sec)}` : "",
        r.attempts !== null && r.attempts > 1 ? `${r.attempts} attempts` : "",
        r.limit_wait_sec ? `blocked ${formatDuration(r.limit_wait_sec)}` : "",
        r.cost_usd !== null ? `$${r.cost_usd.toFixed(2)}` : "",
        r.agent ?? "",
        stamp.outcome === "fail" && r.reason ? `(${r.reason})` : "",
      ].filter(Boolean)
    : [];
  return [`last ${stamp.outcome.toUpperCase()}${iter}`, `commit ${stamp.commit ?? stamp.stamp_commit}`, formatAge(stamp.age_sec), ...receipt].join(" · ");
}

const hhmm = (iso: string | null) => (iso ? `${iso.slice(11, 16)}Z` : "?");

/** `ralph on host-b · running i=4 since 06:11Z · last output 06:12Z · heartbeat 30s ago · orch 0.2.0 · claude 2.1.197`. */
function machineLine(actor: Actor, hb: HeartbeatView | null, local: boolean): string {
  if (!hb) return `${actor}  no heartbeat (${local ? "heartbeats travel through the remote" : "older tool?"})`;
  const parts = [`${actor} on ${hb.host}`];
  if (hb.phase === "blocked" && hb.blocked_until) parts.push(`blocked until ${hb.blocked_until.slice(11, 16)}Z${hb.reason ? ` (${hb.reason})` : ""}`);
  else parts.push(`${hb.phase}${hb.phase === "running" && hb.iteration !== null ? ` i=${hb.iteration}` : ""} since ${hhmm(hb.since)}`);
  if (hb.last_output_at) parts.push(`last output ${hhmm(hb.last_output_at)}`);
  parts.push(`heartbeat ${formatAge(hb.age_sec)}${hb.stale ? " (SILENT: if that machine is gone, orch takeover " + actor + ")" : ""}`);
  parts.push(`orch ${hb.orch_version}`);
  if (hb.agent.argv0) parts.push(`${hb.agent.argv0.split("/").pop()}${hb.agent.version ? ` ${hb.agent.version}` : ""}`);
  return parts.join(" · ");
}

function logLine(actor: Actor, log: LogView | null): string {
  return `${actor}  ${log ? `${log.path} · ${formatBytes(log.bytes)} · ${formatAge(log.age_sec)}` : "no log here"}`;
}

/** A few aligned lines: label column, then the facts a person on a phone needs. */
export function renderStatus(r: StatusReport): string {
  const rows: [string, string][] = [];
  const fetched = r.fetch === "fetched" ? "fetched just now" : r.fetch === "offline" ? "offline: last fetched refs" : "FETCH FAILED: last fetched refs";
  const onOther = r.checked_out !== r.branch ? ` (checked out: ${r.checked_out ?? "detached HEAD"})` : "";
  rows.push(["branch", r.fetch === "local" ? `${r.branch} · this clone only (no remote '${r.remote}')${onOther}` : `${r.branch} on ${r.remote} · ${fetched}${onOther}`]);

  if (!r.state) {
    rows.push(["turn", `galph (supervisor) · no ${r.state_file} yet: run 'orch init' or start 'orch supervisor --sync-via-git'`]);
  } else {
    const s = r.state;
    rows.push(["turn", `${s.expected_actor} (${ROLE_OF[s.expected_actor]}) · ${s.status} · iteration ${s.iteration} · changed ${formatAge(r.state_age_sec)}`]);
    rows.push(["state", `${r.state_file} from ${r.state_source}${r.working_tree_state ? ` · working tree differs: ${describeTurn(r.working_tree_state)}` : ""}`]);
  }
  for (const actor of ["galph", "ralph"] as const) rows.push([actor, stampLine(r.stamps[actor])]);
  (["galph", "ralph"] as const).forEach((actor, i) => rows.push([i === 0 ? "machines" : "", machineLine(actor, r.heartbeats[actor], r.fetch === "local")]));
  for (const w of [...r.skew, ...r.log_import]) rows.push(["WARNING", w]);
  rows.push(["sync", syncLine(r)]);
  rows.push(["logs", logLine("galph", r.logs.galph)]);
  rows.push(["", logLine("ralph", r.logs.ralph)]);
  for (const subject of r.sync.unpushed_stamps) {
    rows.push(["unpushed", `${subject} (relaunch the runner, or: git push ${r.remote} HEAD:${r.branch})`]);
  }
  if (r.stale) {
    rows.push([
      "WARNING",
      `${r.stale.actor} has been running ${formatDuration(r.stale.running_sec)} without a state change (lease expired ${formatAge(r.stale.lease_expired_sec)}): a long agent turn, or the ${ROLE_OF[r.stale.actor]} machine stopped; check that its newest log still grows`,
    ]);
  }
  if (r.exit) rows.push(["exit", `exit flag set${r.exit.reason ? `: ${r.exit.reason}` : ""} (runners stop at the start of their next iteration)`]);
  rows.push(...controlRows(r));
  if (r.fetch_error) rows.push(["WARNING", `fetch failed: ${r.fetch_error}`]);

  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, text]) => `${label.padEnd(width)}  ${text}`).join("\n") + "\n";
}

/** Pauses, a stop and waiting nudges (nothing when the control document asks for nothing). */
function controlRows(r: StatusReport): [string, string][] {
  const c = r.control;
  const rows: [string, string][] = [];
  const paused = (["galph", "ralph"] as const).filter((a) => c.paused[a]);
  if (paused.length) rows.push(["paused", `${paused.join(" and ")} (no new turn until orch resume${paused.length === 1 ? ` ${paused[0]}` : ""})`]);
  if (c.stop) rows.push(["stop", `"${c.stop.reason}" · set ${formatAge(c.stop.age_sec)} by ${c.stop.by} (runners running then exit after their turn; orch resume clears it)`]);
  c.nudges.forEach((n, i) => {
    const first = n.text.trim().split("\n")[0]!;
    const line = first.length > 60 ? `${first.slice(0, 59)}…` : first;
    rows.push([i === 0 ? "nudges" : "", `${n.id} for ${n.actor} · queued ${formatAge(n.age_sec)} by ${n.by} · "${line}" (not delivered yet)`]);
  });
  if (c.error) rows.push(["WARNING", c.error]);
  return rows;
}

const describeTurn = (s: StateView) => `${s.expected_actor} · ${s.status} · iteration ${s.iteration}`;

function syncLine(r: StatusReport): string {
  const upstream = `${r.remote}/${r.branch}`;
  const { sync } = r;
  if (r.fetch === "local") return `nothing to push: no remote '${r.remote}' (git remote add ${r.remote} <url> to share the branch)`;
  if (!sync.remote_branch) return `${upstream} does not exist yet (push with: git push ${r.remote} HEAD:${r.branch})`;
  if (!sync.local_branch) return `no local branch ${r.branch} in this clone`;
  const parts: string[] = [];
  if (sync.behind) parts.push(`behind ${upstream} by ${sync.behind}`);
  if (sync.ahead) parts.push(`ahead by ${sync.ahead} (unpushed)`);
  return parts.length ? parts.join(", ") : `up to date with ${upstream}`;
}

export function renderStatusJson(r: StatusReport): string {
  return JSON.stringify({ schema: 1, ...r }, null, 2) + "\n";
}
