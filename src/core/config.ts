import { readFileSync, existsSync } from "node:fs";
import { join, relative, isAbsolute, resolve } from "node:path";
import TOML from "@iarna/toml";
import { usageError } from "./errors.ts";
import {
  SETTINGS,
  SETTING_BY_KEY,
  SECTIONS,
  flagCommands,
  orchEnvName,
  type CommandName,
  type RoleSection,
  type SecondsKey,
  type Setting,
  type SettingKey,
  type SettingValue,
} from "./settings.ts";

export type Source =
  | { kind: "default" }
  | { kind: "file"; file: string; line: number }
  | { kind: "env"; name: string }
  | { kind: "flag"; name: string };

export function describeSource(s: Source): string {
  switch (s.kind) {
    case "default":
      return "default";
    case "file":
      return `${s.file}:${s.line}`;
    case "env":
      return `env ${s.name}`;
    case "flag":
      return `flag --${s.name}`;
  }
}

export interface Config {
  /** Effective value per "section.key". */
  values: Map<string, unknown>;
  sources: Map<string, Source>;
  /** The orch.toml read, if any (as displayed in messages). */
  file: string | null;
  /** The value of one setting, typed by its kind. */
  get<K extends SettingKey>(key: K): SettingValue<K>;
  /** A seconds setting in milliseconds. */
  ms(key: SecondsKey): number;
  /**
   * The same settings as one role sees them: the old tool's role variables
   * (REPORT_EXTENSIONS for the loop, SUPERVISOR_REPORT_EXTENSIONS for the
   * supervisor, …) applied. A command that runs both roles asks per role.
   */
  forRole(role: RoleSection): Config;
}

export interface LoadOptions {
  /** Directory orch.toml is looked up in (the repository's top level). */
  dir: string;
  /** --config PATH. */
  configPath?: string;
  env?: Record<string, string | undefined>;
  /** Flag values as given on the command line, by flag name (without dashes). */
  flags?: Record<string, string | boolean | undefined>;
  /** The command running; selects its flags and, for a role command, the role's variables. */
  command?: CommandName;
}

export function loadConfig(opts: LoadOptions): Config {
  const env = opts.env ?? process.env;
  const explicit = opts.configPath ?? env.ORCH_CONFIG;
  const path = explicit ? resolve(opts.dir, explicit) : join(opts.dir, "orch.toml");
  if (explicit && !existsSync(path)) throw usageError(`config file ${explicit} not found; check --config / ORCH_CONFIG`);
  const file = existsSync(path) ? displayPath(path) : null;
  // The file is read and checked once; each role view reuses what it found.
  const fromFile = new Map<string, { value: unknown; source: Source }>();
  if (file) applyFile(readFileSync(path, "utf8"), file, fromFile);
  const command = opts.command;
  const views = new Map<RoleSection | undefined, Config>();
  const view = (role: RoleSection | undefined): Config => {
    const cached = views.get(role);
    if (cached) return cached;
    const built = resolveValues({ env, flags: opts.flags, command, role, fromFile, file, view });
    views.set(role, built);
    return built;
  };
  return view(command === "supervisor" || command === "loop" ? command : undefined);
}

interface ResolveInput {
  env: Record<string, string | undefined>;
  flags?: Record<string, string | boolean | undefined>;
  command?: CommandName;
  role: RoleSection | undefined;
  fromFile: Map<string, { value: unknown; source: Source }>;
  file: string | null;
  view: (role: RoleSection | undefined) => Config;
}

