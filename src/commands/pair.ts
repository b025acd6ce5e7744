import { defineCommand } from "citty";
import { commonArgs, givenSettingFlags, settingArgs } from "./_args.ts";
import { RUNNER_EXITS as X, type CommandHelp } from "./_help.ts";
import { runPair } from "../engine/runner.ts";

export const help: CommandHelp = {
  usage: ["[--sync-loops N] [--push | --no-push] [OPTIONS]"],
  description:
    "One machine, both roles: galph's turn, then ralph's turn, --sync-loops times, in this clone, through the same turn engine as two machines (the same state transitions, commit subjects, logs, receipts and hygiene commits), so orch tail, status and report work unchanged and the pair can later be split across two machines. With --push (the default when the clone has the remote) the branch is published if the remote lacks it and each half-turn is pushed, so others can watch and steer it (pause, stop, nudge); --no-push keeps everything here (a repository without a remote works too). Every pair.review_every iterations galph runs prompts/reviewer.md instead of its usual prompt.",
  groups: { push: "Turn" },
  examples: [
    ["orch pair --sync-loops 10", "Ten cycles of galph then ralph on this machine, published after each half-turn"],
    ["orch pair --no-push --sync-loops 3", "Three cycles that never leave this clone"],
    ["orch pair --review-every 4", "Every fourth iteration galph reviews (prompts/reviewer.md) instead of planning"],
  ],
  exits: [X.ok, X.runtime, X.usage, X.badState, X.hygiene, X.waitTimeout, X.fenced, X.limit, X.agentTimeout, X.signal, X.agent],
};

export default defineCommand({
  meta: { name: "orch pair" },
  args: {
    push: { type: "boolean", description: "Publish each half-turn to the remote (default: when this clone has the remote)", negativeDescription: "Keep every turn in this clone" },
    ...settingArgs("pair"),
    ...commonArgs,
  },
  async run({ args }) {
    return runPair({ configPath: args.config, flags: givenSettingFlags("pair", args), push: args.push as boolean | undefined });
  },
});
