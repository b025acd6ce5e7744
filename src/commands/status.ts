import { defineCommand } from "citty";
import { commonArgs, givenSettingFlags, settingArgs } from "./_args.ts";
import type { CommandHelp } from "./_help.ts";
import { gatherStatus } from "../ops/status.ts";
import { renderStatus, renderStatusJson } from "../ops/status-text.ts";

export const help: CommandHelp = {
  description:
    "Fetch the shared branch, both heartbeats, the control ref and the peers' shipped logs in one look (20 s, no retries; a failed fetch is a warning), then show whose turn it is and since when, each actor's last ok/fail stamp with its receipt (duration, agent, cost), each machine from its heartbeat (host, phase, blocked until, last output, orch and agent versions; SILENT when it stopped beating during a turn), version or settings skew between the two, whether this clone is behind or has unpushed stamps, the newest log of each actor here, pauses, a stop and nudges not yet delivered, the exit flag, and a warning when a running turn outlived its lease. A clone without the remote (one machine, orch pair) shows this clone only.",
  groups: { offline: "Status", json: "Output" },
  examples: [
    ["orch status", "Whose turn is it, and is the other machine alive?"],
    ["orch status --offline", "The same from the last fetched state, without the network"],
    ['orch status --json | jq -r \'"\\(.state.expected_actor) \\(.state.status)"\'', "For scripts: one JSON object (schema in docs/operating.md)"],
  ],
  exits: [
    [0, "shown, whatever the turn state"],
    [1, "git or runtime failure"],
    [2, "usage error, not in a git repository, bad orch.toml"],
    [3, "invalid state file"],
  ],
};

export default defineCommand({
  meta: { name: "orch status" },
  args: {
    ...settingArgs("status"),
    offline: { type: "boolean", description: "Do not fetch; show the last fetched remote state" },
    json: { type: "boolean", description: "Print one JSON object (schema in docs/operating.md)" },
    ...commonArgs,
  },
  async run({ args }) {
    const report = await gatherStatus({ configPath: args.config, flags: givenSettingFlags("status", args), offline: args.offline === true });
    process.stdout.write(args.json ? renderStatusJson(report) : renderStatus(report));
    return 0;
  },
});
