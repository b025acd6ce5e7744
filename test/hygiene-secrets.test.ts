/**
 * Issue 11 item 1: no secret is committed or pushed by a loop turn or a
 * supervisor turn; each is named with its rule or kind, never its value, and
 * plain reports are still published.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterTurn, prePullPublish } from "../src/hygiene/index.ts";
import { filesOf, hook, hygieneClone, statusLines } from "./helpers/hygiene.ts";
import { makeEngineWorld } from "./helpers/engine-world.ts";
import { sh, type Clone, type World } from "./helpers/world.ts";
import * as T from "./helpers/secrets.ts";

/** The files of the issue: secrets by name (files and directories), by content, and an ignored build output. */
const PLANTED: Record<string, string> = {
  "secrets.json": '{"db":"hunter2hunter2"}\n',
  "service-account.json": T.SERVICE_ACCOUNT_JSON + "\n",
  ".docker/config.json": '{"auths":{"ghcr.io":{"auth":"dXNlcjpwYXNzd29yZA=="}}}\n',
  ".config/gcloud/application_default_credentials.json": '{"refresh_token":"1//0gLongRefreshTokenValue"}\n',
  "secrets/prod.json": '{"password":"prod-password-123"}\n',
  ".env/bin/postactivate.sh": "export API_KEY=postactivate-secret-value\n",
  "build/output.txt": "build output\n",
  "reports/run.log": `2026-01-01 deploy with ${T.AWS_EXAMPLE_KEY_ID}\n`,
  "reports/token.txt": `line one\ntoken ${T.GITHUB_TOKEN}\n`,
  "reports/sa-dump.json": T.SERVICE_ACCOUNT_JSON + "\n",
};
/** Still published: a plain report, and an ignored one under the force-add globs. */
const PLAIN: Record<string, string> = { "reports/summary.md": "# summary\nall green\n", "reports/out.txt": "ignored but a report\n" };
/** Ignore rules of the repository: build/, *.log, reports/out.txt. */
const IGNORES = "logs/\ntmp/\nbuild/\n*.log\nreports/out.txt\n";
/** Values whose appearance anywhere (commits, logs, console) is a leak. */
const LEAKS = [...T.ALL_VALUES, "hunter2hunter2", "dXNlcjpwYXNzd29yZA==", "1//0gLongRefreshTokenValue", "prod-password-123", "postactivate-secret-value"];

function plant(clone: Clone, files: Record<string, string>): void {
  for (const [p, c] of Object.entries(files)) clone.write(p, c);
}

function expectNoLeak(text: string): void {
  for (const v of LEAKS) expect(text).not.toContain(v);
}

/** What each planted path must be reported with (the rule or the kind), as the log says it. */
const LOOP_REASONS = [
  'secrets.json: looks like a secret ("secret*" matches "secrets.json")',
  'service-account.json: looks like a secret ("service-account*" matches "service-account.json")',
  '.docker/: looks like a secret (".docker" matches ".docker/")',
  '.config/gcloud/: looks like a secret (".config/gcloud" matches ".config/gcloud")',
  'secrets/: looks like a secret ("secret*" matches "secrets/")',
  '.env/: looks like a secret (".env*" matches ".env/")',
  "build/: ignored by git, outside reports.force_add_globs",
  "reports/run.log dirty: holds what looks like a secret (aws-access-key on line 1; value not shown)",
  "reports/token.txt dirty: holds what looks like a secret (github-token on line 2; value not shown)",
  "reports/sa-dump.json dirty: holds what looks like a secret (private-key on line 1; value not shown)",
];

