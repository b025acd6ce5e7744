/**
 * One sync turn (SPEC §4 steps 4-7): pull, check the prompt, mark running,
 * run the agent, auto-commit what hygiene allows, stamp ok/fail, push.
 */
import { relative } from "node:path";
import { OrchError, Exit, errorMessage } from "../core/errors.ts";
import type { Repo } from "../core/repo.ts";
import type { Role } from "../core/roles.ts";
import { safePull } from "../core/sync.ts";
import { markRunning, readStateFile, serializeState, stampOutcome, subjects, type State } from "../core/state.ts";
import { afterTurn, prePullPublish, pullWithRecovery, type HygieneContext } from "../hygiene/index.ts";
import { runAgent } from "./agent.ts";
import { agentRun, agentSettings, requirePrompt } from "./agent-setup.ts";
import { commitState, publish } from "./handoff.ts";
import { createIterationLog, type IterationLog } from "./logs.ts";
import type { Shutdown } from "./shutdown.ts";

export type TurnResult = number | "not-my-turn";

export class TurnTaker {
  /** The iteration of the last turn taken. */
  lastIteration = 0;
  private currentLog: IterationLog | null = null;

  constructor(
    private readonly repo: Repo,
    private readonly say: (line: string) => void,
    private readonly shutdown: Shutdown,
    private readonly locked: <T>(fn: () => Promise<T>) => Promise<T>,
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
    const pull = () => safePull(repo.git, repo.remote, repo.branch, opts);
    if (!role) return pull();
    await pullWithRecovery(ctx ?? this.hygiene(role), pull);
  }

  /** Pull, prompt check, mark running, agent, hygiene, stamp, push. */
  async take(role: Role): Promise<TurnResult> {
    const { repo } = this;
    const a = agentSettings(role, repo);
    const ctx = this.hygiene(role);
    let running: State | undefined;
    let log: IterationLog | undefined;
    const begun = await this.locked(async () => {
      if (role.prePullReports) await prePullPublish(ctx);
      await this.pull({ fetched: true }, role, ctx);
      const state = readStateFile(repo.statePath, repo.stateRel);
      if (!state || state.expected_actor !== role.actor) return false;
      requirePrompt(role, repo);
      log = createIterationLog({ logDir: repo.logDir, branch: repo.branch, actor: role.actor, iteration: state.iteration, suffix: role.logSuffix(repo.config.forRole(role.section)) });
      this.currentLog = log;
      log.line("$ " + a.argv.join(" "));
      running = markRunning(state, role.actor);
      const subject = subjects.running(role.actor, state.iteration);
      // A relaunch within the same second as its own interrupted mark would write the
      // same bytes (git refuses an empty commit): that mark is already committed.
      if (serializeState(running) !== serializeState(state)) await commitState(repo, running, { subject });
      await publish(repo);
      log.line(`[sync] ${subject}`);
      this.say(`[sync] ${subject} (log: ${relative(repo.top, log.path)})`);
      return true;
    });
    if (!begun) return "not-my-turn";
    try {
      return await this.finish(role, running!, log!, ctx);
    } finally {
      log!.close();
      this.currentLog = null;
    }
  }

  private async finish(role: Role, running: State, log: IterationLog, ctx: HygieneContext): Promise<number> {
    const { repo, shutdown } = this;
    this.lastIteration = running.iteration;
    shutdown.agentRunning = true;
    const outcome = await runAgent(agentRun(role, repo, { branch: repo.branch, iteration: running.iteration, log, shutdown, say: this.say })).finally(
      () => (shutdown.agentRunning = false),
    );
    if (outcome.interrupted) {
      log.line(`[sync] interrupted by ${outcome.interrupted}: the turn is not stamped; relaunch to run it again`);
      this.say(`[sync] interrupted by ${outcome.interrupted}; turn i=${running.iteration} left unstamped`);
      return outcome.code;
    }
    return this.locked(async () => {
      const hygiene = await afterTurn(ctx);
      const blocked = hygiene.blocked;
      if (blocked.length > 0) {
        const msg = `[sync] handoff refused: dirty paths outside the doc/meta whitelist: ${blocked.join(", ")}`;
        log.line(msg);
        this.say(msg);
      }
      const ok = outcome.code === 0 && blocked.length === 0;
      const sha = await repo.git.shortHead();
      const stamped = stampOutcome(running, role.actor, ok ? "ok" : "fail", sha);
      const subject = subjects.stamp(role.actor, ok ? "ok" : "fail", stamped.iteration, sha);
      await commitState(repo, stamped, { subject });
      log.line(`[sync] ${subject}`);
      try {
        await publish(repo);
      } catch (e) {
        const msg = `failed to push the stamp (${errorMessage(e)}); relaunch to push it without rerunning the turn`;
        log.line(`[sync] ERROR: ${msg}`);
        throw new OrchError(Exit.runtime, msg, { cause: e });
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
