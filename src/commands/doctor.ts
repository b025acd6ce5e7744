import { defineCommand } from "citty";
import { commonArgs, givenSettingFlags, settingArgs } from "./_args.ts";
import { usageError } from "../core/errors.ts";
import { roleByCommand } from "../core/roles.ts";
import { doctorPassed, renderDoctor, runDoctor } from "../ops/doctor.ts";

export default defineCommand({
  meta: {
    name: "orch doctor",
    description:
      "Check this host and clone for everything orch needs (git, repository, branch, remote, state file, prompts, agents, .gitignore, repository lock, orch.toml) and print ✓/✗ with a fix for each problem. Exit 0 when all pass, 1 otherwise.",
  },
  args: {
    ...settingArgs("doctor"),
    for: { type: "string", description: "Check only this role's prompt and agent (supervisor|loop; default: both)", valueHint: "ROLE" },
    ...commonArgs,
  },
  async run({ args }) {
    const role = args.for;
    if (role !== undefined && role !== "supervisor" && role !== "loop") throw usageError(`--for must be supervisor or loop, got '${role}'`);
    const checks = await runDoctor({ configPath: args.config, flags: givenSettingFlags("doctor", args), roles: role ? [roleByCommand(role)] : undefined });
    process.stdout.write(renderDoctor(checks));
    return doctorPassed(checks) ? 0 : 1;
  },
});
