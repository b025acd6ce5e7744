import { defineCommand } from "citty";
import { commonArgs, givenSettingFlags, settingArgs } from "./_args.ts";
import { runRole } from "../engine/runner.ts";
import { SUPERVISOR } from "../core/roles.ts";

export default defineCommand({
  meta: {
    name: "orch supervisor",
    description: "Run the supervisor (actor galph): wait for galph's turn on the shared branch, pull, mark running, run the agent with prompts/supervisor.md on stdin, auto-commit allowed files, stamp ok/fail and push; then wait for ralph to finish the iteration. Without --sync-via-git: run the agent N times locally. Exit 0 ok, 1 git/network, 2 usage/config/missing prompt, 3 bad state file, 4 hygiene violation, 5 wait timed out, 124 agent timeout, 130/143 interrupted, else the agent's exit code.",
  },
  args: { ...settingArgs("supervisor"), ...commonArgs },
  async run({ args }) {
    return runRole(SUPERVISOR, { configPath: args.config, flags: givenSettingFlags("supervisor", args) });
  },
});
