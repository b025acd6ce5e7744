/**
 * Sync turns through git (SPEC §4), for one role (a machine running the
 * supervisor or the loop) or several in turn. Start-up recovers what a crash
 * left; then each pass takes one turn per role, waiting for it first. The
 * side channel (heartbeats, shipped logs) rides the same looks and pushes.
 */
import { OrchError, Exit, printable, errorMessage } from "../core/errors.ts";
import type { Repo } from "../core/repo.ts";
import type { Role } from "../core/roles.ts";
import { initialState, readStateFile, subjects, type State } from "../core/state.ts";
import { thisRunner, type Runner } from "../core/identity.ts";
import { heartbeatAgeSec } from "../channel/heartbeat.ts";
import { heldMessage, holderOf, publishPending, remoteMark, type Pending } from "./fencing.ts";
import { holdRoleLocks } from "./role-lock.ts";
import { commitState, publish } from "./handoff.ts";
import { publishBranchIfMissing } from "../core/sync.ts";
import { discardUncommittedState, removeLeftLocks } from "./recovery.ts";
import { agentSettings, reapLeftover, requireAgent, requirePrompt } from "./agent-setup.ts";
import { TurnTaker, type TurnResult } from "./turn.ts";
import { waitFor, type Ready } from "./wait.ts";
import { Side } from "./side.ts";
import { formatElapsed, Steering } from "./steering.ts";
import { RunEvents } from "./events.ts";
import type { Shutdown } from "./shutdown.ts";

/** What a runner did, for its closing line. */
interface Tally {
  ok: number;
  failed: number;
  started: number;
}

export class SyncRunner {
  private readonly tally: Tally = { ok: 0, failed: 0, started: Date.now() };
  /** Our own git steps moved the branch: the watch's view must be read again before trusting it. */
  private viewStale = true;
  private turnTaker!: TurnTaker;
  /** A remote on this file system may be polled as fast as asked (benchmarks); a network one at most once a second. */
  private localRemote = false;
  private runner!: Runner;
  private side!: Side;
  private events!: RunEvents;
  private announcedHold: string | null = null;
  private steering!: Steering;

  constructor(
    private readonly roles: readonly Role[],
    private readonly repo: Repo,
    private readonly say: (line: string) => void,
    private readonly shutdown: Shutdown,
    /** Keep the turns in this clone: nothing is fetched or pushed (orch pair --no-push, or no remote). */
    private readonly offline = false,
    /** Push the branch first when the remote lacks it (orch pair: one machine needs no manual publish). */
    private readonly publishBranch = false,
  ) {
    repo.git.onWait = say;
    // Network retries are worth a line where a person looks, not only in the log.
    repo.git.onNetworkRetry = (line) => (repo.git.log(line), say(line));
    // Ctrl-C during network trouble ends the retries: a step cut short is finished by the next start.
    repo.git.stopRetries = shutdown.signal;
  }

  private get actors() {
    return this.roles.map((r) => r.actor);
  }

  /** `[supervisor] done: 20 turns, 20 ok, 0 failed, 3h12m`. */
  /** Past the start-up checks (a run that never got there has no "done" line). */
  begun = false;

  summary(): string {
    const { ok, failed, started } = this.tally;
    const tag = this.roles.length === 1 ? this.roles[0]!.tag : "[pair]";
    return `${tag} done: ${ok + failed} turn${ok + failed === 1 ? "" : "s"}, ${ok} ok, ${failed} failed, ${formatElapsed(Date.now() - started)}`;
  }

  /** Git steps under the repository lock; a stop signal waits for them to finish. */
  private locked<T>(fn: () => Promise<T>): Promise<T> {
    this.viewStale = true; // locked steps pull and push: what the watch saw of the branch is stale after them
    return this.shutdown.critical(() => this.repo.git.withLock(fn));
  }

