import { existsSync, statSync } from "node:fs";
import { reapLeftoverAgent } from "./leftover.ts";
import { relative } from "node:path";
import { Git } from "../core/git.ts";
import { loadConfig } from "../core/config.ts";
import { openRepo, type Repo } from "../core/repo.ts";
import { OrchError, Exit } from "../core/errors.ts";
import { commitState, publish } from "../core/handoff.ts";
import { initialState, markRunning, parseState, parseSubject, readStateFile, serializeState, stampOutcome, subjects, type State } from "../core/state.ts";
import { afterTurn, prePullPublish, pullWithRecovery, type HygieneContext } from "../hygiene/index.ts";
import { runAgent, type AgentOutcome } from "./agent.ts";
import { createIterationLog, type IterationLog } from "./logs.ts";
import { waitFor, type Seen, type Waiter } from "./wait.ts";
import { sleep } from "../core/proc.ts";
import { Shutdown } from "./shutdown.ts";
import type { Role } from "./roles.ts";

export interface EngineOptions {
  configPath?: string;
  flags: Record<string, string | boolean | undefined>;
  cwd?: string;
  /** Console sink (stdout); tests may capture it. */
  say?: (line: string) => void;
}

const sayStdout = (line: string) => process.stdout.write(line + "\n");

/** Run a role: sync turns through git, or async runs of the agent. Returns the exit code. */
export async function runRole(role: Role, opts: EngineOptions): Promise<number> {
  const say = opts.say ?? sayStdout;
  const probe = await loadConfig({ dir: await topOrCwd(opts.cwd), configPath: opts.configPath, flags: opts.flags, command: role.command });
  if (!probe.get<boolean>("sync.via_git")) return runAsync(role, opts, say);
  const repo = await openRepo({ command: role.command, cwd: opts.cwd, configPath: opts.configPath, flags: opts.flags });
  return new SyncEngine(role, repo, say).run();
}

async function topOrCwd(cwd = process.cwd()): Promise<string> {
  const r = await new Git({ cwd }).run(["rev-parse", "--show-toplevel"], { allowFail: true });
  return r.code === 0 ? r.stdout.trim() : cwd;
}

function agentSettings(role: Role, repo: Pick<Repo, "config" | "top">) {
  const c = repo.config;
  const s = role.section;
  return {
    argv: c.get<string[]>(`${s}.agent`),
    promptPath: role.promptPath(c, repo.top),
    pty: c.get<boolean>(`${s}.pty`),
    wallTimeoutMs: c.get<number>(`${s}.agent_timeout_sec`) * 1000,
    idleTimeoutMs: c.get<number>(`${s}.idle_timeout_sec`) * 1000,
    heartbeatMs: c.get<number>("sync.heartbeat_secs") * 1000,
    logDir: c.get<string>("logs.dir"),
  };
}

function requirePrompt(promptPath: string, top: string): void {
  if (!existsSync(promptPath)) {
    throw new OrchError(Exit.usage, `prompt file ${relative(top, promptPath) || promptPath} not found; create it (orch init writes starters) or choose another with --prompt / orch.toml`);
  }
}

async function runTurnAgent(role: Role, repo: Pick<Repo, "config" | "top">, branch: string, iteration: number, log: IterationLog): Promise<AgentOutcome> {
  const a = agentSettings(role, repo);
  return runAgent({
    argv: a.argv,
    promptPath: a.promptPath,
    cwd: repo.top,
    env: {
      ...(process.env as Record<string, string>),
      ORCH_ROLE: role.command,
      ORCH_ACTOR: role.actor,
      ORCH_ITERATION: String(iteration),
      ORCH_BRANCH: branch,
      ORCH_LOG: log.path,
    },
    log,
    pty: a.pty,
    wallTimeoutMs: a.wallTimeoutMs,
    idleTimeoutMs: a.idleTimeoutMs,
    heartbeatMs: a.heartbeatMs,
    killGraceMs: 10_000,
    pidFile: agentPidFile(role, repo.top),
  });
}

/** Per clone and role: `<top>/.git/orch-<actor>-agent.pid` (none in a linked worktree, whose .git is a file). */
function agentPidFile(role: Role, top: string): string | undefined {
  const dotGit = `${top}/.git`;
  try {
    return statSync(dotGit).isDirectory() ? `${dotGit}/orch-${role.actor}-agent.pid` : undefined;
  } catch {
    return undefined;
  }
}

