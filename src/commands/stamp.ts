import { defineCommand } from "citty";
import { commonArgs, givenSettingFlags, settingArgs } from "./_args.ts";
import { openRepo } from "../core/repo.ts";
import { stampByHand } from "../engine/stamp.ts";
import { usageError } from "../core/errors.ts";
import type { Actor, Outcome } from "../core/state.ts";

export default defineCommand({
  meta: {
    name: "orch stamp",
    description:
      "Hand the turn over by hand. Pulls, refuses a dirty tree, applies the SPEC transition with <actor>_commit = short HEAD, commits only the state file with the exact [SYNC …] subject and pushes HEAD:<branch>. Exit 2 usage/dirty tree/wrong branch, 3 missing or invalid state file, 1 git failure.",
  },
  args: {
    actor: { type: "positional", description: "galph or ralph", required: true },
    outcome: { type: "positional", description: "ok or fail", required: true },
    ...settingArgs("stamp"),
    pull: { type: "boolean", description: "Pull before stamping (--no-pull to skip)", negativeDescription: "Do not pull first" },
    push: { type: "boolean", description: "Push the stamp (--no-push leaves it local; a later stamp or runner publishes it)", negativeDescription: "Commit locally only" },
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
