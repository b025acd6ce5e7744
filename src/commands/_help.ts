/**
 * orch's help text: one renderer for every command, fed by data. Each command
 * module exports a `help` object (description, examples, exit codes, the group
 * of each option that is not a setting) beside its citty definition; setting
 * flags take their group, doc and default from the settings table, so what
 * `--help` says can never drift from what orch does.
 */
import type { ArgDef, ArgsDef } from "citty";
import { SETTINGS, flagCommands, type CommandName, type Setting } from "../core/settings.ts";
import { commonArgs } from "./_args.ts";

/**
 * The exit codes of a command that changes the control document (pause, resume, stop, nudge):
 * they share its publishing, so they share its failures; only what 0 and 2 mean differs.
 */
export function controlExits(published: string, usage: string): CommandHelp["exits"] {
  return [
    [0, published],
    [1, "git or network failure, or the remote refuses pushes to refs/orch/*"],
    [2, usage],
    [3, "control.json on the remote is invalid (left as it is)"],
  ];
}

export interface CommandHelp {
  /** One paragraph: what the command does, in the order it does it. */
  description: string;
  /** Usage lines after `orch <name> ` when the derived one (`<POSITIONAL> [OPTIONS]`) is not enough. */
  usage?: readonly string[];
  /** The group of every option that is not a setting flag (setting flags are grouped by their section). */
  groups?: Readonly<Record<string, string>>;
  /** Two or three examples: the command line and what it does. */
  examples: readonly (readonly [command: string, what: string])[];
  /** Every exit code the command can end with (SPEC §10). */
  exits: readonly (readonly [code: number | string, meaning: string])[];
}

/** Option groups of the settings' sections; a section not named here is shown under its own name. */
const SECTION_GROUP: Record<string, string> = {
  git: "Git",
  sync: "Turn",
  logs: "Logs",
  supervisor: "Agent",
  loop: "Agent",
  reports: "Hygiene",
  tracked_outputs: "Hygiene",
  autocommit: "Hygiene",
  tail: "Digest",
  notify: "Notify",
  pair: "Turn",
  stalemate: "Turn",
  agent: "Agent",
  limits: "Agent",
};
/** Groups in this order; a command's own groups (not listed) come first. */
const GROUP_ORDER = ["Turn", "Agent", "Hygiene", "Digest", "Notify", "Git", "Logs", "Output", "Common"];
const COMMON = "Common";

/** The exit codes both runners share (SPEC §10); a runner adds its own. */
export const RUNNER_EXITS = {
  ok: [0, "every turn ran (or the exit flag stopped the runner at the start of a turn)"],
  runtime: [1, "git, network or runtime failure, e.g. a push that failed: relaunch, it resumes without rerunning the turn"],
  usage: [2, "usage or configuration error: bad flag, bad orch.toml, wrong branch, missing prompt, missing remote branch"],
  badState: [3, "invalid state file (never reset silently)"],
  hygiene: [4, "hygiene violation: dirt outside the doc/meta whitelist; the turn is stamped fail"],
  waitTimeout: [5, "a wait timed out (--max-wait-sec)"],
  fenced: [7, "fenced: another runner holds this turn or this clone's role, or the turn was taken over"],
  limit: [8, "blocked by a usage limit longer than limits.max_wait_sec; the turn is stamped fail"],
  agentTimeout: [124, "the agent timed out (--agent-timeout-sec / --idle-timeout-sec); the turn is stamped fail"],
  signal: ["129/130/143", "orch was stopped by SIGHUP/SIGINT/SIGTERM; the agent's group was stopped, nothing stamped"],
  agent: ["other", "the agent's own exit code; the turn is stamped fail"],
} as const satisfies Record<string, readonly [number | string, string]>;

export interface RenderOptions {
  colour: boolean;
  /** Wrap width in columns. */
  width: number;
}

/** Colour on a terminal only, and never with NO_COLOR (https://no-color.org). */
export function renderOptionsFor(stream: { isTTY?: boolean; columns?: number }): RenderOptions {
  const colour = stream.isTTY === true && !process.env.NO_COLOR;
  const width = stream.isTTY && stream.columns ? Math.max(60, Math.min(120, stream.columns)) : 100;
  return { colour, width };
}

const bold = (o: RenderOptions, s: string) => (o.colour ? `\x1b[1m${s}\x1b[22m` : s);
/** Headings are capitals (USAGE, EXAMPLES, EXIT CODES), bold on a terminal. */
const heading = (o: RenderOptions, s: string) => bold(o, s.toUpperCase());

/** An argv as a person would type it (arguments with spaces or quotes are quoted). */
export function shellWords(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}

