/**
 * Invariants of a soak, checked from the remote's history alone plus the soak's
 * own record of which runner generation each fault hit and how it exited.
 * Authors identify who made a commit: `galph-g3` (runner generation 3 of the
 * supervisor), `ralph-g1`, `human` (orch stamp by hand), `takeover` (orch
 * takeover by hand), `third` (unrelated pushes). Fencing (SPEC §13): a turn is
 * marked again only from the clone that marked it (a crashed run of its own),
 * every mark names its runner, and a stamp goes out only onto its own clone's mark.
 */
import { parseState, parseSubject, serializeState, type Actor } from "../../src/core/state.ts";
import type { History } from "./history.ts";
import { checkFenced, checkRunner, checkStateMatches, GEN_RE, short, type LastSync } from "./check-commits.ts";

/** Faults that may legitimately cut a runner's turn short. */
export type InterruptingFault = "kill9" | "sigterm" | "stale-rebase" | "agent-fail" | "split-brain";

export interface GenInfo {
  author: string;
  actor: Actor;
  gen: number;
  /** The clone it ran in (the actor's own is named after it). */
  clone: string;
  /** A split-brain runner on another clone. */
  extra: boolean;
  /** The orch process's pid (its running marks name it). */
  pid: number;
  /** Stamps of an earlier run it found unpushed and published at start (`galph i=3 ok`): they go out without a shipped log. */
  publishedStamps: string[];
  /** Its warning that the remote refuses refs/orch/* pushes (the soak's remote never does), if it said so. */
  sideOff: string | null;
  hitBy: InterruptingFault[];
  /** Exit codes the gen's agents were told to fail with (a claimed agent-fail fault). */
  agentFailCodes: number[];
  /** null while still running (the soak aborted). */
  exit: { code: number | null; signal: string | null } | null;
  /** The actor had no turns left when this gen exited. */
  doneAtExit: boolean;
  stderrTail: string;
}

export interface CheckInput {
  history: History;
  target: number;
  gens: GenInfo[];
  stateRel: string;
}

export interface CheckStats {
  turnsCompleted: number;
  runs: number;
  /** Runs beyond the first of a turn (each justified by a fault). */
  reruns: number;
  humanStamps: number;
  failStamps: number;
  /** Running marks beyond the first of a turn. */
  remarks: number;
  syncCommits: number;
  commits: number;
  /** ok/fail stamps whose <actor>_commit is not their parent on the remote (the stamp was rebased before its push). */
  stampsNamingRebasedCommit: number;
  /** Fail stamps by `orch takeover`. */
  takeovers: number;
}

export interface CheckResult {
  violations: string[];
  stats: CheckStats;
}

interface Run {
  actor: Actor;
  iteration: number;
  attempt: number;
  gen: number;
  author: string;
  index: number;
  line: string;
}
interface Mark {
  author: string;
  index: number;
}
interface Turn {
  marks: Mark[];
  runs: Run[];
  oks: Mark[];
  fails: Mark[];
}

const RUN_RE = /^soak run (actor=(galph|ralph) iteration=(-?\d+) attempt=(\d+) gen=(\d+))$/;

