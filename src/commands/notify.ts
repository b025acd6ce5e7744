import { defineCommand } from "citty";
import { basename } from "node:path";
import { commonArgs } from "./_args.ts";
import { openRepo } from "../core/repo.ts";
import { usageError } from "../core/errors.ts";
import { anyChannel, notifySettings } from "../notify/config.ts";
import { makeEvent } from "../notify/events.ts";
import { deliver, describeOutcome } from "../notify/send.ts";

const NO_CHANNEL =
  'no notification channel is configured; in orch.toml set [notify] webhook_url = "https://ntfy.sh/<your-topic>" with webhook_format = "ntfy", or command = ["notify-send", "orch"] (see docs/notify.md)';

export default defineCommand({
  meta: {
    name: "orch notify",
    description:
      "With --test: send a sample event (event \"test\") through every channel of [notify] (command hook, webhook) and print the outcome of each. Exit 0 all delivered, 1 one failed, 2 none configured (or bad usage / bad [notify]).",
  },
  args: {
    test: { type: "boolean", description: "Send a test notification through every configured channel" },
    ...commonArgs,
  },
  async run({ args }) {
    if (args.test !== true) throw usageError("orch notify needs --test (send a test notification through every configured channel)");
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