describe("secrets never committed (hygiene, real git)", () => {
  test("loop turn: none of the planted secrets is committed, each is named with its reason, plain reports are", async () => {
    const clone = hygieneClone({ ".gitignore": IGNORES });
    plant(clone, { ...PLANTED, ...PLAIN });
    const h = await hook(clone, {}, "loop");
    const result = await afterTurn(h.ctx);
    expect(result).toEqual({ blocked: [], committed: ["reports/out.txt", "reports/summary.md"] });
    expect(filesOf(clone)).toEqual(["reports/out.txt", "reports/summary.md"]);
    const tree = clone.git("ls-tree", "-r", "--name-only", "HEAD").trim().split("\n");
    for (const p of Object.keys(PLANTED)) expect(tree).not.toContain(p);
    const log = h.logs.join("\n");
    for (const reason of LOOP_REASONS) expect(log).toContain(reason);
    // Content findings are warnings on the console too.
    const said = h.out.join("\n");
    for (const p of ["reports/run.log", "reports/token.txt", "reports/sa-dump.json"]) expect(said).toContain(`[reports] left ${p} dirty: holds what looks like a secret`);
    expectNoLeak(log + said + clone.git("log", "-p", "--all"));
    // Left exactly where they were.
    for (const [p, c] of Object.entries(PLANTED)) expect(clone.read(p)).toBe(c);
  });

  test("supervisor turn: the secrets block the handoff (content findings even when git ignores the file); plain reports are committed", async () => {
    const clone = hygieneClone({ ".gitignore": IGNORES, "src/old.c": "int x;\n" });
    plant(clone, { ...PLANTED, ...PLAIN });
    sh(["rm", join(clone.dir, "src/old.c")], { cwd: clone.dir, env: clone.world.env });
    const h = await hook(clone);
    const result = await afterTurn(h.ctx);
    expect(result.committed).toEqual(["reports/out.txt", "reports/summary.md"]);
    expect(result.blocked).toEqual([
      ".config/gcloud/",
      ".docker/",
      ".env/",
      "reports/run.log", // ignored by git, yet kept out for its content: dirt
      "reports/sa-dump.json",
      "reports/token.txt",
      "secrets.json",
      "secrets/",
      "service-account.json",
      "src/old.c", // a deletion is dirt too
    ]);
    const log = h.logs.join("\n");
    expect(log).toContain("[doc/meta] blocks the handoff: reports/run.log: holds what looks like a secret (aws-access-key on line 1; value not shown)");
    expect(log).toContain('[doc/meta] blocks the handoff: .env/: looks like a secret (".env*" matches ".env/"); never auto-committed');
    expect(log).toContain("[doc/meta] blocks the handoff: src/old.c: deleted, not in the doc/meta whitelist");
    expect(h.out.join("\n")).toContain('[doc/meta] blocks the handoff: service-account.json: looks like a secret ("service-account*" matches "service-account.json")');
    expectNoLeak(log + h.out.join("\n") + clone.git("log", "-p", "--all"));
  });

  test("a whitelisted doc and a tracked output holding a secret block the handoff; the clean ones are committed", async () => {
    const clone = hygieneClone({ "tests/fixtures/a.json": "{}\n", "tests/fixtures/b.json": "{}\n" });
    clone.write("tests/fixtures/a.json", `{"key":"${T.AWS_EXAMPLE_KEY_ID}"}\n`);
    clone.write("tests/fixtures/b.json", '{"v":2}\n');
    clone.write("input.md", `next: call the API with ${T.ANTHROPIC_KEY}\n`);
    clone.write("docs/fix_plan.md", "plan\n");
    const h = await hook(clone, { "auto-commit-reports": false });
    const result = await afterTurn(h.ctx);
    expect(result.committed).toEqual(["tests/fixtures/b.json", "docs/fix_plan.md"]);
    expect(result.blocked).toEqual(["input.md", "tests/fixtures/a.json"]);
    const said = h.out.join("\n");
    expect(said).toContain("[tracked-outputs] left tests/fixtures/a.json dirty: holds what looks like a secret (aws-access-key on line 1");
    expect(said).toContain("[doc/meta] blocks the handoff: input.md: holds what looks like a secret (anthropic-key on line 1");
    expect(statusLines(clone)).toEqual([" M tests/fixtures/a.json", "?? input.md"]);
    expectNoLeak(h.logs.join("\n") + said + clone.git("log", "-p", "--all"));
  });

  test("reports.force_add_globs decides which ignored files are force-added; force_add stays the switch", async () => {
    const clone = hygieneClone({ ".gitignore": "logs/\ntmp/\nout/\n*.txt\n", "orch.toml": '[reports]\nforce_add_globs = ["out/**"]\n' });
    clone.write("out/r.md", "r\n");
    clone.write("reports/x.txt", "x\n");
    clone.write("notes.md", "n\n");
    const result = await afterTurn((await hook(clone, {}, "loop")).ctx);
    expect(result.committed).toEqual(["notes.md", "out/r.md"]);
    clone.write("out/s.md", "s\n");
    expect((await afterTurn((await hook(clone, { "force-add-reports": false }, "loop")).ctx)).committed).toEqual([]);
  });

  test("pre-pull publish keeps a secret-bearing report out and says so", async () => {
    const clone = hygieneClone();
    clone.write("plans/active/p/reports/ok.txt", "fine\n");
    clone.write("plans/active/p/reports/leak.txt", `x ${T.SLACK_TOKEN}\n`);
    const h = await hook(clone, {}, "loop");
    await prePullPublish(h.ctx);
    expect(filesOf(clone)).toEqual(["plans/active/p/reports/ok.txt"]);
    expect(h.logs.join("\n")).toContain("[pre-pull] left plans/active/p/reports/leak.txt dirty: holds what looks like a secret (slack-token on line 1");
    expectNoLeak(h.logs.join("\n"));
  });

  test("--commit-dry-run lists a content finding as a skip, by kind", async () => {
    const clone = hygieneClone();
    clone.write("reports/token.txt", `t ${T.GITHUB_TOKEN}\n`);
    const h = await hook(clone, { "commit-dry-run": true }, "loop");
    await afterTurn(h.ctx);
    expect(h.out.join("\n")).toContain("[reports]   skip reports/token.txt: holds what looks like a secret (github-token on line 1");
  });
});

