/**
 * One sync turn (SPEC §4 steps 4-7, §13): pull, check the prompt and the
 * agent, mark running (compare-and-swap), run the agent, auto-commit what
 * hygiene allows, stamp ok/fail, push the stamp only while the remote still
 * holds our mark.
 */
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { OrchError, Exit, errorMessage } from "../core/errors.ts";
import { hostName, type Runner } from "../core/identity.ts";
import type { Repo } from "../core/repo.ts";
import type { Role } from "../core/roles.ts";
import { pushRefs, refusalReasons, safePull, PushRefused, type RefUpdate } from "../core/sync.ts";
import { GitError } from "../core/git-errors.ts";
import type { Side } from "./side.ts";
import type { RunEvents } from "./events.ts";
import type { Nudge } from "../channel/control.ts";
import type { Actor } from "../core/state.ts";

/** The prompt with the nudges under a heading the agent cannot miss. */
function withNudges(prompt: Uint8Array, nudges: Nudge[]): Uint8Array {
  const text = nudges.map((n) => `## A note from a person (orch nudge ${n.id}, ${n.by}, ${n.at})\n\n${n.text.trim()}\n`).join("\n");
  return new Uint8Array(Buffer.concat([Buffer.from(prompt), Buffer.from(`\n\n---\n\n${text}`)]));
}
import { isoUtc, markRunning, readStateFile, stampOutcome, subjects, type State } from "../core/state.ts";
import { afterTurn, prePullPublish, pullWithRecovery, type HygieneContext } from "../hygiene/index.ts";
import { runAgentTurn, type AgentTurn, type TurnHooks } from "./agent-turn.ts";
import { agentTrailer, diffstatTrailer, NO_CHANGES, summaryPathFor, tokensTrailer, turnChanges, writeSummary } from "./receipt.ts";
import { agentRun, agentSettings, requireAgent, requirePromptFile } from "./agent-setup.ts";
import { turnPrompt } from "../core/roles.ts";
import { remoteMark, setAside } from "./fencing.ts";
import { commitStateFast } from "./handoff.ts";
import { markOnHead, markOnTip, type Marker } from "./mark.ts";
import { openIterationLog, type IterationLog } from "./logs.ts";
import type { Shutdown } from "./shutdown.ts";

/** A turn's exit code; "not-my-turn" (the local state disagrees after the pull); "lost-race" (another runner marked first). */
export type TurnResult = number | "not-my-turn" | "lost-race";

/** What a running turn knows about itself. */
interface Running {
  role: Role;
  state: State;
  log: IterationLog;
  /** Our mark commit, as pushed: the stamp goes out only while the remote's state still comes from it. */
  markSha: string;
  /** git's abbreviation of it, when the fast-forward printed it (the stamp's `<sha>` when the turn made no commit). */
  markShort: string | null;
  startedAt: Date;
  /** The stamp is committed: a later failure must not stamp again. */
  stamped?: boolean;
  /** The turn's summary file (the agent's at $ORCH_SUMMARY, else orch's), shipped with its log (issue 18). */
  summary: string;
  /** The agent's attempts, once they ran. */
  agent?: AgentTurn;
  /** The prompt this turn runs (the reviewer's on review iterations). */
  promptPath: string;
  /** Nudges delivered with this turn: appended to its prompt, named in its receipt. */
  nudges: Nudge[];
}

export class TurnTaker {
  /** The iteration of the last turn taken. */
  lastIteration = 0;
  /** What the last stamped turn changed (the stalemate breaker reads it). */
  lastTurn: { iteration: number; files: string[] } | null = null;
  /** Errors of the background heartbeat while the agent ran (a lost lease). */
  private readonly failures: unknown[] = [];
  private currentLog: IterationLog | null = null;
  private get markers(): Marker {
    return { repo: this.repo, side: this.side, runner: this.runner };
  }

  constructor(
    private readonly repo: Repo,
    private readonly runner: Runner,
    private readonly say: (line: string) => void,
    private readonly shutdown: Shutdown,
    private readonly locked: <T>(fn: () => Promise<T>) => Promise<T>,
    private readonly side: Side,
    /** Nothing is pulled or pushed: the turns stay in this clone (orch pair --no-push). */
    private readonly offline: boolean,
    private readonly events: RunEvents,
    /** The nudges this turn delivers (orch nudge), claimed just before the mark. */
    private readonly nudgesFor: (actor: Actor, iteration: number) => Promise<Nudge[]>,
  ) {
    repo.git.log = (line) => this.currentLog?.line(line);
  }

