import { defineCommand } from "citty";
import { commonArgs, givenSettingFlags, settingArgs } from "./_args.ts";
import { RUNNER_EXITS as X, type CommandHelp } from "./_help.ts";
import { runRole } from "../engine/runner.ts";
import { LOOP } from "../core/roles.ts";

export const help: CommandHelp = {
  usage: ["--sync-via-git [OPTIONS]", "[OPTIONS]"],
  description:
    "Run the engineer loop (actor ralph). With --sync-via-git, each turn: wait until the state file on the shared branch says it is ralph's turn, commit the reports under plans/active/**/reports/ and pull, mark the turn running and push, run the agent with prompts/<prompt>.md on stdin, auto-commit the report files it left, stamp ok (the iteration goes up by one) or fail and push. Without --sync-via-git (async mode): run the agent --sync-loops times here, no git, stopping at the first failure.",
  examples: [
    ["orch loop --sync-via-git", "Take turns with `orch supervisor --sync-via-git` on another clone, on the checked-out branch"],
    ["orch loop --sync-via-git --branch feature/x --prompt debug", "Feed prompts/debug.md instead of prompts/main.md"],
    ["orch loop --sync-loops 3 --claude-cmd ./bin/claude-wrapper", "Async mode: three runs of the agent here, without git, through a wrapper executable"],
  ],
  exits: [X.ok, X.runtime, X.usage, X.badState, X.waitTimeout, X.fenced, X.limit, X.agentTimeout, X.signal, X.agent],
};

export default defineCommand({
  meta: { name: "orch loop" },
  args: { ...settingArgs("loop"), ...commonArgs },
  async run({ args }) {
    return runRole(LOOP, { configPath: args.config, flags: givenSettingFlags("loop", args) });
  },
});