/** default < orch.toml < environment (legacy names, role names, ORCH_ name) < flag. */
function resolveValues(input: ResolveInput): Config {
  const { env, role } = input;
  const values = new Map<string, unknown>();
  const sources = new Map<string, Source>();
  for (const s of SETTINGS as readonly Setting[]) {
    const set = input.fromFile.get(s.key);
    values.set(s.key, set ? set.value : s.default);
    sources.set(s.key, set ? set.source : { kind: "default" });
    const names = [...(s.env ?? []), ...((role && s.roleEnv?.[role]) ?? []), orchEnvName(s.key)];
    // Highest-precedence variable last wins, so the new ORCH_ name beats the legacy one.
    for (const name of names) {
      const raw = env[name];
      if (raw === undefined || raw === "") continue;
      values.set(s.key, fromText(s, raw, values.get(s.key), `env ${name}`));
      sources.set(s.key, { kind: "env", name });
    }
    if (!s.flag || !input.flags || !input.command || !flagCommands(s).includes(input.command)) continue;
    const raw = input.flags[s.flag];
    if (raw === undefined) continue;
    values.set(s.key, typeof raw === "boolean" && s.kind === "bool" ? raw : fromText(s, String(raw), values.get(s.key), `flag --${s.flag}`));
    sources.set(s.key, { kind: "flag", name: s.flag });
  }
  const get = <K extends SettingKey>(key: K): SettingValue<K> => {
    if (!values.has(key)) throw new Error(`unknown setting ${key}`);
    return values.get(key) as SettingValue<K>;
  };
  return {
    values,
    sources,
    file: input.file,
    get,
    ms: (key) => (get(key) as number) * 1000,
    forRole: (r) => input.view(r),
  };
}

function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
}

function applyFile(text: string, file: string, into: Map<string, { value: unknown; source: Source }>): void {
  let doc: Record<string, unknown>;
  try {
    doc = TOML.parse(text) as Record<string, unknown>;
  } catch (e) {
    const err = e as { line?: number; col?: number; pos?: number; message: string };
    const problem = err.message.split("\n")[0]!.replace(/ at row \d+, col \d+, pos \d+:?$/, "");
    const at = typeof err.pos === "number" ? offsetPosition(text, err.pos - 1) : { line: (err.line ?? 0) + 1, col: (err.col ?? 0) + 1 };
    throw usageError(`${file}:${at.line}:${at.col}: ${problem}`);
  }
  const locate = keyLocator(text);
  for (const [section, body] of Object.entries(doc)) {
    if (!SECTIONS.includes(section)) {
      const at = locate(section, null);
      throw usageError(`${file}:${at.line}:${at.col}: unknown section '${section}'${suggest(section, SECTIONS)}`);
    }
    if (typeof body !== "object" || body === null || Array.isArray(body) || body instanceof Date) {
      const at = locate(section, null);
      throw usageError(`${file}:${at.line}:${at.col}: '${section}' must be a table ([${section}])`);
    }
    for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
      const full = `${section}.${key}`;
      const setting = SETTING_BY_KEY.get(full);
      const at = locate(section, key);
      if (!setting) {
        const known = (SETTINGS as readonly Setting[]).filter((s) => s.key.startsWith(section + ".")).map((s) => s.key.slice(section.length + 1));
        throw usageError(`${file}:${at.line}:${at.col}: unknown key '${key}' in [${section}]${suggest(key, known)}`);
      }
      const problem = checkType(setting, value);
      if (problem) throw usageError(`${file}:${at.line}:${at.col}: ${full} ${problem}`);
      into.set(full, { value: normalise(setting, value), source: { kind: "file", file, line: at.line } });
    }
  }
}

/**
 * 1-based line and column of a string offset. @iarna/toml's own line/col are off
 * by one on the first line only; its `pos` is consistently one past the offending character.
 */
function offsetPosition(text: string, offset: number): { line: number; col: number } {
  const at = Math.max(0, Math.min(offset, text.length));
  const before = text.slice(0, at);
  const lineStart = before.lastIndexOf("\n") + 1;
  return { line: before.split("\n").length, col: at - lineStart + 1 };
}