  async run(): Promise<number> {
    const gitDir = await this.repo.git.gitDir();
    // Held for the runner's whole life: a second runner of the same actor in this clone exits 7.
    const locks = holdRoleLocks(gitDir, this.roles);
    let started = false;
    this.begun = false;
    // A runner reads after every move it sees and writes commits twice a turn:
    // one cat-file and one fast-import for its whole life (core/batch.ts).
    this.repo.git.keepBatches();
    try {
      this.runner = thisRunner(gitDir);
      this.events = new RunEvents(this.repo, gitDir, this.say);
      this.localRemote = this.offline || isLocalUrl((await this.repo.git.remoteUrl(this.repo.remote)) ?? "");
      this.side = new Side(this.repo, this.runner, this.roles, this.say, this.offline);
      this.steering = new Steering(this.repo, this.side, this.events, this.say, this.offline, this.runner.host);
      this.turnTaker = new TurnTaker(this.repo, this.runner, this.say, this.shutdown, (fn) => this.locked(fn), this.side, this.offline, this.events, (actor, iteration) =>
        this.steering.claimNudges(actor, iteration),
      );
      // Fail fast on what would fail the first turn; both are checked again right before marking running.
      for (const role of this.roles) {
        requirePrompt(role, this.repo);
        requireAgent(role, this.repo);
      }
      if (this.publishBranch && !this.offline && (await publishBranchIfMissing(this.repo.git, this.repo.remote, this.repo.branch, (push) => this.locked(push))) === "published") {
        this.say(`[sync] published ${this.repo.branch} to ${this.repo.remote} (it was not there yet)`);
      }
      await this.side.learnAgents((role) => agentSettings(role, this.repo).argv);
      await this.refresh(true);
      this.steering.begin();
      for (const { actor, hb, ageSec } of this.side.othersRunning()) {
        // Two runners of one actor: the running mark decides who runs each turn; the heartbeat leases end the extra one.
        this.say(`[sync] WARNING: ${actor} is also being run by ${hb.host} (pid ${hb.pid}, ${hb.phase}, heartbeat ${ageSec}s ago); run each actor in one place only`);
      }
      started = this.begun = true;
      // Pushed with the first heartbeat that goes out (the mark's, or the wait's first poll): a start-up is short.
      this.side.defer(this.actors, "starting");
      const code = await this.turns();
      if (code === Exit.ok) this.events.emit("run_done", this.actors.length === 1 ? this.actors[0]! : "", this.summary());
      return code;
    } finally {
      if (started) await this.goodbye();
      await this.events?.drain();
      this.repo.git.closeBatches();
      locks.release();
    }
  }

  /** The last heartbeat: stopped (best effort: a dead network must not hold the exit). */
  private async goodbye(): Promise<void> {
    try {
      await this.side.enter(this.actors, "stopped");
    } catch (e) {
      this.repo.git.log(`[sync] could not push the last heartbeat (${errorMessage(e)})`);
    }
  }

  /**
   * orch's own git calls never start git's background maintenance (it would
   * run after every fetch, merge and fast-import: a sixth of a turn's time), so
   * it runs it itself: at start and every MAINTENANCE_EVERY turns, between
   * turns. Loose objects and the small packs of heartbeats and state commits
   * do not pile up over days. Never fails a turn.
   */
  private async maintain(due?: boolean): Promise<void> {
    try {
      await this.repo.git.maintain(due);
    } catch (e) {
      this.repo.git.log(`[git] maintenance failed (${errorMessage(e)}); trying again later`);
    }
  }

  private async turns(): Promise<number> {
    const { repo, roles } = this;
    const loops = repo.config.get("sync.loops");
    // Git's locks an interrupted fast-forward left (no git process holds them) would stop every step below.
    await this.shutdown.critical(() => repo.git.withLock(() => removeLeftLocks(repo, this.say)));
    for (const role of roles) await reapLeftover(role, repo, this.say);
    // Maintenance can take a while (gc.autoDetach = false in a big repository): the other machine sees "starting" first.
    const due = await repo.git.maintenanceDue();
    if (due) await this.side.flush();
    await this.maintain(due);
    this.say(`[sync] ${roles.map((r) => r.command).join("+")}: ${roles.map((r) => r.actor).join("+")} on ${this.offline ? `${repo.branch} (this clone only: nothing is pushed)` : `${repo.remote}/${repo.branch}`}, ${loops} ${roles.length > 1 ? `cycle(s) of ${roles.map((r) => r.actor).join(" then ")}` : "turn(s)"}`);
    if (roles.some((r) => r.initialisesState)) await this.initStateIfMissing();
    // Crash leftovers exist only at start-up: within a run a failed push exits.
    // Neither moves the branch when there is nothing to recover: the start-up look's view stays good.
    const fresh = !this.viewStale;
    let moved = false;
    await this.shutdown.critical(() => repo.git.withLock(() => discardUncommittedState(repo, this.say)));
    if (!this.offline) moved = (await this.locked(() => this.publishPendingLocked())) !== "none";
    if (fresh && !moved) this.viewStale = false;
    if (roles.length > 1) return this.cycles(loops);
    for (let pass = 0; pass < loops; pass++) {
      for (const role of roles) {
        const code = await this.turnFor(role);
        if (code !== null) return code;
      }
      const single = roles.length === 1 ? roles[0]! : null;
      if (single?.waitsForPeer) {
        const iteration = this.turnTaker.lastIteration;
        const done = await this.wait(single, `${single.peer} to finish iteration ${iteration}`, (s) => s.expected_actor === single.actor && s.iteration > iteration);
        if (done === "exit") return Exit.ok;
      }
    }
    return Exit.ok;
  }

