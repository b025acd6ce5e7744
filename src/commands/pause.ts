import { defineCommand } from "citty";
import { commonArgs, givenSettingFlags, settingArgs } from "./_args.ts";
import { controlExits, type CommandHelp } from "./_help.ts";
import { pause } from "../ops/steer.ts";

export const help: CommandHelp = {
  description:
    "Pause an actor (both without ACTOR) from any clone of the remote: orch records it on refs/orch/control/<branch> (a compare-and-swap, retried on a race, never touching the shared branch or this clone's work). The runner finishes its current turn, then waits (heartbeat phase paused) until orch resume. Pausing an actor already paused changes nothing. docs/steering.md explains.",
  examples: [
    ["orch pause ralph", "Let the loop finish its turn, then hold it; galph keeps its own turns"],
    ["orch pause", "Hold both actors after their current turns"],
    ["orch pause galph --remote upstream --branch feature/x", "From a clone where the pair's branch is not checked out"],
  ],
  exits: controlExits("the pause is published (or was already there)", "ACTOR is not galph or ralph, the branch is not on the remote, or bad usage"),
};

export default defineCommand({
  meta: { name: "orch pause" },
  args: {
    actor: { type: "positional", description: "galph or ralph (default: both)", required: false },
    ...settingArgs("pause"),
    ...commonArgs,
  },
  async run({ args }) {
    const line = await pause({ command: "pause", configPath: args.config, flags: givenSettingFlags("pause", args) }, args.actor as string | undefined);
    process.stdout.write(line + "\n");
    return 0;
  },
});
