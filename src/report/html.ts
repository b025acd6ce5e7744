/**
 * `orch report --html FILE`: one self-contained page. Inline CSS, inline SVG,
 * a few lines of inline script to open a transcript; a Content-Security-Policy
 * that forbids every fetch, so the page cannot reach the network even by
 * mistake. Every text from git or a log is escaped.
 */
import { ACTORS } from "../core/state.ts";
import { clock, count, dur, epoch, stamp, usd } from "./format.ts";
import { chartSvg, esc, timelineDomain, timelineSvg, turnId } from "./svg.ts";
import { PAGE_CSS } from "./html-style.ts";
import type { Transcript } from "./transcripts.ts";
import type { ActorSummary, Diffstat, HeartbeatView, Report, Turn } from "./types.ts";

const CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

const SCRIPT = `
(function () {
  function toggle(row, open) {
    var t = row.nextElementSibling;
    if (!t || !t.classList.contains("transcript")) return;
    t.hidden = open === undefined ? !t.hidden : !open;
    row.setAttribute("aria-expanded", String(!t.hidden));
  }
  document.addEventListener("click", function (e) {
    var row = e.target.closest && e.target.closest("tr.turn-row");
    if (row) toggle(row);
  });
  document.addEventListener("keydown", function (e) {
    var row = e.target.closest && e.target.closest("tr.turn-row");
    if (row && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); toggle(row); }
  });
  function fromHash() {
    var row = location.hash && document.getElementById(location.hash.slice(1));
    if (row && row.classList.contains("turn-row")) toggle(row, true);
  }
  window.addEventListener("hashchange", fromHash);
  fromHash();
})();
`;