  private hygiene(role: Role): HygieneContext {
    return {
      repo: this.repo,
      role,
      log: (line) => (this.currentLog ? this.currentLog.line(line) : this.say(line)),
      console: (line) => this.say(line),
    };
  }

  /** Pull with the hygiene that keeps local dirt from blocking it (pre-pull reports, recovery). */
  async pull(opts: { fetched: boolean }, role?: Role, ctx?: HygieneContext): Promise<void> {
    const { repo } = this;
    if (this.offline) return;
    const pull = () => safePull(repo.git, repo.remote, repo.branch, opts);
    if (!role) return pull();
    await pullWithRecovery(ctx ?? this.hygiene(role), pull);
  }

  /**
   * Pull, checks, mark running, agent, hygiene, stamp, push. `seen` is the
   * remote branch as the wait saw (and fetched) it: the mark is pushed only
   * onto exactly its tip.
   */
  async take(role: Role, seen: { tip: string | null; state: State | null }): Promise<TurnResult> {
    const { repo } = this;
    const ctx = this.hygiene(role);
    const tip = seen.tip;
    let running: Running | undefined;
    const begun = await this.locked(async (): Promise<TurnResult | null> => {
      const published = role.prePullReports ? await prePullPublish(ctx) : 0;
      const startedAt = new Date();
      const beatInfo = (iteration: number) => ({ iteration, turn_started_at: isoUtc(startedAt), last_output_at: null, blocked_until: null, reason: null });
      // The common case: the mark written on the remote's tip and one fast-forward onto it (the pull and the mark commit at once).
      let mark = published === 0 ? await markOnTip(this.markers, role, seen, beatInfo) : null;
      let state: State;
      if (mark) state = seen.state!;
      else {
        await this.pull({ fetched: true }, role, ctx);
        const local = readStateFile(repo.statePath, repo.stateRel);
        if (!local || local.expected_actor !== role.actor) return "not-my-turn";
        state = local;
      }
      const marked = mark?.state ?? markRunning(state, role.actor);
      const subject = subjects.running(role.actor, state.iteration);
      // Everything that would fail the turn right away is checked before anything is pushed
      // (a mark already committed on the tip is taken back: the pull stays).
      const c = repo.config.forRole(role.section);
      let prompt: ReturnType<typeof turnPrompt>;
      try {
        prompt = turnPrompt(role, c, repo.top, state.iteration);
        requirePromptFile(prompt.path, repo.top, prompt.reviewer ? "[pair] reviewer_prompt" : role.promptSetting);
        requireAgent(role, repo);
      } catch (e) {
        if (mark?.committed) await repo.git.run(["reset", "--quiet", "--keep", "HEAD~1"], { allowFail: true });
        throw e;
      }
      // The log name says which prompt ran: a reviewer turn's log ends in _reviewer.
      const log = openIterationLog(
        { logDir: repo.logDir, branch: repo.branch, actor: role.actor, iteration: state.iteration, suffix: prompt.reviewer ? "_reviewer" : role.logSuffix(c) },
        this.say,
      );
      this.currentLog = log;
      log.line("$ " + agentSettings(role, repo).argv.join(" "));
      const nudges = await this.nudgesFor(role.actor, state.iteration);
      if (nudges.length) log.line(`[sync] delivering ${nudges.length} nudge(s) with this turn: ${nudges.map((n) => n.id).join(", ")}`);
      mark ??= await markOnHead(this.markers, role, state, marked, subject, beatInfo(state.iteration));
      let pushed: "ok" | "stale";
      try {
        pushed = await this.pushWithSide(tip, mark.beat);
      } catch (e) {
        if (mark.committed) await repo.git.run(["reset", "--quiet", "--keep", "HEAD~1"], { allowFail: true });
        throw e;
      }
      if (pushed === "stale") {
        // Another runner pushed first: take our mark back, never rebase it onto theirs.
        if (mark.committed) await repo.git.run(["reset", "--quiet", "--keep", "HEAD~1"]);
        log.line(`[sync] another runner pushed to ${repo.remote}/${repo.branch} first; not taking i=${state.iteration}`);
        log.close();
        this.currentLog = null;
        return "lost-race";
      }
      log.line(`[sync] ${subject}`);
      this.say(`[sync] ${subject} (log: ${relative(repo.top, log.path)})`);
      running = { role, state: marked, log, markSha: mark.sha, markShort: mark.short, startedAt, summary: summaryPathFor(log.path), promptPath: prompt.path, nudges };
      return null;
    });
    if (begun !== null) return begun;
    const turn = running!;
    try {
      return await this.finish(turn, ctx);
    } catch (e) {
      return await this.failAfterMark(turn, e);
    } finally {
      turn.log.close();
      this.currentLog = null;
    }
  }

