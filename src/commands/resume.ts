import { defineCommand } from "citty";
import { commonArgs, givenSettingFlags, settingArgs } from "./_args.ts";
import { controlExits, type CommandHelp } from "./_help.ts";
import { resume } from "../ops/steer.ts";

export const help: CommandHelp = {
  description:
    "Resume a paused actor (both without ACTOR) from any clone of the remote: the waiting runner takes its next turn when it is its turn. Without ACTOR it also clears a stop set by orch stop, so orch status no longer shows it (runners that saw the stop have ended; start them again, a runner ignores a stop older than itself). docs/steering.md explains.",
  examples: [
    ["orch resume ralph", "Let the loop take its turns again"],
    ["orch resume", "Resume both actors and clear a stop"],
  ],
  exits: controlExits("the change is published (or there was nothing to resume)", "ACTOR is not galph or ralph, the branch is not on the remote, or bad usage"),
};

export default defineCommand({
  meta: { name: "orch resume" },
  args: {
    actor: { type: "positional", description: "galph or ralph (default: both, and clear a stop)", required: false },
    ...settingArgs("resume"),
    ...commonArgs,
  },
  async run({ args }) {
    const line = await resume({ command: "resume", configPath: args.config, flags: givenSettingFlags("resume", args) }, args.actor as string | undefined);
    process.stdout.write(line + "\n");
    return 0;
  },
});