export function renderHtml(r: Report, transcripts: Map<string, Transcript>, opts: { version: string; transcriptTurns: number }): string {
  const withDate = r.period.seconds > 86400;
  const title = `orch report · ${r.branch} · ${stamp(r.period.since)} → ${stamp(r.period.until)}`;
  const fetched = r.fetch === "fetched" ? "fetched" : r.fetch === "offline" ? "not fetched (--no-fetch)" : r.fetch === "local" ? `this clone only (no remote '${esc(r.remote)}')` : `fetch failed (${r.fetch_error ?? "?"}); local refs`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="generator" content="orch ${esc(opts.version)}">
<title>${esc(title)}</title>
<style>${PAGE_CSS}</style>
</head>
<body>
<header>
<h1>orch report <span class="branch">${esc(r.branch)}</span></h1>
<p class="period">${esc(stamp(r.period.since))} → ${esc(stamp(r.period.until))} (${dur(r.period.seconds)}) · ${esc(r.ref ?? "no branch")} · ${esc(fetched)}</p>
</header>
<main>
<section class="cards">${ACTORS.map((a) => actorCard(a, r.actors[a], r.machines[a].heartbeat, withDate)).join("")}</section>
${r.stalemates.map((s) => `<p class="warn">Stalemate: ralph changed no code in ${s.cycles} cycles in a row (i=${s.from_iteration}..${s.to_iteration}).</p>`).join("\n")}
<section><h2>Timeline</h2>
<div class="scroll">${timelineSvg(r)}</div>
<p class="hint">${esc(domainText(r))}</p>
<p class="legend"><span class="key ok"></span>ok <span class="key fail"></span>failed <span class="key retried"></span>retried <span class="key blocked"></span>blocked by a usage limit <span class="key wait"></span>handover (peer's stamp → running mark) <span class="key open"></span>running</p>
</section>
<section><h2>Duration and cost per iteration</h2>
<div class="scroll">${chartSvg(r)}</div>
<p class="legend"><span class="key galph"></span>galph duration <span class="key ralph"></span>ralph duration <span class="key cost"></span>cost (right axis)</p>
</section>
${failuresSection(r, withDate)}
${cyclesSection(r)}
<section><h2>Turns (${r.turns.length})</h2>
<p class="hint">Select a row to open its transcript (the ${opts.transcriptTurns} newest turns are embedded, each cut to its start and end).</p>
<div class="scroll"><table class="turns">
<thead><tr><th>iter</th><th>actor</th><th>outcome</th><th>ended</th><th>duration</th><th>attempts</th><th>blocked</th><th>handover</th><th>cost</th><th>tokens in/out</th><th>diffstat</th><th>commits</th><th>agent</th><th>host</th><th>exit</th><th>reason · log</th></tr></thead>
<tbody>
${r.turns.map((t, i) => turnRows(t, i, transcripts.get(t.stamp_commit), withDate)).join("\n")}
</tbody></table></div>
</section>
</main>
<footer>Generated ${esc(stamp(r.generated_at))} by orch ${esc(opts.version)} from ${esc(r.ref ?? "-")}.</footer>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

function actorCard(actor: string, s: ActorSummary, hb: HeartbeatView | null, withDate: boolean): string {
  const d = s.duration_sec;
  const rows: [string, string][] = [
    ["turns", `${s.turns} · <b class="ok">${s.ok} ok</b> · <b class="${s.failed ? "fail" : ""}">${s.failed} failed</b> · ${s.retried} retried`],
    ["median · longest", d ? `${dur(d.median)} · ${dur(d.longest)}` : "-"],
    ["in turns", `${d ? dur(d.total) : "-"}${s.unknown_duration ? ` (+${s.unknown_duration} of unknown duration)` : ""}`],
    ["blocked by limits", dur(s.limit_wait_sec)],
    ["handover", dur(s.peer_wait_sec)],
    ["cost", s.cost_usd === null ? "not reported" : `${usd(s.cost_usd)} (${s.cost_turns} turns)`],
    ["tokens", s.tokens ? `${count(s.tokens.input)} in · ${count(s.tokens.output)} out · ${count(s.tokens.cache_read)} cache read` : "not reported"],
    ["now", machine(hb, withDate)],
  ];
  if (s.running) rows.push(["running", `i=${s.running.iteration} since ${clock(s.running.since, withDate)}`]);
  return `<div class="card" data-actor="${actor}"><h3>${actor}</h3><dl>${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join("")}</dl></div>`;
}

function machine(hb: HeartbeatView | null, withDate: boolean): string {
  if (!hb) return `<span class="dim">no heartbeat (older tool?)</span>`;
  const bits = [`<b class="phase ${esc(hb.phase)}${hb.stale ? " stale" : ""}">${esc(hb.phase)}${hb.stale ? " (stale)" : ""}</b>`];
  if (hb.host) bits.push(`on ${esc(hb.host)}`);
  if (hb.since) bits.push(`since ${clock(hb.since, withDate)}`);
  if (hb.iteration !== null) bits.push(`i=${hb.iteration}`);
  if (hb.blocked_until) bits.push(`blocked until ${clock(hb.blocked_until, true)}`);
  if (hb.last_output_at) bits.push(`last output ${clock(hb.last_output_at, withDate)}`);
  if (hb.reason) bits.push(esc(hb.reason));
  return bits.join(" · ");
}

function domainText(r: Report): string {
  const d = timelineDomain(r);
  const since = epoch(r.period.since);
  const until = epoch(r.period.until);
  if (d.from === since && d.to === until) return "Shows the whole period.";
  return `Zoomed to the turns: ${stamp(new Date(d.from * 1000).toISOString())} → ${stamp(new Date(d.to * 1000).toISOString())}.`;
}

function failuresSection(r: Report, withDate: boolean): string {
  if (r.failures.length === 0) return `<section><h2>Failures</h2><p class="dim">None in this period.</p></section>`;
  const items = r.failures.map(
    (f) => `<li><b>i=${f.iteration} ${f.actor}</b> ${clock(f.at, withDate)} · <span class="fail">${esc(f.reason ?? (f.exit !== null ? `exit ${f.exit}` : "no reason recorded"))}</span>${f.log ? ` · <code>${esc(f.log)}</code>` : ""}</li>`,
  );
  return `<section><h2>Failures (${r.failures.length})</h2><ul class="failures">${items.join("")}</ul></section>`;
}

function cyclesSection(r: Report): string {
  if (r.cycles.length === 0) return "";
  const rows = r.cycles.map(
    (c) =>
      `<tr${c.ralph !== null && c.ralph_code_files === 0 ? ' class="nocode"' : ""}><td>${c.iteration}</td><td>${c.commits}</td><td>${c.code.files}</td><td>+${c.code.add} −${c.code.del}</td><td>${c.docs.files}</td><td>+${c.docs.add} −${c.docs.del}</td><td class="${c.galph ?? ""}">${c.galph ?? "-"}</td><td class="${c.ralph ?? ""}">${c.ralph ?? "-"}</td></tr>`,
  );
  return `<section><h2>Cycles: code vs docs</h2><div class="scroll"><table class="cycles"><thead><tr><th>iter</th><th>commits</th><th>code files</th><th>code lines</th><th>doc files</th><th>doc lines</th><th>galph</th><th>ralph</th></tr></thead><tbody>${rows.join("")}</tbody></table></div></section>`;
}

function diffText(d: Diffstat | null): string {
  if (!d) return "-";
  return `code ${d.code_files} (+${d.code_add} −${d.code_del}) · docs ${d.doc_files} (+${d.doc_add} −${d.doc_del})${d.source === "numstat" ? " ·counted" : ""}`;
}

function turnRows(t: Turn, i: number, tr: Transcript | undefined, withDate: boolean): string {
  const id = turnId(t, i);
  const agent = t.agent ? [t.agent.kind, t.agent.model, t.agent.version].filter(Boolean).join(" ") : "-";
  const why = [t.reason ? `<span class="fail">${esc(t.reason)}</span>` : "", t.log ? `<code>${esc(t.log)}</code>` : ""].filter(Boolean).join(" · ") || "-";
  const cells = [
    String(t.iteration),
    t.actor,
    `<b class="${t.outcome}">${t.outcome}</b>${t.receipt ? "" : ' <span class="dim" title="stamped without receipt trailers">(no receipt)</span>'}`,
    clock(t.ended_at, withDate),
    dur(t.duration_sec),
    t.attempts === null ? "-" : String(t.attempts),
    t.limit_wait_sec ? dur(t.limit_wait_sec) : "-",
    t.peer_wait_sec ? dur(t.peer_wait_sec) : "-",
    usd(t.cost_usd),
    t.tokens ? `${count(t.tokens.input)}/${count(t.tokens.output)}` : "-",
    diffText(t.diffstat),
    String(t.commits),
    esc(agent),
    esc(t.host ?? "-"),
    t.exit === null ? "-" : String(t.exit),
    why,
  ];
  const receipt = [
    t.session ? `session ${esc(t.session)}` : "",
    t.prompt ? `prompt ${esc(t.prompt)}` : "",
    t.started_at ? `started ${esc(t.started_at)}` : "",
    `stamp ${esc(t.stamp_commit.slice(0, 12))}`,
    t.work_commit ? `work ${esc(t.work_commit)}` : "",
    t.nudges.length ? `nudges ${esc(t.nudges.join(", "))}` : "",
    t.takeover ? `taken over by ${esc(t.takeover)}` : "",
  ].filter(Boolean);
  const body = tr
    ? `<pre>${esc(tr.text)}</pre><p class="dim">${tr.source === "local" ? "log in this clone" : "shipped log"}${tr.omitted ? `; ${tr.omitted} bytes in the middle left out` : ""}</p>`
    : `<p class="dim">${t.log ? "Transcript not embedded (not in this clone or the shipped logs, or older than the newest turns embedded)." : "No log recorded for this turn."}</p>`;
  return `<tr id="${id}" class="turn-row" data-outcome="${t.outcome}" tabindex="0" aria-expanded="false">${cells.map((c) => `<td>${c}</td>`).join("")}</tr>
<tr class="transcript" hidden><td colspan="${cells.length}"><p class="receipt">${receipt.join(" · ")}</p>${body}</td></tr>`;
}
