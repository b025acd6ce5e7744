import { defineCommand } from "citty";
import { commonArgs, givenSettingFlags, settingArgs } from "./_args.ts";
import { openRepo } from "../core/repo.ts";
import { usageError } from "../core/errors.ts";
import { takeover } from "../engine/takeover.ts";

export default defineCommand({
  meta: {
    name: "orch takeover",
    description:
      "When the machine running an actor is gone: stamp that actor's running turn fail (the usual subject, with an Orch-Takeover trailer) so the actor can be run anywhere. The old runner, should it come back, pushes nothing and exits 7. Refuses when the turn is not running; asks for --yes when the holder is a live process on this host. Exit 0 stamped and pushed, 2 nothing to take over (or a live holder without --yes), 1 git failure.",
  },
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