async function reapLeftover(role: Role, top: string, say: (l: string) => void): Promise<void> {
  const file = agentPidFile(role, top);
  const pid = file ? await reapLeftoverAgent(file) : null;
  if (pid) say(`${role.tag} stopped agent process group ${pid} left running by a previous orch that was killed`);
}

/** Async mode: N local runs, no git, no state; stop at the first failure. */
async function runAsync(role: Role, opts: EngineOptions, say: (l: string) => void): Promise<number> {
  const top = await topOrCwd(opts.cwd);
  const config = loadConfig({ dir: top, configPath: opts.configPath, flags: opts.flags, command: role.command });
  const repo = { config, top };
  const a = agentSettings(role, repo);
  requirePrompt(a.promptPath, top);
  const branch = config.get<string>("git.branch") || (await new Git({ cwd: top }).currentBranch()) || "local";
  const loops = config.get<number>("sync.loops");
  await reapLeftover(role, top, say);
  for (let i = 1; i <= loops; i++) {
    const log = createIterationLog({ logDir: abs(top, a.logDir), branch, actor: role.actor, iteration: i, suffix: role.logSuffix(config) });
    try {
      log.line("$ " + a.argv.join(" "));
      say(`${role.tag} run ${i}/${loops} (async) log=${log.path}`);
      const outcome = await runTurnAgent(role, repo, branch, i, log);
      if (outcome.interrupted) return outcome.code;
      if (outcome.code !== 0) {
        say(`${role.tag} run ${i} failed with exit ${outcome.code}; stopping (log: ${log.path})`);
        return outcome.code;
      }
    } finally {
      log.close();
    }
  }
  return Exit.ok;
}

function abs(top: string, p: string): string {
  return p.startsWith("/") ? p : `${top}/${p}`;
}

/** One sync turn after another, exactly as SPEC §4. */
class SyncEngine {
  private readonly git: Git;
  private readonly hygiene: HygieneContext;
  private currentLog: IterationLog | null = null;
  private readonly shutdown: Shutdown;

  constructor(private readonly role: Role, private readonly repo: Repo, private readonly say: (l: string) => void) {
    this.git = repo.git;
    this.shutdown = new Shutdown(say);
    this.git.log = (line) => this.currentLog?.line(line);
    this.hygiene = {
      repo,
      role: role.command,
      log: (line) => (this.currentLog ? this.currentLog.line(line) : this.say(line)),
      console: (line) => this.say(line),
    };
  }

  async run(): Promise<number> {
    this.shutdown.install();
    try {
      return await this.turns();
    } finally {
      this.shutdown.uninstall();
    }
  }

  /** Git steps under the repository lock; a stop signal waits for them to finish. */
  private locked<T>(fn: () => Promise<T>): Promise<T> {
    this.lastSeen = null; // locked steps pull and push: what a wait saw is stale after them
    return this.shutdown.critical(() => this.git.withLock(fn));
  }

  private async turns(): Promise<number> {
    const { role, repo } = this;
    const loops = repo.config.get<number>("sync.loops");
    // Fail fast on a missing prompt; it is checked again right before marking running.
    requirePrompt(role.promptPath(repo.config, repo.top), repo.top);
    await reapLeftover(role, repo.top, this.say);
    this.say(`[sync] ${role.command}: ${role.actor} on ${repo.remote}/${repo.branch}, ${loops} turn(s)`);
    await this.fetchBranch();
    if (role.initialisesState) await this.initStateIfMissing();
    // Crash leftovers exist only at start-up: within a run a failed push exits.
    await this.locked(() => this.discardUncommittedState());
    await this.resumeUnpushedStamp();
    let turns = 0;
    while (turns < loops) {
      const state = await this.wait(`${role.actor}'s turn`, (s) => s.expected_actor === role.actor);
      if (state === "exit") return Exit.ok;
      const result = await this.takeTurn();
      if (result === "not-my-turn") {
        // The checked-out state disagrees with the remote's (a local commit moved it): look again shortly.
        this.say(`[sync] the local ${repo.stateRel} says it is not ${role.actor}'s turn after the pull; checking the remote again`);
        await sleep(Math.max(100, repo.config.get<number>("sync.poll_interval") * 1000));
        await this.fetchBranch();
        continue;
      }
      if (result !== Exit.ok) return result;
      turns++;
      if (role.waitsForPeer) {
        const iteration = this.lastIteration;
        const done = await this.wait(`${role.peer} to finish iteration ${iteration}`, (s) => s.expected_actor === role.actor && s.iteration > iteration);
        if (done === "exit") return Exit.ok;
      }
    }
    return Exit.ok;
  }