function checkType(s: Setting, v: unknown): string | null {
  switch (s.kind) {
    case "bool":
      return typeof v === "boolean" ? null : `must be true or false, got ${show(v)}`;
    case "int":
      return typeof v === "number" && Number.isInteger(v) && v >= (s.min ?? 0) ? null : `must be a whole number >= ${s.min ?? 0}, got ${show(v)}`;
    case "number":
      return typeof v === "number" && Number.isFinite(v) && v >= (s.min ?? 0) ? null : `must be a number >= ${s.min ?? 0}, got ${show(v)}`;
    case "string":
      return typeof v === "string" ? null : `must be a string, got ${show(v)}`;
    case "enum":
      return typeof v === "string" && s.choices!.includes(v) ? null : `must be one of ${s.choices!.join(", ")}, got ${show(v)}`;
    case "list":
      return Array.isArray(v) && v.every((x) => typeof x === "string") ? null : `must be an array of strings, got ${show(v)}`;
    case "argv":
      return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "string" && x.length > 0)
        ? null
        : `must be a non-empty array of strings (the agent's argv), got ${show(v)}`;
  }
}

function normalise(s: Setting, v: unknown): unknown {
  if (typeof v === "number") return Number(v); // @iarna/toml integers may be wrapped
  if (Array.isArray(v)) return [...v];
  return v;
}

function show(v: unknown): string {
  if (Array.isArray(v)) return "an array";
  if (v instanceof Date) return "a date";
  return typeof v === "string" ? `"${v}"` : typeof v === "object" ? "a table" : String(v);
}

/** Parse a value given as text (environment variable or flag). */
export function fromText(s: Setting, raw: string, current: unknown, source: string): unknown {
  const bad = (want: string) => usageError(`${source}: expected ${want}, got '${raw}'`);
  const text = raw.trim();
  switch (s.kind) {
    case "bool": {
      const t = text.toLowerCase();
      if (["1", "true", "yes", "on"].includes(t)) return true;
      if (["0", "false", "no", "off"].includes(t)) return false;
      throw bad("true or false");
    }
    case "int":
      if (!/^\d+$/.test(text) || Number(text) < (s.min ?? 0)) throw bad(`a whole number >= ${s.min ?? 0}`);
      return Number(text);
    case "number":
      if (!/^(\d+(\.\d*)?|\.\d+)$/.test(text) || Number(text) < (s.min ?? 0)) throw bad(`a number >= ${s.min ?? 0}`);
      return Number(text);
    case "string":
      return raw;
    case "enum":
      if (!s.choices!.includes(text)) throw bad(`one of ${s.choices!.join(", ")}`);
      return text;
    case "list":
      return text.split(",").map((x) => x.trim()).filter((x) => x.length > 0);
    case "argv": {
      // Compat: CODEX_CMD / CLAUDE_CMD / --codex-cmd replace only the executable.
      if (!text) throw bad("an executable path");
      const argv = (current as string[]) ?? [];
      return [raw, ...argv.slice(1)];
    }
  }
}

/** 1-based position of `[section]` or of `key =` inside it. */
function keyLocator(text: string): (section: string, key: string | null) => { line: number; col: number } {
  const lines = text.split(/\r?\n/);
  return (section, key) => {
    let current = "";
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      const header = /^\s*\[\s*([A-Za-z0-9_.\-"]+)\s*\]/.exec(line);
      if (header) {
        current = header[1]!.replace(/"/g, "");
        if (key === null && current === section) return { line: i + 1, col: line.indexOf("[") + 1 };
        continue;
      }
      const assign = /^(\s*)("?)([A-Za-z0-9_.\-]+)\2\s*=/.exec(line);
      if (!assign) continue;
      const path = (current ? current + "." : "") + assign[3];
      const want = key === null ? section : `${section}.${key}`;
      if (path === want || (key === null && path.startsWith(section + "."))) return { line: i + 1, col: assign[1]!.length + 1 };
    }
    return { line: 1, col: 1 };
  };
}

export function suggest(word: string, candidates: string[]): string {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== null && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? ` (did you mean '${best}'?)` : "";
}

export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
