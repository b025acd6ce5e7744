/**
 * Sync turns through git (SPEC §4), for one role (a machine running the
 * supervisor or the loop) or several in turn. Start-up recovers what a crash
 * left; then each pass takes one turn per role, waiting for it first.
 */
import { readdirSync, unlinkSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { OrchError, Exit, printable } from "../core/errors.ts";
import type { Repo } from "../core/repo.ts";
import type { Role } from "../core/roles.ts";
import { fetchBranch } from "../core/sync.ts";
import { initialState, parseState, readStateFile, remoteStateRestore, subjects, type State } from "../core/state.ts";
import { thisRunner, type Runner } from "../core/identity.ts";
import { heldMessage, holderOf, publishPending, remoteMark } from "./fencing.ts";
import { holdRoleLocks } from "./role-lock.ts";
import { commitState, publish } from "./handoff.ts";
import { reapLeftover, requirePrompt } from "./agent-setup.ts";
import { TurnTaker, type TurnResult } from "./turn.ts";
import { waitFor, type Seen } from "./wait.ts";
import type { Shutdown } from "./shutdown.ts";

/** What a runner did, for its closing line. */
interface Tally {
  ok: number;
  failed: number;
  started: number;
}

export class SyncRunner {
  private readonly tally: Tally = { ok: 0, failed: 0, started: Date.now() };
  /** The remote tip and state the last wait returned; cleared by every git step of ours. */
  private lastSeen: Seen | null = null;
  private turnTaker!: TurnTaker;
  /** A remote on this file system may be polled as fast as asked (benchmarks); a network one at most once a second. */
  private localRemote = false;
  private runner!: Runner;

  constructor(
    private readonly roles: readonly Role[],
    private readonly repo: Repo,
    private readonly say: (line: string) => void,
    private readonly shutdown: Shutdown,
  ) {
    repo.git.onWait = say;
    // Network retries are worth a line where a person looks, not only in the log.
    repo.git.onNetworkRetry = (line) => (repo.git.log(line), say(line));
  }

  /** `[supervisor] done: 20 turns, 20 ok, 0 failed, 3h12m`. */
  summary(): string {
    const { ok, failed, started } = this.tally;
    const tag = this.roles.length === 1 ? this.roles[0]!.tag : "[pair]";
    return `${tag} done: ${ok + failed} turn${ok + failed === 1 ? "" : "s"}, ${ok} ok, ${failed} failed, ${formatElapsed(Date.now() - started)}`;
  }

  /** Git steps under the repository lock; a stop signal waits for them to finish. */
  private locked<T>(fn: () => Promise<T>): Promise<T> {
    this.lastSeen = null; // locked steps pull and push: what a wait saw is stale after them
    return this.shutdown.critical(() => this.repo.git.withLock(fn));
  }

  async run(): Promise<number> {
    const gitDir = await this.repo.git.gitDir();
    // Held for the runner's whole life: a second runner of the same actor in this clone exits 7.
    const locks = holdRoleLocks(gitDir, this.roles);
    try {
      this.runner = thisRunner(gitDir);
      this.localRemote = isLocalUrl((await this.repo.git.remoteUrl(this.repo.remote)) ?? "");
      this.turnTaker = new TurnTaker(this.repo, this.runner, this.say, this.shutdown, (fn) => this.locked(fn));
      return await this.turns();
    } finally {
      locks.release();
    }
  }

  private async turns(): Promise<number> {
    const { repo, roles } = this;
    const loops = repo.config.get("sync.loops");
    for (const role of roles) requirePrompt(role, repo); // fail fast; checked again right before marking running
    for (const role of roles) await reapLeftover(role, repo, this.say);
    this.say(`[sync] ${roles.map((r) => r.command).join("+")}: ${roles.map((r) => r.actor).join("+")} on ${repo.remote}/${repo.branch}, ${loops} turn(s)`);
    await this.fetch();
    if (roles.some((r) => r.initialisesState)) await this.initStateIfMissing();
    // Crash leftovers exist only at start-up: within a run a failed push exits.
    await this.locked(() => this.discardUncommittedState());
    await this.publishPending();
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

  /** Wait for the role's turn and take it; null to go on, an exit code to stop. */
  private async turnFor(role: Role): Promise<number | null> {
    let disagreements = 0;
    for (;;) {
      const state = await this.wait(role, `${role.actor}'s turn`, (s) => s.expected_actor === role.actor);
      if (state === "exit") return Exit.ok;
      const tip = this.lastSeen?.tip ?? null;
      const result: TurnResult = await this.turnTaker.take(role, tip);
      this.lastSeen = null;
      if (result === "lost-race") {
        this.say(`[sync] another runner marked ${role.actor}'s turn first; waiting`);
        await this.fetch();
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
        await this.fetch();
        continue;
      }
      if (result === Exit.ok) this.tally.ok++;
      else this.tally.failed++;
      return result === Exit.ok ? null : result;
    }
  }

  private async publishPending(): Promise<void> {
    await this.locked(() => this.publishPendingLocked());
    await this.fetch();
  }

  private async publishPendingLocked(): Promise<void> {
    const { line } = await publishPending(this.repo);
    if (line) this.say(line);
  }

  /** A running mark of this actor that another clone holds: wait, and say so once per mark. */
  private async heldByOther(role: Role, seen: Seen & { state: State }): Promise<boolean> {
    if (seen.state.status !== `running-${role.actor}`) return false;
    const holding = holderOf(await remoteMark(this.repo), this.runner);
    if (holding.kind !== "other") return false;
    if (this.announcedHold !== holding.markSha) {
      this.announcedHold = holding.markSha;
      this.say(heldMessage(role.actor, seen.state.iteration, holding));
    }
    return true;
  }
  private announcedHold: string | null = null;

  private async fetch(): Promise<void> {
    this.lastSeen = null;
    await fetchBranch(this.repo.git, this.repo.remote, this.repo.branch);
  }

  private remoteRef(): string {
    return `refs/remotes/${this.repo.remote}/${this.repo.branch}`;
  }

  /** The remote branch's tip and state (per the last fetch); state null when it has none. */
  private async remoteState(): Promise<Seen> {
    const { sha, content } = await this.repo.git.refAndFile(this.remoteRef(), this.repo.stateRel);
    const { stateRel, remote, branch } = this.repo;
    return { tip: sha, state: content === null ? null : parseState(content, `${stateRel} (on ${remote}/${branch})`, remoteStateRestore(remote, branch, stateRel)) };
  }

  private async initStateIfMissing(): Promise<void> {
    const { repo } = this;
    if ((await this.remoteState()).state !== null) return;
    await this.locked(async () => {
      await this.turnTaker.pull({ fetched: true });
      if (readStateFile(repo.statePath, repo.stateRel) === null || !(await repo.git.show("HEAD", repo.stateRel))) {
        await commitState(repo, initialState(), { subject: subjects.init() }, { newFile: true });
        await publish(repo);
        this.say(`[sync] initialised ${repo.stateRel} (${subjects.init()})`);
      }
    });
  }

  private async wait(role: Role, what: string, ready: (s: State) => boolean): Promise<State | "exit"> {
    const { repo } = this;
    const c = repo.config;
    const seen = await waitFor(
      {
        git: repo.git,
        remote: repo.remote,
        branch: repo.branch,
        readState: () => this.remoteState(),
        pollMs: this.localRemote ? c.ms("sync.poll_interval") : Math.max(1000, c.ms("sync.poll_interval")),
        maxWaitMs: c.ms("sync.max_wait_sec"),
        heartbeatMs: c.ms("sync.heartbeat_secs"),
        verbose: c.get("sync.verbose"),
        actor: role.actor,
        peer: role.peer,
        say: this.say,
        held: (seen) => this.heldByOther(role, seen),
      },
      what,
      ready,
      this.lastSeen ?? undefined,
    );
    this.lastSeen = seen;
    const state = seen.state;
    if (state.extra.exit === true) {
      const reason = typeof state.extra.exit_reason === "string" && state.extra.exit_reason ? printable(state.extra.exit_reason) : "exit flag set";
      this.say(`${role.tag} Exiting: ${reason}`);
      return "exit";
    }
    return state;
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
