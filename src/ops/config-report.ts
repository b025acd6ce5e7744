import { resolve } from "node:path";
import { describeSource, type Config, type Source } from "../core/config.ts";
import { COMMAND_NAMES, SETTINGS, flagCommands, type CommandName, type Setting } from "../core/settings.ts";
import { argvError, usageError } from "../core/errors.ts";
import { openRepo } from "../core/repo.ts";
import { keyName, settingsBySection, tomlValue } from "./toml-text.ts";

/** Commands whose settings `orch config --for` can show: every command but config itself (each reads settings). */
export const CONFIG_CONTEXTS: readonly CommandName[] = COMMAND_NAMES.filter((c) => c !== "config");

export interface ConfigOptions {
  /** The command whose view of the settings is shown. */
  command: string;
  cwd?: string;
  env?: Record<string, string | undefined>;
  configPath?: string;
  flags?: Record<string, string | boolean | undefined>;
}

export interface ConfigReport {
  /** The command context the values are for. */
  for: string;
  file: string | null;
  settings: { key: string; value: unknown; source: string }[];
}

/**
 * Effective settings for one command context. Flags are given by flag name;
 * a flag the chosen command does not take is a usage error (it would be ignored).
 */
export async function configReport(opts: ConfigOptions): Promise<ConfigReport> {
  const command = CONFIG_CONTEXTS.find((c) => c === opts.command);
  if (!command) throw usageError(`--for must be one of ${CONFIG_CONTEXTS.join(", ")}, got '${opts.command}'`);
  for (const flag of Object.keys(opts.flags ?? {})) {
    if (opts.flags![flag] === undefined) continue;
    const applies = (SETTINGS as readonly Setting[]).some((s) => s.flag === flag && flagCommands(s).includes(command));
    if (!applies) throw argvError(`option '--${flag}' is not a setting of orch ${command}; choose the command with --for`);
  }
  const ctx = await openRepo({ ...opts, command, branch: "none" });
  const cwd = opts.cwd ?? process.cwd();
  return {
    for: command,
    file: ctx.config.file,
    settings: SETTINGS.map((s) => ({ key: s.key, value: ctx.config.values.get(s.key), source: sourceLabel(ctx.config, s.key, ctx.top, cwd) })),
  };
}

/** `default`, `orch.toml:12`, `env SYNC_LOOPS`, `flag --poll-interval`; the top-level orch.toml is named as such wherever orch runs. */
function sourceLabel(config: Config, key: string, top: string, cwd: string): string {
  const source = config.sources.get(key) as Source;
  if (source.kind === "file" && resolve(cwd, source.file) === resolve(top, "orch.toml")) return `orch.toml:${source.line}`;
  return describeSource(source);
}

/** TOML of the effective values, each with its source as a trailing comment (aligned). */
export function renderConfigToml(report: ConfigReport): string {
  const byKey = new Map(report.settings.map((s) => [s.key, s]));
  const lines = [`# Effective settings for orch ${report.for}${report.file ? ` (file: ${report.file})` : " (no orch.toml)"}`];
  for (const [section, settings] of settingsBySection()) {
    const rows = settings.map((s) => [`${keyName(s)} = ${tomlValue(byKey.get(s.key)!.value)}`, byKey.get(s.key)!.source] as const);
    // Align the comments, but let a long value (an agent argv) overrun rather than push every comment far right.
    const width = Math.min(40, Math.max(...rows.map(([text]) => text.length)));
    lines.push("", `[${section}]`, ...rows.map(([text, source]) => `${text.padEnd(width)}  # ${source}`));
  }
  return lines.join("\n") + "\n";
}

/** JSON: {"for", "file", "settings": {"section.key": {"value", "source"}}}. */
export function renderConfigJson(report: ConfigReport): string {
  const settings: Record<string, { value: unknown; source: string }> = {};
  for (const s of report.settings) settings[s.key] = { value: s.value, source: s.source };
  return JSON.stringify({ for: report.for, file: report.file, settings }, null, 2) + "\n";
}
