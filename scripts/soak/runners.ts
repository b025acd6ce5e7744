/**
 * Keeps `orch supervisor` and `orch loop` running as real processes of the
 * compiled binary, one "generation" after another: whenever a runner exits
 * (killed, interrupted, failed), it is relaunched with the turns it still owes,
 * computed from the remote's state (and its own clone's, for a stamp not yet
 * pushed). Each generation commits as author `<actor>-g<n>`. A split-brain
 * fault starts an extra runner of an actor in another clone: it takes the next
 * generation number of that actor, and is never relaunched.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import type { Actor } from "../../src/core/state.ts";
import type { GenInfo, InterruptingFault } from "./check.ts";
import type { Rng } from "./rng.ts";
import { progressKey, remainingTurns, type SoakWorld } from "./world.ts";

export interface Gen {
  actor: Actor;
  gen: number;
  author: string;
  /** The clone's name: the actor's own (`galph`, `ralph`) or an extra machine's (`extra-7`). */
  clone: string;
  /** A split-brain runner on another clone (not kept going by the soak). */
  extra: boolean;
  proc: Subprocess;
  startedAt: number;
  endedAt: number | null;
  exit: { code: number | null; signal: string | null } | null;
  hitBy: InterruptingFault[];
  agentFailCodes: number[];
  loops: number;
  doneAtExit: boolean;
  stdoutPath: string;
  stderrPath: string;
  rssPeakKb: number;
}

export interface RunnerOptions {
  orchBin: string;
  target: number;
  pollInterval: number;
  maxWaitSec: number;
  /** How a claimed agent failure is recovered, by fault id. */
  recoveryFor: (faultId: number) => "rerun" | "stamp";
  log: (line: string) => void;
}

const COMMAND: Record<Actor, string> = { galph: "supervisor", ralph: "loop" };

