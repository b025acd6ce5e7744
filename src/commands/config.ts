import { defineCommand, type ArgsDef } from "citty";
import { commonArgs, settingArgs } from "./_args.ts";
import { SETTINGS, type Setting } from "../core/settings.ts";
import { CONFIG_CONTEXTS, configReport, renderConfigJson, renderConfigToml } from "../ops/config-report.ts";

/** Every setting flag of every command, so `orch config --for loop --prompt x` shows `# flag --prompt`. */
const allSettingArgs: ArgsDef = Object.assign({}, ...CONFIG_CONTEXTS.map((c) => settingArgs(c)));
const settingFlags = [...new Set((SETTINGS as readonly Setting[]).flatMap((s) => (s.flag ? [s.flag] : [])))];

export default defineCommand({
  meta: {
    name: "orch config",
    description:
      "Print the effective configuration as TOML, each value followed by its source (# default, # orch.toml:LINE, # env NAME, # flag --NAME). Takes the setting flags of the chosen command. Exit 2 for a bad orch.toml, variable or flag.",
  },
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
