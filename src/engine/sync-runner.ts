/**
 * Sync turns through git (SPEC §4), for one role (a machine running the
 * supervisor or the loop) or several in turn. Start-up recovers what a crash
 * left; then each pass takes one turn per role, waiting for it first. The
 * side channel (heartbeats, shipped logs) rides the same looks and pushes.
 */
import { readdirSync, unlinkSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { OrchError, Exit, printable, errorMessage } from "../core/errors.ts";
import type { Repo } from "../core/repo.ts";
import type { Role } from "../core/roles.ts";
import { initialState, isoUtc, parseSubject, readStateFile, subjects, type Actor, type State } from "../core/state.ts";
import { parseTrailers, thisRunner, type Runner } from "../core/identity.ts";
import { heartbeatAgeSec } from "../channel/heartbeat.ts";
import { heldMessage, holderOf, publishPending, remoteMark } from "./fencing.ts";
import { holdRoleLocks } from "./role-lock.ts";
import { commitState, publish } from "./handoff.ts";
import { publishBranchIfMissing } from "../core/sync.ts";
import { agentSettings, reapLeftover, requireAgent, requirePrompt } from "./agent-setup.ts";
import { TurnTaker, type TurnResult } from "./turn.ts";
import { waitFor, type Ready } from "./wait.ts";
import { Side } from "./side.ts";
import { emptyControl, nudgesForTurn, pendingNudges, readControl, stopApplies, type Control, type Nudge } from "../channel/control.ts";
import { updateControl } from "../channel/control-push.ts";
import { controlRef } from "../channel/names.ts";
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
  /** Peers announced as silent (their heartbeat went stale while their state says running). */
  private readonly silent = new Set<string>();
  private announcedHold: string | null = null;
  /** The control document's seq when this runner first read it: only a stop set after that ends it (SPEC §15). */
  private startSeq: number | null = null;
  private controlText: string | null | undefined;
  private controlDoc: Control = emptyControl();
  private announcedPause = new Set<string>();
  /** What this run saw of each cycle, newest last: did ralph change code, did galph change input.md (the stalemate breaker). */
  private readonly progress = { ralph: [] as { iteration: number; moved: boolean }[], galph: [] as { iteration: number; moved: boolean }[] };
  private observedTip: string | null = null;

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
      this.turnTaker = new TurnTaker(this.repo, this.runner, this.say, this.shutdown, (fn) => this.locked(fn), this.side, this.offline, this.events, (actor, iteration) =>
        this.claimNudges(actor, iteration),
      );
      // Fail fast on what would fail the first turn; both are checked again right before marking running.
      for (const role of this.roles) {
        requirePrompt(role, this.repo);
        requireAgent(role, this.repo);
      }
      if (this.publishBranch && !this.offline && (await this.locked(() => publishBranchIfMissing(this.repo.git, this.repo.remote, this.repo.branch))) === "published") {
        this.say(`[sync] published ${this.repo.branch} to ${this.repo.remote} (it was not there yet)`);
      }
      await this.side.learnAgents((role) => agentSettings(role, this.repo).argv);
      await this.side.watch.look({ force: true });
      this.observedTip = this.side.watch.view.tip; // a stamp from before this run is not a cycle it saw (the stalemate breaker)
      this.control(); // the stop a runner sees at its start is an old one: only later ones end it
      for (const { actor, hb, ageSec } of this.side.othersRunning()) {
        // Two runners of one actor: the running mark decides who runs each turn; the heartbeat leases end the extra one.
        this.say(`[sync] WARNING: ${actor} is also being run by ${hb.host} (pid ${hb.pid}, ${hb.phase}, heartbeat ${ageSec}s ago); run each actor in one place only`);
      }
      started = this.begun = true;
      await this.side.enter(this.actors, "starting");
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
  private async maintain(): Promise<void> {
    try {
      await this.repo.git.maintain();
    } catch (e) {
      this.repo.git.log(`[git] maintenance failed (${errorMessage(e)}); trying again later`);
    }
  }

  private async turns(): Promise<number> {
    const { repo, roles } = this;
    const loops = repo.config.get("sync.loops");
    for (const role of roles) await reapLeftover(role, repo, this.say);
    await this.maintain();
    this.say(`[sync] ${roles.map((r) => r.command).join("+")}: ${roles.map((r) => r.actor).join("+")} on ${this.offline ? `${repo.branch} (this clone only: nothing is pushed)` : `${repo.remote}/${repo.branch}`}, ${loops} ${roles.length > 1 ? `cycle(s) of ${roles.map((r) => r.actor).join(" then ")}` : "turn(s)"}`);
    if (roles.some((r) => r.initialisesState)) await this.initStateIfMissing();
    // Crash leftovers exist only at start-up: within a run a failed push exits.
    await this.locked(() => this.discardUncommittedState());
    if (!this.offline) await this.locked(() => this.publishPendingLocked());
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
      if (this.viewStale) await this.refresh();
      const actor = this.side.watch.view.state?.expected_actor ?? "galph";
      const role = this.roles.find((r) => r.actor === actor)!;
      const code = await this.turnFor(role);
      if (code !== null) return code;
      if (!role.initialisesState) done++;
    }
    return Exit.ok;
  }

  /** Wait for the role's turn and take it; null to go on, an exit code to stop. */
  private async turnFor(role: Role): Promise<number | null> {
    let disagreements = 0;
    if (this.viewStale) await this.refresh();
    this.observe(this.side.watch.view);
    if (role.reviews) await this.breakStalemate();
    for (;;) {
      const view = await this.wait(role, `${role.actor}'s turn`, (s) => s.expected_actor === role.actor);
      if (view === "exit") return Exit.ok;
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
      if (result === Exit.ok && done && role.reviews) this.note(this.progress.galph, done.iteration, done.files.includes("input.md"));
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

  private async publishPendingLocked(): Promise<void> {
    const { line } = await publishPending(this.repo);
    if (line) this.say(line);
  }

  /**
   * The control document (orch pause/resume/stop/nudge) as the last look saw
   * it. A broken one is said once and ignored until it is fixed: a person's
   * typo must not stop a night's work.
   */
  control(): Control {
    const text = this.side.watch.view.control;
    if (text === this.controlText) return this.controlDoc;
    this.controlText = text;
    try {
      this.controlDoc = readControl(text, `${this.repo.remote} ${controlRef(this.repo.branch)}`);
      this.startSeq ??= this.controlDoc.seq;
    } catch (e) {
      this.say(`[sync] WARNING: ${errorMessage(e)}; pause, stop and nudges are ignored until it is fixed`);
      this.controlDoc = emptyControl();
    }
    return this.controlDoc;
  }

  /**
   * The nudges for this actor's turn: the ones waiting (claimed now, by
   * compare-and-swap, so exactly one turn gets each) and the ones already
   * claimed for this very iteration (a rerun after a crash or a limit wait).
   * A claim that cannot be published leaves them waiting for the next turn.
   */
  private async claimNudges(actor: Actor, iteration: number): Promise<Nudge[]> {
    if (this.offline) return [];
    const doc = this.control();
    const already = nudgesForTurn(doc, actor, iteration);
    const pending = pendingNudges(doc, actor);
    if (pending.length === 0) return already;
    try {
      const r = await updateControl(this.repo.git, this.repo.remote, this.repo.branch, { kind: "deliver", actor, ids: pending.map((n) => n.id), iteration, at: isoUtc(new Date()), by: this.runner.host });
      return [...already, ...r.delivered];
    } catch (e) {
      this.say(`[sync] WARNING: could not claim the nudges for ${actor} (${errorMessage(e)}); they wait for the next turn`);
      return already;
    }
  }

  /** An `orch stop` set after this runner started. */
  private stopRequested(): boolean {
    const doc = this.control();
    return this.startSeq !== null && stopApplies(doc, this.startSeq);
  }

  /** The actor is paused: wait (heartbeat phase paused), say so once, notify once. */
  private async pausedNow(role: Role): Promise<boolean> {
    const paused = this.control().paused[role.actor];
    if (paused && !this.announcedPause.has(role.actor)) {
      this.announcedPause.add(role.actor);
      this.say(`[sync] ${role.actor} is paused (orch pause); waiting before its next turn until orch resume`);
      this.events.emit("paused", role.actor, `${role.actor} is paused before iteration ${this.side.watch.view.state?.iteration ?? "?"}`, { iteration: this.side.watch.view.state?.iteration ?? null });
      await this.side.enter([role.actor], "paused");
    } else if (!paused && this.announcedPause.has(role.actor)) {
      this.announcedPause.delete(role.actor);
      this.say(`[sync] ${role.actor} resumed`);
      await this.side.enter([role.actor], "waiting");
    }
    return paused;
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

  /** A new tip that is ralph's ok stamp: remember whether that turn changed code (its receipt's diffstat). */
  private observe(view: { tip: string | null; tipMessage?: string }): void {
    if (!view.tip || view.tip === this.observedTip || !view.tipMessage) return;
    this.observedTip = view.tip;
    const subject = view.tipMessage.split("\n")[0] ?? "";
    const parsed = parseSubject(subject);
    if (!parsed || parsed.actor !== "ralph" || parsed.kind !== "ok" || parsed.iteration === null) return;
    const diffstat = parseTrailers(view.tipMessage).get("Orch-Diffstat");
    const code = diffstat ? Number(/code_files=(\d+)/.exec(diffstat)?.[1] ?? "1") : 1; // no receipt (the old tool): not evidence
    this.note(this.progress.ralph, parsed.iteration - 1, code > 0);
  }

  private note(list: { iteration: number; moved: boolean }[], iteration: number, moved: boolean): void {
    if (list.at(-1)?.iteration === iteration) list.pop();
    list.push({ iteration, moved });
    if (list.length > 64) list.shift();
  }

  /**
   * Before galph's turn: stalemate.cycles cycles in a row in which ralph
   * changed no file outside the doc/meta whitelist, or galph's input.md came
   * out unchanged, pause the pair (through the control ref, so both machines
   * wait), notify, and let `orch resume` continue. Only cycles this run saw count.
   */
  private async breakStalemate(): Promise<void> {
    const n = this.repo.config.get("stalemate.cycles");
    if (n <= 0 || this.offline) return;
    const last = (list: { iteration: number; moved: boolean }[]) => (list.length >= n && list.slice(-n).every((c) => !c.moved) ? list.slice(-n) : null);
    const ralph = last(this.progress.ralph);
    const galph = last(this.progress.galph);
    if (!ralph && !galph) return;
    const evidence = ralph
      ? `ralph changed no file outside the doc/meta whitelist in iterations ${ralph.map((c) => c.iteration).join(", ")}`
      : `galph's input.md came out unchanged in iterations ${galph!.map((c) => c.iteration).join(", ")}`;
    this.progress.ralph.length = 0;
    this.progress.galph.length = 0;
    try {
      await updateControl(this.repo.git, this.repo.remote, this.repo.branch, { kind: "pause", actors: ["galph", "ralph"] });
      await this.side.watch.read();
    } catch (e) {
      this.say(`[sync] WARNING: could not pause the pair for the stalemate (${errorMessage(e)})`);
    }
    const line = `[sync] stalemate: ${evidence}; the pair is paused (orch resume to continue)`;
    this.say(line);
    this.events.emit("stalemate", "", line.replace(/^\[sync\] /, ""), { iteration: this.side.watch.view.state?.iteration ?? null });
  }

  /** Between polls: periodic heartbeats, and whether a running peer's machine went silent (or came back). */
  private async tick(role: Role, view: Ready): Promise<void> {
    this.observe(view);
    await this.side.refresh(this.actors);
    const peer = role.peer;
    if (this.actors.includes(peer) || view.state.status !== `running-${peer}`) return;
    const hb = view.heartbeats[peer];
    if (!hb) return; // no heartbeat at all (the old tool): unknown, never stale
    const age = heartbeatAgeSec(hb);
    const stale = age !== null && age * 1000 >= this.repo.config.ms("sync.stale_after_sec");
    if (stale && !this.silent.has(peer)) {
      this.silent.add(peer);
      const last = (iso: string | null) => (iso ? iso.slice(11, 16) + "Z" : "never");
      const line = `[sync] ${peer} on ${hb.host} silent for ${formatElapsed(age! * 1000)} (last heartbeat ${last(hb.updated_at)}, running i=${view.state.iteration}, last agent output ${last(hb.last_output_at)}); if that machine is gone: orch takeover ${peer}`;
      this.say(line);
      this.events.emit("peer_stale", peer, line.replace(/^\[sync\] /, ""), { iteration: view.state.iteration });
    } else if (!stale && this.silent.has(peer)) {
      this.silent.delete(peer);
      const line = `[sync] ${peer} on ${hb.host} is back (heartbeat ${hb.updated_at.slice(11, 16)}Z)`;
      this.say(line);
      this.events.emit("peer_back", peer, line.replace(/^\[sync\] /, ""), { iteration: view.state.iteration });
    }
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
    await this.side.enter(this.actors, "waiting");
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
        held: async (v) => (await this.pausedNow(role)) || (await this.heldByOther(role, v)),
        stopped: () => this.stopRequested(),
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
    if (this.stopRequested()) {
      const stop = this.control().stop!;
      const reason = printable(stop.reason || "orch stop");
      this.say(`${role.tag} Exiting: ${reason}`);
      this.events.emit("stopped", role.actor, `stopped by ${stop.by}: ${reason}`, { iteration: state.iteration });
      return "exit";
    }
    return view;
  }

  /**
   * The state file is orch's: an uncommitted change to it can only be a write of
   * ours cut short by a crash before its commit. Put back the committed version
   * so the pull cannot trip on it (the turn is then run from the remote's state).
   */
  private async discardUncommittedState(): Promise<void> {
    const { git, stateRel } = this.repo;
    removeStaleTemps(this.repo.statePath);
    const dirty = await git.statusZ({ untracked: false, paths: [stateRel] });
    if (dirty.length === 0 || !(await git.show("HEAD", stateRel))) return;
    this.say(`[sync] ${stateRel} had an uncommitted change (an interrupted stamp); restoring the committed version`);
    await git.run(["checkout", "HEAD", "--", stateRel]);
  }
}

/** Turns between two runs of git's maintenance (see SyncRunner.maintain). */
const MAINTENANCE_EVERY = 25;

/** `3h12m`, `4m05s`, `12s`. */
export function formatElapsed(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** Temp files of state writes a crash cut short (`.state.json.<pid>.tmp`); only orch writes them, under the repository lock. */
function removeStaleTemps(statePath: string): void {
  const dir = dirname(statePath);
  const prefix = `.${basename(statePath)}.`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith(".tmp")) continue;
    try {
      unlinkSync(join(dir, name));
    } catch {
      // gone already
    }
  }
}

/** A path or file:// URL (as opposed to ssh, https, or host:path). */
export function isLocalUrl(url: string): boolean {
  if (url.startsWith("file://") || url.startsWith("/") || url.startsWith("./") || url.startsWith("../")) return true;
  return !url.includes("://") && !/^[^/]+:/.test(url);
}
