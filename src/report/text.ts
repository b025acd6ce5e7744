/**
 * The terminal form: one screen for a normal night. Colour only when asked
 * (the command asks on a TTY without NO_COLOR); the figures are the JSON's.
 */
import { ACTORS, type Actor } from "../core/state.ts";
import { clock, count, dur, stamp, usd } from "./format.ts";
import type { ActorSummary, Cycle, HeartbeatView, Report } from "./types.ts";

/** Cycle rows shown before "… N earlier cycles". */
export const MAX_CYCLE_ROWS = 12;
const MAX_FAILURE_ROWS = 8;

type Paint = (code: string, s: string) => string;

export function renderText(r: Report, opts: { color: boolean }): string {
  const paint: Paint = opts.color ? (code, s) => `\x1b[${code}m${s}\x1b[0m` : (_c, s) => s;
  const withDate = r.period.seconds > 86400;
  const out: string[] = [];
  const fetched = r.fetch === "fetched" ? "fetched" : r.fetch === "offline" ? "not fetched (--no-fetch)" : r.fetch === "local" ? `this clone only (no remote '${r.remote}')` : paint("33", `FETCH FAILED (${r.fetch_error ?? "?"}); local refs`);
  out.push(paint("1", `orch report · ${r.branch}`) + ` · ${stamp(r.period.since)} → ${stamp(r.period.until)} (${dur(r.period.seconds)}) · ${fetched}`);
  if (r.ref === null) out.push(paint("33", `${r.remote}/${r.branch} and ${r.branch} do not exist here: nothing to report`));
  out.push("");
  out.push(...actorTable(r, paint));
  for (const a of ACTORS) {
    const run = r.actors[a].running;
    if (run) out.push(`${a} turn i=${run.iteration} running since ${clock(run.since, withDate)}`);
  }

  out.push("");
  if (r.failures.length === 0) out.push(`failures: ${r.turns.length ? paint("32", "none") : "none"}`);
  else {
    out.push(paint("1", `failures (${r.failures.length})`));
    for (const f of r.failures.slice(-MAX_FAILURE_ROWS)) {
      const why = f.reason ?? (f.exit !== null ? `exit ${f.exit}` : "no reason recorded");
      out.push(`  i=${f.iteration} ${f.actor} ${clock(f.at, withDate)}  ${paint("31", why)}${f.log ? `  ${f.log}` : ""}`);
    }
    if (r.failures.length > MAX_FAILURE_ROWS) out.push(`  … ${r.failures.length - MAX_FAILURE_ROWS} earlier (--json or --html for all)`);
  }

  out.push("");
  out.push(...cycleTable(r.cycles, paint));
  for (const s of r.stalemates) {
    out.push(paint("33", `STALEMATE: ralph changed no code in ${s.cycles} cycles in a row (i=${s.from_iteration}..${s.to_iteration}; threshold ${r.stalemate_cycles})`));
  }

  out.push("");
  out.push(paint("1", "machines"));
  for (const a of ACTORS) out.push(`  ${a}  ${machineLine(r.machines[a].heartbeat, withDate, paint, r.fetch === "local")}`);
  return out.join("\n") + "\n";
}

function actorTable(r: Report, paint: Paint): string[] {
  const head = ["", "turns", "ok", "fail", "retried", "median", "longest", "in turns", "limit wait", "handover", "cost", "tokens in/out"];
  const rows = ACTORS.map((a) => actorRow(a, r.actors[a]));
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd();
  const painted = rows.map((row, k) => {
    const text = line(row);
    return r.actors[ACTORS[k]!].failed > 0 ? text.replace(/^(\S+)/, (m) => paint("31", m)) : text;
  });
  return [paint("2", line(head)), ...painted];
}

function actorRow(a: Actor, s: ActorSummary): string[] {
  const d = s.duration_sec;
  const unknown = s.unknown_duration > 0 ? ` (+${s.unknown_duration}?)` : "";
  return [
    a,
    String(s.turns),
    String(s.ok),
    String(s.failed),
    String(s.retried),
    d ? dur(d.median) : "-",
    d ? dur(d.longest) : "-",
    (d ? dur(d.total) : "-") + unknown,
    dur(s.limit_wait_sec),
    dur(s.peer_wait_sec),
    s.cost_usd === null ? "-" : usd(s.cost_usd),
    s.tokens ? `${count(s.tokens.input)}/${count(s.tokens.output)}` : "-",
  ];
}

function cycleTable(cycles: Cycle[], paint: Paint): string[] {
  if (cycles.length === 0) return ["cycles: none in this period"];
  const head = ["cycle", "commits", "code files", "code +/-", "docs files", "docs +/-", "galph", "ralph"];
  const shown = cycles.slice(-MAX_CYCLE_ROWS);
  const rows = shown.map((c) => [
    `i=${c.iteration}`,
    String(c.commits),
    String(c.code.files),
    `+${c.code.add}/-${c.code.del}`,
    String(c.docs.files),
    `+${c.docs.add}/-${c.docs.del}`,
    c.galph ?? "-",
    c.ralph ?? "-",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd();
  const out = [paint("2", line(head))];
  if (cycles.length > shown.length) out.push(`… ${cycles.length - shown.length} earlier cycles (--json or --html for all)`);
  for (const row of rows) out.push(line(row).replace(/\bfail\b/g, (m) => paint("31", m)));
  return out;
}

function machineLine(hb: HeartbeatView | null, withDate: boolean, paint: Paint, local: boolean): string {
  if (!hb) return paint("2", `no heartbeat (${local ? "heartbeats travel through the remote" : "older tool?"})`);
  const parts = [`${hb.stale ? paint("31", `${hb.phase} STALE`) : hb.phase === "blocked" ? paint("33", hb.phase) : hb.phase}`];
  parts[0] += `${hb.host ? ` on ${hb.host}` : ""}${hb.since ? ` since ${clock(hb.since, withDate)}` : ""}${hb.iteration !== null ? `, i=${hb.iteration}` : ""}`;
  if (hb.blocked_until) parts.push(`blocked until ${clock(hb.blocked_until, true)}`);
  if (hb.last_output_at) parts.push(`last output ${clock(hb.last_output_at, withDate)}`);
  if (hb.age_sec !== null) parts.push(`heartbeat ${dur(hb.age_sec)} old`);
  if (hb.reason) parts.push(hb.reason);
  return parts.join(" · ");
}
