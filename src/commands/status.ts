import { defineCommand } from "citty";
import { commonArgs, givenSettingFlags, settingArgs } from "./_args.ts";
import { gatherStatus } from "../ops/status.ts";
import { renderStatus, renderStatusJson } from "../ops/status-text.ts";

export default defineCommand({
  meta: {
    name: "orch status",
    description:
      "Fetch, then show whose turn it is, each actor's last stamp, whether this clone is behind or has unpushed stamps, the newest logs, and a warning when a running turn outlived its lease. Exit 0 whatever the turn state; 3 for an invalid state file; 2 usage.",
  },
  args: {
    ...settingArgs("status"),
    offline: { type: "boolean", description: "Do not fetch; show the last fetched remote state" },
    json: { type: "boolean", description: "Print one JSON object (schema in the README's Operating section)" },
    ...commonArgs,
  },
  async run({ args }) {
    const report = await gatherStatus({ configPath: args.config, flags: givenSettingFlags("status", args), offline: args.offline === true });
    process.stdout.write(args.json ? renderStatusJson(report) : renderStatus(report));
    return 0;
  },
});