export class Runners {
  readonly gens: Gen[] = [];
  readonly current: Record<Actor, Gen | null> = { galph: null, ralph: null };
  readonly done: Record<Actor, boolean> = { galph: false, ralph: false };
  readonly recovering: Record<Actor, boolean> = { galph: false, ralph: false };
  private readonly holds: Record<Actor, number> = { galph: 0, ralph: 0 };
  private readonly counters: Record<Actor, number> = { galph: 0, ralph: 0 };
  /** While set (a split brain of that actor), every runner of the actor started is marked hit by it. */
  readonly affecting: Record<Actor, InterruptingFault | null> = { galph: null, ralph: null };
  private stopped = false;
  humanStamps = 0;
  restarts = 0;
  rerunsAfterFailure = 0;
  /** Set when a runner keeps exiting in ways nothing explains; the soak stops. */
  fatal: string | null = null;
  private sampler: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly world: SoakWorld, private readonly rng: Rng, private readonly opts: RunnerOptions) {}

  /** Turns `actor` still owes: from the remote's state, or its clone's when that is ahead (an unpushed stamp). */
  remaining(actor: Actor): number {
    const remoteKey = progressKey(this.world.stateAt(this.world.remotePath(), `refs/heads/${this.world.branch}`));
    const localKey = progressKey(this.world.stateAt(this.world.clones[actor], "HEAD"));
    return remainingTurns(actor, Math.max(remoteKey, localKey), this.opts.target);
  }

  alive(actor: Actor): Gen | null {
    const g = this.current[actor];
    return g && g.exit === null ? g : null;
  }

  /** Both runners are up (or finished) and no recovery is under way. */
  settled(): boolean {
    return (["galph", "ralph"] as const).every((a) => this.done[a] || (this.alive(a) !== null && this.holds[a] === 0 && !this.recovering[a]));
  }

  hold(actor: Actor): void {
    this.holds[actor]++;
  }
  release(actor: Actor): void {
    this.holds[actor]--;
  }

  start(): Promise<void[]> {
    this.sampler = setInterval(() => this.sampleRss(), 100);
    return Promise.all([this.keep("galph"), this.keep("ralph")]);
  }

  /** Stop everything now (end of soak or abort): SIGKILL runners and their agents. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const g of this.gens) if (g.exit === null) g.proc.kill("SIGKILL");
    for (const clone of new Set(this.gens.map((g) => g.clone))) this.killAgent(clone, "SIGKILL");
    await Promise.all(this.gens.map((g) => Promise.race([g.proc.exited, Bun.sleep(5000)])));
    if (this.sampler) clearInterval(this.sampler);
  }

  private async keep(actor: Actor): Promise<void> {
    let unexplained = 0;
    while (!this.stopped) {
      while (this.holds[actor] > 0 && !this.stopped) await Bun.sleep(20);
      if (this.stopped) return;
      const remaining = this.remaining(actor);
      if (remaining === 0) {
        this.done[actor] = true;
        return;
      }
      const g = this.launch(actor, remaining);
      await g.proc.exited;
      g.endedAt = Date.now();
      const sig = g.proc.signalCode;
      const exit = { code: sig ? null : g.proc.exitCode, signal: sig ? String(sig) : null };
      g.exit = exit;
      this.recovering[actor] = true;
      try {
        this.killAgent(actor, "SIGTERM");
        await this.waitForOrphans(this.world.clones[actor]);
        g.doneAtExit = this.remaining(actor) === 0;
        const claimed = this.world.readEvents().filter((e) => e.type === "agent-fail" && e.actor === actor && Number(e.gen) === g.gen);
        for (const e of claimed) {
          g.agentFailCodes.push(Number(e.code));
          if (!g.hitBy.includes("agent-fail")) g.hitBy.push("agent-fail");
        }
        const how = exit.signal ?? String(exit.code);
        this.opts.log(`${g.author} exited ${how} after ${((g.endedAt - g.startedAt) / 1000).toFixed(1)}s${g.hitBy.length ? ` (faults: ${g.hitBy.join(", ")})` : ""}`);
        const explained = g.hitBy.length > 0 || (exit.code === 0 && g.doneAtExit);
        unexplained = explained ? 0 : unexplained + 1;
        if (unexplained >= 5) {
          this.fatal = `${actor}'s runner exited ${how} five times in a row with no fault to explain it; last stderr: ${tail(g.stderrPath, 3)}`;
          return;
        }
        const failedTurn = claimed.find((e) => exit.code === Number(e.code));
        if (failedTurn && !g.doneAtExit) {
          if (this.opts.recoveryFor(Number(failedTurn.id)) === "stamp") await this.humanStamp(actor);
          else this.rerunsAfterFailure++;
        }
      } finally {
        this.recovering[actor] = false;
      }
      if (!this.stopped && this.remaining(actor) > 0) {
        this.restarts++;
        await Bun.sleep(this.rng.int(20, 250));
      }
    }
  }

  /**
   * A second runner of `actor` on another clone (a split brain): started like the
   * others, never relaunched; `exited` resolves once it has exited and its agent
   * and git children are gone.
   */
  launchExtra(actor: Actor, clone: string, dir: string, loops: number): { gen: Gen; exited: Promise<void> } {
    const g = this.launch(actor, loops, { clone, dir });
    const exited = g.proc.exited.then(async () => {
      g.endedAt = Date.now();
      const sig = g.proc.signalCode;
      g.exit = { code: sig ? null : g.proc.exitCode, signal: sig ? String(sig) : null };
      this.killAgent(clone, "SIGTERM");
      await this.waitForOrphans(dir);
      g.doneAtExit = this.remaining(actor) === 0;
      this.opts.log(`${g.author} (extra, on ${clone}) exited ${g.exit.signal ?? g.exit.code} after ${((g.endedAt - g.startedAt) / 1000).toFixed(1)}s`);
    });
    return { gen: g, exited };
  }

  private launch(actor: Actor, loops: number, where?: { clone: string; dir: string }): Gen {
    const gen = ++this.counters[actor];
    const author = `${actor}-g${gen}`;
    const clone = where?.clone ?? actor;
    const stdoutPath = join(this.world.runnerLogs, `${author}.out`);
    const stderrPath = join(this.world.runnerLogs, `${author}.err`);
    const out = openSync(stdoutPath, "a");
    const err = openSync(stderrPath, "a");
    const argv = [
      this.opts.orchBin,
      COMMAND[actor]!,
      "--sync-via-git",
      "--sync-loops",
      String(loops),
      "--poll-interval",
      String(this.opts.pollInterval),
      "--max-wait-sec",
      String(this.opts.maxWaitSec),
    ];
    const cwd = where?.dir ?? this.world.clones[actor];
    const proc = Bun.spawn(argv, { cwd, env: this.world.env(author, { SOAK_GEN: String(gen), SOAK_CLONE: clone }), stdin: "ignore", stdout: out, stderr: err });
    closeSync(out);
    closeSync(err);
    const hitBy: InterruptingFault[] = this.affecting[actor] ? [this.affecting[actor]!] : [];
    const g: Gen = { actor, gen, author, clone, extra: where !== undefined, proc, startedAt: Date.now(), endedAt: null, exit: null, hitBy, agentFailCodes: [], loops, doneAtExit: false, stdoutPath, stderrPath, rssPeakKb: 0 };
    this.gens.push(g);
    if (!where) this.current[actor] = g;
    this.opts.log(`${author} started${where ? ` on ${clone}` : ""}: orch ${COMMAND[actor]} --sync-loops ${loops}`);
    return g;
  }

  /** After its runner died, the agent dies too (as on a crashed machine). `clone`: the clone's name (the actor's own is named after it). */
  killAgent(clone: string, signal: "SIGTERM" | "SIGKILL"): void {
    const pidFile = join(this.world.control, `${clone}.agent.pid`);
    if (!existsSync(pidFile)) return;
    try {
      const pid = Number(readFileSync(pidFile, "utf8"));
      if (pid > 0 && readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("fake-agent")) process.kill(pid, signal);
    } catch {}
  }

  /**
   * Wait until no process works in the actor's clone (a killed runner's git child
   * finishes on its own), so the next generation starts from a settled clone.
   */
  private async waitForOrphans(dir: string): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const pids = processesIn(dir);
      if (pids.length === 0) return;
      if (Date.now() > deadline) {
        this.opts.log(`orphans still in ${dir} after 15s: ${pids.join(", ")}; killing them`);
        for (const pid of pids) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {}
        }
        return;
      }
      await Bun.sleep(25);
    }
  }

  /** A human takes over after an agent failure: `orch stamp <actor> ok` on that machine. */
  private async humanStamp(actor: Actor): Promise<void> {
    for (let attempt = 1; attempt <= 5; attempt++) {
      const r = Bun.spawnSync([this.opts.orchBin, "stamp", actor, "ok"], { cwd: this.world.clones[actor], env: this.world.env("human"), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
      if (r.exitCode === 0) {
        this.humanStamps++;
        this.opts.log(`human: orch stamp ${actor} ok (${r.stdout.toString().trim()})`);
        return;
      }
      this.opts.log(`human: orch stamp ${actor} ok failed (exit ${r.exitCode}): ${r.stderr.toString().trim()}`);
      await Bun.sleep(1000);
    }
    this.fatal = `orch stamp ${actor} ok kept failing`;
  }

  private sampleRss(): void {
    for (const g of [this.current.galph, this.current.ralph]) {
      if (!g || g.exit) continue;
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${g.proc.pid}/status`, "utf8"));
        if (m) g.rssPeakKb = Math.max(g.rssPeakKb, Number(m[1]));
      } catch {}
    }
  }

  info(): GenInfo[] {
    return this.gens.map((g) => this.infoOf(g));
  }

  private infoOf(g: Gen): GenInfo {
    const said = `${tail(g.stdoutPath, 100_000)}\n${tail(g.stderrPath, 100_000)}`;
    return {
      author: g.author,
      actor: g.actor,
      gen: g.gen,
      clone: g.clone,
      extra: g.extra,
      pid: g.proc.pid,
      publishedStamps: [...said.matchAll(/found an unpushed (galph|ralph) stamp \(i=(\d+) (ok|fail)\)/g)].map((m) => `${m[1]} i=${m[2]} ${m[3]}`),
      sideOff: /^.*refuses pushes to refs\/orch.*$/m.exec(said)?.[0] ?? null,
      hitBy: g.hitBy,
      agentFailCodes: g.agentFailCodes,
      exit: g.exit,
      doneAtExit: g.doneAtExit,
      stderrTail: tail(g.stderrPath, 5),
    };
  }
}

export function tail(path: string, lines: number): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

/** Pids whose working directory is `dir` or below it (Linux /proc; empty elsewhere). */
export function processesIn(dir: string): number[] {
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return pids;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const cwd = readlinkSync(`/proc/${e}/cwd`);
      if (cwd === dir || cwd.startsWith(dir + "/")) pids.push(Number(e));
    } catch {}
  }
  return pids;
}