// ---- through the binary ----------------------------------------------------------

const ONE_TURN = ["--sync-via-git", "--sync-loops", "1", "--poll-interval", "0"];

/**
 * A fake agent that copies these files into the tree. They wait outside the
 * repository, so the agent's argv in orch.toml (which is committed) holds no secret.
 */
function copyingAgent(files: Record<string, string>): string[] {
  const dir = mkdtempSync(join(tmpdir(), "orch-plant-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), c);
  }
  return ["sh", "-c", 'cat >/dev/null; cp -R "$0"/. .', dir];
}

/** Every object on the remote, as text: a secret anywhere in it was pushed. */
function remoteObjects(world: World): string {
  return sh(["git", "cat-file", "--batch-all-objects", "--batch"], { cwd: world.remote, env: world.env }).stdout;
}

/** Local ignore rules: the engine world's committed .gitignore stays clean. */
function ignoreLocally(clone: Clone): void {
  clone.write(".git/info/exclude", IGNORES);
}

describe("secrets never pushed (the binary)", () => {
  test("a loop turn pushes the plain reports and none of the secrets; the console names each finding, never a value", () => {
    const { world, a, b } = makeEngineWorld({ loopAgent: copyingAgent({ ...PLANTED, ...PLAIN }) });
    expect(a.orch(["supervisor", ...ONE_TURN, "--max-wait-sec", "1"]).code).toBe(5);
    ignoreLocally(b);
    const loop = b.orch(["loop", ...ONE_TURN]);
    expect(loop.code).toBe(0);
    b.git("fetch", "-q", "origin");
    const tree = b.git("ls-tree", "-r", "--name-only", `origin/${world.branch}`).trim().split("\n");
    expect(tree).toContain("reports/summary.md");
    expect(tree).toContain("reports/out.txt");
    for (const p of Object.keys(PLANTED)) expect(tree).not.toContain(p);
    const said = loop.stdout + loop.stderr;
    expect(said).toContain("[reports] left reports/run.log dirty: holds what looks like a secret (aws-access-key on line 1; value not shown)");
    expect(said).toContain("[reports] left reports/token.txt dirty: holds what looks like a secret (github-token on line 2; value not shown)");
    const logFile = b.git("ls-files", "--others", "--ignored", "--exclude-standard", "logs").trim().split("\n").find((f) => f.includes("/ralph/") && f.endsWith(".log"))!;
    const log = b.read(logFile);
    expect(log).toContain('[reports] left secrets/: looks like a secret ("secret*" matches "secrets/")');
    expect(log).toContain("[reports] left build/: ignored by git, outside reports.force_add_globs");
    expectNoLeak(said + remoteObjects(world));
  }, 60_000);

  test("a supervisor turn with a secret-bearing report refuses the handoff (exit 4) and pushes no secret", () => {
    const { world, a } = makeEngineWorld({
      supervisorAgent: copyingAgent({ "reports/summary.md": "all green\n", "reports/token.txt": `token ${T.GITHUB_TOKEN}\n`, "docs/fix_plan.md": "plan\n" }),
    });
    // --max-wait-sec: were the handoff accepted, waiting for ralph would end the run (exit 5).
    const r = a.orch(["supervisor", ...ONE_TURN, "--max-wait-sec", "1"]);
    expect(r.code).toBe(4);
    expect(r.stdout).toContain("reports/token.txt");
    expect(r.stdout).toContain("github-token on line 1");
    expect(a.read("reports/token.txt")).toBe(`token ${T.GITHUB_TOKEN}\n`);
    const objects = remoteObjects(world);
    expectNoLeak(r.stdout + r.stderr + objects);
    expect(objects).toMatch(/status=fail/);
  }, 60_000);
});