const MiB = 1024 * 1024;

/** A setting's built-in default as shown in help: the full agent argv, lists comma-separated, on/off. */
export function defaultText(s: Setting): string {
  const v = s.default;
  if (s.kind === "argv") return shellWords(v as string[]);
  if (Array.isArray(v)) return v.length === 0 ? "none" : v.join(",");
  if (typeof v === "boolean") return v ? "on" : "off";
  if (v === "") return "none";
  if (typeof v === "number" && s.valueHint === "BYTES" && v >= MiB && v % MiB === 0) return `${v} (${v / MiB} MiB)`;
  return String(v);
}

/**
 * The setting behind an option: the one this command takes under that flag, or
 * (for `orch config`, which takes every command's setting flags) the one whose
 * doc the option carries (settingArgs uses the doc as the description).
 */
function settingOfFlag(command: string, flag: string, arg: ArgDef): Setting | undefined {
  const all = (SETTINGS as readonly Setting[]).filter((s) => s.flag === flag);
  return all.find((s) => flagCommands(s).includes(command as CommandName)) ?? all.find((s) => s.doc === arg.description);
}

const groupOfSection = (key: string) => {
  const section = key.slice(0, key.indexOf("."));
  return SECTION_GROUP[section] ?? section.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());
};

interface Row {
  left: string;
  text: string;
  /** Kept on one line whatever the width (the default: an agent argv must be copyable). */
  tail?: string;
}

/** One option as a row: `-n, --count N` and its description with the default. */
function optionRow(command: string, name: string, arg: ArgDef): { group: string | undefined; row: Row } {
  const setting = settingOfFlag(command, name, arg);
  const isBool = arg.type === "boolean";
  const aliases = "alias" in arg && arg.alias ? ([] as string[]).concat(arg.alias).filter((a) => a.length === 1) : [];
  const negatable = isBool && (setting !== undefined || arg.default === true || "negativeDescription" in arg);
  const flag = negatable ? `--${name}, --no-${name}` : `--${name}`;
  const hint = isBool ? "" : ` ${setting?.valueHint ?? arg.valueHint ?? "VALUE"}`;
  const left = `${aliases.length ? aliases.map((a) => `-${a}`).join(", ") + ", " : "    "}${flag}${hint}`;
  if (setting) {
    // orch pair: one flag sets the same setting of both roles (--agent-timeout-sec).
    const same = (SETTINGS as readonly Setting[]).filter((s) => s.flag === name && s !== setting && flagCommands(s).includes(command as CommandName));
    const keys = [setting, ...same].map((s) => `[${s.key}]`).join(" ");
    const text = same.length ? `${setting.doc.replace(/^(\S+ )the supervisor /, "$1each role's ")} (both roles) ${keys}` : `${setting.doc} ${keys}`;
    return { group: groupOfSection(setting.key), row: { left, text, tail: `(default: ${defaultText(setting)})` } };
  }
  const dflt = arg.default === undefined ? undefined : typeof arg.default === "boolean" ? (arg.default ? "on" : "off") : String(arg.default);
  return { group: undefined, row: { left, text: arg.description ?? "", tail: dflt === undefined ? undefined : `(default: ${dflt})` } };
}

/**
 * Words of `text` filled into lines of at most `width` columns. `tail` is never
 * broken: it follows the text, or starts a line of its own (wider than `width`
 * if it must: an agent argv stays one line, to be copied).
 */