  private async finish(turn: Running, ctx: HygieneContext): Promise<number> {
    const { repo, shutdown } = this;
    const { role, state, log } = turn;
    this.lastIteration = state.iteration;
    shutdown.agentRunning = true;
    const run = agentRun(role, repo, { branch: repo.branch, iteration: state.iteration, log, shutdown, say: this.say, summary: turn.summary, promptPath: turn.promptPath });
    if (turn.nudges.length) run.prompt = withNudges(run.prompt, turn.nudges);
    // While the agent runs, the heartbeat goes out every sync.heartbeat_push_sec with its last output time.
    let lastOutput: number | null = null;
    run.onOutput = (at) => (lastOutput = at);
    const beating = setInterval(() => {
      void this.side.refresh([role.actor], { last_output_at: lastOutput ? isoUtc(new Date(lastOutput)) : null }, { keep: true }).catch((e) => this.failures.push(e));
    }, Math.max(200, Math.min(5000, repo.config.ms("sync.heartbeat_push_sec") / 4)));
    const hooks: TurnHooks = {
      blocked: async (until, message) => {
        this.events.emit("blocked", role.actor, `${role.actor} blocked by a usage limit until ${isoUtc(until)}: ${message}`, { iteration: state.iteration, blocked_until: isoUtc(until), log: log.path });
        await this.side.enter([role.actor], "blocked", { blocked_until: isoUtc(until), reason: `usage limit: ${message}`.slice(0, 200) });
      },
      unblocked: async () => {
        this.events.emit("unblocked", role.actor, `${role.actor} is no longer blocked; running its turn again`, { iteration: state.iteration, log: log.path });
        await this.side.enter([role.actor], "running", { blocked_until: null, reason: null });
      },
    };
    const agent = await runAgentTurn(role, repo, run, log, this.say, hooks, shutdown.signal).finally(() => {
      shutdown.agentRunning = false;
      clearInterval(beating);
    });
    turn.agent = agent;
    // A lost heartbeat lease while the agent ran: another runner of this actor exists.
    if (this.failures.length) throw this.failures.shift();
    if (agent.outcome.interrupted || shutdown.signal.aborted) {
      log.line(`[sync] interrupted by ${shutdown.received ?? agent.outcome.interrupted}: the turn is not stamped; relaunch to run it again`);
      this.say(`[sync] interrupted by ${shutdown.received ?? agent.outcome.interrupted}; turn i=${state.iteration} left unstamped`);
      return agent.code || Exit.sigint;
    }
    const away = await this.branchAfterAgent();
    return this.locked(async () => {
      const before = (await repo.git.headSha())!;
      const hygiene = await afterTurn(ctx);
      const blocked = hygiene.blocked;
      if (blocked.length > 0) {
        const msg = `[sync] handoff refused: dirty paths outside the doc/meta whitelist: ${blocked.join(", ")}`;
        log.line(msg);
        this.say(msg);
        // A refused handoff pushes its fail stamp and nothing else: take the auto-commits back.
        if (hygiene.committed.length > 0) await this.undoCommits(before, hygiene.committed);
      }
      const ok = agent.code === Exit.ok && blocked.length === 0 && away === null;
      const code = ok ? Exit.ok : agent.code !== Exit.ok ? agent.code : away !== null ? Exit.runtime : Exit.hygiene;
      const why = away ?? (agent.code !== Exit.ok ? agent.reason! : "hygiene violation");
      await this.stamp(turn, ok, code, ok ? null : why);
      if (ok) return Exit.ok;
      log.line(`[sync] turn failed (${why}); stamped fail and pushed; exiting ${code}`);
      this.say(`${role.tag} turn i=${state.iteration} failed (${why}); stamped fail; exiting ${code}`);
      this.events.emit("turn_failed", role.actor, `${role.actor}'s turn i=${state.iteration} failed: ${why}`, { iteration: state.iteration, log: log.path });
      return code;
    });
  }