export function checkSoak(input: CheckInput): CheckResult {
  const { history, target, stateRel } = input;
  const v: string[] = [];
  const gens = new Map(input.gens.map((g) => [g.author, g]));
  const turns = new Map<string, Turn>();
  const turn = (a: Actor, i: number): Turn => {
    const key = `${a}:${i}`;
    let t = turns.get(key);
    if (!t) turns.set(key, (t = { marks: [], runs: [], oks: [], fails: [] }));
    return t;
  };
  const stats: CheckStats = { turnsCompleted: 0, runs: 0, reruns: 0, humanStamps: 0, failStamps: 0, remarks: 0, syncCommits: 0, commits: history.commits.length, stampsNamingRebasedCommit: 0, takeovers: 0 };
  const cloneOf = (author: string) => gens.get(author)?.clone ?? author;
  const cloneIds = new Map<string, string>();

  // ---- walk the state machine over the SYNC subjects --------------------------
  let initSeen = false;
  let iter = 1;
  let expected: Actor = "galph";
  type Phase = "idle" | "running" | "failed" | "waiting" | "complete";
  let phase = "idle" as Phase;
  const runLines: Record<Actor, string[]> = { galph: [], ralph: [] };
  let lastSync: LastSync | null = null;
  let lastMark: Mark | null = null;

  history.commits.forEach((c, index) => {
    // State bytes valid at every commit (absent only before the init).
    if (c.state === null) {
      if (initSeen) v.push(`state file ${stateRel} missing at ${short(c)}`);
    } else {
      try {
        const parsed = parseState(c.state, stateRel);
        if (serializeState(parsed) !== c.state) v.push(`state file bytes are not in the canonical form at ${short(c)}: ${JSON.stringify(c.state)}`);
      } catch (e) {
        v.push(`state file invalid at ${short(c)}: ${(e as Error).message}`);
      }
      if (/[^\x00-\x7f]/.test(c.state)) v.push(`state file has non-ASCII bytes at ${short(c)}`);
    }

    if (c.subject.startsWith("[SYNC")) {
      stats.syncCommits++;
      const p = parseSubject(c.subject);
      if (!p) return void v.push(`unparseable SYNC subject at ${short(c)}`);
      if (c.parents.length !== 1) v.push(`SYNC commit with ${c.parents.length} parents at ${short(c)}`);
      if (c.files.length !== 1 || c.files[0] !== stateRel) v.push(`SYNC commit changes ${JSON.stringify(c.files)}, not only ${stateRel}, at ${short(c)}`);
      const bad = (why: string) => v.push(`invalid walk at ${short(c)}: ${why} (state before: iteration=${iter} expected=${expected} phase=${phase})`);
      if (p.kind === "init") {
        if (initSeen) bad("second init");
        initSeen = true;
      } else if (!initSeen) {
        bad("stamp before the init");
        initSeen = true;
      }
      switch (p.kind) {
        case "init":
          break;
        case "running":
          if (p.actor !== expected || p.iteration !== iter) bad(`${p.actor} marked running at i=${p.iteration}`);
          if (phase === "running") {
            stats.remarks++;
            if (lastMark && cloneOf(lastMark.author) !== cloneOf(c.author)) bad(`marked again by ${c.author} on clone ${cloneOf(c.author)} while ${lastMark.author} on clone ${cloneOf(lastMark.author)} held the turn (split brain)`);
          }
          phase = "running";
          checkRunner(c, gens.get(c.author), cloneIds, v);
          lastMark = { author: c.author, index };
          turn(p.actor, p.iteration ?? -1).marks.push({ author: c.author, index });
          break;
        case "ok": {
          const turnIter = p.actor === "ralph" ? (p.iteration ?? 0) - 1 : (p.iteration ?? -1);
          if (p.actor !== expected || turnIter !== iter) bad(`${p.actor} ok stamped i=${p.iteration}`);
          if (phase !== "running" && phase !== "failed") bad(`${p.actor} ok without a running mark or a fail before it`);
          if (c.author === "human") stats.humanStamps++;
          turn(p.actor, turnIter).oks.push({ author: c.author, index });
          if (p.actor === "galph") {
            expected = "ralph";
            phase = "waiting";
          } else {
            iter = turnIter + 1;
            expected = "galph";
            phase = "complete";
          }
          break;
        }
        case "fail":
          if (p.actor !== expected || p.iteration !== iter) bad(`${p.actor} fail stamped i=${p.iteration}`);
          if (phase !== "running") bad(`${p.actor} fail without a running mark`);
          stats.failStamps++;
          turn(p.actor, p.iteration ?? -1).fails.push({ author: c.author, index });
          phase = "failed";
          break;
      }
      if ((p.kind === "ok" || p.kind === "fail") && p.sha && !history.commits[index - 1]?.sha.startsWith(p.sha)) stats.stampsNamingRebasedCommit++;
      if (p.kind === "ok" || p.kind === "fail") checkFenced(c, lastSync, cloneOf, v);
      if (c.author === "takeover") stats.takeovers++;
      lastSync = { kind: p.kind, author: c.author, subject: c.subject };
      checkStateMatches(c, p, { iter, expected, phase }, v);
      return;
    }

    if (initSeen && c.files.includes(stateRel)) v.push(`non-SYNC commit changes ${stateRel} at ${short(c)}`);
    const m = RUN_RE.exec(c.subject);
    if (m) {
      const run: Run = { actor: m[2] as Actor, iteration: Number(m[3]), attempt: Number(m[4]), gen: Number(m[5]), author: c.author, index, line: m[1]! };
      stats.runs++;
      runLines[run.actor].push(run.line);
      if (c.author !== `${run.actor}-g${run.gen}`) v.push(`run commit authored by ${c.author}, but its line names gen ${run.gen} at ${short(c)}`);
      if (c.files.length !== 1 || c.files[0] !== `runs/${run.actor}.txt`) v.push(`run commit changes ${JSON.stringify(c.files)} at ${short(c)}`);
      if (phase !== "running" || expected !== run.actor || iter !== run.iteration) {
        v.push(`run outside its turn at ${short(c)}: the branch was at iteration=${iter} expected=${expected} phase=${phase}`);
      }
      turn(run.actor, run.iteration).runs.push(run);
    }
  });

  // The final run files hold exactly the committed lines, in order.
  for (const actor of ["galph", "ralph"] as const) {
    const text = history.finalFiles[`runs/${actor}.txt`] ?? "";
    const lines = text.split("\n").filter(Boolean);
    if (lines.join("\n") !== runLines[actor].join("\n")) v.push(`runs/${actor}.txt does not match its run commits (${lines.length} lines, ${runLines[actor].length} commits)`);
  }

  if (!initSeen) v.push("no [SYNC init] commit on the remote");
  if (iter !== target + 1 || expected !== "galph" || phase !== "complete") {
    v.push(`final state: iteration=${iter} expected=${expected} phase=${phase}; wanted iteration=${target + 1} after ${target} completed iterations`);
  }

  // ---- per-turn accounting ----------------------------------------------------
  for (let i = 1; i <= target; i++) for (const a of ["galph", "ralph"] as const) turn(a, i);
  for (const [key, t] of turns) {
    const [actor, iStr] = key.split(":") as [Actor, string];
    const i = Number(iStr);
    const where = `turn ${actor} i=${i}`;
    if (i < 1 || i > target) {
      v.push(`${where} is outside 1..${target} (${t.marks.length} marks, ${t.runs.length} runs)`);
      continue;
    }
    if (t.oks.length !== 1) {
      v.push(`${where} has ${t.oks.length} ok stamps (want exactly 1)`);
      if (t.oks.length === 0) continue;
    }
    stats.turnsCompleted++;
    const ok = t.oks[0]!;
    for (const r of t.runs) if (r.index > ok.index) v.push(`${where} ran again after its ok stamp (attempt ${r.attempt}, ${r.author})`);
    for (const m of t.marks) if (m.index > ok.index) v.push(`${where} marked running again after its ok stamp (${m.author})`);
    t.runs.forEach((r, n) => {
      if (r.attempt !== n + 1) v.push(`${where}: run ${n + 1} says attempt=${r.attempt}`);
    });
    const perAuthor = (list: { author: string }[]) => list.reduce((m, x) => m.set(x.author, (m.get(x.author) ?? 0) + 1), new Map<string, number>());
    for (const [author, n] of perAuthor(t.runs)) if (n > 1) v.push(`${where} ran ${n} times in one runner (${author})`);
    for (const [author, n] of perAuthor(t.marks)) if (n > 1) v.push(`${where} marked running ${n} times by one runner (${author})`);

    // Which run the ok stamp completes: the stamping runner's own, or (by hand) the failed run before it.
    let completing: string | null = null;
    if (ok.author === "human") {
      const lastFail = [...t.fails].reverse().find((f) => f.index < ok.index);
      if (!lastFail) v.push(`${where}: stamped ok by hand without a failed run before it`);
      else completing = lastFail.author;
    } else if (GEN_RE.test(ok.author)) {
      completing = ok.author;
    } else v.push(`${where}: ok stamped by unexpected author ${ok.author}`);
    if (completing) {
      const own = t.runs.filter((r) => r.author === completing && r.index < ok.index);
      if (own.length !== 1) v.push(`${where}: ok stamp follows ${own.length} completed runs of ${completing} (want exactly 1)`);
    }
    // Every other run, mark or fail belongs to a runner a fault hit before it could stamp ok.
    const justify = (author: string, what: string) => {
      const g = gens.get(author);
      if (!g) return void v.push(`${where}: ${what} by ${author}, which the soak never started`);
      if (g.hitBy.length === 0) v.push(`${where}: ${what} by ${author}, but no fault hit that runner (turn repeated without cause)`);
    };
    for (const r of t.runs) {
      if (r.author === completing) continue;
      stats.reruns++;
      justify(r.author, `extra run (attempt ${r.attempt})`);
    }
    for (const m of t.marks) if (m.author !== completing) justify(m.author, "abandoned running mark");
    for (const f of t.fails) {
      if (f.author === "takeover") continue; // a person's override (checkFenced: only onto a running mark)
      const g = gens.get(f.author);
      if (!g || !g.hitBy.some((k) => k === "agent-fail" || k === "sigterm")) v.push(`${where}: fail stamp by ${f.author} without an injected agent failure`);
    }
  }

  // ---- exit codes -------------------------------------------------------------
  for (const g of input.gens) {
    if (!g.exit) {
      v.push(`${g.author} was still running at the end`);
      continue;
    }
    const allowed = new Set<string>();
    if (g.hitBy.includes("kill9") || g.hitBy.includes("stale-rebase")) allowed.add("SIGKILL");
    if (g.hitBy.includes("sigterm")) allowed.add("143");
    // Two runners of one actor: a lost heartbeat lease or a fenced stamp ends one (exit 7); the extra one is stopped by SIGTERM.
    if (g.hitBy.includes("split-brain")) allowed.add("7");
    if (g.extra) for (const code of ["0", "7", "143"]) allowed.add(code);
    for (const code of g.agentFailCodes) allowed.add(String(code));
    if (g.doneAtExit) allowed.add("0");
    const actual = g.exit.signal ?? String(g.exit.code);
    if (!allowed.has(actual)) {
      v.push(`${g.author} exited ${actual}; the faults it met allow ${[...allowed].join(" or ") || "nothing (it should still be running)"}${g.stderrTail ? `; its stderr ends: ${g.stderrTail.trim().split("\n").slice(-3).join(" | ")}` : ""}`);
    }
  }
  return { violations: v, stats };
}
