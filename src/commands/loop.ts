import { defineCommand } from "citty";
import { commonArgs, givenSettingFlags, settingArgs } from "./_args.ts";
import { runRole } from "../engine/runner.ts";
import { LOOP } from "../core/roles.ts";

export default defineCommand({
  meta: {
    name: "orch loop",
    description: "Run the engineer loop (actor ralph): wait for ralph's turn on the shared branch, pull, mark running, run the agent with prompts/<prompt>.md on stdin, auto-commit reports, stamp ok/fail and push. Without --sync-via-git: run the agent N times locally. Exit 0 ok, 1 git/network, 2 usage/config/missing prompt, 3 bad state file, 4 hygiene violation, 5 wait timed out, 124 agent timeout, 130/143 interrupted, else the agent's exit code.",
  },
  args: { ...settingArgs("loop"), ...commonArgs },
  async run({ args }) {
    return runRole(LOOP, { configPath: args.config, flags: givenSettingFlags("loop", args) });
  },
});
