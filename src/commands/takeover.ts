import { defineCommand } from "citty";
import { commonArgs, givenSettingFlags, settingArgs } from "./_args.ts";
import { openRepo } from "../core/repo.ts";
import { usageError } from "../core/errors.ts";
import { takeover } from "../engine/takeover.ts";
import type { CommandHelp } from "./_help.ts";

export const help: CommandHelp = {
  description:
    "When the machine running an actor is gone: stamp that actor's running turn fail (the usual [SYNC …] subject, with an Orch-Takeover trailer) so the actor can be run anywhere. The old runner, should it come back, pushes nothing, keeps its work on an orch/obsolete/… branch and exits 7. Refuses when the turn is not running; asks for --yes when the holder is a live process on this host.",
  groups: { yes: "Takeover" },
  examples: [
    ["orch takeover ralph", "The loop's machine died mid-turn: hand ralph's turn back so `orch loop` can run it on another machine"],
    ["orch takeover galph --yes", "Take galph's turn over even though its runner on this host still seems alive"],
  ],
  exits: [
    [0, "the fail stamp is pushed"],
    [1, "git or network failure"],
    [2, "the turn is not running (nothing to take over), a live holder here without --yes, wrong branch or bad usage"],
    [3, "the state file on the remote is invalid"],
  ],
};

export default defineCommand({
  meta: { name: "orch takeover" },
  args: {
    actor: { type: "positional", description: "galph or ralph", required: true },
    yes: { type: "boolean", description: "Take over even when the holder is a live process on this host" },
    ...settingArgs("takeover"),
    ...commonArgs,
  },
  async run({ args }) {
    const actor = String(args.actor);
    if (actor !== "galph" && actor !== "ralph") throw usageError(`actor must be galph or ralph, got '${actor}'`);
    const repo = await openRepo({ command: "takeover", configPath: args.config, flags: givenSettingFlags("takeover", args), branch: "require" });
    for (const note of repo.notes) process.stderr.write(note + "\n");
    const subject = await takeover(repo, { actor, yes: args.yes === true });
    process.stdout.write(`Took over: ${subject}\n`);
    return 0;
  },
});
