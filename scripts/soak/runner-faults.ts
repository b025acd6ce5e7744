/**
 * Faults that start more runners of an actor than it should have (SPEC §13):
 *
 * - split-brain: the same actor started on another machine (a fresh clone of
 *   the remote, its own orch process) for a few turns or seconds, then stopped
 *   with SIGTERM. It may wait (naming the holder), exit 7 (a lost heartbeat
 *   lease, a fenced stamp) or win marks and run turns: all legitimate, as long
 *   as each turn is run once and the history stays valid (check.ts). When it
 *   was stopped holding a turn, a person runs `orch takeover <actor>`; when it
 *   ran turns, the actor's own runner is restarted so that it recounts the
 *   turns it still owes (the soak's bookkeeping, not orch's).
 * - second-runner: the same actor started again in the same clone while the
 *   first one's agent runs: it must exit 7 at once naming the first's pid, and
 *   leave the first and its agent alone.
 *
 * What only these faults can see (exit codes, stderr, the agent untouched) is
 * reported here as violations; the history's invariants are check.ts's.
 */
import { existsSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Actor } from "../../src/core/state.ts";
import type { Fault, FaultRecord } from "./faults.ts";
import { tail, type Gen, type Runners } from "./runners.ts";
import { sh, type SoakWorld } from "./world.ts";

export interface FaultContext {
  world: SoakWorld;
  runners: Runners;
  orchBin: string;
  log: (line: string) => void;
  violations: string[];
  until: (cond: () => boolean, timeoutMs: number) => Promise<boolean>;
}

/** How each split brain ended, for the figures. */
export interface SplitBrainStats {
  waited: number;
  fenced: number;
  tookTurns: number;
  turnsTaken: number;
  takeovers: number;
  restartsToRecount: number;
  secondRunnersRefused: number;
  /** Slowest refusal of a second runner in one clone (ms from spawn to exit). */
  maxSecondRunnerMs: number;
}

export const emptySplitBrainStats = (): SplitBrainStats => ({ waited: 0, fenced: 0, tookTurns: 0, turnsTaken: 0, takeovers: 0, restartsToRecount: 0, secondRunnersRefused: 0, maxSecondRunnerMs: 0 });

const COMMAND: Record<Actor, string> = { galph: "supervisor", ralph: "loop" };
const SIGNAL_EXITS = new Set([129, 130, 137, 143]);

function isFakeAgent(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("fake-agent");
  } catch {
    return false;
  }
}

/** The remote's newest [SYNC commit: author and subject. */
function lastSync(world: SoakWorld): { author: string; subject: string } | null {
  const r = world.git(world.remotePath(), ["log", "-1", "--fixed-strings", "--grep=[SYNC ", "--format=%an%x1f%s", `refs/heads/${world.branch}`]);
  if (r.code !== 0 || !r.stdout.trim()) return null;
  const [author, subject] = r.stdout.trim().split("\x1f") as [string, string];
  return { author, subject };
}

/** ok stamps on the remote authored by `author`. */
function okStampsBy(world: SoakWorld, author: string): number {
  const r = world.git(world.remotePath(), ["log", "--fixed-strings", "--grep=status=ok", "--format=%an", `refs/heads/${world.branch}`]);
  return r.stdout.split("\n").filter((a) => a === author).length;
}

