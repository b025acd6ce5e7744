import { defineCommand } from "citty";
import { basename } from "node:path";
import { commonArgs } from "./_args.ts";
import type { CommandHelp } from "./_help.ts";
import { openRepo } from "../core/repo.ts";
import { usageError } from "../core/errors.ts";
import { anyChannel, notifySettings } from "../notify/config.ts";
import { makeEvent } from "../notify/events.ts";
import { deliver, describeOutcome } from "../notify/send.ts";

const NO_CHANNEL =
  'no notification channel is configured; in orch.toml set [notify] webhook_url = "https://ntfy.sh/<your-topic>" with webhook_format = "ntfy", or command = ["notify-send", "orch"] (see docs/notify.md)';

export const help: CommandHelp = {
  usage: ["--test [OPTIONS]"],
  description:
    "With --test: send a sample event (event \"test\") through every channel configured in [notify] of orch.toml (the command hook, the webhook) and print the outcome of each. See docs/notify.md.",
  groups: { test: "Notify" },
  examples: [
    ["orch notify --test", "Check that the hook and the webhook of [notify] work"],
    ["orch notify --test --config ~/orch-notify.toml", "The same with the [notify] of another file"],
  ],
  exits: [
    [0, "every channel delivered"],
    [1, "a channel failed (its error is printed)"],
    [2, "no channel configured, a bad [notify], or --test missing"],
  ],
};

export default defineCommand({
  meta: { name: "orch notify" },
  args: {
    test: { type: "boolean", description: "Send a test notification through every configured channel" },
    ...commonArgs,
  },
  async run({ args }) {
    if (args.test !== true) throw usageError("--test is required (send a test notification through every configured channel)");
    const { top, config, branch: current } = await openRepo({ command: "notify", configPath: args.config, branch: "none" });
    const settings = notifySettings(config);
    if (!anyChannel(settings)) throw usageError(NO_CHANNEL);
    const branch = current ?? "(detached HEAD)";
    const event = makeEvent({
      event: "test",
      actor: "",
      branch,
      repo: basename(top),
      message: "Test notification from orch notify --test: this channel works.",
    });
    const outcomes = await deliver(event, settings, {});
    for (const o of outcomes) process.stdout.write(describeOutcome(o) + "\n");
    return outcomes.every((o) => o.ok) ? 0 : 1;
  },
});
