import { defineCommand } from "citty";
import { commonArgs, givenSettingFlags, settingArgs } from "./_args.ts";
import type { CommandHelp } from "./_help.ts";
import { renderInit, runInit } from "../ops/init.ts";

export const help: CommandHelp = {
  description:
    "Set up orch in this repository, on the branch both agents will share: create whichever is missing of orch.toml (every setting with its default, commented out), prompts/supervisor.md and prompts/main.md (short starter prompts), logs/ and tmp/ in .gitignore, and the state file (galph's turn, idle, iteration 1). Never overwrites without --force; never resets the state file. A second run prints `keep` for every file.",
  groups: { force: "Init", commit: "Init", push: "Init", "dry-run": "Init", pair: "Init" },
  examples: [
    ["orch init --pair", "A one-machine start: also prompts/reviewer.md, all committed; then run `orch pair`"],
    ["orch init --commit --push", "Create the files, commit exactly them (subject `orch init: <files>`) and push HEAD:<branch>"],
    ["orch init --dry-run", "List what would be created; change nothing"],
    ["orch init --force", "Replace orch.toml and the prompts with the starters (the state file stays)"],
  ],
  exits: [
    [0, "done (or nothing to do)"],
    [1, "the commit or the push failed (pull first, then rerun)"],
    [2, "not in a git repository, wrong branch, invalid orch.toml (without --force), usage error"],
  ],
};

export default defineCommand({
  meta: { name: "orch init" },
  args: {
    ...settingArgs("init"),
    force: { type: "boolean", description: "Overwrite orch.toml and the prompts when they differ from the starters (the state file is never reset)" },
    commit: { type: "boolean", description: "Commit exactly the files init created or changed (subject 'orch init: <files>')" },
    push: { type: "boolean", description: "Also push HEAD:<branch> to the remote (implies --commit)" },
    "dry-run": { type: "boolean", description: "List what would be done; change nothing" },
    pair: { type: "boolean", description: "Set up a one-machine start (orch pair): also the reviewer prompt (pair.reviewer_prompt); commits the files (--no-commit only writes them)" },
    ...commonArgs,
  },
  async run({ args }) {
    const dryRun = args["dry-run"] === true;
    const actions = await runInit({
      configPath: args.config,
      flags: givenSettingFlags("init", args),
      force: args.force === true,
      // A pair starts from this clone's history: its files must be committed (--no-commit only writes them).
      commit: args.commit === true || (args.pair === true && args.commit !== false),
      push: args.push === true,
      dryRun,
      pair: args.pair === true,
    });
    process.stdout.write(renderInit(actions, dryRun));
    if (args.pair === true && !dryRun) process.stdout.write("\nnext: orch pair   (galph then ralph in this clone; --no-push keeps it local)\n");
    return 0;
  },
});
