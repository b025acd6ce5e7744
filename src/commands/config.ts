import { defineCommand, type ArgsDef } from "citty";
import { commonArgs, settingArgs } from "./_args.ts";
import type { CommandHelp } from "./_help.ts";
import { SETTINGS, type Setting } from "../core/settings.ts";
import { CONFIG_CONTEXTS, configReport, renderConfigJson, renderConfigToml } from "../ops/config-report.ts";

/** Every setting flag of every command, so `orch config --for loop --prompt x` shows `# flag --prompt`. */
const allSettingArgs: ArgsDef = Object.assign({}, ...CONFIG_CONTEXTS.map((c) => settingArgs(c)));
const settingFlags = [...new Set((SETTINGS as readonly Setting[]).flatMap((s) => (s.flag ? [s.flag] : [])))];

export const help: CommandHelp = {
  description:
    "Print the effective settings as TOML, each value followed by a comment naming its source (default, orch.toml:LINE, env NAME or flag --NAME; precedence: flag > environment > orch.toml > default). Some variables belong to one role (CODEX_CMD, REPORT_EXTENSIONS), so --for chooses whose view to show; the chosen command's setting flags are accepted too, to see what a command line would do (a flag that command does not take is an error).",
  groups: { for: "Output", json: "Output" },
  examples: [
    ["orch config", "The supervisor's settings and where each comes from"],
    ["SYNC_LOOPS=50 orch config --for loop --poll-interval 2", "What `orch loop --poll-interval 2` would use with SYNC_LOOPS=50 set"],
    ['orch config --json | jq \'.settings["sync.loops"]\'', 'One setting as JSON: {"value": 20, "source": "default"}'],
  ],
  exits: [
    [0, "printed"],
    [2, "bad orch.toml (file:line), variable or flag"],
  ],
};

export default defineCommand({
  meta: { name: "orch config" },
  args: {
    for: { type: "string", description: `Show the values as this command sees them (${CONFIG_CONTEXTS.join("|")}; role variables such as CODEX_CMD/CLAUDE_CMD, REPORT_EXTENSIONS differ)`, valueHint: "COMMAND", default: "supervisor" },
    json: { type: "boolean", description: 'Print JSON: {"for", "file", "settings": {"section.key": {"value", "source"}}}' },
    ...allSettingArgs,
    ...commonArgs,
  },
  async run({ args }) {
    const flags: Record<string, string | boolean> = {};
    for (const flag of settingFlags) {
      const v = (args as Record<string, unknown>)[flag];
      if (v !== undefined) flags[flag] = v as string | boolean;
    }
    const report = await configReport({ command: String(args.for), configPath: args.config, flags });
    process.stdout.write(args.json ? renderConfigJson(report) : renderConfigToml(report));
    return 0;
  },
});
