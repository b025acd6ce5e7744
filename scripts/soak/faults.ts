/**
 * The fault plan (drawn from the seeded RNG up front) and the injector that
 * applies it, one fault at a time, at the planned moments of the run: each fault
 * waits for the remote to reach its trigger point (a count of [SYNC commits), then
 * a random delay, then strikes; the next one waits until the soak made progress.
 */
import { existsSync, mkdirSync, openSync, closeSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tryLock } from "../../src/core/lock.ts";
import type { Actor } from "../../src/core/state.ts";
import type { Rng } from "./rng.ts";
import type { Runners } from "./runners.ts";
import type { Monitor } from "./monitor.ts";
import type { SoakWorld } from "./world.ts";
import { emptySplitBrainStats, secondRunner, splitBrain, type FaultContext } from "./runner-faults.ts";

export const FAULT_KINDS = ["kill9", "sigterm", "outage", "index-lock", "repo-lock", "agent-fail", "third-push", "stale-rebase", "split-brain", "second-runner"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface Fault {
  id: number;
  kind: FaultKind;
  target: Actor;
  /** Strike once the remote holds this many [SYNC commits… */
  trigger: number;
  /** …plus this delay. */
  delayMs: number;
  /** Outage / lock hold length. */
  durationMs: number;
  /** agent-fail: the agent's exit code. */
  code: number;
  /** agent-fail: how the human recovers. */
  recovery: "rerun" | "stamp";
  /** stale-rebase: leave an empty directory (a crash right after mkdir) or a plausible one. */
  emptyRebaseDir: boolean;
  /**
   * Kills, SIGTERM and outages: strike at any moment, while the target's agent runs,
   * or just after it exited (while orch commits hygiene, stamps and pushes).
   */
  moment: "any" | "agent" | "after-agent";
  /** split-brain: the extra runner runs for a number of its own turns, or for durationMs. */
  splitMode: "turns" | "seconds";
  splitTurns: number;
  /** split-brain: stop it whenever, or while it holds a turn (its agent running) if it gets one. */
  splitStop: "any" | "holding";
}

export interface FaultRecord {
  id: number;
  kind: FaultKind;
  target: Actor | null;
  /** ms since the soak started. */
  at: number;
  /** The fault actually happened (a kill of a finished runner, an unclaimed failure do not). */
  injected: boolean;
  /** ms from the end of the fault until the remote moved again. */
  recoveryMs: number | null;
  note: string;
  moment: string;
}

/** Agent exit codes that mean nothing else to orch (SPEC §10 reserves 0–5, 124, 128+). */
const AGENT_CODES = [7, 9, 42, 77, 99];

export function planFaults(rng: Rng, count: number, iterations: number, quick: boolean, only: readonly FaultKind[] = FAULT_KINDS): Fault[] {
  const kinds: FaultKind[] = [];
  while (kinds.length < count) kinds.push(...rng.shuffle([...only]));
  kinds.length = count;
  rng.shuffle(kinds);
  // About four [SYNC commits per iteration; strike within the first 80% so every fault lands
  // (a split brain within the first 60%: it needs turns left to run and to recover from).
  const last = Math.max(4, Math.floor(iterations * 4 * 0.8));
  const lastSplit = Math.max(4, Math.floor(iterations * 4 * 0.6));
  const triggers = kinds.map((k) => rng.int(3, k === "split-brain" ? lastSplit : last));
  const scale = quick ? 0.35 : 1;
  const duration = (kind: FaultKind) => {
    if (kind === "outage") return rng.int(1000, 5000);
    if (kind === "repo-lock") return rng.int(800, 4000);
    if (kind === "split-brain") return rng.int(2000, 8000);
    return rng.int(500, 3000);
  };
  const planned: Fault[] = kinds.map((kind, i) => ({
    id: 0,
    kind,
    target: rng.pick(["galph", "ralph"] as const),
    trigger: triggers[i]!,
    delayMs: rng.int(0, 400),
    durationMs: Math.round(scale * duration(kind)),
    code: rng.pick(AGENT_CODES),
    recovery: rng.chance(0.5) ? "stamp" : "rerun",
    emptyRebaseDir: rng.chance(0.5),
    moment: rng.pick(["any", "agent", "after-agent"] as const),
    splitMode: rng.pick(["turns", "seconds"] as const),
    splitTurns: rng.int(1, 3),
    splitStop: rng.pick(["any", "holding"] as const),
  }));
  // Struck in trigger order, numbered in that order.
  return planned.sort((a, b) => a.trigger - b.trigger).map((f, i) => ({ ...f, id: i + 1 }));
}

const other = (a: Actor): Actor => (a === "galph" ? "ralph" : "galph");

export class Injector {
  readonly records: FaultRecord[] = [];
  /** Largest delay between the remote coming back and the next [SYNC commit. */
  maxRecoveryAfterOutageMs = 0;
  private stopped = false;
  failure: string | null = null;
  /** Broken promises only a fault can see (a second runner that did not exit 7 …). */
  readonly violations: string[] = [];
  readonly splitBrain = emptySplitBrainStats();
  private readonly ctx: FaultContext;

  constructor(
    private readonly world: SoakWorld,
    private readonly runners: Runners,
    private readonly monitor: Monitor,
    private readonly t0: number,
    private readonly log: (line: string) => void,
    orchBin: string,
  ) {
    this.ctx = { world, runners, orchBin, log, violations: this.violations, until: (cond, ms) => this.until(cond, ms) };
  }

  stop(): void {
    this.stopped = true;
  }

  async run(plan: Fault[], finished: () => boolean): Promise<void> {
    for (const fault of plan) {
      if (!(await this.until(() => this.monitor.syncCount >= fault.trigger || finished(), 600_000))) return;
      if (finished() || this.stopped) return;
      if (!(await this.until(() => this.runners.settled() || finished(), 120_000))) {
        this.failure = `runners did not settle before fault #${fault.id} (${fault.kind})`;
        return;
      }
      const moment = await this.waitForMoment(fault, finished);
      if (finished() || this.stopped) return;
      const record: FaultRecord = { id: fault.id, kind: fault.kind, target: null, at: Date.now() - this.t0, injected: false, recoveryMs: null, note: "", moment };
      this.records.push(record);
      const before = this.monitor.syncCount;
      await this.apply(fault, record);
      const ended = Date.now();
      this.log(`fault #${fault.id} ${fault.kind}${record.target ? ` → ${record.target}` : ""} at ${moment}: ${record.injected ? "injected" : "skipped"}${record.note ? ` (${record.note})` : ""}`);
      if (!record.injected) continue;
      const progressed = await this.until(() => (this.monitor.syncCount > Math.max(before, this.monitor.countAt(ended)) && this.runners.settled()) || finished(), 120_000);
      if (!progressed) {
        this.failure = `no progress within 120s after fault #${fault.id} (${fault.kind} → ${record.target})`;
        return;
      }
      if (!finished()) {
        record.recoveryMs = Math.max(0, this.monitor.firstChangeAfter(ended) - ended);
        if (fault.kind === "outage") this.maxRecoveryAfterOutageMs = Math.max(this.maxRecoveryAfterOutageMs, record.recoveryMs);
      }
    }
  }

  private async until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (this.stopped || Date.now() > deadline) return cond();
      await Bun.sleep(20);
    }
    return true;
  }

  /**
   * Reach the fault's moment: after its random delay, or a few ms into the target's
   * agent run, or a few ms after the agent exited. Falls back to "any" when the
   * moment does not come within 20s. Returns the moment reached.
   */
  private async waitForMoment(fault: Fault, finished: () => boolean): Promise<string> {
    const timed = ["kill9", "sigterm", "stale-rebase", "outage", "split-brain"].includes(fault.kind);
    if (!timed || fault.moment === "any" || !this.runners.alive(fault.target)) {
      await Bun.sleep(fault.delayMs);
      return "any";
    }
    const pidFile = join(this.world.control, `${fault.target}.agent.pid`);
    if (!(await this.until(() => existsSync(pidFile) || finished(), 20_000)) || finished()) return "any";
    if (fault.moment === "agent") {
      await Bun.sleep(fault.delayMs % 100);
      return "agent";
    }
    if (!(await this.until(() => !existsSync(pidFile) || finished(), 20_000))) return "any";
    await Bun.sleep(fault.delayMs % 80);
    return "after-agent";
  }

  /** The planned target if its runner is up, else the other one, else none. */
  private liveTarget(fault: Fault): Actor | null {
    for (const a of [fault.target, other(fault.target)]) if (this.runners.alive(a)) return a;
    return null;
  }

  private async apply(fault: Fault, rec: FaultRecord): Promise<void> {
    switch (fault.kind) {
      case "kill9":
      case "stale-rebase":
      case "sigterm": {
        const actor = this.liveTarget(fault);
        if (!actor) return void (rec.note = "no runner alive");
        rec.target = actor;
        const g = this.runners.alive(actor)!;
        if (fault.kind === "stale-rebase") this.runners.hold(actor);
        try {
          g.hitBy.push(fault.kind);
          if (fault.kind === "sigterm") {
            g.proc.kill("SIGTERM");
          } else {
            g.proc.kill("SIGKILL");
            this.runners.killAgent(g.clone, "SIGTERM");
          }
          rec.injected = true;
          const exited = await Promise.race([g.proc.exited.then(() => true), Bun.sleep(60_000).then(() => false)]);
          if (!exited) rec.note = `${g.author} still alive 60s after ${fault.kind}`;
          if (fault.kind === "stale-rebase") {
            await this.until(() => g.exit !== null && !this.runners.recovering[actor], 30_000); // orphans finished
            rec.note = this.leaveStaleRebase(actor, fault.emptyRebaseDir);
          }
        } finally {
          if (fault.kind === "stale-rebase") this.runners.release(actor);
        }
        return;
      }
      case "outage":
        this.world.moveRemoteAway();
        rec.injected = true;
        rec.note = `${fault.durationMs}ms`;
        await Bun.sleep(fault.durationMs);
        this.world.bringRemoteBack();
        return;
      case "index-lock": {
        rec.target = fault.target;
        const lock = join(this.world.gitDir(fault.target), "index.lock");
        const deadline = Date.now() + 5000;
        for (;;) {
          try {
            closeSync(openSync(lock, "wx"));
            break;
          } catch {
            if (Date.now() > deadline) return void (rec.note = "index.lock stayed busy");
            await Bun.sleep(5);
          }
        }
        rec.injected = true;
        rec.note = `${fault.durationMs}ms`;
        await Bun.sleep(fault.durationMs);
        unlinkSync(lock);
        return;
      }
      case "repo-lock": {
        rec.target = fault.target;
        const path = join(this.world.gitDir(fault.target), "orchestrator.lock");
        const deadline = Date.now() + 20_000;
        let held = tryLock(path);
        while (!held && Date.now() < deadline) {
          await Bun.sleep(5);
          held = tryLock(path);
        }
        if (!held) return void (rec.note = "could not take the repository lock");
        rec.injected = true;
        rec.note = `${fault.durationMs}ms`;
        await Bun.sleep(fault.durationMs);
        held.release();
        return;
      }
      case "agent-fail": {
        const actor = this.liveTarget(fault);
        if (!actor) return void (rec.note = "no runner alive");
        rec.target = actor;
        const file = join(this.world.control, `${actor}.fail`);
        writeFileSync(file + ".tmp", JSON.stringify({ code: fault.code, id: fault.id }));
        renameSync(file + ".tmp", file);
        const claimed = () => this.world.readEvents().some((e) => e.type === "agent-fail" && Number(e.id) === fault.id);
        const ok = await this.until(() => claimed() || !existsSync(file) || this.runners.done[actor], 120_000);
        if (ok && (claimed() || (await this.until(claimed, 5000)))) {
          rec.injected = true;
          rec.note = `exit ${fault.code}, recovery: ${fault.recovery === "stamp" ? "orch stamp ok" : "rerun"}`;
          // The runner stamps fail and exits; wait until it has been recovered and relaunched.
          await this.until(() => this.runners.current[actor]?.exit !== null, 60_000);
        } else {
          try {
            unlinkSync(file);
          } catch {}
          rec.note = "no run claimed it";
        }
        return;
      }
      case "third-push":
        rec.note = this.thirdPush(fault.id);
        rec.injected = rec.note.startsWith("pushed");
        return;
      case "split-brain":
      case "second-runner": {
        // A split brain needs turns left to run and to recover from: the other actor when the target is nearly done.
        const roomy = [fault.target, other(fault.target)].find((a) => this.runners.alive(a) && this.runners.remaining(a) >= 2);
        const actor = fault.kind === "split-brain" ? (roomy ?? this.liveTarget(fault)) : this.liveTarget(fault);
        if (!actor) return void (rec.note = "no runner alive");
        if (fault.kind === "split-brain") return splitBrain(this.ctx, fault, rec, actor, this.splitBrain);
        return secondRunner(this.ctx, fault, rec, this.runners.alive(actor)!, this.splitBrain);
      }
    }
  }

  /** Someone else pushes an unrelated commit to the shared branch. */
  private thirdPush(id: number): string {
    const dir = this.world.clones.third;
    for (let attempt = 1; attempt <= 5; attempt++) {
      const pull = this.world.git(dir, ["pull", "-q", "--rebase", "origin", this.world.branch], "third");
      if (pull.code !== 0) continue;
      mkdirSync(join(dir, "third"), { recursive: true });
      writeFileSync(join(dir, "third", `note-${id}.txt`), `unrelated change ${id}\n`);
      this.world.gitOk(dir, ["add", "third"], "third");
      if (this.world.git(dir, ["diff", "--cached", "--quiet"], "third").code !== 0) this.world.gitOk(dir, ["commit", "-q", "-m", `third: unrelated change ${id}`], "third");
      const push = this.world.git(dir, ["push", "-q", "origin", `HEAD:refs/heads/${this.world.branch}`], "third");
      if (push.code === 0) return `pushed (attempt ${attempt})`;
    }
    return "third clone could not push";
  }

  /** What a crash in the middle of `git rebase` leaves behind. */
  private leaveStaleRebase(actor: Actor, empty: boolean): string {
    const gitDir = this.world.gitDir(actor);
    const dir = join(gitDir, "rebase-merge");
    if (existsSync(dir) || existsSync(join(gitDir, "rebase-apply"))) return "a rebase directory was already there";
    mkdirSync(dir);
    // orch records each rebase it starts (so it never aborts one the user started): a crash leaves the record.
    writeFileSync(join(gitDir, "orch-rebase"), `${this.world.branch}\n`);
    if (empty) return "left an empty .git/rebase-merge";
    const head = this.world.gitOk(this.world.clones[actor], ["rev-parse", "HEAD"]).trim();
    writeFileSync(join(dir, "head-name"), `refs/heads/${this.world.branch}\n`);
    writeFileSync(join(dir, "onto"), `${head}\n`);
    writeFileSync(join(dir, "orig-head"), `${head}\n`);
    writeFileSync(join(dir, "interactive"), "");
    writeFileSync(join(dir, "git-rebase-todo"), "");
    writeFileSync(join(dir, "end"), "0\n");
    writeFileSync(join(dir, "msgnum"), "0\n");
    return "left .git/rebase-merge of an interrupted rebase";
  }
}
