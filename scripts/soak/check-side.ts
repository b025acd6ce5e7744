/**
 * Invariants beside the branch's history: the side channel (SPEC §12) and
 * what the fake agents recorded.
 *
 * - Every shipped log on refs/orch/logs/<actor>/<branch> belongs to a stamped
 *   turn: a stamp of that actor on the branch names it (Orch-Log) for the same
 *   iteration. The log ref is one linear chain of `logs <actor> i=<N>` commits.
 * - Each actor's final heartbeat is a parentless commit holding only a
 *   heartbeat.json that parses, names the actor, says `stopped`, and was
 *   written by the actor's last runner.
 * - No planted secret is in any object reachable from any ref of the remote.
 * - At most one agent of an actor is alive at any moment (two runners of one
 *   actor never run its agent at once), and no refused second runner ran one.
 */
import { parseHeartbeat } from "../../src/channel/heartbeat.ts";
import { parseSubject, type Actor } from "../../src/core/state.ts";
import type { GenInfo } from "./check.ts";
import { GEN_RE } from "./check-commits.ts";
import type { History, SideRefs } from "./history.ts";
import type { Leak } from "./planted.ts";

export interface SideInput {
  history: History;
  side: SideRefs;
  gens: GenInfo[];
  events: Record<string, unknown>[];
  scan: { leaks: Leak[]; objects: number; bytes: number };
}

export interface SideStats {
  shippedLogs: number;
  /** Stamps published alone by the next runner after a crash between their commit and push: no shipped log. */
  stampsPublishedAlone: number;
  agentRuns: number;
  objectsScanned: number;
  bytesScanned: number;
}

/** `<actor>-summaries/iter-NNNNN_<stamp>-summary.md` (SPEC §5): group 2 is `iter-NNNNN_<stamp>`. */
const SUMMARY_RE = /^(galph|ralph)-summaries\/(iter-\d{5}_\d{8}_\d{6})-summary\.md$/;
const LOG_RE = /^(galph|ralph)\/iter-(\d+)_[^/]+\.log(\.jsonl)?$/;

export function checkSide(input: SideInput): { violations: string[]; stats: SideStats } {
  const v: string[] = [];
  const stats: SideStats = { shippedLogs: 0, stampsPublishedAlone: 0, agentRuns: 0, objectsScanned: input.scan.objects, bytesScanned: input.scan.bytes };
  checkShippedLogs(input, v, stats);
  checkHeartbeats(input, v);
  if (input.scan.objects === 0) v.push("the secret scan read no object from the remote");
  for (const l of input.scan.leaks) v.push(`planted secret (${l.kind}) reached the remote: ${l.type} ${l.object.slice(0, 12)}${l.path ? ` at ${l.path}` : ""}`);
  checkAgents(input, v, stats);
  return { violations: v, stats };
}

interface Stamped {
  actor: Actor;
  turn: number;
  author: string;
  /** `ralph i=4 ok`, as a runner reports publishing it. */
  key: string;
  subject: string;
}

/** Stamps on the branch by log path (Orch-Log, relative to the branch's log dir), with their actor and turn. */
function stampedLogs(history: History): Map<string, Stamped> {
  const byLog = new Map<string, Stamped>();
  for (const c of history.commits) {
    const p = parseSubject(c.subject);
    if (!p || (p.kind !== "ok" && p.kind !== "fail") || !c.trailers.log) continue;
    const turn = p.actor === "ralph" && p.kind === "ok" ? (p.iteration ?? 0) - 1 : (p.iteration ?? -1);
    // Orch-Log: logs/<branch dir>/<actor>/iter-…; the shipped tree holds <actor>/iter-….
    const rel = c.trailers.log.split("/").slice(-2).join("/");
    byLog.set(rel, { actor: p.actor, turn, author: c.author, key: `${p.actor} i=${p.iteration} ${p.kind}`, subject: c.subject });
  }
  return byLog;
}

