import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import TOML from "@iarna/toml";
import { makeWorld, ROOT } from "./helpers/world.ts";
import { configurationMarkdown, exampleToml, tomlValue } from "../src/ops/toml-text.ts";
import { configReport, renderConfigJson, renderConfigToml } from "../src/ops/config-report.ts";
import { loadConfig } from "../src/core/config.ts";
import { SETTINGS, SECTIONS, orchEnvName, type Setting } from "../src/core/settings.ts";
import { OrchError } from "../src/core/errors.ts";

const EXAMPLE = join(ROOT, "orch.toml");
/** The example with every setting line uncommented. */
const uncommented = (text: string) => text.replace(/^# ([a-z_]+ = )/gm, "$1");

/** Settings loaded from this orch.toml text alone (no environment). */
function loadText(text: string) {
  const dir = mkdtempSync(join(tmpdir(), "orch-config-"));
  try {
    writeFileSync(join(dir, "orch.toml"), text);
    return loadConfig({ dir, env: {} });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("example orch.toml", () => {
  test("the committed orch.toml is exactly the generated example (UPDATE_EXAMPLE=1 rewrites it)", () => {
    if (process.env.UPDATE_EXAMPLE === "1") writeFileSync(EXAMPLE, exampleToml());
    expect(readFileSync(EXAMPLE, "utf8")).toBe(exampleToml());
  });

  test("lists every setting with its doc comment and its default, commented out", () => {
    const text = exampleToml();
    for (const s of SETTINGS) {
      const key = s.key.split(".")[1]!;
      expect(text).toContain(`# ${s.doc}\n`);
      expect(text).toMatch(new RegExp(`^# ${key} = `, "m"));
    }
    // As shipped, it changes nothing: every value is the built-in default.
    const config = loadText(text);
    for (const s of SETTINGS) expect(config.sources.get(s.key)!.kind).toBe("default");
  });

  test("uncommented, every line parses and yields exactly the built-in defaults", () => {
    const text = uncommented(exampleToml());
    expect(() => TOML.parse(text)).not.toThrow();
    const config = loadText(text);
    for (const s of SETTINGS) {
      expect(config.sources.get(s.key)!.kind).toBe("file");
      expect(config.get(s.key) as unknown).toEqual(s.default);
    }
  });
});

describe("docs/configuration.md", () => {
  const DOC = join(ROOT, "docs/configuration.md");

  test("the committed file is exactly the generated reference (make docs rewrites it)", () => {
    if (process.env.UPDATE_EXAMPLE === "1") writeFileSync(DOC, configurationMarkdown());
    const committed = readFileSync(DOC, "utf8");
    if (committed !== configurationMarkdown()) throw new Error("docs/configuration.md is stale: run `make docs` and commit it");
    expect(committed).toBe(configurationMarkdown());
  });

  test("every section and every setting, with its type, default, flag and environment variables", () => {
    const text = configurationMarkdown();
    for (const section of SECTIONS) expect(text).toContain(`\n## [${section}]\n`);
    for (const s of SETTINGS as readonly Setting[]) {
      const key = s.key.split(".")[1]!;
      const row = text.split("\n").find((l) => l.startsWith(`| \`${key}\` |`) && l.includes(`\`${orchEnvName(s.key)}\``));
      expect(row, s.key).toBeDefined();
      expect(row).toContain(`| ${s.kind}`);
      expect(row).toContain("`" + tomlValue(s.default).replace(/\|/g, "\\|") + "`");
      if (s.flag) expect(row).toContain(`\`--${s.flag}\``);
      for (const env of [...(s.env ?? []), ...Object.values(s.roleEnv ?? {}).flat()]) expect(row).toContain(`\`${env}\``);
    }
    // The old tool's names are documented where they apply.
    expect(text).toContain("`SUPERVISOR_REPORT_EXTENSIONS` (supervisor)");
    expect(text).toContain("`REPORT_EXTENSIONS` (loop)");
  });
});

describe("orch config", () => {
  const toml = "[sync]\nloops = 3\npoll_interval = 7\n\n[logs]\ndir = \"out/logs\"\n";
  const { world, clones } = makeWorld({ files: { "orch.toml": toml } });
  const c = clones[0]!;
  const report = (command: string, env: Record<string, string> = {}, flags: Record<string, string | boolean> = {}, cwd = c.dir) =>
    configReport({ command, cwd, env: { ...world.env, ...env }, flags });
  const source = (r: Awaited<ReturnType<typeof report>>, key: string) => r.settings.find((s) => s.key === key)!;

  test("each precedence level is named: default, orch.toml:LINE, env, flag", async () => {
    const r = await report("supervisor", { MAX_WAIT_SEC: "30", POLL_INTERVAL: "9" }, { "poll-interval": "2" });
    expect(source(r, "git.remote")).toEqual({ key: "git.remote", value: "origin", source: "default" });
    expect(source(r, "sync.loops")).toEqual({ key: "sync.loops", value: 3, source: "orch.toml:2" });
    expect(source(r, "logs.dir")).toEqual({ key: "logs.dir", value: "out/logs", source: "orch.toml:6" });
    expect(source(r, "sync.max_wait_sec")).toEqual({ key: "sync.max_wait_sec", value: 30, source: "env MAX_WAIT_SEC" });
    // flag > env > file for the same setting
    expect(source(r, "sync.poll_interval")).toEqual({ key: "sync.poll_interval", value: 2, source: "flag --poll-interval" });
    const text = renderConfigToml(r);
    expect(text).toMatch(/^loops = 3 +# orch\.toml:2$/m);
    expect(text).toMatch(/^poll_interval = 2 +# flag --poll-interval$/m);
    expect(text).toMatch(/^max_wait_sec = 30 +# env MAX_WAIT_SEC$/m);
    expect(text).toMatch(/^remote = "origin" +# default$/m);
  });

  test("the file source reads orch.toml:LINE from a subdirectory too", async () => {
    c.write("sub/dir/keep.txt", "x");
    const r = await report("loop", {}, {}, join(c.dir, "sub/dir"));
    expect(source(r, "sync.loops").source).toBe("orch.toml:2");
  });

  test("--for picks the role's variables: REPORT_EXTENSIONS for loop, SUPERVISOR_… and CODEX_CMD for supervisor", async () => {
    const env = { REPORT_EXTENSIONS: ".a,.b", SUPERVISOR_REPORT_EXTENSIONS: ".s", CODEX_CMD: "/opt/codex" };
    const loop = await report("loop", env);
    expect(source(loop, "reports.extensions")).toMatchObject({ value: [".a", ".b"], source: "env REPORT_EXTENSIONS" });
    const sup = await report("supervisor", env);
    expect(source(sup, "reports.extensions")).toMatchObject({ value: [".s"], source: "env SUPERVISOR_REPORT_EXTENSIONS" });
    expect((source(sup, "supervisor.agent").value as string[])[0]).toBe("/opt/codex");
    expect(source(sup, "supervisor.agent").source).toBe("env CODEX_CMD");
  });

  test("a role flag applies to its own section: --agent-timeout-sec sets loop.agent_timeout_sec for --for loop", async () => {
    const r = await report("loop", {}, { "agent-timeout-sec": "60" });
    expect(source(r, "loop.agent_timeout_sec")).toMatchObject({ value: 60, source: "flag --agent-timeout-sec" });
    expect(source(r, "supervisor.agent_timeout_sec").source).toBe("default");
  });

  test("a flag the chosen command does not take is a usage error, not silently ignored", async () => {
    const err = await report("loop", {}, { "codex-cmd": "x" }).catch((e) => e);
    expect(err).toBeInstanceOf(OrchError);
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain("--codex-cmd");
    const bad = await report("nonsense").catch((e) => e);
    expect(bad.exitCode).toBe(2);
  });

  test("--json has value and source per setting", async () => {
    const r = await report("tail", {}, { count: "9" });
    const json = JSON.parse(renderConfigJson(r));
    expect(json.for).toBe("tail");
    expect(json.settings["tail.count"]).toEqual({ value: 9, source: "flag --count" });
    expect(json.settings["sync.loops"]).toEqual({ value: 3, source: "orch.toml:2" });
    expect(Object.keys(json.settings)).toHaveLength(SETTINGS.length);
  });

  test("binary: flags, env, --json, and a bad orch.toml exits 2 naming file:line", () => {
    const text = c.orch(["config", "--poll-interval", "2"], { env: { SYNC_LOOPS: "4" } });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^poll_interval = 2 +# flag --poll-interval$/m);
    expect(text.stdout).toMatch(/^loops = 4 +# env SYNC_LOOPS$/m);
    expect(text.stdout).toMatch(/^dir = "out\/logs" +# orch\.toml:6$/m);
    const json = c.orch(["config", "--json", "--for", "loop", "--prompt", "fix"]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).settings["loop.prompt"]).toEqual({ value: "fix", source: "flag --prompt" });
    const wrong = c.orch(["config", "--for", "stamp", "--prompt", "fix"]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain("--prompt");

    c.write("orch.toml", "[sync]\nloops = \"many\"\n");
    const broken = c.orch(["config"]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain("orch.toml:2");
    expect(broken.stdout).toBe("");
    c.write("orch.toml", toml);
  });
});
