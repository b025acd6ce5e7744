import { SETTINGS, SECTIONS, orchEnvName, type Setting } from "../core/settings.ts";

/**
 * TOML text for one value. JSON string escapes (\" \\ \n \uXXXX) are valid TOML
 * basic-string escapes, so JSON.stringify serves for strings.
 */
export function tomlValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return "[" + value.map(tomlValue).join(", ") + "]";
  throw new Error(`no TOML form for ${typeof value}`);
}

/** Settings grouped by section, in table order. */
export function settingsBySection(): [string, Setting[]][] {
  return SECTIONS.map((section) => [section, SETTINGS.filter((s) => s.key.startsWith(section + "."))]);
}

export const keyName = (s: Setting) => s.key.slice(s.key.indexOf(".") + 1);

/** "flag --x · env A, B (loop), ORCH_…": where else a setting can be given. */
export function overrideHint(s: Setting): string {
  const env = [
    ...(s.env ?? []),
    ...Object.entries(s.roleEnv ?? {}).flatMap(([role, names]) => (names ?? []).map((n) => `${n} (${role})`)),
    orchEnvName(s.key),
  ];
  const commands = s.commands ?? ["supervisor", "loop"];
  const flag = s.flag ? `flag --${s.flag}${s.kind === "bool" ? "/--no-" + s.flag : ""} (${commands.join(", ")})` : null;
  return [flag, `env ${env.join(", ")}`].filter(Boolean).join(" · ");
}

const SECTION_DOCS: Record<string, string> = {
  git: "The shared branch and how orch talks to git.",
  sync: "Turn-taking.",
  logs: "Per-iteration agent logs.",
  supervisor: "The supervisor role (actor galph, `orch supervisor`).",
  loop: "The engineer loop role (actor ralph, `orch loop`).",
  reports: "Auto-commit of report files the agents leave behind (both roles).",
  tracked_outputs: "Auto-commit of modified tracked outputs (supervisor).",
  autocommit: "The supervisor's doc/meta whitelist: what it may commit after its turn.",
  tail: "The `orch tail` digest.",
  stalemate: "The stalemate breaker: pause the pair when it goes in circles.",
  notify: "Notifications: a command and/or a webhook per event (docs/notify.md). Only the machine that sees an event sends it, once; never blocks a turn.",
};

/**
 * The example orch.toml: every setting with its doc comment and built-in default,
 * commented out, so a repository keeps following orch's defaults until it changes
 * one. Generated from the settings table; the committed orch.toml and `orch init`
 * use exactly this text.
 */
export function exampleToml(): string {
  const lines = [
    "# orch.toml: settings for orch, read from the repository's top level (or --config PATH).",
    "# Precedence: command-line flag > environment variable > this file > built-in default.",
    "# Every setting is listed with its built-in default, commented out: uncomment a line",
    "# to change it. `orch config` prints the effective values and where each comes from.",
    "# Generated from orch's settings table; `orch init` writes this file.",
  ];
  for (const [section, settings] of settingsBySection()) {
    lines.push("", `[${section}]`);
    if (SECTION_DOCS[section]) lines.push(`# ${SECTION_DOCS[section]}`);
    for (const s of settings) {
      lines.push("", `# ${s.doc}`, `# ${overrideHint(s)}`, `# ${keyName(s)} = ${tomlValue(s.default)}`);
    }
  }
  return lines.join("\n") + "\n";
}
