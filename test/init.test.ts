import { describe, expect, test } from "bun:test";
import { makeWorld, type Clone, type World } from "./helpers/world.ts";
import { renderInit, runInit, type InitOptions } from "../src/ops/init.ts";
import { exampleToml } from "../src/ops/toml-text.ts";
import { LOOP_PROMPT, SUPERVISOR_PROMPT } from "../src/ops/starter-prompts.ts";
import { parseState } from "../src/core/state.ts";
import { OrchError } from "../src/core/errors.ts";

const MANAGED = ["orch.toml", "prompts/supervisor.md", "prompts/main.md", ".gitignore", "sync/state.json"];

describe("orch init", () => {
  const { world, clones } = makeWorld({ clones: 4 });
  const init = (c: Clone, opts: Partial<InitOptions> = {}) => runInit({ cwd: c.dir, env: world.env, ...opts });
  const verbs = (actions: Awaited<ReturnType<typeof init>>) => Object.fromEntries(actions.map((a) => [a.target || a.verb, a.verb]));
  /** The clone's files and git state, to prove a run changed nothing. */
  const snapshot = (c: Clone) => ({
    files: MANAGED.map((p) => (c.exists(p) ? c.read(p) : null)),
    status: c.git("status", "--porcelain"),
    head: c.head(),
  });

  test("creates what is missing; a second run changes nothing (idempotent)", async () => {
    const c = clones[0]!;
    c.write(".gitignore", "node_modules"); // no trailing newline, neither logs/ nor tmp/
    c.commitAll("a .gitignore without orch's entries");
    const first = await init(c);
    expect(verbs(first)).toEqual({ "orch.toml": "create", "prompts/supervisor.md": "create", "prompts/main.md": "create", ".gitignore": "append", "sync/state.json": "create" });
    expect(c.read("orch.toml")).toBe(exampleToml());
    expect(c.read("prompts/supervisor.md")).toBe(SUPERVISOR_PROMPT);
    expect(c.read("prompts/main.md")).toBe(LOOP_PROMPT);
    expect(c.read(".gitignore")).toBe("node_modules\nlogs/\ntmp/\n");
    const state = parseState(c.read("sync/state.json"), "sync/state.json");
    expect(state).toMatchObject({ iteration: 1, expected_actor: "galph", status: "idle", galph_commit: null, ralph_commit: null });
    expect(c.head()).toBe(world.clones[1]!.head()); // nothing committed without --commit

    const before = snapshot(c);
    const second = await init(c);
    expect(second.every((a) => a.verb === "keep" && !a.changes)).toBe(true);
    expect(snapshot(c)).toEqual(before);
    expect(renderInit(second, false)).toContain("keep      sync/state.json (exists; init never resets the turn)");
  });

  test("--commit after a plain init commits what it left uncommitted (new files, .gitignore entries), and nothing else", async () => {
    const c = clones[0]!;
    c.write("unrelated.txt", "staged by someone\n");
    c.git("add", "unrelated.txt");
    const actions = await init(c, { commit: true });
    const commit = actions.find((a) => a.verb === "commit")!;
    expect(commit.detail).toBe("orch init: orch.toml, prompts/supervisor.md, prompts/main.md, .gitignore, sync/state.json");
    expect(c.git("show", "--name-only", "--format=", "HEAD").trim().split("\n").sort()).toEqual([...MANAGED].sort());
    expect(c.git("status", "--porcelain").trim()).toBe("A  unrelated.txt");
    const again = await init(c, { commit: true });
    expect(again.find((a) => a.verb === "commit")!.detail).toBe("nothing to commit");
  });

  test("never overwrites without --force; --force replaces orch.toml and prompts but never resets the state", async () => {
    const c = clones[0]!;
    c.write("orch.toml", "[sync]\nloops = 3\n");
    c.write("prompts/main.md", "my own prompt\n");
    c.write("sync/state.json", c.read("sync/state.json").replace('"iteration": 1', '"iteration": 7'));
    const kept = await init(c);
    expect(verbs(kept)["orch.toml"]).toBe("keep");
    expect(renderInit(kept, false)).toContain("keep      orch.toml (exists; --force to overwrite)");
    expect(c.read("orch.toml")).toBe("[sync]\nloops = 3\n");
    // Someone's edits to tracked files are theirs to commit, not init's.
    const committed = await init(c, { commit: true });
    expect(committed.find((a) => a.verb === "commit")!.detail).toBe("nothing to commit");
    const forced = await init(c, { force: true });
    expect(verbs(forced)).toMatchObject({ "orch.toml": "overwrite", "prompts/main.md": "overwrite", "prompts/supervisor.md": "keep", "sync/state.json": "keep" });
    expect(c.read("orch.toml")).toBe(exampleToml());
    expect(c.read("prompts/main.md")).toBe(LOOP_PROMPT);
    expect(parseState(c.read("sync/state.json"), "s").iteration).toBe(7);
    c.git("checkout", "--", "sync/state.json");
  });

  test("an invalid orch.toml stops a plain init (exit 2) but --force replaces it", async () => {
    const c = clones[3]!;
    c.write("orch.toml", "[sync]\nloops = \"many\"\n");
    const err = await init(c).catch((e) => e);
    expect(err).toBeInstanceOf(OrchError);
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain("orch.toml:2");
    await init(c, { force: true, dryRun: true });
    expect(c.read("orch.toml")).toBe("[sync]\nloops = \"many\"\n");
    await init(c, { force: true });
    expect(c.read("orch.toml")).toBe(exampleToml());
  });

  test("--dry-run lists the actions and changes nothing", async () => {
    const c = clones[1]!;
    const before = snapshot(c);
    const actions = await init(c, { dryRun: true, push: true });
    expect(snapshot(c)).toEqual(before);
    const text = renderInit(actions, true);
    expect(text).toContain("would create    orch.toml\n");
    expect(text).toContain("would create    sync/state.json (galph's turn, idle, iteration 1)\n");
    expect(text).toContain("keep            .gitignore (already ignores them)\n");
    expect(text).toContain("would commit    orch init: orch.toml, prompts/supervisor.md, prompts/main.md, sync/state.json\n");
    expect(text).toContain("would push      HEAD:feature/x to origin\n");
    expect(c.git("ls-remote", "origin", "feature/x").split("\t")[0]).toBe(before.head);
  });

  test("--commit --push publishes exactly the new files to HEAD:<branch>", async () => {
    const c = clones[1]!;
    const actions = await init(c, { commit: true, push: true });
    expect(actions.at(-1)).toMatchObject({ verb: "push", target: "HEAD:feature/x" });
    c.git("fetch", "-q", "origin");
    expect(c.git("rev-parse", "origin/feature/x").trim()).toBe(c.head());
    expect(c.subjects("origin/feature/x")[0]).toBe("orch init: orch.toml, prompts/supervisor.md, prompts/main.md, sync/state.json");
    expect(c.git("status", "--porcelain")).toBe("");
  });

  test("--push on another branch than the configured one: exit 2, nothing written", async () => {
    const c = clones[2]!;
    const err = await init(c, { push: true, flags: { branch: "main" } }).catch((e) => e);
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain("Expected to run on branch 'main', but on 'feature/x'");
    expect(c.exists("orch.toml")).toBe(false);
  });

  test("a rejected push fails with exit 1 and says to pull first", async () => {
    const c = clones[2]!;
    // clones[1] pushed above, so this clone is behind (and its own prompt makes its commit differ).
    c.write("prompts/main.md", "this machine's prompt\n");
    const err = await init(c, { push: true }).catch((e) => e);
    expect(err.exitCode).toBe(1);
    expect(err.message).toContain("pull first");
    c.git("reset", "-q", "--hard", "HEAD~1");
  });

  test("binary: --dry-run output, and exit 2 outside a repository", () => {
    const c = clones[2]!;
    const r = c.orch(["init", "--dry-run"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("would create    prompts/main.md");
    expect(c.exists("prompts/main.md")).toBe(false);
    const outside = new (c.constructor as typeof Clone)(world as World, world.root).orch(["init"]);
    expect(outside.code).toBe(2);
    expect(outside.stderr).toContain("not inside a git repository");
  });
});
