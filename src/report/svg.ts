/**
 * The page's two pictures as inline SVG (no script, no library): the timeline,
 * one row per actor and one bar per turn, and the duration/cost chart per
 * iteration. Sizes are in viewBox units; CSS scales them.
 */
import { ACTORS, type Actor } from "../core/state.ts";
import { dur, epoch, usd } from "./format.ts";
import type { Report, Turn } from "./types.ts";

const ENTITY: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
/** Text and attribute values made safe for HTML (one pass; most strings have nothing to replace). */
export const esc = (s: string) => (/[&<>"']/.test(s) ? s.replace(/[&<>"']/g, (c) => ENTITY[c]!) : s);
const f = (n: number) => (Math.round(n * 10) / 10).toString();

const W = 1200;
const LABEL = 64;
const RIGHT = 16;
const ROW = 40;
const BAR = 22;
/** The chart's left margin: room for its duration axis labels at phone font sizes. */
const CHART_LEFT = 88;

const TICK_STEPS = [60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400];

export const turnId = (t: Turn, i: number) => `t${i}-${t.actor}-${t.iteration}`;

/**
 * The span the timeline draws: the period, narrowed to the turns in it (a night
 * in a 24 h report should fill the width), with a small margin either side.
 */
export function timelineDomain(r: Report): { from: number; to: number } {
  const since = epoch(r.period.since);
  const until = epoch(r.period.until);
  const starts: number[] = [];
  const ends: number[] = [];
  for (const t of r.turns) {
    const end = epoch(t.ended_at);
    const start = t.started_at ? epoch(t.started_at) : end - (t.duration_sec ?? 0);
    starts.push(start - t.peer_wait_sec);
    ends.push(end);
  }
  for (const a of ACTORS) {
    const run = r.actors[a].running;
    if (run) {
      starts.push(epoch(run.since));
      ends.push(until);
    }
  }
  if (starts.length === 0) return { from: since, to: until };
  const lo = Math.max(since, Math.min(...starts));
  const hi = Math.min(until, Math.max(...ends));
  const pad = Math.max(60, (hi - lo) * 0.02);
  return { from: Math.max(since, lo - pad), to: Math.min(until, hi + pad) };
}

export function timelineSvg(r: Report): string {
  const { from: since, to: until } = timelineDomain(r);
  const span = Math.max(1, until - since);
  const x = (t: number) => LABEL + ((Math.min(Math.max(t, since), until) - since) / span) * (W - LABEL - RIGHT);
  const height = ROW * ACTORS.length + 28;
  const parts: string[] = [];
  parts.push(
    `<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" class="blocked-bg"/><line x1="0" y1="0" x2="0" y2="6" class="blocked-line"/></pattern></defs>`,
  );
  // Axis ticks first, so bars draw over the grid lines.
  const step = TICK_STEPS.find((s) => span / s <= 10) ?? TICK_STEPS.at(-1)!;
  const withDate = step >= 86400 || span > 86400;
  for (let t = Math.ceil(since / step) * step; t <= until; t += step) {
    const iso = new Date(t * 1000).toISOString();
    const label = withDate ? (step >= 86400 ? iso.slice(5, 10) : `${iso.slice(5, 10)} ${iso.slice(11, 16)}`) : iso.slice(11, 16);
    parts.push(`<line class="grid" x1="${f(x(t))}" x2="${f(x(t))}" y1="4" y2="${ROW * ACTORS.length}"/>`);
    parts.push(`<text class="tick" x="${f(x(t))}" y="${height - 8}" text-anchor="middle">${label}</text>`);
  }
  ACTORS.forEach((actor, row) => {
    const y = row * ROW + (ROW - BAR) / 2;
    parts.push(`<g class="row" data-actor="${actor}">`);
    parts.push(`<text class="label" x="4" y="${f(y + BAR / 2 + 4)}">${actor}</text>`);
    parts.push(`<line class="lane" x1="${LABEL}" x2="${W - RIGHT}" y1="${f(y + BAR / 2)}" y2="${f(y + BAR / 2)}"/>`);
    r.turns.forEach((t, i) => {
      if (t.actor === actor) parts.push(turnBar(t, i, y, x));
    });
    const run = r.actors[actor].running;
    if (run) {
      const x0 = x(epoch(run.since));
      parts.push(`<rect class="open" x="${f(x0)}" y="${f(y)}" width="${f(Math.max(2, x(until) - x0))}" height="${BAR}" rx="3"><title>${actor} i=${run.iteration}: running since ${run.since}</title></rect>`);
    }
    parts.push(`</g>`);
  });
  return `<svg class="timeline" viewBox="0 0 ${W} ${height}" role="img" aria-label="Timeline of turns per actor">${parts.join("")}</svg>`;
}

function turnBar(t: Turn, i: number, y: number, x: (t: number) => number): string {
  const end = epoch(t.ended_at);
  const start = t.started_at ? epoch(t.started_at) : t.duration_sec !== null ? end - t.duration_sec : end;
  const x0 = x(start);
  const w = Math.max(3, x(end) - x0);
  const out: string[] = [];
  if (t.peer_wait_sec > 0) {
    const wx = x(start - t.peer_wait_sec);
    out.push(`<rect class="wait" x="${f(wx)}" y="${f(y + BAR / 2 - 2)}" width="${f(Math.max(1, x0 - wx))}" height="4"><title>${t.actor} i=${t.iteration}: handover ${dur(t.peer_wait_sec)} (peer's stamp → this running mark)</title></rect>`);
  }
  const title = `${t.actor} i=${t.iteration} ${t.outcome.toUpperCase()} · ${dur(t.duration_sec)}${t.attempts && t.attempts > 1 ? ` · ${t.attempts} attempts` : ""}${t.limit_wait_sec ? ` · blocked ${dur(t.limit_wait_sec)}` : ""}${t.cost_usd !== null ? ` · ${usd(t.cost_usd)}` : ""}${t.reason ? ` · ${t.reason}` : ""}`;
  const cls = `bar turn ${t.outcome}${t.attempts && t.attempts > 1 ? " retried" : ""}${t.receipt ? "" : " no-receipt"}`;
  out.push(`<a href="#${turnId(t, i)}"><rect class="${cls}" data-iteration="${t.iteration}" x="${f(x0)}" y="${f(y)}" width="${f(w)}" height="${BAR}" rx="3"><title>${esc(title)}</title></rect>`);
  if (t.limit_wait_sec > 0) {
    // Where in the turn the wait fell is not recorded: it is drawn from the turn's start.
    const bw = Math.min(w, x(start + t.limit_wait_sec) - x0);
    out.push(`<rect class="blocked" x="${f(x0)}" y="${f(y + 3)}" width="${f(Math.max(2, bw))}" height="${BAR - 6}"><title>blocked by a usage limit for ${dur(t.limit_wait_sec)} during this turn</title></rect>`);
  }
  out.push(`</a>`);
  return out.join("");
}

/** A cost axis label with enough decimals that 0, half and the top differ ($0.000 · $0.005 · $0.010). */
function axisUsd(v: number, max: number): string {
  return max < 0.1 ? `$${v.toFixed(3)}` : usd(v);
}

/** Duration bars (galph, ralph side by side) and the cost per iteration as a line, on a second axis. */
export function chartSvg(r: Report): string {
  const iters = [...new Set(r.turns.map((t) => t.iteration))].sort((a, b) => a - b);
  const height = 220;
  const top = 16;
  const bottom = 28;
  const plotH = height - top - bottom;
  if (iters.length === 0) return `<p class="empty">No turns in this period.</p>`;
  const per = new Map<number, { galph: number; ralph: number; cost: number | null }>();
  for (const i of iters) per.set(i, { galph: 0, ralph: 0, cost: null });
  for (const t of r.turns) {
    const p = per.get(t.iteration)!;
    p[t.actor] += t.duration_sec ?? 0;
    if (t.cost_usd !== null) p.cost = (p.cost ?? 0) + t.cost_usd;
  }
  const maxDur = Math.max(60, ...[...per.values()].map((p) => Math.max(p.galph, p.ralph)));
  const costs = [...per.values()].map((p) => p.cost).filter((c): c is number => c !== null);
  const maxCost = Math.max(0.01, ...costs);
  const slot = (W - CHART_LEFT - 56) / iters.length;
  const bw = Math.max(1, Math.min(18, slot / 2 - 1));
  const yDur = (s: number) => top + plotH - (s / maxDur) * plotH;
  const yCost = (c: number) => top + plotH - (c / maxCost) * plotH;
  const parts: string[] = [];
  for (const frac of [0, 0.5, 1]) {
    const yy = top + plotH - frac * plotH;
    parts.push(`<line class="grid" x1="${CHART_LEFT}" x2="${W - 56}" y1="${f(yy)}" y2="${f(yy)}"/>`);
    parts.push(`<text class="tick" x="${CHART_LEFT - 6}" y="${f(yy + 4)}" text-anchor="end">${dur(frac * maxDur)}</text>`);
    if (costs.length) parts.push(`<text class="tick cost" x="${W - 50}" y="${f(yy + 4)}">${axisUsd(frac * maxCost, maxCost)}</text>`);
  }
  const labelEvery = Math.max(1, Math.ceil(iters.length / 20));
  const points: string[] = [];
  iters.forEach((it, k) => {
    const p = per.get(it)!;
    const cx = CHART_LEFT + slot * k + slot / 2;
    (["galph", "ralph"] as Actor[]).forEach((a, j) => {
      const v = p[a];
      if (v <= 0) return;
      const bx = cx + (j === 0 ? -bw - 0.5 : 0.5);
      parts.push(`<rect class="dur ${a}" x="${f(bx)}" y="${f(yDur(v))}" width="${f(bw)}" height="${f(top + plotH - yDur(v))}"><title>i=${it} ${a}: ${dur(v)}</title></rect>`);
    });
    if (p.cost !== null) points.push(`${f(cx)},${f(yCost(p.cost))}`);
    if (k % labelEvery === 0) parts.push(`<text class="tick" x="${f(cx)}" y="${height - 10}" text-anchor="middle">${it}</text>`);
  });
  if (points.length > 1) parts.push(`<polyline class="cost-line" points="${points.join(" ")}"/>`);
  for (const pt of points.length <= 200 ? points : []) {
    const [px, py] = pt.split(",");
    parts.push(`<circle class="cost-dot" cx="${px}" cy="${py}" r="3"/>`);
  }
  return `<svg class="chart" viewBox="0 0 ${W} ${height}" role="img" aria-label="Turn duration and cost per iteration">${parts.join("")}</svg>`;
}
