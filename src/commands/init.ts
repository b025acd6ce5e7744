import { defineCommand } from "citty";
import { commonArgs, givenSettingFlags, settingArgs } from "./_args.ts";
import { renderInit, runInit } from "../ops/init.ts";

export default defineCommand({
  meta: {
    name: "orch init",
    description:
      "Set up orch in this repository: create orch.toml (every setting, commented), prompts/supervisor.md and prompts/main.md, .gitignore entries for logs/ and tmp/, and the state file, whichever are missing. Never overwrites without --force and never resets the state file. Exit 2 outside a repository or on a wrong branch, 1 when commit or push fails.",
  },
  args: {
    ...settingArgs("init"),
    force: { type: "boolean", description: "Overwrite orch.toml and the prompts when they differ from the starters (the state file is never reset)" },
    commit: { type: "boolean", description: "Commit exactly the files init created or changed (subject 'orch init: <files>')" },
    push: { type: "boolean", description: "Also push HEAD:<branch> to the remote (implies --commit)" },
    "dry-run": { type: "boolean", description: "List what would be done; change nothing" },
    ...commonArgs,
  },
  async run({ args }) {
    const dryRun = args["dry-run"] === true;
    const actions = await runInit({
      configPath: args.config,
      flags: givenSettingFlags("init", args),
      force: args.force === true,
      commit: args.commit === true,
      push: args.push === true,
      dryRun,
    });
    process.stdout.write(renderInit(actions, dryRun));
    return 0;
  },
});