function fill(text: string, tail: string | undefined, width: number): string[] {
  const words = text.split(/\s+/).filter(Boolean);
  if (tail) words.push(tail);
  const lines: string[] = [];
  let line = "";
  for (const w of words) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * Rows as a left-aligned two-column table; a left part wider than the column
 * puts its text on the next line. `leftWidth` is the widest left part unless given.
 */
function table(rows: readonly Row[], o: RenderOptions, indent = 2, maxLeft = 32, leftWidthOf: readonly Row[] = rows): string[] {
  const leftWidth = Math.min(maxLeft, Math.max(...leftWidthOf.map((r) => r.left.length)));
  const textCol = indent + leftWidth + 2;
  const textWidth = Math.max(30, o.width - textCol);
  const out: string[] = [];
  for (const r of rows) {
    const lines = fill(r.text, r.tail, textWidth);
    const pad = " ".repeat(textCol);
    if (r.left.length > leftWidth) {
      out.push(" ".repeat(indent) + r.left);
      out.push(...lines.map((l) => pad + l));
    } else {
      out.push(" ".repeat(indent) + r.left.padEnd(leftWidth) + "  " + (lines[0] ?? ""));
      out.push(...lines.slice(1).map((l) => pad + l));
    }
  }
  return out.map((l) => l.trimEnd());
}

function orderGroups(groups: string[]): string[] {
  const own = groups.filter((g) => !GROUP_ORDER.includes(g));
  return [...own, ...GROUP_ORDER.filter((g) => groups.includes(g))];
}

/**
 * The help of one command: usage, description, arguments, options grouped and
 * left-aligned with their value hints and defaults, examples, exit codes last.
 * Throws when an option has no group (a test renders every command).
 */
export function renderCommandHelp(name: string, args: ArgsDef, help: CommandHelp, o: RenderOptions): string {
  const positionals = Object.entries(args).filter(([, a]) => a.type === "positional");
  const derived = [...positionals.map(([n, a]) => (a.required === false ? `[${n.toUpperCase()}]` : `<${n.toUpperCase()}>`)), "[OPTIONS]"].join(" ");
  const usage = (help.usage ?? [derived]).map((u) => `orch ${name} ${u}`);
  const out: string[] = [`${heading(o, "Usage")}  ${usage[0]}`, ...usage.slice(1).map((u) => `       ${u}`), "", ...fill(help.description, undefined, o.width)];

  if (positionals.length) {
    out.push("", heading(o, "Arguments"), ...table(positionals.map(([n, a]) => ({ left: n.toUpperCase(), text: a.description ?? "" })), o));
  }

  const byGroup = new Map<string, Row[]>();
  let settingFlags = 0;
  for (const [argName, arg] of Object.entries(args)) {
    if (arg.type === "positional") continue;
    const { group: settingGroup, row } = optionRow(name, argName, arg);
    if (settingGroup) settingFlags++;
    const group = argName in commonArgs ? COMMON : settingGroup ?? help.groups?.[argName];
    if (!group) throw new Error(`orch ${name}: option --${argName} has no help group (add it to help.groups)`);
    if (!byGroup.has(group)) byGroup.set(group, []);
    byGroup.get(group)!.push(row);
  }
  if (!byGroup.has(COMMON)) byGroup.set(COMMON, []);
  byGroup.get(COMMON)!.push({ left: "-h, --help", text: `Print this help (also: orch help ${name})` });
  // One text column for every group, so the options read as one table.
  const allRows = [...byGroup.values()].flat();
  for (const group of orderGroups([...byGroup.keys()])) out.push("", heading(o, group), ...table(byGroup.get(group)!, o, 2, 32, allRows));

  if (settingFlags > 0) {
    out.push(
      "",
      ...fill(
        `[section.key] names an option's setting: it can also be set in orch.toml or the environment (precedence: flag > environment > orch.toml > default). orch config --for ${name} shows the effective values; docs/configuration.md lists every setting.`,
        undefined,
        o.width,
      ),
    );
  }

  out.push("", heading(o, "Examples"));
  for (const [command, what] of help.examples) out.push(...fill(what, undefined, o.width - 4).map((l) => `  # ${l}`), `  ${command}`);

  out.push("", heading(o, "Exit codes"), ...table(help.exits.map(([code, meaning]) => ({ left: String(code), text: meaning })), o, 2, 12));
  return out.join("\n") + "\n";
}

export interface RootEntry {
  name: string;
  group: string;
  summary: string;
}

/** Root help: the commands by group, one line each, and where to read on. */
export function renderRootHelp(title: string, commands: readonly RootEntry[], groupTitles: Readonly<Record<string, string>>, o: RenderOptions): string {
  const out: string[] = [title, "", `${heading(o, "Usage")}  orch <command> [OPTIONS]`, `       orch help <command>`];
  const groups = [...new Set(commands.map((c) => c.group))];
  for (const g of groups) {
    const rows = commands.filter((c) => c.group === g).map((c) => ({ left: c.name, text: c.summary }));
    out.push("", heading(o, groupTitles[g] ?? g), ...table(rows, o, 2, 12));
  }
  out.push(
    "",
    heading(o, "Options"),
    ...table(
      [
        { left: "-V, --version", text: "Print the version" },
        { left: "-h, --help", text: "Print this help" },
      ],
      o,
    ),
    "",
    `${heading(o, "Exit codes")} of orch supervisor and orch loop (each command's help lists its own)`,
    ...table(Object.values(RUNNER_EXITS).map(([code, meaning]) => ({ left: String(code), text: meaning })), o, 2, 12),
    "",
    ...fill("Run `orch help <command>` (or `orch <command> --help`) for its options, examples and exit codes. The README has a quick start; docs/ has the reference.", undefined, o.width),
  );
  return out.join("\n") + "\n";
}
