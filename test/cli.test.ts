import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ORCH_BIN, ROOT, makeWorld, sh, gitEnv } from "./helpers/world.ts";
import { validateArgv, settingArgs, commonArgs } from "../src/commands/_args.ts";
import { OrchError } from "../src/core/errors.ts";
import { COMMAND_NAMES, SETTINGS, settingsForCommand, type CommandName } from "../src/core/settings.ts";
import { defaultText, renderCommandHelp, renderOptionsFor } from "../src/commands/_help.ts";

const { world, clones } = makeWorld({ clones: 1 });
const clone = clones[0]!;
const orch = (...args: string[]) => clone.orch(args);
const pkgVersion = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version as string;

/** One line on stderr, prefixed `orch: `. */
function expectOneLineError(stderr: string, message: string | RegExp): void {
  expect(stderr.endsWith("\n")).toBe(true);
  expect(stderr.trimEnd().split("\n")).toHaveLength(1);
  if (typeof message === "string") expect(stderr).toBe(`orch: ${message}\n`);
  else expect(stderr.trimEnd()).toMatch(message);
}

describe("the compiled binary", () => {
  test("--version prints `orch <version> (<git sha>, bun <version>)`", () => {
    const r = orch("--version");
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const m = /^orch (\S+) \(([0-9a-f]{7,}|unknown), bun (\d+\.\d+\.\d+\S*)\)\n$/.exec(r.stdout);
    expect(m).not.toBeNull();
    expect(m![1]).toBe(pkgVersion);
    expect(m![3]).toBe(Bun.version);
    expect(orch("-V").stdout).toBe(r.stdout);
  });

  test("--version works outside any git repository", () => {
    const r = sh([ORCH_BIN, "--version"], { cwd: "/", env: gitEnv(world.root) });
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith("orch ");
  });

  test("--help lists the commands on stdout, exit 0; no command prints it on stderr, exit 2", () => {
    const help = orch("--help");
    expect(help.code).toBe(0);
    for (const c of ["supervisor", "loop", "stamp", "tail", "status", "doctor", "init", "config"]) expect(help.stdout).toContain(`  ${c} `);
    const none = orch();
    expect(none.code).toBe(2);
    expect(none.stdout).toBe("");
    expect(none.stderr).toContain("USAGE  orch <command>");
  });

  test("stamp --help documents its flags", () => {
    const r = orch("stamp", "--help");
    expect(r.code).toBe(0);
    for (const flag of ["--branch", "--state-file", "--no-pull", "--no-push", "--allow-dirty", "--config"]) expect(r.stdout).toContain(flag);
  });

  test("unknown command, with a suggestion", () => {
    const r = orch("stmap", "galph", "ok");
    expect(r.code).toBe(2);
    expectOneLineError(r.stderr, "unknown command 'stmap' (did you mean 'stamp'?); run 'orch --help'");
  });

  test("unknown top-level option", () => {
    const r = orch("--verbose");
    expect(r.code).toBe(2);
    expectOneLineError(r.stderr, "unknown option '--verbose'; run 'orch --help'");
  });

  test("unknown flag: exit 2, one line, did-you-mean with dashes, nothing done", () => {
    const head = clone.head();
    const r = orch("stamp", "galph", "ok", "--no-pul");
    expect(r.code).toBe(2);
    expectOneLineError(r.stderr, /^orch: unknown option '--no-pul' \(did you mean '--no-pull'\?\)(; run 'orch stamp --help' for usage)?$/);
    const far = orch("stamp", "galph", "ok", "--frobnicate");
    expect(far.code).toBe(2);
    expectOneLineError(far.stderr, /^orch: unknown option '--frobnicate'(; run 'orch stamp --help' for usage)?$/);
    const short = orch("stamp", "-x", "galph", "ok");
    expect(short.code).toBe(2);
    expectOneLineError(short.stderr, /^orch: unknown option '-x'/);
    expect(clone.head()).toBe(head);
  });

  test("stray and missing arguments, bad values: exit 2, one line", () => {
    const stray = orch("stamp", "galph", "ok", "extra");
    expect(stray.code).toBe(2);
    expectOneLineError(stray.stderr, /^orch: unexpected argument 'extra'/);
    const missing = orch("stamp", "galph");
    expect(missing.code).toBe(2);
    expectOneLineError(missing.stderr, /^orch: missing argument <OUTCOME> \(ok or fail\)/);
    const actor = orch("stamp", "bob", "ok");
    expect(actor.code).toBe(2);
    expectOneLineError(actor.stderr, "actor must be galph or ralph, got 'bob'");
    const outcome = orch("stamp", "galph", "done");
    expect(outcome.code).toBe(2);
    expectOneLineError(outcome.stderr, "outcome must be ok or fail, got 'done'");
    const noValue = orch("stamp", "galph", "ok", "--branch");
    expect(noValue.code).toBe(2);
    expectOneLineError(noValue.stderr, /^orch: option '--branch' needs a value/);
  });

  test("outside a git repository: exit 2 with what to do", () => {
    const r = sh([ORCH_BIN, "stamp", "galph", "ok"], { cwd: world.root, env: world.env });
    expect(r.code).toBe(2);
    expectOneLineError(r.stderr, /^orch: .* is not inside a git repository; cd into your project's clone$/);
  });
});

describe("validateArgv (citty accepts unknown flags; orch does not)", () => {
  const def = {
    actor: { type: "positional", description: "galph or ralph", required: true },
    outcome: { type: "positional", description: "ok or fail", required: true },
    ...settingArgs("stamp"),
    pull: { type: "boolean", description: "pull" },
    ...commonArgs,
  } as const;

  const fails = (argv: string[]) => {
    try {
      validateArgv(argv, def);
    } catch (e) {
      expect((e as OrchError).exitCode).toBe(2);
      return (e as Error).message;
    }
    throw new Error(`accepted ${argv.join(" ")}`);
  };

  test("accepts the documented forms and returns the positionals", () => {
    expect(validateArgv(["galph", "ok"], def)).toEqual(["galph", "ok"]);
    expect(validateArgv(["--branch", "feature/x", "galph", "--state-file=s.json", "ok", "--no-pull", "--debug"], def)).toEqual(["galph", "ok"]);
    expect(validateArgv(["--config", "x.toml", "--", "ralph", "fail"], def)).toEqual(["ralph", "fail"]);
  });

  test("rejects what citty would silently accept", () => {
    expect(fails(["galph", "ok", "--brnch", "x"])).toBe("unknown option '--brnch' (did you mean '--branch'?)");
    expect(fails(["galph", "ok", "--pull=yes"])).toBe("option '--pull' takes no value");
    expect(fails(["galph", "ok", "--state-file"])).toBe("option '--state-file' needs a value");
    expect(fails(["galph", "ok", "x"])).toBe("unexpected argument 'x'");
    expect(fails(["galph", "ok", "--", "x"])).toBe("unexpected argument 'x'");
    expect(fails([])).toBe("missing argument <ACTOR> (galph or ralph)");
  });
});

describe("help", () => {
  /** The commands `orch --help` lists: `  name  summary` lines under the group headings, before Options. */
  function listedCommands(): string[] {
    const root = orch("--help").stdout;
    const commands = root.slice(0, root.indexOf("\nOPTIONS\n"));
    return [...commands.matchAll(/^ {2}([a-z]+) {2,}\S/gm)].map((m) => m[1]!);
  }
  /** Blocks of a help text by heading (a line of capitals, no indent; a longer line's first words). */
  function blocks(text: string): { heading: string; lines: string[] }[] {
    const out: { heading: string; lines: string[] }[] = [];
    for (const line of text.split("\n")) {
      const h = /^([A-Z][A-Z ]*[A-Z])(?=$| {2}| of )/.exec(line);
      if (h) out.push({ heading: h[1]!, lines: [] });
      else out.at(-1)?.lines.push(line);
    }
    return out;
  }
  const HEADINGS_OF_OPTIONS = new Set(["TURN", "AGENT", "HYGIENE", "DIGEST", "NOTIFY", "GIT", "LOGS", "OUTPUT", "COMMON", "STAMP", "STATUS", "CHECKS", "INIT"]);

  test("root help: commands grouped Run / Look / Set up, one line each, and a pointer to orch help <cmd>", () => {
    const r = orch("--help");
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain("\x1b[");
    const headings = blocks(r.stdout).map((b) => b.heading);
    expect(headings).toEqual(expect.arrayContaining(["RUN", "LOOK", "SET UP", "OPTIONS"]));
    expect(headings.indexOf("RUN")).toBeLessThan(headings.indexOf("LOOK"));
    expect(headings.indexOf("LOOK")).toBeLessThan(headings.indexOf("SET UP"));
    const run = blocks(r.stdout).find((b) => b.heading === "RUN")!;
    expect(run.lines.filter((l) => l.trim()).map((l) => l.trim().split(/\s+/)[0])).toEqual(["supervisor", "loop", "pair", "stamp", "takeover", "pause", "resume", "stop", "nudge"]);
    expect(r.stdout).toContain("orch help <command>");
    // Every command of the settings' command list is listed (others may have been added).
    expect(listedCommands()).toEqual(expect.arrayContaining([...COMMAND_NAMES]));
    expect(orch("help").stdout).toBe(r.stdout);
    expect(orch("help").code).toBe(0);
  });

  test("every command: usage, description, grouped left-aligned options with defaults, two or more examples, exit codes last", () => {
    const commands = listedCommands();
    expect(commands.length).toBeGreaterThanOrEqual(9);
    for (const name of commands) {
      const r = orch(name, "--help");
      expect(r.code).toBe(0);
      expect(r.stderr).toBe("");
      const text = r.stdout;
      const lines = text.split("\n");
      expect(lines[0]).toStartWith(`USAGE  orch ${name} `);
      const blank = lines.indexOf("");
      for (const usage of lines.slice(1, blank)) expect(usage).toStartWith(`       orch ${name} `);
      expect(lines[blank + 1]!.length).toBeGreaterThan(20); // the description paragraph
      expect(text).not.toMatch(/[ \t]+$/m);

      const bs = blocks(text);
      const optionBlocks = bs.filter((b) => HEADINGS_OF_OPTIONS.has(b.heading));
      expect(optionBlocks.map((b) => b.heading)).toContain("COMMON");
      expect(optionBlocks.at(-1)!.heading).toBe("COMMON");
      // Left-aligned: every long option at column 6 (after a short alias column), every description at one column.
      const optionLines = optionBlocks.flatMap((b) => b.lines).filter((l) => /^ {2}(-\w, | {4})--\w/.test(l));
      expect(optionLines.length).toBeGreaterThan(2);
      const textColumns = new Set(optionLines.filter((l) => /^ +\S.*?\S {2,}\S/.test(l)).map((l) => l.search(/(?<=\S {2,})\S/)));
      expect(textColumns.size).toBe(1);
      expect(text).toContain("  -h, --help");

      // Every setting flag with its default and key, in the group of its section.
      const groupOf = new Map<string, string>();
      for (const s of settingsForCommand(name as CommandName)) {
        const block = optionBlocks.find((b) => b.lines.some((l) => new RegExp(`--${s.flag}\\b`).test(l)));
        expect(block, `--${s.flag} in orch ${name} --help`).toBeDefined();
        const section = s.key.split(".")[0]!;
        if (groupOf.has(section)) expect(block!.heading).toBe(groupOf.get(section)!);
        groupOf.set(section, block!.heading);
        const flat = block!.lines.join(" ").replace(/\s+/g, " ");
        expect(flat).toContain(`[${s.key}]`);
        expect(flat).toContain(`(default: ${defaultText(s)})`);
      }

      const examples = bs.find((b) => b.heading === "EXAMPLES");
      expect(examples).toBeDefined();
      const commandLines = examples!.lines.filter((l) => l.startsWith("  ") && !l.startsWith("  #"));
      expect(commandLines.length).toBeGreaterThanOrEqual(2);
      for (const l of commandLines) expect(l).toContain(`orch ${name}`);

      expect(bs.at(-1)!.heading).toBe("EXIT CODES");
      const codes = bs.at(-1)!.lines.filter((l) => /^ {2}\S/.test(l)).map((l) => l.trim().split(/\s+/)[0]);
      expect(codes[0]).toBe("0");
      expect(codes.length).toBeGreaterThanOrEqual(2);
    }
  });

  test("the runners show their agent's default argv in full, on one line, read from the settings table", () => {
    for (const [command, key] of [["supervisor", "supervisor.agent"], ["loop", "loop.agent"]] as const) {
      const argv = SETTINGS.find((s) => s.key === key)!.default as readonly string[];
      const text = orch(command, "--help").stdout;
      expect(text).toContain(`(default: ${argv.join(" ")})`);
      const exits = text.slice(text.lastIndexOf("\nEXIT CODES\n"));
      for (const code of ["0", "1", "2", "3", "5", "7", "8", "124"]) expect(exits).toMatch(new RegExp(`^ {2}${code} `, "m"));
    }
    expect(orch("supervisor", "--help").stdout).toMatch(/^ {2}4 .*hygiene/m);
  });

  test("orch help <cmd> is orch <cmd> --help; a bad name is a usage error with a suggestion", () => {
    for (const name of ["stamp", "tail", "supervisor"]) {
      const viaHelp = orch("help", name);
      expect(viaHelp.code).toBe(0);
      expect(viaHelp.stdout).toBe(orch(name, "--help").stdout);
      expect(viaHelp.stdout).toBe(orch(name, "-h").stdout);
    }
    const bad = orch("help", "stmap");
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe("");
    expectOneLineError(bad.stderr, "unknown command 'stmap' (did you mean 'stamp'?); run 'orch --help'");
    const none = orch("help", "nosuch");
    expect(none.code).toBe(2);
    expectOneLineError(none.stderr, "unknown command 'nosuch'; run 'orch --help'");
    const extra = orch("help", "stamp", "more");
    expect(extra.code).toBe(2);
    expectOneLineError(extra.stderr, /^orch: unexpected argument 'more'/);
  });

  test("no doubled prefix on any error path: never `orch: ERROR:`, `orch: error:` or `orch: orch`", () => {
    const c = world.clone();
    c.write("sync/state.json", "{ not json");
    const runs = [
      c.orch(["stmap"]),
      c.orch(["help", "nosuch"]),
      c.orch(["stamp", "galph", "ok", "--brnch", "x"]),
      c.orch(["stamp", "galph", "ok"]), // invalid state file
      c.orch(["status", "--offline"]),
      c.orch(["supervisor", "--sync-via-git", "--branch", "other"]), // wrong branch: SPEC §4.1's own "ERROR:" text
      c.orch(["loop", "--sync-loops", "many"]),
      c.orch(["notify"]),
      c.orch(["tail", "nosuch-prefix"]),
      c.orch(["config", "--for", "nobody"]),
      sh([ORCH_BIN, "status"], { cwd: world.root, env: world.env }),
    ];
    for (const r of runs) {
      expect(r.code).not.toBe(0);
      expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(r.stderr).not.toMatch(/^orch: (ERROR|error|orch)\b/im);
      expect(r.stderr).not.toMatch(/^orch: .*orch: /m);
    }
    const guard = runs[5]!;
    expect(guard.code).toBe(2);
    expect(guard.stderr).toBe(`ERROR: Expected to run on branch 'other', but on '${world.branch}'. Aborting.\n`);
  });

  test("no colour when piped or with NO_COLOR; bold headings on a terminal", () => {
    expect(orch("stamp", "--help").stdout).not.toContain("\x1b[");
    const args = { description: "d", examples: [], exits: [] };
    const stampArgs = { actor: { type: "positional", description: "galph or ralph" }, ...commonArgs } as const;
    expect(renderCommandHelp("stamp", stampArgs, args, { colour: true, width: 80 })).toContain("\x1b[1mEXIT CODES\x1b[22m");
    expect(renderCommandHelp("stamp", stampArgs, args, { colour: false, width: 80 })).not.toContain("\x1b[");
    const saved = process.env.NO_COLOR;
    try {
      delete process.env.NO_COLOR;
      expect(renderOptionsFor({ isTTY: true, columns: 90 })).toEqual({ colour: true, width: 90 });
      expect(renderOptionsFor({ isTTY: false })).toEqual({ colour: false, width: 100 });
      process.env.NO_COLOR = "1";
      expect(renderOptionsFor({ isTTY: true, columns: 90 }).colour).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.NO_COLOR;
      else process.env.NO_COLOR = saved;
    }
  });

  test.skipIf(process.platform !== "linux" || !Bun.which("script"))("on a real terminal: colour, unless NO_COLOR is set", () => {
    const env = { ...world.env };
    delete env.NO_COLOR;
    const tty = sh(["script", "-qec", `${ORCH_BIN} help stamp`, "/dev/null"], { cwd: clone.dir, env: { ...env, TERM: "xterm" } });
    expect(tty.stdout).toContain("\x1b[1mUSAGE\x1b[22m");
    const noColour = sh(["script", "-qec", `${ORCH_BIN} help stamp`, "/dev/null"], { cwd: clone.dir, env: { ...env, TERM: "xterm", NO_COLOR: "1" } });
    expect(noColour.stdout).toContain("USAGE  orch stamp");
    expect(noColour.stdout).not.toContain("\x1b[");
  });

  test("an option without a help group is a programming error the renderer refuses", () => {
    const args = { extra: { type: "boolean", description: "x" }, ...commonArgs } as const;
    expect(() => renderCommandHelp("stamp", args, { description: "d", examples: [], exits: [] }, { colour: false, width: 80 })).toThrow("--extra has no help group");
  });
});