  private lastIteration = 0;
  /** The remote tip and state the last wait returned; cleared by every push of ours. */
  private lastSeen: Seen | null = null;

  private async fetchBranch(): Promise<void> {
    const { git, repo } = this;
    this.lastSeen = null;
    try {
      await git.fetch(repo.remote, repo.branch);
    } catch (e) {
      if (/couldn't find remote ref|could not find remote ref/i.test((e as Error).message)) {
        throw new OrchError(Exit.usage, `branch '${repo.branch}' does not exist on remote '${repo.remote}'; publish it first: git push ${repo.remote} HEAD:${repo.branch}`);
      }
      throw e;
    }
  }

  private remoteRef(): string {
    return `refs/remotes/${this.repo.remote}/${this.repo.branch}`;
  }

  /** The remote branch's tip and state (per the last fetch); state null when it has none. */
  private async remoteState(): Promise<{ tip: string | null; state: State | null }> {
    const { sha, content } = await this.git.refAndFile(this.remoteRef(), this.repo.stateRel);
    return { tip: sha, state: content === null ? null : parseState(content, `${this.repo.stateRel} (on ${this.repo.remote}/${this.repo.branch})`) };
  }

  private async initStateIfMissing(): Promise<void> {
    const { git, repo } = this;
    if ((await this.remoteState()).state !== null) return;
    await this.locked(async () => {
      await git.safePull(repo.remote, repo.branch, { fetched: true });
      if (readStateFile(repo.statePath, repo.stateRel) === null || !(await git.show("HEAD", repo.stateRel))) {
        await commitState(repo, initialState(), subjects.init(), { newFile: true });
        await publish(repo);
        this.say(`[sync] initialised ${repo.stateRel} (${subjects.init()})`);
      }
    });
  }

  /** SPEC §4.2: our own stamp committed but not pushed (crash before the push): push it, don't rerun. */
  private async resumeUnpushedStamp(): Promise<boolean> {
    const { git, repo, role } = this;
    const out = await git.run(["log", "--format=%s%x00", `${this.remoteRef()}..HEAD`], { allowFail: true });
    if (out.code !== 0) return false;
    const stamp = out.stdout
      .split("\0")
      .map((s) => s.trim())
      .map(parseSubject)
      .find((p) => p && p.actor === role.actor && (p.kind === "ok" || p.kind === "fail"));
    if (!stamp) return false;
    this.say(`[sync] found an unpushed ${role.actor} stamp (i=${stamp.iteration} ${stamp.kind}); pushing it instead of rerunning the turn`);
    await this.locked(() => publish(repo));
    await this.fetchBranch();
    return true;
  }

  private async wait(what: string, ready: (s: State) => boolean): Promise<State | "exit"> {
    const { repo, role } = this;
    const c = repo.config;
    const waiter: Waiter = {
      git: this.git,
      remote: repo.remote,
      branch: repo.branch,
      readState: () => this.remoteState(),
      pollMs: c.get<number>("sync.poll_interval") * 1000,
      maxWaitMs: c.get<number>("sync.max_wait_sec") * 1000,
      heartbeatMs: c.get<number>("sync.heartbeat_secs") * 1000,
      verbose: c.get<boolean>("sync.verbose"),
      actor: role.actor,
      peer: role.peer,
      say: this.say,
    };
    // What the last wait saw is still the remote's state unless we pushed since.
    const { tip, state: result } = await waitFor(waiter, what, ready, this.lastSeen ?? undefined);
    this.lastSeen = { tip, state: result };
    if (result.extra.exit === true) {
      this.say(`${role.tag} Exiting: ${typeof result.extra.exit_reason === "string" && result.extra.exit_reason ? result.extra.exit_reason : "exit flag set"}`);
      return "exit";
    }
    return result;
  }

