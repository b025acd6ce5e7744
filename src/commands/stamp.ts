import { defineCommand } from "citty";
import { commonArgs, givenSettingFlags, settingArgs } from "./_args.ts";
import type { CommandHelp } from "./_help.ts";
import { openRepo } from "../core/repo.ts";
import { stampByHand } from "../engine/stamp.ts";
import { usageError } from "../core/errors.ts";
import type { Actor, Outcome } from "../core/state.ts";

export const help: CommandHelp = {
  description:
    "Hand the turn over by hand, without running an agent: pull, refuse a dirty tree, apply the state transition with <actor>_commit = the short HEAD, commit only the state file with the exact [SYNC …] subject and push HEAD:<branch>. `galph ok` gives the turn to ralph, `ralph ok` back to galph (iteration + 1); `fail` marks the actor's turn failed and leaves it with that actor. Prints `Stamped: <subject>`.",
  groups: { pull: "Stamp", push: "Stamp", "allow-dirty": "Stamp" },
  examples: [
    ["orch stamp ralph ok", "Accept ralph's work after a failed turn you fixed by hand: the turn goes back to galph"],
    ["orch stamp galph ok --no-push", "Give ralph the turn, committed here only; the next runner or stamp publishes it"],
    ["orch stamp galph fail --branch feature/x", "Mark galph's turn failed on feature/x (a relaunched supervisor runs it again)"],
  ],
  exits: [
    [0, "stamped (and pushed, unless --no-push)"],
    [1, "git or network failure (pull or push)"],
    [2, "usage error, dirty tree (without --allow-dirty), wrong branch, bad orch.toml"],
    [3, "the state file is missing, invalid, or has uncommitted changes"],
  ],
};

export default defineCommand({
  meta: { name: "orch stamp" },
  args: {
    actor: { type: "positional", description: "galph or ralph", required: true },
    outcome: { type: "positional", description: "ok or fail", required: true },
    ...settingArgs("stamp"),
    pull: { type: "boolean", default: true, description: "Pull before stamping", negativeDescription: "Do not pull first" },
    push: { type: "boolean", default: true, description: "Push the stamp (--no-push leaves it local; a later stamp or runner publishes it)", negativeDescription: "Commit locally only" },
    "allow-dirty": { type: "boolean", description: "Stamp even when tracked files have uncommitted changes" },
    ...commonArgs,
  },
  async run({ args }) {
    const actor = String(args.actor);
    const outcome = String(args.outcome);
    if (actor !== "galph" && actor !== "ralph") throw usageError(`actor must be galph or ralph, got '${actor}'`);
    if (outcome !== "ok" && outcome !== "fail") throw usageError(`outcome must be ok or fail, got '${outcome}'`);
    const repo = await openRepo({ command: "stamp", configPath: args.config, flags: givenSettingFlags("stamp", args), branch: "require" });
    for (const note of repo.notes) process.stderr.write(note + "\n");
    const subject = await stampByHand(repo, {
      actor: actor as Actor,
      outcome: outcome as Outcome,
      pull: args.pull !== false,
      push: args.push !== false,
      allowDirty: args["allow-dirty"] === true,
      note: (line) => process.stderr.write(line + "\n"),
    });
    process.stdout.write(`Stamped: ${subject}\n`);
    return 0;
  },
});