  /**
   * All roles in one process (orch pair): take whichever turn the state says
   * is next, until `loops` cycles ended (a cycle ends with ralph's turn, as the
   * iteration does), so a run that starts in ralph's half (after a crash)
   * finishes that cycle first.
   */
  private async cycles(loops: number): Promise<number> {
    let done = 0;
    while (done < loops) {
      const ownStep = this.viewStale;
      if (ownStep) await this.refresh();
      const actor = this.side.watch.view.state?.expected_actor ?? "galph";
      const role = this.roles.find((r) => r.actor === actor)!;
      const code = await this.turnFor(role, ownStep);
      if (code !== null) return code;
      if (!role.initialisesState) done++;
    }
    return Exit.ok;
  }

  /** Wait for the role's turn and take it; null to go on, an exit code to stop. */
  private async turnFor(role: Role, afterOwnStep = false): Promise<number | null> {
    let disagreements = 0;
    const ownStep = afterOwnStep || this.viewStale;
    if (this.viewStale) await this.refresh();
    // Our own last step made it this role's turn (orch pair: ralph's stamp hands over to galph):
    // look at the remote once anyway, so a pause, stop or nudge set meanwhile elsewhere is seen first.
    if (ownStep && !this.offline && this.side.watch.view.state?.expected_actor === role.actor) await this.refresh(true);
    this.steering.observe(this.side.watch.view);
    if (role.reviews && (await this.steering.breakStalemate()) === "stop") return Exit.ok;
    for (;;) {
      const view = await this.wait(role, `${role.actor}'s turn`, (s) => s.expected_actor === role.actor);
      if (view === "exit") return Exit.ok;
      await this.side.catchUpPeerLog(view);
      const result: TurnResult = await this.turnTaker.take(role, view);
      if (result === "lost-race") {
        this.say(`[sync] another runner marked ${role.actor}'s turn first; waiting`);
        await this.refresh(true);
        continue;
      }
      if (result === "not-my-turn") {
        // The checked-out state disagrees with the remote's: local state commits the remote lacks.
        // Publish them or set them aside, once; a second disagreement is explained, never spun on.
        if (++disagreements > 1) {
          throw new OrchError(
            Exit.runtime,
            `the local ${this.repo.stateRel} still disagrees with ${this.repo.remote}/${this.repo.branch} after publishing; compare them (git log --oneline ${this.repo.remote}/${this.repo.branch}...HEAD -- ${this.repo.stateRel}) and fix by hand`,
          );
        }
        this.say(`[sync] the local ${this.repo.stateRel} says it is not ${role.actor}'s turn after the pull; reconciling with the remote`);
        await this.locked(() => this.publishPendingLocked());
        await this.refresh(true);
        continue;
      }
      if (result === Exit.ok) this.tally.ok++;
      else this.tally.failed++;
      if ((this.tally.ok + this.tally.failed) % MAINTENANCE_EVERY === 0) await this.maintain();
      const done = this.turnTaker.lastTurn;
      if (result === Exit.ok && done && role.reviews) this.steering.galphDone(done.iteration, done.files.includes("input.md"));
      return result === Exit.ok ? null : result;
    }
  }

  /** Bring the watch's view up to date after our own git steps (`fetch`: also look at the remote). */
  private async refresh(fetch = false): Promise<void> {
    if (fetch) await this.side.watch.look({ force: true });
    else await this.side.watch.read();
    this.side.watch.known.set(`refs/heads/${this.repo.branch}`, this.side.watch.view.tip);
    this.viewStale = false;
  }

