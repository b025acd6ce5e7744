import { defineCommand } from "citty";
import { commonArgs, givenSettingFlags, settingArgs } from "./_args.ts";
import type { CommandHelp } from "./_help.ts";
import { usageError } from "../core/errors.ts";
import { roleByCommand } from "../core/roles.ts";
import { doctorPassed, renderDoctor, runDoctor } from "../ops/doctor.ts";

export const help: CommandHelp = {
  description:
    "Check this host and clone for everything orch needs, in order: git 2.25 or newer, the repository, orch.toml (and the environment and flags), the branch, the remote, the branch and the state file on it, whether the remote takes pushes to refs/orch/* (the side channel: heartbeats, shipped logs, control), the local state file, both prompts (and the reviewer prompt when pair.review_every is set), each role's agent executable on PATH with its --version and the agent's own pre-flight (claude's skip-permissions as root), logs/ and tmp/ ignored by git, the repository lock free. Prints ✓ or ✗ with a fix for each problem, – for a check that could not run. --for pair: one machine, where no remote is needed.",
  groups: { for: "Checks" },
  examples: [
    ["orch doctor", "Check everything, for both roles"],
    ["orch doctor --for loop", "On machine B, which runs only the loop: skip the supervisor's prompt and agent"],
    ["orch doctor --for pair", "One machine, both roles (orch pair): a clone without a remote is fine"],
  ],
  exits: [
    [0, "every check passed"],
    [1, "a check failed (its fix is printed)"],
    [2, "usage error"],
  ],
};

export default defineCommand({
  meta: { name: "orch doctor" },
  args: {
    ...settingArgs("doctor"),
    for: { type: "string", description: "Check only this role's prompt and agent (supervisor|loop), or both for orch pair, where no remote is needed (pair); default: both", valueHint: "ROLE" },
    ...commonArgs,
  },
  async run({ args }) {
    const role = args.for;
    if (role !== undefined && role !== "supervisor" && role !== "loop" && role !== "pair") throw usageError(`--for must be supervisor, loop or pair, got '${role}'`);
    const pair = role === "pair";
    const checks = await runDoctor({ configPath: args.config, flags: givenSettingFlags("doctor", args), roles: role && !pair ? [roleByCommand(role)] : undefined, pair });
    process.stdout.write(renderDoctor(checks));
    return doctorPassed(checks) ? 0 : 1;
  },
});
