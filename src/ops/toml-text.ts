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
  pair: "One machine, both roles (orch pair), and the review cadence (also for orch supervisor).",
  agent: "Reruns of a turn whose agent timed out or failed transiently (both roles).",
  limits: "Usage limits: a turn blocked by one waits for the reset instead of failing (both roles).",
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

/** Text for a Markdown table cell: pipes escaped, angle brackets as entities (GitHub would drop `<ls>` as a tag). */
const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const code = (s: string) => "`" + s.replace(/\|/g, "\\|") + "`";

/** The flags that set a setting, and the commands that take them. */
function flagCell(s: Setting): string {
  if (!s.flag) return "";
  const forms = [`--${s.flag}`, ...(s.kind === "bool" ? [`--no-${s.flag}`] : []), ...(s.alias ? [`-${s.alias}`] : [])];
  return `${forms.map(code).join(" ")} (${(s.commands ?? ["supervisor", "loop"]).join(", ")})`;
}

/** The environment variables of a setting: the old tool's names first (per role where they differ), then ORCH_…. */
function envCell(s: Setting): string {
  return [
    ...(s.env ?? []).map(code),
    ...Object.entries(s.roleEnv ?? {}).flatMap(([role, names]) => (names ?? []).map((n) => `${code(n)} (${role})`)),
    code(orchEnvName(s.key)),
  ].join(", ");
}

/**
 * docs/configuration.md: every section and setting of the settings table with
 * its type, default, flags, environment variables and doc. Generated (`make
 * docs`); a test fails when the committed file is stale.
 */
export function configurationMarkdown(): string {
  const lines = [
    "# Configuration",
    "",
    "<!-- Generated from src/core/settings.ts by `make docs`; do not edit by hand (a test fails when this file is stale). -->",
    "",
    "Settings come from, highest first: **flag > environment variable > `orch.toml` > built-in default**.",
    "`orch.toml` is read from the repository's top level, or from `--config PATH` / `ORCH_CONFIG`; a missing",
    "file means the defaults. `orch init` writes an `orch.toml` that lists every setting below with its",
    "default, commented out. `orch config [--for COMMAND]` prints the effective values with the source of each",
    "([operating.md](operating.md#where-does-a-value-come-from-orch-config)).",
    "",
    "- Errors name their source and exit 2: `orch.toml:LINE:COL: <problem>` (1-based) for TOML syntax errors,",
    "  unknown sections or keys (with a suggestion) and wrong types; `env POLL_INTERVAL: expected a number >= 0, got 'x'`;",
    "  `flag --sync-loops: …`.",
    "- Every key can be set with `ORCH_<SECTION>_<KEY>` (e.g. `ORCH_SYNC_POLL_INTERVAL`), which wins over the old",
    "  tool's variable of the same setting. The old tool's variables keep working (SPEC §11).",
    "- Some old variables belong to one role: `SUPERVISOR_REPORT_EXTENSIONS` is read only by `orch supervisor`,",
    "  `REPORT_EXTENSIONS` only by `orch loop` (marked *(supervisor)* / *(loop)* below).",
    "- Lists given as a flag or a variable are comma-separated. Extensions may be written with or without the",
    "  dot and in any case (`PNG` = `.png`).",
    "- For the agents, `CODEX_CMD` / `CLAUDE_CMD` and `--codex-cmd` / `--claude-cmd` replace only the executable",
    "  (as in the old tool); set the whole argv in `orch.toml`:",
    "",
    "```toml",
    "[supervisor]",
    `agent = ${tomlValue(SETTINGS.find((s) => s.key === "supervisor.agent")!.default)}`,
    "",
    "[loop]",
    `agent = ${tomlValue(SETTINGS.find((s) => s.key === "loop.agent")!.default)}`,
    'prompt = "main"',
    "```",
    "",
    "Types: `bool`, `int`, `number` (fractions allowed), `string`, `enum` (one of the values named), `list` (of",
    "strings), `argv` (a command as a list: no shell). Settings ending in `_sec` are seconds.",
  ];
  for (const [section, settings] of settingsBySection()) {
    lines.push("", `## [${section}]`, "");
    if (SECTION_DOCS[section]) lines.push(SECTION_DOCS[section], "");
    lines.push("| key | type | default | flag (commands) | environment | meaning |", "|---|---|---|---|---|---|");
    for (const s of settings) {
      const type = s.kind === "enum" && s.choices ? `enum: ${s.choices.join(", ")}` : s.kind;
      lines.push(`| ${code(keyName(s))} | ${cell(type)} | ${code(tomlValue(s.default))} | ${flagCell(s)} | ${envCell(s)} | ${cell(s.doc)} |`);
    }
  }
  return lines.join("\n") + "\n";
}
