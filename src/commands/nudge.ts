import { defineCommand } from "citty";
import { commonArgs, givenSettingFlags, settingArgs } from "./_args.ts";
import { controlExits, type CommandHelp } from "./_help.ts";
import { nudge } from "../ops/steer.ts";

export const help: CommandHelp = {
  description:
    "Tell an actor something before its next turn, from any clone of the remote: the text is queued on refs/orch/control/<branch> and appended to that actor's next prompt under its own heading, once; the turn's log and its stamp (Orch-Nudges: <ids>) record the delivery, and orch status lists nudges not yet delivered. Text up to 16 KiB, from the argument or a file (- reads stdin). docs/steering.md explains.",
  usage: ["<ACTOR> <TEXT> [OPTIONS]", "<ACTOR> --file F [OPTIONS]"],
  groups: { file: "Nudge" },
  examples: [
    ['orch nudge ralph "focus on the failing test, not the docs"', "A note for the loop's next turn"],
    ["orch nudge galph --file review-notes.md", "A longer note for the supervisor, from a file"],
    ["tail -n 30 ci.log | orch nudge ralph --file -", "The end of a CI log, from stdin"],
  ],
  exits: controlExits("the nudge is queued (published)", "ACTOR is not galph or ralph, the text is empty, too long or not UTF-8, the file cannot be read, too many nudges are waiting, or bad usage"),
};

export default defineCommand({
  meta: { name: "orch nudge" },
  args: {
    actor: { type: "positional", description: "galph or ralph", required: true },
    text: { type: "positional", description: "What to tell it (quote it); or use --file", required: false },
    file: { type: "string", description: "Read the text from this file (- = stdin)", valueHint: "F" },
    ...settingArgs("nudge"),
    ...commonArgs,
  },
  async run({ args }) {
    const opts = { command: "nudge" as const, configPath: args.config, flags: givenSettingFlags("nudge", args) };
    const line = await nudge(opts, String(args.actor), args.text as string | undefined, args.file as string | undefined);
    process.stdout.write(line + "\n");
    return 0;
  },
});