export async function splitBrain(ctx: FaultContext, fault: Fault, rec: FaultRecord, actor: Actor, stats: SplitBrainStats): Promise<void> {
  const { world, runners, log } = ctx;
  const remaining = runners.remaining(actor);
  // The extra runner must never be the one left at the end with turns to run that no longer exist.
  if (remaining < 2) return void (rec.note = `${actor} has ${remaining} turn(s) left`);
  rec.target = actor;
  const clone = `extra-${fault.id}`;
  const dir = world.addClone(clone);
  runners.affecting[actor] = "split-brain";
  const main = runners.alive(actor);
  if (main && !main.hitBy.includes("split-brain")) main.hitBy.push("split-brain");
  const loops = fault.splitMode === "turns" ? Math.min(fault.splitTurns, remaining - 1) : remaining - 1;
  const { gen: extra, exited } = runners.launchExtra(actor, clone, dir, loops);
  rec.injected = true;
  let done = false;
  void exited.then(() => (done = true));
  // Turns mode: until it ran its turns (or 4x the time); seconds mode: for durationMs. Never near the end.
  const limit = Date.now() + (fault.splitMode === "turns" ? 4 : 1) * fault.durationMs;
  const nearEnd = () => runners.remaining(actor) <= 1;
  await ctx.until(() => done || Date.now() > limit || nearEnd(), 120_000);
  if (fault.splitStop === "holding" && !done && !nearEnd()) {
    // Stop it in the middle of a turn it holds, when it wins one soon: a person then takes the turn over.
    const agent = join(world.control, `${clone}.agent.pid`);
    if (await ctx.until(() => existsSync(agent) || done || nearEnd(), fault.durationMs)) await Bun.sleep(fault.delayMs % 60);
  }
  if (!done) extra.proc.kill("SIGTERM");
  const stopped = await Promise.race([exited.then(() => true), Bun.sleep(30_000).then(() => false)]);
  if (!stopped) {
    ctx.violations.push(`split-brain #${fault.id}: ${extra.author} on ${clone} still alive 30s after SIGTERM`);
    extra.proc.kill("SIGKILL");
    await exited;
  }
  runners.affecting[actor] = null;

  const out = `${tail(extra.stdoutPath, 400)}\n${tail(extra.stderrPath, 400)}`;
  const how = extra.exit?.signal ?? String(extra.exit?.code);
  const outcomes: string[] = [];
  // "ralph's turn i=5 is held by host-b (pid 4242) since 06:10Z": the pid must be a runner of this actor.
  const held = [...out.matchAll(/turn i=\d+ is held by \S+ \(pid (\d+)\)/g)].map((m) => Number(m[1]));
  if (held.length) {
    stats.waited++;
    outcomes.push(`waited, naming pid ${[...new Set(held)].join(", ")}`);
    const pids = new Set(runners.gens.filter((g) => g.actor === actor && g !== extra).map((g) => g.proc.pid));
    for (const pid of held) if (!pids.has(pid)) ctx.violations.push(`split-brain #${fault.id}: ${extra.author} said the turn is held by pid ${pid}, which is no runner of ${actor}`);
  }
  if (extra.exit?.code === 7) {
    stats.fenced++;
    outcomes.push("exited 7");
    if (!/another runner of \w+ is writing|taken over or stamped elsewhere/.test(out)) ctx.violations.push(`split-brain #${fault.id}: ${extra.author} exited 7 without saying why; its output ends: ${out.trim().split("\n").slice(-3).join(" | ")}`);
  }
  const took = okStampsBy(world, extra.author);
  if (took > 0) {
    stats.tookTurns++;
    stats.turnsTaken += took;
    outcomes.push(`ran ${took} turn(s)`);
  }
  if (!["0", "7", "143"].includes(how)) ctx.violations.push(`split-brain #${fault.id}: ${extra.author} exited ${how} (want 0, 7 or 143); its output ends: ${out.trim().split("\n").slice(-3).join(" | ")}`);

  // Stopped while holding a turn: the person who stopped it hands the turn back.
  const last = lastSync(world);
  if (last && last.author === extra.author && last.subject.endsWith(`actor=${actor} status=running`)) {
    const r = await takeover(ctx, actor);
    if (r) {
      stats.takeovers++;
      outcomes.push("taken over");
    }
  }
  // It ran turns the actor's own runner still counts as owed: restart that one (between turns if it can).
  const own = runners.alive(actor);
  if (took > 0 && own) {
    await ctx.until(() => !existsSync(join(world.control, `${actor}.agent.pid`)), 5000);
    if (own.exit === null) {
      own.hitBy.push("sigterm");
      own.proc.kill("SIGTERM");
      stats.restartsToRecount++;
      outcomes.push(`${own.author} restarted to recount`);
      await ctx.until(() => own.exit !== null && !runners.recovering[actor], 60_000);
    }
  }
  rec.note = `${extra.author} on ${clone} (${fault.splitMode === "turns" ? `${loops} turn(s)` : `${fault.durationMs}ms`}, stopped ${fault.splitStop === "holding" ? "holding a turn if it could" : "whenever"}) exited ${how}: ${outcomes.join(", ") || "did nothing"}`;
  log(`split-brain #${fault.id}: ${rec.note}`);
}

