/**
 * A role is data: everything that differs between the supervisor and the
 * engineer loop is a field here, so the engine, hygiene, doctor, init and
 * status read fields instead of comparing role names.
 */
import { isAbsolute, join } from "node:path";
import type { Config } from "./config.ts";
import type { RoleSection } from "./settings.ts";
import type { Actor } from "./state.ts";

/** Hygiene steps after a turn (SPEC §7), in the order a role runs them. */
export type HygieneStep = "reports" | "tracked-outputs" | "doc-meta";

export interface Role {
  /** The command that runs it, and its settings section. */
  command: RoleSection;
  actor: Actor;
  peer: Actor;
  /** Console prefix for the role's own messages. */
  tag: string;
  /** Who it is, for people: "supervisor" / "engineer loop". */
  title: string;
  /** The setting holding the agent's argv, and the old tool's names that replace its executable. */
  agentKey: "supervisor.agent" | "loop.agent";
  legacyAgentEnv: "CODEX_CMD" | "CLAUDE_CMD";
  legacyAgentFlag: "codex-cmd" | "claude-cmd";
  /** Where a person sets the prompt (for messages). */
  promptSetting: string;
  /** The prompt file of this role's turns. */
  promptPath(config: Config, top: string): string;
  /** Appended to the log name after the timestamp (SPEC §5). */
  logSuffix(config: Config): string;
  /** Creates the state file when the branch has none (SPEC §2). */
  initialisesState: boolean;
  /** After its turn, waits until the peer finished the iteration (SPEC §4.8). */
  waitsForPeer: boolean;
  /** After the agent: these steps, in order (SPEC §7). */
  hygiene: readonly HygieneStep[];
  /** Before each pull: publish the reports matching reports.prepull_globs (the loop). */
  prePullReports: boolean;
  /** Reports under the prefixes of reports.skip_config (.reportsignore) are never committed (the loop). */
  honoursReportsIgnore: boolean;
  /** When local dirt blocks a pull: scrub submodules, commit tracked outputs and doc/meta, retry (the supervisor). */
  pullRecovery: boolean;
  /** Commit subjects of its auto-commits (SPEC §3, exact). */
  subjects: { reports: string; trackedOutputs?: string; docs?: string; prePull?: string };
  /** Which old-tool role variables apply (REPORT_EXTENSIONS vs SUPERVISOR_REPORT_EXTENSIONS). */
  section: RoleSection;
  /** Runs the reviewer prompt every pair.review_every iterations (galph). */
  reviews: boolean;
}

/** The prompt of one turn: the role's own, or the reviewer's on every pair.review_every-th iteration. */
export function turnPrompt(role: Role, config: Config, top: string, iteration: number): { path: string; reviewer: boolean } {
  const every = config.get("pair.review_every");
  if (role.reviews && every > 0 && iteration > 0 && iteration % every === 0) return { path: abs(top, config.get("pair.reviewer_prompt")), reviewer: true };
  return { path: role.promptPath(config, top), reviewer: false };
}

const abs = (top: string, p: string) => (isAbsolute(p) ? p : join(top, p));

export const SUPERVISOR: Role = {
  command: "supervisor",
  section: "supervisor",
  actor: "galph",
  peer: "ralph",
  tag: "[supervisor]",
  title: "supervisor",
  agentKey: "supervisor.agent",
  legacyAgentEnv: "CODEX_CMD",
  legacyAgentFlag: "codex-cmd",
  promptSetting: "[supervisor] prompt",
  promptPath: (config, top) => abs(top, config.get("supervisor.prompt")),
  logSuffix: () => "",
  initialisesState: true,
  waitsForPeer: true,
  reviews: true,
  hygiene: ["reports", "tracked-outputs", "doc-meta"],
  prePullReports: false,
  honoursReportsIgnore: false,
  pullRecovery: true,
  subjects: {
    reports: "SUPERVISOR AUTO: reports evidence — tests: not run",
    trackedOutputs: "SUPERVISOR AUTO: tracked outputs — tests: not run",
    docs: "SUPERVISOR AUTO: doc/meta hygiene — tests: not run",
  },
};

export const LOOP: Role = {
  command: "loop",
  section: "loop",
  actor: "ralph",
  peer: "galph",
  tag: "[loop]",
  title: "engineer loop",
  agentKey: "loop.agent",
  legacyAgentEnv: "CLAUDE_CMD",
  legacyAgentFlag: "claude-cmd",
  promptSetting: "[loop] prompt / prompts_dir (--prompt)",
  promptPath: (config, top) => abs(top, join(config.get("loop.prompts_dir"), `${config.get("loop.prompt")}.md`)),
  logSuffix: (config) => `_${config.get("loop.prompt")}`,
  initialisesState: false,
  waitsForPeer: false,
  reviews: false,
  hygiene: ["reports"],
  prePullReports: true,
  honoursReportsIgnore: true,
  pullRecovery: false,
  subjects: {
    reports: "RALPH AUTO: reports evidence — tests: not run",
    prePull: "RALPH AUTO PRE-PULL: reports evidence — autopublish",
  },
};

export const ROLES: readonly Role[] = [SUPERVISOR, LOOP];

/** @public not called yet: kept for commands that name an actor (knip skips @public). */
export function roleOf(actor: Actor): Role {
  return actor === "galph" ? SUPERVISOR : LOOP;
}

export function roleByCommand(command: RoleSection): Role {
  return command === "supervisor" ? SUPERVISOR : LOOP;
}