  /** The agent must leave the clone on the shared branch; if it switched, switch back (git refuses to lose work) or fail. */
  private async branchAfterAgent(): Promise<string | null> {
    const { git, branch } = this.repo;
    // HEAD's file says it without a git process in the common case.
    let head = "";
    try {
      head = readFileSync(join(await git.gitDir(), "HEAD"), "utf8").trim();
    } catch {
      // unreadable: ask git
    }
    if (head === `ref: refs/heads/${branch}`) return null;
    const now = await git.currentBranch();
    if (now === branch) return null;
    const why = `the agent switched the clone to ${now ? `branch '${now}'` : "a detached HEAD"}`;
    const back = await git.run(["switch", "--quiet", branch], { allowFail: true });
    if (back.code !== 0) throw new OrchError(Exit.runtime, `${why} and orch cannot switch back to '${branch}' (${errorMessage(back.stderr)}); switch back by hand (git switch ${branch}) and relaunch: the turn is rerun`);
    return why;
  }

  /** Take back auto-commits made after `before`, leaving their files as the agent left them (dirty, unstaged). */
  private async undoCommits(before: string, paths: string[]): Promise<void> {
    const { git } = this.repo;
    await git.run(["reset", "--quiet", "--soft", before]);
    await git.run(["--literal-pathspecs", "reset", "--quiet", before, "--pathspec-from-file=-", "--pathspec-file-nul"], { input: paths.join("\0") + "\0", allowFail: true });
  }

  /** Commit the stamp with its receipt (and the turn's summary) and push it, fenced by our mark. */
  private async stamp(turn: Running, ok: boolean, code: number, reason: string | null): Promise<void> {
    const { repo } = this;
    const { role, state, log, agent } = turn;
    const c = repo.config.forRole(role.section);
    // What the turn committed after its mark, and `<sha>` (git's abbreviation of HEAD): one `git log`
    // when there are commits, none when HEAD is still the mark (whose abbreviation the fast-forward printed).
    const head = (await repo.git.headSha())!;
    const changes = head === turn.markSha ? NO_CHANGES : await turnChanges(repo.git, turn.markSha, repo.stateRel, c.get("autocommit.whitelist"));
    const sha = (head === turn.markSha ? turn.markShort : changes.headShort) ?? (await repo.git.shortHead());
    const stamped = stampOutcome(state, role.actor, ok ? "ok" : "fail", sha);
    const subject = subjects.stamp(role.actor, ok ? "ok" : "fail", stamped.iteration, sha);
    this.lastTurn = { iteration: state.iteration, files: changes.files.map((f) => f.path) };
    const durationSec = Math.round((Date.now() - turn.startedAt.getTime()) / 1000);
    const agentLine = agent ? agentTrailer(agent.adapter.kind, agent.facts, this.side.agentVersion(role.actor)) : "";
    const trailers: [string, string][] = [
      ["Orch-Duration", `${durationSec}s`],
      ["Orch-Exit", String(agent?.outcome.code ?? code)],
      ["Orch-Agent", agentLine],
      ["Orch-Session", agent?.facts.sessionId ?? ""],
      ["Orch-Cost-USD", agent?.facts.costUsd != null ? agent.facts.costUsd.toFixed(4) : ""],
      ["Orch-Tokens", agent ? tokensTrailer(agent.facts) : ""],
      ["Orch-Attempts", String(agent?.attempts ?? 0)],
      ["Orch-Limit-Wait", `${Math.round((agent?.limitWaitMs ?? 0) / 1000)}s`],
      ["Orch-Diffstat", diffstatTrailer(changes)],
      ["Orch-Host", hostName()],
      ["Orch-Started", isoUtc(turn.startedAt)],
      ["Orch-Log", relative(repo.top, log.path)],
      ["Orch-Prompt", relative(repo.top, turn.promptPath)],
      ["Orch-Reason", reason ?? ""],
      ["Orch-Nudges", turn.nudges.map((n) => n.id).join(",")],
    ];
    if (c.get("logs.summaries") === "orch") {
      writeSummary({
        path: turn.summary,
        actor: role.actor,
        iteration: state.iteration,
        outcome: ok ? "ok" : "fail",
        durationSec,
        agent: agentLine.replace(/^kind=/, "").replace(/ (version|model)=/g, " "),
        costUsd: agent?.facts.costUsd ?? null,
        finalMessage: agent?.facts.finalMessage ?? null,
        changes,
        reason,
      });
    }
    log.line(`[sync] ${subject}`);
    log.close(); // complete before it is shipped
    // The stamp, the shipped logs and the heartbeat: one fast-import, one fast-forward, one push.
    const pending = [
      ...this.side.logCommits(role.actor, [log.path, `${log.path}.jsonl`, turn.summary], state.iteration),
      ...this.side.beatCommits([role.actor], "waiting", { iteration: stamped.iteration, turn_started_at: null, last_output_at: null }),
    ];
    const made = await commitStateFast(repo, head, stamped, { subject, trailers }, pending.map((p) => p.spec));
    turn.stamped = true;
    await this.pushStamp(turn, this.side.written(pending, made.side));
    this.say(`[sync] ${subject}`);
  }