/** `orch takeover <actor>` by a person, from the third clone; true once the fail stamp is pushed. */
async function takeover(ctx: FaultContext, actor: Actor): Promise<boolean> {
  const { world } = ctx;
  for (let attempt = 1; attempt <= 5; attempt++) {
    const yes = attempt > 1 ? ["--yes"] : [];
    const r = sh([ctx.orchBin, "takeover", actor, ...yes], world.clones.third, world.env("takeover"));
    if (r.code === 0) {
      ctx.log(`human: orch takeover ${actor}${yes.length ? " --yes" : ""} (${r.stdout.trim()})`);
      return true;
    }
    ctx.log(`human: orch takeover ${actor} failed (exit ${r.code}): ${r.stderr.trim()}`);
    if (r.code === 2 && /is not running/.test(r.stderr)) return false; // the turn moved on meanwhile
    await Bun.sleep(500);
  }
  ctx.violations.push(`orch takeover ${actor} kept failing`);
  return false;
}

export async function secondRunner(ctx: FaultContext, fault: Fault, rec: FaultRecord, first: Gen, stats: SplitBrainStats): Promise<void> {
  const { world, runners } = ctx;
  const actor = first.actor;
  rec.target = actor;
  const hold = join(world.control, `${actor}.hold`);
  const held = join(world.control, `${actor}.held`);
  writeFileSync(hold, "");
  try {
    // Strike while the first runner's agent is surely alive: it waits on the hold file, and says so.
    if (!(await ctx.until(() => existsSync(held) || first.exit !== null || runners.done[actor], 30_000)) || first.exit !== null || !existsSync(held)) {
      return void (rec.note = "the first runner ran no agent");
    }
    const agentPid = Number(readFileSync(held, "utf8"));
    const author = `${actor}-second${fault.id}`;
    const started = Date.now();
    const argv = [ctx.orchBin, COMMAND[actor], "--sync-via-git", "--sync-loops", "1", "--poll-interval", "0.05"];
    const proc = Bun.spawn(argv, { cwd: world.clones[actor], env: world.env(author, { SOAK_GEN: "0", SOAK_CLONE: `${actor}-second` }), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const stdout = new Response(proc.stdout).text();
    const stderr = new Response(proc.stderr).text();
    const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(15_000).then(() => false)]);
    if (!exited) proc.kill("SIGKILL");
    await proc.exited;
    const ms = Date.now() - started;
    const err = await stderr;
    const out = await stdout;
    rec.injected = true;
    const bad = (why: string) => ctx.violations.push(`second-runner #${fault.id} (${actor}): ${why}`);
    if (!exited) bad(`the second runner was still running after 15s; stderr: ${err.trim()}`);
    else if (proc.exitCode !== 7) bad(`the second runner exited ${proc.signalCode ?? proc.exitCode}, not 7; stderr: ${err.trim()}`);
    if (!err.includes(`pid ${first.proc.pid}`)) bad(`the second runner's stderr does not name the first (pid ${first.proc.pid}): ${err.trim()}`);
    if (!isFakeAgent(agentPid)) bad(`the first runner's agent (pid ${agentPid}) is gone after the second runner started`);
    const firstExit = first.exit as Gen["exit"]; // set by the runners' loop meanwhile, if it exited
    if (firstExit !== null) bad(`the first runner ${first.author} exited ${firstExit.signal ?? firstExit.code} while the second one started`);
    if (/left running by a previous orch/.test(out + err)) bad(`the second runner claims to have stopped a leftover agent: ${(out + err).trim()}`);
    if (exited && proc.exitCode === 7) stats.secondRunnersRefused++;
    stats.maxSecondRunnerMs = Math.max(stats.maxSecondRunnerMs, ms);
    unlinkSync(hold);
    // The agent then finishes its work normally, and the first runner says nothing of a leftover.
    // Its own end: the first after its start (pids are reused over a long soak).
    const end = () => {
      const events = world.readEvents();
      const start = events.findLastIndex((e) => e.type === "start" && Number(e.pid) === agentPid);
      return events.slice(start + 1).find((e) => e.type === "end" && Number(e.pid) === agentPid);
    };
    await ctx.until(() => end() !== undefined || !isFakeAgent(agentPid), 30_000);
    const code = Number(end()?.code);
    if (SIGNAL_EXITS.has(code)) bad(`the first runner's agent (pid ${agentPid}) ended by a signal (exit ${code})`);
    const firstOut = `${tail(first.stdoutPath, 50)}\n${tail(first.stderrPath, 50)}`;
    if (/left running by a previous orch/.test(firstOut)) bad(`${first.author} reports a leftover agent after the second runner: ${firstOut.trim().split("\n").slice(-3).join(" | ")}`);
    rec.note = `exit ${proc.signalCode ?? proc.exitCode} after ${ms}ms; agent pid ${agentPid} ${Number.isNaN(code) ? "still running" : `ended ${code}`}`;
  } finally {
    if (existsSync(hold)) unlinkSync(hold);
  }
}
