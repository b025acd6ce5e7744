#!/usr/bin/env bun
import { runCommand, type ArgsDef, type CommandDef } from "citty";
import { OrchError, Exit, fileError, oneLine } from "./core/errors.ts";
import { suggest } from "./core/config.ts";
import { validateArgv } from "./commands/_args.ts";
import { renderCommandHelp, renderOptionsFor, renderRootHelp, type CommandHelp } from "./commands/_help.ts";
import { VERSION, GIT_SHA } from "./version.ts";

/** Where a command is listed in `orch --help`. */
type CommandGroup = "run" | "look" | "setup";
const GROUP_TITLES: Record<CommandGroup, string> = { run: "Run", look: "Look", "setup": "Set up" };

interface CommandEntry {
  group: CommandGroup;
  /** One line for `orch --help`; the command's own `help` says the rest. */
  description: string;
  load: () => Promise<{ default: CommandDef<any>; help: CommandHelp }>;
}

/** Only commands that work are registered; each loads lazily to keep startup fast. */
const COMMANDS: Record<string, CommandEntry> = {
  supervisor: { group: "run", description: "Run the supervisor (galph): plan and review, in turns with the loop", load: () => import("./commands/supervisor.ts") },
  loop: { group: "run", description: "Run the engineer loop (ralph): implement, in turns with the supervisor", load: () => import("./commands/loop.ts") },
  pair: { group: "run", description: "One machine, both roles: galph's turn then ralph's, in this clone", load: () => import("./commands/pair.ts") },
  stamp: { group: "run", description: "Hand the turn over by hand: stamp galph|ralph ok|fail without running an agent", load: () => import("./commands/stamp.ts") },
  takeover: { group: "run", description: "When an actor's machine is gone: stamp its running turn fail so it can be run anywhere", load: () => import("./commands/takeover.ts") },
  pause: { group: "run", description: "Pause galph, ralph or both after their current turn, from any clone", load: () => import("./commands/pause.ts") },
  resume: { group: "run", description: "Resume paused actors (and clear a stop), from any clone", load: () => import("./commands/resume.ts") },
  stop: { group: "run", description: "Stop both runners after their current turns, from any clone", load: () => import("./commands/stop.ts") },
  nudge: { group: "run", description: "Queue a note for an actor's next prompt, from any clone", load: () => import("./commands/nudge.ts") },
  tail: { group: "look", description: "Print the interleaved XML digest of both actors' recent turns", load: () => import("./commands/tail.ts") },
  status: { group: "look", description: "Show whose turn it is, the last stamps, and whether the other machine is alive", load: () => import("./commands/status.ts") },
  report: { group: "look", description: "What happened while you were away: turns, failures, waits, cost, code vs docs, both machines (text, --json, --html)", load: () => import("./commands/report.ts") },
  doctor: { group: "setup", description: "Check this host and clone for everything orch needs, with a fix for each problem", load: () => import("./commands/doctor.ts") },
  init: { group: "setup", description: "Set up orch in this repository: orch.toml, prompts, .gitignore, state file", load: () => import("./commands/init.ts") },
  config: { group: "setup", description: "Print the effective configuration and where each value comes from", load: () => import("./commands/config.ts") },
  notify: { group: "setup", description: "Send a test notification through every configured channel (orch notify --test)", load: () => import("./commands/notify.ts") },
};

function rootHelp(stream: NodeJS.WriteStream): string {
  const entries = Object.entries(COMMANDS).map(([name, c]) => ({ name, group: c.group, summary: c.description }));
  return renderRootHelp(`orch ${VERSION}: two coding agents taking strict turns on one git branch`, entries, GROUP_TITLES, renderOptionsFor(stream));
}

/** The command a name means, or a usage error with a suggestion. */
function commandNamed(name: string): CommandEntry {
  const entry = COMMANDS[name];
  if (entry) return entry;
  if (name.startsWith("-")) throw new OrchError(Exit.usage, `unknown option '${name}'; run 'orch --help'`);
  throw new OrchError(Exit.usage, `unknown command '${name}'${suggest(name, Object.keys(COMMANDS))}; run 'orch --help'`);
}

async function commandHelp(name: string, entry: CommandEntry): Promise<string> {
  const mod = await entry.load();
  const cmd = mod.default;
  const args = ((typeof cmd.args === "function" ? await cmd.args() : cmd.args) ?? {}) as ArgsDef;
  return renderCommandHelp(name, args, mod.help, renderOptionsFor(process.stdout));
}

export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes("--debug");
  let commandName: string | undefined;
  try {
    const [first, ...rest] = argv;
    if (first === "--version" || first === "-V") {
      process.stdout.write(`orch ${VERSION} (${GIT_SHA}, bun ${Bun.version})\n`);
      return Exit.ok;
    }
    if (first === undefined) {
      process.stderr.write(rootHelp(process.stderr));
      return Exit.usage;
    }
    if (first === "--help" || first === "-h" || (first === "help" && rest.length === 0)) {
      process.stdout.write(rootHelp(process.stdout));
      return Exit.ok;
    }
    if (first === "help") {
      // `orch help <command>` is `orch <command> --help`.
      const [name, ...extra] = rest;
      if (name === "--help" || name === "-h") {
        process.stdout.write(rootHelp(process.stdout));
        return Exit.ok;
      }
      if (extra.length > 0) throw new OrchError(Exit.usage, `unexpected argument '${extra[0]}'; usage: orch help <command>`);
      process.stdout.write(await commandHelp(name!, commandNamed(name!)));
      return Exit.ok;
    }
    const entry = commandNamed(first);
    commandName = first;
    if (rest.includes("--help") || rest.includes("-h")) {
      process.stdout.write(await commandHelp(first, entry));
      return Exit.ok;
    }
    const cmd = (await entry.load()).default;
    validateArgv(rest, (typeof cmd.args === "function" ? await cmd.args() : cmd.args) ?? {});
    const { result } = await runCommand(cmd, { rawArgs: rest });
    return typeof result === "number" ? result : Exit.ok;
  } catch (e) {
    return report(e, debug, commandName);
  }
}

function report(error: unknown, debug: boolean, command?: string): number {
  // A failed file operation (disk full, read-only, a directory where a file belongs) is an ordinary problem, not an internal error.
  const e = fileError(error, "a file operation failed");
  if (e instanceof OrchError) {
    // Errors are one line (SPEC §10): a usage hint joins the message instead of following it.
    const hint = e.helpHint && command ? `; run 'orch ${command} --help' for usage` : "";
    process.stderr.write(e.verbatim ? `${oneLine(e.message)}\n` : `orch: ${oneLine(e.message)}${hint}\n`);
    if (debug && e.stack) process.stderr.write(e.stack + "\n");
    return e.exitCode;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  process.stderr.write(`orch: internal error: ${oneLine(err.message)}${debug ? "" : " (rerun with --debug for details)"}\n`);
  if (debug && err.stack) process.stderr.write(err.stack + "\n");
  return Exit.runtime;
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  process.exit(code);
}
