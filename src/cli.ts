#!/usr/bin/env bun
import { runCommand, renderUsage, type CommandDef } from "citty";
import { OrchError, Exit, fileError, oneLine } from "./core/errors.ts";
import { suggest } from "./core/config.ts";
import { validateArgv } from "./commands/_args.ts";
import { VERSION, GIT_SHA } from "./version.ts";

/** Only commands that work are registered; each loads lazily to keep startup fast. */
const COMMANDS: Record<string, { description: string; load: () => Promise<CommandDef<any>> }> = {
  supervisor: { description: "Run the supervisor (galph): plan and review, in turns with the loop", load: async () => (await import("./commands/supervisor.ts")).default },
  loop: { description: "Run the engineer loop (ralph): implement, in turns with the supervisor", load: async () => (await import("./commands/loop.ts")).default },
  stamp: { description: "Hand the turn over by hand: stamp galph|ralph ok|fail without running an agent", load: async () => (await import("./commands/stamp.ts")).default },
  takeover: { description: "When an actor's machine is gone: stamp its running turn fail so it can be run anywhere", load: async () => (await import("./commands/takeover.ts")).default },
  tail: { description: "Print the interleaved XML digest of both actors' recent turns", load: async () => (await import("./commands/tail.ts")).default },
  status: { description: "Show whose turn it is, the last stamps, and whether the other machine is alive", load: async () => (await import("./commands/status.ts")).default },
  doctor: { description: "Check this host and clone for everything orch needs, with a fix for each problem", load: async () => (await import("./commands/doctor.ts")).default },
  init: { description: "Set up orch in this repository: orch.toml, prompts, .gitignore, state file", load: async () => (await import("./commands/init.ts")).default },
  config: { description: "Print the effective configuration and where each value comes from", load: async () => (await import("./commands/config.ts")).default },
  notify: { description: "Send a test notification through every configured channel (orch notify --test)", load: async () => (await import("./commands/notify.ts")).default },
  report: { description: "Summarise a period: turns, failures, waits, cost, code vs docs, both machines (text, --json, --html)", load: async () => (await import("./commands/report.ts")).default },
};

function rootHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(width)}  ${c.description}`);
  return [
    `orch ${VERSION}: two coding agents taking strict turns on one git branch`,
    "",
    "USAGE  orch <command> [OPTIONS]",
    "",
    "COMMANDS",
    ...lines,
    "",
    "OPTIONS",
    "  --version  Print the version",
    "  --help     Print this help; `orch <command> --help` for a command's options",
    "",
  ].join("\n");
}

const plain = (s: string) => (process.stdout.isTTY && !process.env.NO_COLOR ? s : s.replace(/\x1b\[[0-9;]*m/g, ""));

export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes("--debug");
  let commandName: string | undefined;
  try {
    const [first, ...rest] = argv;
    if (first === "--version" || first === "-V") {
      process.stdout.write(`orch ${VERSION} (${GIT_SHA}, bun ${Bun.version})\n`);
      return Exit.ok;
    }
    if (first === undefined || first === "--help" || first === "-h" || first === "help") {
      if (first === undefined) {
        process.stderr.write(rootHelp());
        return Exit.usage;
      }
      process.stdout.write(rootHelp());
      return Exit.ok;
    }
    const entry = COMMANDS[first];
    if (!entry) {
      if (first.startsWith("-")) throw new OrchError(Exit.usage, `unknown option '${first}'; run 'orch --help'`);
      throw new OrchError(Exit.usage, `unknown command '${first}'${suggest(first, Object.keys(COMMANDS))}; run 'orch --help'`);
    }
    commandName = first;
    const cmd = await entry.load();
    if (rest.includes("--help") || rest.includes("-h")) {
      process.stdout.write(plain(await renderUsage(cmd)).replace(/[ \t]+$/gm, "") + "\n");
      return Exit.ok;
    }
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
    const hint = e.exitCode === Exit.usage && command && /option|argument/.test(e.message) ? `; run 'orch ${command} --help' for usage` : "";
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
