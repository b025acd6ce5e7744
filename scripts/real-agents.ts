#!/usr/bin/env bun
/**
 * `make test-real-agents` (optional, outside `make test`): orch with the real
 * agent CLIs. Installs claude-code and codex from npm into .real-agents/ (once),
 * starts test/fixtures/fake-model-server.js on a loopback port, points both CLIs
 * at it, and runs `orch pair --no-push` in a throw-away repository:
 *   1. two ok cycles: codex as galph, claude as ralph; readable transcripts,
 *      raw streams beside them, receipts naming each CLI, summaries with the
 *      final message;
 *   2. codex hits a usage limit once: the turn waits and runs again (never
 *      stamped fail), its receipt counts 2 attempts and the wait.
 * Exit 0 when every check holds, 1 otherwise (each failed check is printed).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
const ORCH = process.env.ORCH_BIN ?? join(ROOT, "dist/orch");
const TOOLS = join(ROOT, ".real-agents");
const CLAUDE = join(TOOLS, "node_modules/.bin/claude");
const CODEX = join(TOOLS, "node_modules/.bin/codex");
const PACKAGES = ["@anthropic-ai/claude-code@2.1.197", "@openai/codex@0.171.0"];

const failures: string[] = [];
const check = (ok: boolean, what: string) => {
  console.log(`${ok ? "✓" : "✗"} ${what}`);
  if (!ok) failures.push(what);
};

function sh(argv: string[], cwd: string, env: Record<string, string> = {}, input?: string) {
  const r = Bun.spawnSync(argv, { cwd, env: { ...(process.env as Record<string, string>), ...env }, stdin: input ? Buffer.from(input) : "ignore", stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? 1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

if (!existsSync(CLAUDE) || !existsSync(CODEX)) {
  console.log(`installing ${PACKAGES.join(" ")} into .real-agents/ …`);
  mkdirSync(TOOLS, { recursive: true });
  const r = sh(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", TOOLS, ...PACKAGES], ROOT);
  if (r.code !== 0) {
    console.error(`npm install failed: ${r.stderr.trim().split("\n").at(-1)}`);
    process.exit(2);
  }
}

const port = 18000 + Math.floor(Math.random() * 1000);
const work = mkdtempSync(join(tmpdir(), "orch-real-agents-"));
const server = Bun.spawn(["node", join(ROOT, "test/fixtures/fake-model-server.js"), "--port", String(port), "--log", join(work, "requests.jsonl")], {
  // The usage limit of case 2 resets in 5 s (the server's default is an hour).
  env: { ...(process.env as Record<string, string>), FAKE_RESET_SECONDS: "5" },
  stdout: "ignore",
  stderr: "ignore",
});
const control = (path: string) => fetch(`http://127.0.0.1:${port}${path}`).then((r) => r.text());
try {
  for (let i = 0; i < 50; i++) {
    if (await control("/__mode").then(() => true, () => false)) break;
    await Bun.sleep(100);
  }
  const codexHome = join(work, "codex-home");
  mkdirSync(codexHome);
  writeFileSync(
    join(codexHome, "config.toml"),
    ['model = "gpt-5-codex"', 'model_provider = "fake"', "[model_providers.fake]", 'name = "fake"', `base_url = "http://127.0.0.1:${port}/v1"`, 'env_key = "FAKE_OPENAI_KEY"', 'wire_api = "responses"', ""].join("\n"),
  );
  const env: Record<string, string> = {
    HOME: work,
    CODEX_HOME: codexHome,
    FAKE_OPENAI_KEY: "dummy",
    ANTHROPIC_BASE_URL: `http://127.0.0.1:${port}`,
    ANTHROPIC_API_KEY: "dummy",
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    DISABLE_TELEMETRY: "1",
    DISABLE_AUTOUPDATER: "1",
    // Root refuses --dangerously-skip-permissions without it; this machine is a throw-away sandbox.
    IS_SANDBOX: "1",
    GIT_CONFIG_GLOBAL: join(work, "gitconfig"),
    GIT_CONFIG_NOSYSTEM: "1",
  };
  writeFileSync(env.GIT_CONFIG_GLOBAL!, "[user]\n\tname = Test\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n");
  const repo = join(work, "repo");
  mkdirSync(repo);
  sh(["git", "init", "-q", "-b", "feature/real"], repo, env);
  writeFileSync(join(repo, "README.md"), "# real agents\n");
  writeFileSync(join(repo, ".gitignore"), "logs/\ntmp/\n");
  mkdirSync(join(repo, "prompts"));
  writeFileSync(join(repo, "prompts/supervisor.md"), "Write the next task for the engineer to input.md. Keep it short.\n");
  writeFileSync(join(repo, "prompts/main.md"), "Do the task in input.md.\n");
  writeFileSync(
    join(repo, "orch.toml"),
    [
      "[supervisor]",
      `agent = ${JSON.stringify([CODEX, "exec", "--json", "--dangerously-bypass-approvals-and-sandbox", "--skip-git-repo-check"])}`,
      "[loop]",
      `agent = ${JSON.stringify([CLAUDE, "-p", "--dangerously-skip-permissions", "--verbose", "--output-format", "stream-json"])}`,
      "[stalemate]",
      "cycles = 0",
      "[limits]",
      "min_wait_sec = 1",
      "jitter_sec = 0",
      "backoff_sec = 3",
      "",
    ].join("\n"),
  );
  sh(["git", "add", "-A"], repo, env);
  sh(["git", "commit", "-q", "-m", "setup"], repo, env);

  console.log(`\n1. two ok cycles (codex ${sh([CODEX, "--version"], repo, env).stdout.trim()}, claude ${sh([CLAUDE, "--version"], repo, env).stdout.trim()})`);
  const one = sh([ORCH, "pair", "--no-push", "--sync-loops", "2", "--poll-interval", "0"], repo, env);
  check(one.code === 0, `orch pair exits 0 (got ${one.code}${one.code ? `: ${one.stderr.trim().split("\n").at(-1)}` : ""})`);
  const logs = (actor: string) => (existsSync(join(repo, "logs/feature-real", actor)) ? readdirSync(join(repo, "logs/feature-real", actor)).sort() : []);
  for (const actor of ["galph", "ralph"]) {
    const names = logs(actor).filter((n) => n.endsWith(".log"));
    check(names.length === 2, `${actor}: two logs`);
    const text = names[0] ? readFileSync(join(repo, "logs/feature-real", actor, names[0]), "utf8") : "";
    check(text.includes("■ ok"), `${actor}: the log holds a readable transcript ending in its result line`);
    check(!text.includes('"type":'), `${actor}: no raw JSON in the log`);
    check(logs(actor).some((n) => n.endsWith(".log.jsonl")), `${actor}: the raw stream is kept beside the log (.jsonl)`);
    const summaries = logs(`${actor}-summaries`);
    check(summaries.length === 2 && readFileSync(join(repo, "logs/feature-real", `${actor}-summaries`, summaries[0]!), "utf8").includes("Done. (fake model answer)"), `${actor}: summaries with the final message`);
  }
  const trailers = sh(["git", "log", "--format=%(trailers:key=Orch-Agent,valueonly)", "--grep=status=ok"], repo, env).stdout;
  check(/kind=claude version=2\.1\.197/.test(trailers), "receipts name claude and its version");
  check(/kind=codex version=0\.171\.0/.test(trailers), "receipts name codex and its version");

  console.log("\n2. codex hits its usage limit once");
  await control("/__mode/429-usage?times=1");
  const two = sh([ORCH, "pair", "--no-push", "--sync-loops", "1", "--poll-interval", "0"], repo, env);
  check(two.code === 0, `orch pair exits 0 after waiting (got ${two.code})`);
  check(/galph blocked by a usage limit until/.test(two.stdout), "the limit is said and waited out");
  const last = sh(["git", "log", "-1", "--format=%(trailers:only,unfold)", "--grep=actor=galph → next=ralph"], repo, env).stdout;
  check(/^Orch-Attempts: 2$/m.test(last), "the receipt counts two attempts");
  check(/^Orch-Limit-Wait: [1-9]\d*s$/m.test(last), "the receipt counts the wait");
  check(!sh(["git", "log", "--format=%s"], repo, env).stdout.includes("status=fail"), "no turn was stamped fail");
} finally {
  server.kill();
  if (!process.env.KEEP) rmSync(work, { recursive: true, force: true });
  else console.log(`kept ${work}`);
}
console.log(failures.length ? `\n${failures.length} check(s) failed` : "\nall checks passed");
process.exit(failures.length ? 1 : 0);
