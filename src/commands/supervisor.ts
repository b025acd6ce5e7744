import { defineCommand } from "citty";
import { commonArgs, givenSettingFlags, settingArgs } from "./_args.ts";
import { RUNNER_EXITS as X, type CommandHelp } from "./_help.ts";
import { runRole } from "../engine/runner.ts";
import { SUPERVISOR } from "../core/roles.ts";

export const help: CommandHelp = {
  usage: ["--sync-via-git [OPTIONS]", "[OPTIONS]"],
  description:
    "Run the supervisor (actor galph). With --sync-via-git, each turn: wait until the state file on the shared branch says it is galph's turn, pull, mark the turn running and push, run the agent with prompts/supervisor.md on stdin, auto-commit the files it may (reports, tracked outputs, the doc/meta whitelist), stamp ok or fail and push; then wait for ralph to finish the iteration. Without --sync-via-git (async mode): run the agent --sync-loops times here, no git, stopping at the first failure.",
  examples: [
    ["orch supervisor --sync-via-git", "Take turns with `orch loop --sync-via-git` on another clone, on the checked-out branch"],
    ["orch supervisor --sync-via-git --branch feature/x --sync-loops 50 --heartbeat-secs 60", "50 turns on feature/x, with a progress line every minute while waiting or while the agent is quiet"],
    ["CODEX_CMD=/opt/codex/bin/codex orch supervisor --sync-via-git --agent-timeout-sec 7200", "Another codex executable (same arguments), and a 2-hour limit per agent run"],
  ],
  exits: [X.ok, X.runtime, X.usage, X.badState, X.hygiene, X.waitTimeout, X.fenced, X.limit, X.agentTimeout, X.signal, X.agent],
};

export default defineCommand({
  meta: { name: "orch supervisor" },
  args: { ...settingArgs("supervisor"), ...commonArgs },
  async run({ args }) {
    return runRole(SUPERVISOR, { configPath: args.config, flags: givenSettingFlags("supervisor", args) });
  },
});