  private async publishPendingLocked(): Promise<Pending["kind"]> {
    const { kind, line } = await publishPending(this.repo);
    if (line) this.say(line);
    return kind;
  }

  /** A running mark of this actor that another clone holds: wait, and say so once per mark. */
  private async heldByOther(role: Role, view: Ready): Promise<boolean> {
    if (this.offline || view.state.status !== `running-${role.actor}`) return false;
    const holding = holderOf(await remoteMark(this.repo), this.runner);
    if (holding.kind !== "other") return false;
    if (this.announcedHold !== holding.markSha) {
      this.announcedHold = holding.markSha;
      const hb = view.heartbeats[role.actor];
      const age = hb && hb.clone === holding.runner.clone ? heartbeatAgeSec(hb) : null;
      const stale = age !== null && age * 1000 >= this.repo.config.ms("sync.stale_after_sec");
      this.say(heldMessage(role.actor, view.state.iteration, holding, stale ? ` (its heartbeat is ${formatElapsed(age * 1000)} old: that machine is probably gone)` : ""));
    }
    return true;
  }

  /** Between polls: periodic heartbeats, and whether a running peer's machine went silent (or came back). */
  private async tick(role: Role, view: Ready): Promise<void> {
    this.steering.observe(view);
    await this.side.flush();
    await this.side.refresh(this.actors);
    await this.steering.peerHealth(role, view, this.actors);
  }

  private async initStateIfMissing(): Promise<void> {
    const { repo } = this;
    if (this.side.watch.view.state !== null) return;
    await this.locked(async () => {
      await this.turnTaker.pull({ fetched: true });
      if (readStateFile(repo.statePath, repo.stateRel) === null || !(await repo.git.show("HEAD", repo.stateRel))) {
        await commitState(repo, initialState(), { subject: subjects.init() }, { newFile: true });
        if (!this.offline) await publish(repo);
        this.say(`[sync] initialised ${repo.stateRel} (${subjects.init()})`);
      }
    });
  }

  private async wait(role: Role, what: string, ready: (s: State) => boolean): Promise<Ready | "exit"> {
    const { repo } = this;
    const c = repo.config;
    if (this.viewStale) await this.refresh();
    // Pushed at the wait's first poll: a wait that is over at once (our turn) goes straight to the mark's push.
    this.side.defer(this.actors, "waiting");
    const view = await waitFor(
      {
        watch: this.side.watch,
        pollMs: this.localRemote ? c.ms("sync.poll_interval") : Math.max(1000, c.ms("sync.poll_interval")),
        maxWaitMs: c.ms("sync.max_wait_sec"),
        heartbeatMs: c.ms("sync.heartbeat_secs"),
        verbose: c.get("sync.verbose"),
        actor: role.actor,
        peer: role.peer,
        say: this.say,
        held: async (v) => (await this.steering.pausedNow(role)) || (await this.heldByOther(role, v)),
        stopped: () => this.steering.stopRequested(),
        tick: (v) => this.tick(role, v),
      },
      what,
      ready,
    );
    const state = view.state;
    if (state.extra.exit === true) {
      const reason = typeof state.extra.exit_reason === "string" && state.extra.exit_reason ? printable(state.extra.exit_reason) : "exit flag set";
      this.say(`${role.tag} Exiting: ${reason}`);
      return "exit";
    }
    if (this.steering.stopRequested()) {
      const stop = this.steering.control().stop!;
      const reason = printable(stop.reason || "orch stop");
      this.say(`${role.tag} Exiting: ${reason}`);
      this.events.emit("stopped", role.actor, `stopped by ${stop.by}: ${reason}`, { iteration: state.iteration });
      return "exit";
    }
    return view;
  }
}

/** Turns between two runs of git's maintenance (see SyncRunner.maintain). */
const MAINTENANCE_EVERY = 25;

/** A path or file:// URL (as opposed to ssh, https, or host:path). */
export function isLocalUrl(url: string): boolean {
  if (url.startsWith("file://") || url.startsWith("/") || url.startsWith("./") || url.startsWith("../")) return true;
  return !url.includes("://") && !/^[^/]+:/.test(url);
}
