/**
 * What a turn's agent run needs, read from the role's settings: argv, prompt,
 * timeouts, environment, and the per-clone record of its process group.
 */
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { OrchError, Exit, errorMessage } from "../core/errors.ts";
import type { Config } from "../core/config.ts";
import { turnPrompt, type Role } from "../core/roles.ts";
import { findExecutable, writeAll } from "../core/proc.ts";
import { reapLeftoverAgent } from "./leftover.ts";
import { adapterFor, type AgentKind } from "../agents/index.ts";
import type { AgentRun } from "./agent.ts";
import type { IterationLog } from "./logs.ts";
import type { Shutdown } from "./shutdown.ts";

interface Place {
  config: Config;
  top: string;
}

export interface AgentSettings {
  argv: string[];
  promptPath: string;
  pty: boolean;
  wallTimeoutMs: number;
  idleTimeoutMs: number;
  heartbeatMs: number;
}

export function agentSettings(role: Role, place: Place): AgentSettings {
  const c = place.config.forRole(role.section);
  return {
    argv: c.get(role.agentKey),
    promptPath: role.promptPath(c, place.top),
    pty: c.get(`${role.section}.pty` as const),
    wallTimeoutMs: c.ms(`${role.section}.agent_timeout_sec` as const),
    idleTimeoutMs: c.ms(`${role.section}.idle_timeout_sec` as const),
    heartbeatMs: c.ms("sync.heartbeat_secs"),
  };
}

/**
 * The prompts must be readable regular files before anything is marked: the
 * role's own and, when it runs one, the reviewer's (a missing reviewer prompt
 * is a start-up error, not a surprise at the Nth iteration).
 */
export function requirePrompt(role: Role, place: Place): void {
  const c = place.config.forRole(role.section);
  requirePromptFile(role.promptPath(c, place.top), place.top, role.promptSetting);
  if (role.reviews && c.get("pair.review_every") > 0) requirePromptFile(turnPrompt(role, c, place.top, c.get("pair.review_every")).path, place.top, "[pair] reviewer_prompt");
}

export function requirePromptFile(path: string, top: string, setting: string): void {
  const shown = relative(top, path) || path;
  let ok = false;
  try {
    ok = statSync(path).isFile();
  } catch {
    throw new OrchError(Exit.usage, `prompt file ${shown} not found; create it (orch init writes starters) or choose another with ${setting}`);
  }
  if (!ok) throw new OrchError(Exit.usage, `prompt file ${shown} is not a regular file; point ${setting} at a file`);
}

/** The agent's executable must exist before anything is marked (a missing one would fail the turn after the mark). */
export function requireAgent(role: Role, place: Place): void {
  const problem = agentProblem(role, place, process.env);
  if (problem) throw new OrchError(Exit.usage, problem);
}

/** What would make this role's first turn fail at once: a missing executable, or the agent's own pre-flight (claude as root). */
export function agentProblem(role: Role, place: Place, env: Record<string, string | undefined>): string | null {
  const argv = agentSettings(role, place).argv;
  const exe = argv[0]!;
  if (!findExecutable(exe, place.top, env)) {
    return `${role.command} agent '${exe}' not found${exe.includes("/") ? " or not executable" : " on PATH"}; install it, or set [${role.section}] agent in orch.toml (or ${role.legacyAgentEnv} / --${role.legacyAgentFlag})`;
  }
  const kind = place.config.forRole(role.section).get(`${role.section}.agent_kind` as const) as "auto" | AgentKind;
  const pre = adapterFor(kind, argv).preflight(argv, env, process.getuid?.() ?? -1);
  return pre ? `${role.command} agent: ${pre.problem}; ${pre.fix}` : null;
}

/** The environment every agent gets: where it is and what turn it runs. */
export function agentEnv(role: Role, branch: string, iteration: number, logPath: string, summary?: string): Record<string, string> {
  return {
    ...(process.env as Record<string, string>),
    ORCH_ROLE: role.command,
    ORCH_ACTOR: role.actor,
    ORCH_ITERATION: String(iteration),
    ORCH_BRANCH: branch,
    ORCH_LOG: logPath,
    // Where this turn's summary goes: an agent that writes one there wins over orch's own.
    ...(summary ? { ORCH_SUMMARY: summary } : {}),
  };
}

/** Per clone and role: `<top>/.git/orch-<actor>-agent.pid` (none in a linked worktree, whose .git is a file). */
export function agentPidFile(role: Role, top: string): string | undefined {
  const dotGit = join(top, ".git");
  try {
    return statSync(dotGit).isDirectory() ? join(dotGit, `orch-${role.actor}-agent.pid`) : undefined;
  } catch {
    return undefined;
  }
}

export async function reapLeftover(role: Role, place: Place, say: (l: string) => void): Promise<void> {
  const file = agentPidFile(role, place.top);
  const pid = file ? await reapLeftoverAgent(file) : null;
  if (pid) say(`${role.tag} stopped agent process group ${pid} left running by a previous orch that was killed`);
}

/**
 * The run of one turn's agent: settings, prompt, environment; its output goes
 * to the iteration log and the console, orch's own lines to the log (and the
 * console when loud).
 */
export function agentRun(
  role: Role,
  place: Place,
  turn: { branch: string; iteration: number; log: IterationLog; shutdown: Shutdown; say: (line: string) => void; summary?: string; promptPath?: string },
): AgentRun {
  const a = agentSettings(role, place);
  const { log, shutdown, say } = turn;
  // The agent is told to write $ORCH_SUMMARY: its folder must exist first.
  if (turn.summary) {
    try {
      mkdirSync(dirname(turn.summary), { recursive: true });
    } catch (e) {
      log.line(`[orch] cannot create the summary folder ${dirname(turn.summary)}: ${errorMessage(e)}`);
    }
  }
  return {
    argv: a.argv,
    prompt: readFileSync(turn.promptPath ?? a.promptPath),
    cwd: place.top,
    env: agentEnv(role, turn.branch, turn.iteration, log.path, turn.summary),
    output: { stdout: (t) => (log.write(t), writeAll(1, t)), stderr: (t) => (log.write(t), writeAll(2, t)) },
    note: (line, loud) => (log.line(line), loud && say(line)),
    pty: a.pty,
    wallTimeoutMs: a.wallTimeoutMs,
    idleTimeoutMs: a.idleTimeoutMs,
    heartbeatMs: a.heartbeatMs,
    killGraceMs: 10_000,
    pidFile: agentPidFile(role, place.top),
    logPath: log.path,
    signal: shutdown.signal,
    hurry: shutdown.hurry,
  };
}
