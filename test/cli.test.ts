import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ORCH_BIN, ROOT, makeWorld, sh, gitEnv } from "./helpers/world.ts";
import { validateArgv, settingArgs, commonArgs } from "../src/commands/_args.ts";
import { OrchError } from "../src/core/errors.ts";

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
