import type { ArgsDef } from "citty";
import { argvError } from "../core/errors.ts";
import { suggest } from "../core/config.ts";
import { SETTINGS, flagCommands, settingsForCommand, type CommandName, type Setting } from "../core/settings.ts";

/** Flags every command takes. */
export const commonArgs = {
  config: { type: "string", description: "Read settings from this orch.toml (env ORCH_CONFIG)", valueHint: "PATH" },
  debug: { type: "boolean", description: "Show stack traces on errors" },
} as const satisfies ArgsDef;

/** The schema-backed flags of one command (shared fragments: one definition per setting). */
export function settingArgs(command: CommandName): ArgsDef {
  const args: ArgsDef = {};
  for (const s of settingsForCommand(command)) {
    // The help renderer (_help.ts) adds the default and the key from the table.
    const description = s.doc;
    args[s.flag!] =
      s.kind === "bool"
        ? { type: "boolean", description, negativeDescription: `Turn off --${s.flag}` }
        : { type: "string", description, valueHint: s.valueHint ?? "VALUE", ...(s.alias ? { alias: s.alias } : {}) };
  }
  return args;
}

/** Values of the schema-backed flags, keyed by flag name, only those given. */
export function givenSettingFlags(command: CommandName, args: Record<string, unknown>): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (const s of SETTINGS as readonly Setting[]) {
    if (!s.flag || !flagCommands(s).includes(command)) continue;
    const v = args[s.flag];
    if (v !== undefined) out[s.flag] = v as string | boolean;
  }
  return out;
}

/**
 * citty accepts unknown flags silently; reject them (with a suggestion), reject
 * stray positionals and flags missing their value. Returns the positionals.
 */
export function validateArgv(rawArgs: string[], def: ArgsDef): string[] {
  const long = new Map<string, "boolean" | "string">();
  const short = new Map<string, "boolean" | "string">();
  const positionals = Object.entries(def).filter(([, a]) => a.type === "positional");
  for (const [name, a] of Object.entries(def)) {
    if (a.type === "positional") continue;
    const kind = a.type === "boolean" ? "boolean" : "string";
    long.set(name, kind);
    if (kind === "boolean") long.set(`no-${name}`, "boolean");
    const aliases = "alias" in a && a.alias ? ([] as string[]).concat(a.alias) : [];
    for (const al of aliases) (al.length === 1 ? short : long).set(al, kind);
  }
  long.set("help", "boolean");
  short.set("h", "boolean");
  const seen: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const arg = rawArgs[i]!;
    if (arg === "--") {
      seen.push(...rawArgs.slice(i + 1));
      break;
    }
    if (arg.startsWith("--")) {
      const [name, inline] = splitOnce(arg.slice(2));
      const kind = long.get(name);
      if (!kind) throw argvError(`unknown option '--${name}'${suggest(name, [...long.keys()]).replace(/'([^']+)'\?\)$/, "'--$1'?)")}`);
      if (kind === "string" && inline === undefined) {
        if (i + 1 >= rawArgs.length) throw argvError(`option '--${name}' needs a value`);
        i++;
      }
      if (kind === "boolean" && inline !== undefined) throw argvError(`option '--${name}' takes no value`);
      continue;
    }
    if (arg.startsWith("-") && arg.length > 1 && !/^-\d/.test(arg)) {
      const name = arg.slice(1, 2);
      const kind = short.get(name);
      if (!kind) throw argvError(`unknown option '${arg}'`);
      if (kind === "string" && arg.length === 2) {
        if (i + 1 >= rawArgs.length) throw argvError(`option '-${name}' needs a value`);
        i++;
      }
      continue;
    }
    seen.push(arg);
  }
  if (seen.length > positionals.length) throw argvError(`unexpected argument '${seen[positionals.length]}'`);
  positionals.forEach(([name, a], idx) => {
    if (seen[idx] === undefined && a.required !== false && a.default === undefined) {
      throw argvError(`missing argument <${name.toUpperCase()}>${a.description ? ` (${a.description})` : ""}`);
    }
  });
  return seen;
}

function splitOnce(s: string): [string, string | undefined] {
  const i = s.indexOf("=");
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}
