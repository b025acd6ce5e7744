/**
 * Checks of single commits of the branch's history, as the walk in check.ts
 * meets them: a SYNC commit's state file agrees with its subject; a running
 * mark names its runner truthfully; a stamp goes out only onto its own clone's
 * running mark (SPEC §13).
 */
import { parseState, parseSubject, type Actor } from "../../src/core/state.ts";
import type { GenInfo } from "./check.ts";
import type { HistoryCommit } from "./history.ts";

export const GEN_RE = /^(galph|ralph)-g(\d+)$/;
export const short = (c: HistoryCommit) => `${c.sha.slice(0, 8)} "${c.subject}"`;

/** The newest SYNC commit so far: what a stamp must be pushed onto. */
export interface LastSync {
  kind: string;
  author: string;
  subject: string;
}

/** A running mark names its runner (Orch-Runner: host, clone, pid) truthfully; one clone id per clone. */
export function checkRunner(c: HistoryCommit, g: GenInfo | undefined, cloneIds: Map<string, string>, v: string[]): void {
  if (!g) return; // not a soak runner: the walk and the accounting report it
  const fields = new Map(c.trailers.runner.split(/\s+/).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)] as const));
  const id = fields.get("clone");
  if (!fields.get("host") || !id || !fields.get("pid")) return void v.push(`running mark without a complete Orch-Runner trailer at ${short(c)}: "${c.trailers.runner}"`);
  if (Number(fields.get("pid")) !== g.pid) v.push(`running mark by ${g.author} (pid ${g.pid}) names pid ${fields.get("pid")} at ${short(c)}`);
  const known = cloneIds.get(g.clone);
  if (known && known !== id) v.push(`clone ${g.clone} marked with two clone ids (${known}, ${id}) at ${short(c)}`);
  for (const [other, otherId] of cloneIds) if (other !== g.clone && otherId === id) v.push(`clones ${other} and ${g.clone} share the clone id ${id} at ${short(c)}`);
  cloneIds.set(g.clone, id);
}

/**
 * A stamp goes out only onto a running mark: a runner's onto its own clone's
 * mark of that turn (never after someone else's mark or a takeover), a
 * takeover onto whoever's mark, a stamp by hand only after a fail.
 */
export function checkFenced(c: HistoryCommit, last: LastSync | null, cloneOf: (author: string) => string, v: string[]): void {
  const before = last ? `${last.author}'s "${last.subject}"` : "nothing";
  if (GEN_RE.test(c.author)) {
    if (last?.kind !== "running" || cloneOf(last.author) !== cloneOf(c.author)) v.push(`stamp by ${c.author} (clone ${cloneOf(c.author)}) pushed onto ${before}, not onto its own clone's running mark, at ${short(c)}`);
  } else if (c.author === "takeover") {
    if (last?.kind !== "running") v.push(`takeover stamp onto ${before} (no running turn) at ${short(c)}`);
    if (!c.trailers.takeover) v.push(`takeover stamp without an Orch-Takeover trailer at ${short(c)}`);
  }
}

/** A SYNC commit's state file agrees with its subject and with the walk. */
export function checkStateMatches(
  c: HistoryCommit,
  p: NonNullable<ReturnType<typeof parseSubject>>,
  walk: { iter: number; expected: Actor; phase: string },
  v: string[],
): void {
  if (c.state === null) return;
  let s: ReturnType<typeof parseState>;
  try {
    s = parseState(c.state, "state");
  } catch {
    return; // reported above
  }
  const wantStatus: Record<string, string> = {
    idle: "idle",
    running: `running-${p.actor}`,
    waiting: "waiting-ralph",
    complete: "complete",
    failed: "failed",
  };
  const problems: string[] = [];
  if (s.iteration !== walk.iter) problems.push(`iteration ${s.iteration} (want ${walk.iter})`);
  if (s.expected_actor !== walk.expected) problems.push(`expected_actor ${s.expected_actor} (want ${walk.expected})`);
  if (s.status !== wantStatus[walk.phase]) problems.push(`status ${s.status} (want ${wantStatus[walk.phase]})`);
  if ((p.kind === "ok" || p.kind === "fail") && p.sha && s[`${p.actor}_commit`] !== p.sha) problems.push(`${p.actor}_commit ${s[`${p.actor}_commit`]} (subject says ${p.sha})`);
  if (problems.length) v.push(`state file disagrees with its subject at ${short(c)}: ${problems.join(", ")}`);
}