function checkShippedLogs(input: SideInput, v: string[], stats: SideStats): void {
  const stamped = stampedLogs(input.history);
  const shipped = new Set<string>();
  for (const [actor, chain] of Object.entries(input.side.logs)) {
    chain.forEach((c, i) => {
      const where = `refs/orch/logs/${actor} ${c.sha.slice(0, 8)} "${c.subject}"`;
      const parent = chain[i + 1]?.sha;
      if (parent ? c.parents.length !== 1 || c.parents[0] !== parent : c.parents.length !== 0) v.push(`${where}: not a linear chain (parents ${c.parents.join(" ") || "none"})`);
      const m = /^logs (galph|ralph) i=(\d+)$/.exec(c.subject);
      if (!m || m[1] !== actor) v.push(`${where}: subject is not "logs ${actor} i=<N>"`);
      for (const file of c.files) {
        // A turn's summary travels with its log: it must belong to a shipped, stamped log of the same turn.
        const sm = SUMMARY_RE.exec(file);
        if (sm && sm[1] === actor) {
          const prefix = `${actor}/${sm[2]}`;
          const owner = [...stamped.keys()].find((l) => l.startsWith(prefix));
          if (!owner) v.push(`${where}: ships ${file}, but no stamp on the branch names a log of that turn`);
          continue;
        }
        const f = LOG_RE.exec(file);
        if (!f || f[1] !== actor) {
          v.push(`${where}: ships ${file}, which is not one of ${actor}'s logs`);
          continue;
        }
        stats.shippedLogs++;
        const log = f[3] ? file.slice(0, -".jsonl".length) : file;
        shipped.add(log);
        const stamp = stamped.get(log);
        if (!stamp) v.push(`${where}: ships ${file}, but no stamp on the branch names that log (a log of a turn that was never stamped)`);
        else if (stamp.actor !== actor || stamp.turn !== Number(f[2]) || (m && Number(m[2]) !== stamp.turn)) v.push(`${where}: ships ${file}, but the stamp naming it is ${stamp.actor}'s turn i=${stamp.turn}`);
      }
    });
  }
  // The other way round: a runner's stamp went out with its log (SPEC §12: the same atomic push), unless the
  // runner died between commit and push and the next one published the stamp alone.
  const publishedAlone = new Set(input.gens.flatMap((g) => g.publishedStamps));
  for (const [log, s] of stamped) {
    if (!GEN_RE.test(s.author) || shipped.has(log)) continue;
    if (publishedAlone.has(s.key)) stats.stampsPublishedAlone++;
    else {
      const off = input.gens.find((g) => g.author === s.author)?.sideOff;
      const why = off ? "its runner had turned the side channel off" : "shipped with the stamp, then dropped from the chain by another runner's log push";
      v.push(`"${s.subject}" by ${s.author} went out, but its log ${log} is not on refs/orch/logs/${s.actor} (${why})`);
    }
  }
  // The soak's remote takes refs/orch/* pushes: a runner that says otherwise turned its heartbeats and logs off.
  for (const g of input.gens) if (g.sideOff) v.push(`${g.author} turned the side channel off, though the remote accepts refs/orch/*: ${g.sideOff.trim()}`);
}

function checkHeartbeats(input: SideInput, v: string[]): void {
  for (const actor of ["galph", "ralph"] as const) {
    const hb = input.side.heartbeats[actor];
    const ref = `refs/orch/heartbeat/${actor}`;
    if (!hb) {
      v.push(`${ref}: no heartbeat on the remote`);
      continue;
    }
    if (hb.parents.length !== 0) v.push(`${ref}: the final heartbeat ${hb.sha.slice(0, 8)} has parents (${hb.parents.join(" ")})`);
    if (hb.files.join(",") !== "heartbeat.json") v.push(`${ref}: the final heartbeat's tree holds ${JSON.stringify(hb.files)}, not only heartbeat.json`);
    const parsed = parseHeartbeat(hb.text);
    if (!parsed) {
      v.push(`${ref}: the final heartbeat.json does not parse: ${JSON.stringify((hb.text ?? "").slice(0, 200))}`);
      continue;
    }
    if (parsed.actor !== actor) v.push(`${ref}: the final heartbeat names actor ${parsed.actor}`);
    if (parsed.phase !== "stopped") v.push(`${ref}: the final heartbeat says ${parsed.phase}, not stopped (every runner has exited)`);
    const last = input.gens.filter((g) => g.actor === actor && !g.extra).at(-1);
    if (last && parsed.pid !== last.pid) v.push(`${ref}: the final heartbeat names pid ${parsed.pid}, not ${actor}'s last runner ${last.author} (pid ${last.pid})`);
  }
}

/** Agent lifetimes from the fake agents' start and end events: never two of one actor at once. */
function checkAgents(input: SideInput, v: string[], stats: SideStats): void {
  // Pair each start with the next end of the same pid (pids are reused over a long soak).
  type Span = { actor: string; pid: number; start: number; end: number | null; who: string; second: boolean };
  const spans: Span[] = [];
  const open = new Map<number, Span>();
  for (const e of input.events) {
    const pid = Number(e.pid);
    if (e.type === "start") {
      const span: Span = { actor: String(e.actor), pid, start: Number(e.t), end: null, who: `${e.actor}'s agent pid ${pid} (gen ${e.gen} on ${e.clone})`, second: String(e.clone).endsWith("-second") };
      spans.push(span);
      open.set(pid, span);
    } else if (e.type === "end" && open.has(pid)) {
      open.get(pid)!.end = Number(e.t);
      open.delete(pid);
    }
  }
  stats.agentRuns = spans.length;
  for (const actor of ["galph", "ralph"]) {
    // The one alive longest so far: a later start before its end is an overlap.
    let longest: Span | null = null;
    for (const s of spans.filter((x) => x.actor === actor).sort((a, b) => a.start - b.start)) {
      if (s.second) v.push(`${s.who} was started by a second runner in the same clone, which should have exited 7`);
      if (longest && s.start < longest.end!) v.push(`${s.who} started while ${longest.who} was still running: two agents of ${actor} at once`);
      if (s.end === null) v.push(`${s.who} never recorded its end (killed by SIGKILL?)`);
      if (!longest || (s.end ?? s.start) > longest.end!) longest = { ...s, end: s.end ?? s.start };
    }
  }
}