  /**
   * The state file is orch's: an uncommitted change to it can only be a write of
   * ours cut short by a crash before its commit. Put back the committed version
   * so the pull cannot trip on it (the turn is then run from the remote's state).
   */
  private async discardUncommittedState(): Promise<void> {
    const { git, repo } = this;
    const dirty = await git.statusZ({ untracked: false, paths: [repo.stateRel] });
    if (dirty.length === 0 || !(await git.show("HEAD", repo.stateRel))) return;
    this.say(`[sync] ${repo.stateRel} had an uncommitted change (an interrupted stamp); restoring the committed version`);
    await git.run(["checkout", "HEAD", "--", repo.stateRel]);
  }

  /** Pull, prompt check, mark running, agent, hygiene, stamp, push. */
  private async takeTurn(): Promise<number | "not-my-turn"> {
    const { git, repo, role } = this;
    const a = agentSettings(role, repo);
    let running: State;
    let log: IterationLog;
    const begun = await this.locked(async () => {
      if (role.command === "loop") await prePullPublish(this.hygiene);
      await pullWithRecovery(this.hygiene, () => git.safePull(repo.remote, repo.branch, { fetched: true }));
      const state = readStateFile(repo.statePath, repo.stateRel);
      if (!state || state.expected_actor !== role.actor) return false;
      requirePrompt(a.promptPath, repo.top);
      log = createIterationLog({ logDir: abs(repo.top, a.logDir), branch: repo.branch, actor: role.actor, iteration: state.iteration, suffix: role.logSuffix(repo.config) });
      this.currentLog = log;
      log.line("$ " + a.argv.join(" "));
      running = markRunning(state, role.actor);
      const subject = subjects.running(role.actor, state.iteration);
      // A relaunch within the same second as its own interrupted mark would write the
      // same bytes (git refuses an empty commit): that mark is already committed.
      if (serializeState(running) !== serializeState(state)) await commitState(repo, running, subject);
      await publish(repo);
      log.line(`[sync] ${subject}`);
      this.say(`[sync] ${subject} (log: ${relative(repo.top, log.path)})`);
      return true;
    });
    if (!begun) return "not-my-turn";
    try {
      return await this.finishTurn(running!, log!);
    } finally {
      log!.close();
      this.currentLog = null;
    }
  }

  private async finishTurn(running: State, log: IterationLog): Promise<number> {
    const { git, repo, role } = this;
    this.lastIteration = running.iteration;
    this.shutdown.agentRunning = true;
    const outcome = await runTurnAgent(role, repo, repo.branch, running.iteration, log).finally(() => (this.shutdown.agentRunning = false));
    if (outcome.interrupted) {
      log.line(`[sync] interrupted by ${outcome.interrupted}: the turn is not stamped; relaunch to run it again`);
      this.say(`[sync] interrupted by ${outcome.interrupted}; turn i=${running.iteration} left unstamped`);
      return outcome.code;
    }
    return this.locked(async () => {
      const hygiene = await afterTurn(this.hygiene);
      const blocked = hygiene.blocked;
      if (blocked.length > 0) {
        const msg = `[sync] handoff refused: dirty paths outside the doc/meta whitelist: ${blocked.join(", ")}`;
        log.line(msg);
        this.say(msg);
      }
      const ok = outcome.code === 0 && blocked.length === 0;
      const sha = await git.shortHead();
      const stamped = stampOutcome(running, role.actor, ok ? "ok" : "fail", sha);
      const subject = subjects.stamp(role.actor, ok ? "ok" : "fail", stamped.iteration, sha);
      await commitState(repo, stamped, subject);
      log.line(`[sync] ${subject}`);
      try {
        await publish(repo);
      } catch (e) {
        const msg = `failed to push the stamp (${(e as Error).message}); relaunch to push it without rerunning the turn`;
        log.line(`[sync] ERROR: ${msg}`);
        throw new OrchError(Exit.runtime, msg);
      }
      this.say(`[sync] ${subject}`);
      if (ok) return Exit.ok;
      const code = outcome.code !== 0 ? outcome.code : Exit.hygiene;
      const why = outcome.timedOut ? `agent ${outcome.timedOut} timeout` : outcome.code !== 0 ? `agent exited ${outcome.code}` : "hygiene violation";
      log.line(`[sync] turn failed (${why}); stamped fail and pushed; exiting ${code}`);
      this.say(`${role.tag} turn i=${running.iteration} failed (${why}); stamped fail; exiting ${code}`);
      return code;
    });
  }
}
