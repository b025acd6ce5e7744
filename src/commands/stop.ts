import { defineCommand } from "citty";
import { commonArgs, givenSettingFlags, settingArgs } from "./_args.ts";
import { controlExits, type CommandHelp } from "./_help.ts";
import { stop } from "../ops/steer.ts";

export const help: CommandHelp = {
  description:
    "Stop both runners from any clone of the remote: each ends after its current turn (a waiting one at once) with exit 0 and `[supervisor|loop] Exiting: <reason>`, like the exit flag in the state file. A stop is for the runners that were running when it was set: a runner started later ignores it, so no clearing is needed before the next start (orch resume clears it from orch status). docs/steering.md explains.",
  groups: { reason: "Stop" },
  examples: [
    ['orch stop --reason "done for today"', "End the night's run after the current turns"],
    ["orch stop", 'Stop with the reason "orch stop from <this host>"'],
  ],
  exits: controlExits("the stop is published", "an empty or too long --reason, the branch is not on the remote, or bad usage"),
};

export default defineCommand({
  meta: { name: "orch stop" },
  args: {
    reason: { type: "string", description: "Why (one line, shown in the runners' Exiting line and orch status)", valueHint: "TEXT" },
    ...settingArgs("stop"),
    ...commonArgs,
  },
  async run({ args }) {
    const line = await stop({ command: "stop", configPath: args.config, flags: givenSettingFlags("stop", args) }, args.reason as string | undefined);
    process.stdout.write(line + "\n");
    return 0;
  },
});