  /**
   * Push the stamp while the remote's state still comes from our mark. When the
   * remote moved by other commits, rebase onto them and try again; when its
   * state moved (taken over, or another runner stamped), push nothing, keep
   * the work on an obsolete branch and exit 7.
   */
  private async pushStamp(turn: Running, side: RefUpdate[]): Promise<void> {
    const { repo } = this;
    if (this.offline) return;
    let expected = turn.markSha;
    for (let attempt = 0; attempt < 3; attempt++) {
      let result: "ok" | "stale";
      try {
        result = await this.pushWithSide(expected, side);
      } catch (e) {
        if (e instanceof OrchError && e.exitCode === Exit.fenced) throw e;
        const msg = `failed to push the stamp (${errorMessage(e)}); relaunch to push it without rerunning the turn`;
        turn.log.line(`[sync] ERROR: ${msg}`);
        throw new OrchError(e instanceof OrchError ? e.exitCode : Exit.runtime, msg, { cause: e });
      }
      if (result === "ok") return;
      await repo.git.fetch(repo.remote, repo.branch);
      const mark = await remoteMark(repo);
      if (mark?.sha !== turn.markSha) {
        const kept = await setAside(repo, turn.role.actor, turn.state.iteration);
        const msg = `${turn.role.actor}'s turn i=${turn.state.iteration} was taken over or stamped elsewhere while it ran: nothing was pushed; this turn's work is kept on ${kept}`;
        turn.log.line(`[sync] ${msg}`);
        throw new OrchError(Exit.fenced, msg);
      }
      turn.log.line(`[sync] ${repo.remote}/${repo.branch} moved (not its state); rebasing the stamp onto it`);
      await safePull(repo.git, repo.remote, repo.branch, { fetched: true });
      expected = (await repo.git.revParse(`refs/remotes/${repo.remote}/${repo.branch}`))!;
    }
    throw new OrchError(Exit.runtime, `failed to push the stamp: ${repo.remote}/${repo.branch} kept moving; relaunch to push it without rerunning the turn`);
  }

  /**
   * Push HEAD to the branch (a compare-and-swap against `expect`) together with
   * side-channel updates, all or nothing. A remote that refuses refs/orch/*
   * gets the branch alone (and the channel is off); a lost side lease is exit 7.
   */
  private async pushWithSide(expect: string | null, side: RefUpdate[], retried = false): Promise<"ok" | "stale"> {
    const { repo } = this;
    if (this.offline) return "ok";
    const branch: RefUpdate = { src: "HEAD", dst: `refs/heads/${repo.branch}`, expect };
    const live = this.side.enabled ? side : [];
    const { status, result } = await pushRefs(repo.git, repo.remote, [branch, ...live], { atomic: true });
    const { lost, refused } = this.side.settle(live, status);
    const mine = status.get(branch.dst);
    if (mine === "ok") return "ok";
    // The branch's compare-and-swap decides who holds the turn: a lost race is just that.
    if (mine === "stale") return "stale";
    if (refused || (mine === "refused" && live.length)) {
      this.side.disable(refusalReasons(result));
      return this.pushWithSide(expect, []);
    }
    if (mine === "refused") throw new PushRefused(repo.remote, branch.dst, refusalReasons(result));
    if (lost.length && mine === "collateral") {
      // We hold (or win) the turn, but another runner of our actor wrote our side refs meanwhile: take them back, once.
      if (retried) throw this.side.lostLease(lost[0]!);
      return this.pushWithSide(expect, await this.side.released(live, lost), true);
    }
    throw new GitError(["push", repo.remote, `HEAD:${branch.dst}`], result);
  }

  /** Anything that failed after the mark: stamp fail (so the turn is not left running) and exit with the failure. */
  private async failAfterMark(turn: Running, e: unknown): Promise<number> {
    if (turn.stamped || (e instanceof OrchError && e.exitCode === Exit.fenced)) throw e;
    const why = errorMessage(e);
    turn.log.line(`[sync] ERROR after the mark: ${why}`);
    try {
      await this.locked(() => this.stamp(turn, false, e instanceof OrchError ? e.exitCode : Exit.runtime, why));
    } catch (stampError) {
      turn.log.line(`[sync] could not stamp fail either: ${errorMessage(stampError)}`);
    }
    throw e;
  }
}
