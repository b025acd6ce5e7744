import { describe, expect, test } from "bun:test";
import { chmodSync, rmSync } from "node:fs";
import { join } from "node:path";
import { makeEngineWorld } from "./helpers/engine-world.ts";
import { doctorPassed, gitVersionOk, renderDoctor, runDoctor, type Check, type DoctorOptions } from "../src/ops/doctor.ts";
import { tryLock } from "../src/core/lock.ts";
import { SUPERVISOR } from "../src/core/roles.ts";

describe("orch doctor", () => {
  const { world, a } = makeEngineWorld({ clones: 1 });
  a.orch(["init", "--push"]); // state file (the prompts and orch.toml exist already)

  const doctor = (opts: Partial<DoctorOptions> & { extraEnv?: Record<string, string> } = {}) =>
    runDoctor({ cwd: a.dir, env: { ...world.env, ...opts.extraEnv }, ...opts });
  const check = (checks: Check[], name: string) => checks.find((c) => c.name === name)!;
  /** Exactly these checks fail (and have a fix). */
  const failing = (checks: Check[]) => checks.filter((c) => c.ok === false).map((c) => c.name);

  test("a healthy world passes every check", async () => {
    const checks = await doctor();
    expect(failing(checks)).toEqual([]);
    expect(doctorPassed(checks)).toBe(true);
    expect(checks.map((c) => c.name)).toEqual([
      "git",
      "repository",
      "configuration",
      "branch",
      "remote",
      "remote branch",
      "remote state file",
      "side channel",
      "state file",
      "supervisor prompt",
      "loop prompt",
      "supervisor agent",
      "loop agent",
      "ignored paths",
      "repository lock",
    ]);
    const text = renderDoctor(checks);
    expect(text).toContain("✓ branch feature/x on origin");
    expect(text).toContain("✓ sync/state.json valid (galph's turn, idle, iteration 1)");
    expect(text).toContain("✓ logs/ and tmp/ ignored by git");
    expect(text).toMatch(/All checks passed\.\n$/);
  });

  test("git version: older than 2.25 fails", () => {
    expect(gitVersionOk("2.24.9")).toBe(false);
    expect(gitVersionOk("1.9")).toBe(false);
    expect(gitVersionOk("2.25.0")).toBe(true);
    expect(gitVersionOk("2.39.5")).toBe(true);
    expect(gitVersionOk("3.0.1")).toBe(true);
  });

  test("outside a repository: fails, and the checks that need one are not run", async () => {
    const checks = await runDoctor({ cwd: world.root, env: world.env });
    expect(failing(checks)).toEqual(["repository"]);
    expect(checks.filter((c) => c.ok === null).length).toBeGreaterThan(5);
    expect(renderDoctor(checks)).toContain("fix: cd into your project's clone");
  });

  test("orch.toml invalid: names file:line; the other checks still run on defaults", async () => {
    const good = a.read("orch.toml");
    a.write("orch.toml", good + "[sync]\nloops = \"many\"\n");
    try {
      const checks = await doctor();
      const c = check(checks, "configuration");
      expect(c.ok).toBe(false);
      expect(c.detail).toMatch(/orch\.toml:\d+/);
      expect(check(checks, "state file").ok).toBe(true);
    } finally {
      a.write("orch.toml", good);
    }
  });

  test("branch: a detached HEAD, or another branch than the configured one", async () => {
    a.git("checkout", "-q", "--detach");
    try {
      expect(failing(await doctor())).toEqual(["branch"]);
    } finally {
      a.git("checkout", "-q", "feature/x");
    }
    const other = await doctor({ flags: { branch: "main" } });
    expect(check(other, "branch")).toMatchObject({ ok: false, fix: "git checkout main" });
  });

  test("branch not on the remote", async () => {
    a.git("checkout", "-q", "-b", "feature/unpushed");
    try {
      const checks = await doctor();
      expect(failing(checks)).toEqual(["remote branch"]);
      expect(check(checks, "remote branch").fix).toContain("git push origin HEAD:refs/heads/feature/unpushed");
    } finally {
      a.git("checkout", "-q", "feature/x");
    }
  });

  test("remote unreachable, or not configured", async () => {
    a.git("remote", "set-url", "origin", join(world.root, "gone.git"));
    try {
      const checks = await doctor();
      expect(failing(checks)).toEqual(["remote"]);
      expect(check(checks, "remote branch").ok).toBeNull();
    } finally {
      a.git("remote", "set-url", "origin", world.remote);
    }
    const none = await doctor({ flags: { remote: "upstream" } });
    expect(check(none, "remote")).toMatchObject({ ok: false, detail: "no remote 'upstream' in this clone" });
    expect(check(none, "remote").fix).toContain("orch doctor --for pair");
  });

  test("--for pair: no remote is fine (orch pair keeps everything here); the reviewer prompt is checked when reviews are on", async () => {
    const checks = await doctor({ flags: { remote: "upstream" }, pair: true });
    expect(failing(checks)).toEqual([]);
    expect(check(checks, "remote").detail).toContain("orch pair keeps everything in this clone");
    expect(checks.some((c) => c.name === "side channel")).toBe(false);
    const reviews = await doctor({ pair: true, extraEnv: { ORCH_PAIR_REVIEW_EVERY: "2", ORCH_PAIR_REVIEWER_PROMPT: "prompts/missing.md" } });
    expect(failing(reviews)).toEqual(["reviewer prompt"]);
    expect(check(reviews, "reviewer prompt").detail).toBe("reviewer prompt prompts/missing.md is missing (pair.review_every = 2)");
  });

  test("a branch not on the remote yet: a problem for two machines, fine for orch pair (it publishes it)", async () => {
    const c = world.clone("doctor-new-branch");
    c.git("checkout", "-q", "-b", "feature-new");
    const two = await runDoctor({ cwd: c.dir, env: world.env });
    expect(failing(two)).toEqual(["remote branch"]);
    const pair = await runDoctor({ cwd: c.dir, env: world.env, pair: true });
    expect(failing(pair)).toEqual([]);
    expect(doctorPassed(pair)).toBe(true);
    expect(check(pair, "remote branch").detail).toBe("branch feature-new is not on origin yet: orch pair publishes it when it starts (--no-push keeps it here)");
    expect(check(pair, "side channel").ok).toBe(true);
    expect(c.git("ls-remote", world.remote, "refs/orch/probe/*")).toBe("");
  });

  test("state file invalid", async () => {
    const good = a.read("sync/state.json");
    a.write("sync/state.json", '{"status": "sleeping"}\n');
    try {
      const checks = await doctor();
      expect(failing(checks)).toEqual(["state file"]);
      expect(check(checks, "state file").detail).toContain("status");
    } finally {
      a.write("sync/state.json", good);
    }
  });

  test("the remote's state file invalid (the one both machines read) fails, with a fix that can be run", async () => {
    const other = world.clone("doctor-remote-state");
    other.write("sync/state.json", '{"iteration": "three"}\n');
    other.commitAll("broken state");
    other.git("push", "-q", "origin", `HEAD:${world.branch}`);
    try {
      const checks = await doctor();
      expect(failing(checks)).toContain("remote state file");
      expect(check(checks, "remote state file").detail).toContain("on origin/feature/x");
      expect(check(checks, "remote state file").fix).toContain("git log origin/feature/x -- sync/state.json");
    } finally {
      other.git("revert", "--no-edit", "HEAD");
      other.git("push", "-q", "origin", `HEAD:${world.branch}`);
    }
  });

  test("a prompt missing", async () => {
    rmSync(join(a.dir, "prompts/main.md"));
    try {
      const checks = await doctor();
      expect(failing(checks)).toEqual(["loop prompt"]);
      expect(check(checks, "loop prompt").detail).toBe("loop prompt prompts/main.md is missing");
    } finally {
      a.git("checkout", "--", "prompts/main.md");
    }
  });

  test("an agent missing (env CLAUDE_CMD), or a path that is not executable; --for limits the roles", async () => {
    const checks = await doctor({ extraEnv: { CLAUDE_CMD: "no-such-agent-xyz" } });
    expect(failing(checks)).toEqual(["loop agent"]);
    expect(check(checks, "loop agent").fix).toContain("orch doctor --for supervisor");
    const onlySupervisor = await doctor({ extraEnv: { CLAUDE_CMD: "no-such-agent-xyz" }, roles: [SUPERVISOR] });
    expect(failing(onlySupervisor)).toEqual([]);
    expect(onlySupervisor.map((c) => c.name)).not.toContain("loop agent");
    a.write("tools/agent.sh", "#!/bin/sh\necho hi\n");
    const notExecutable = await doctor({ extraEnv: { CODEX_CMD: "tools/agent.sh" } });
    expect(failing(notExecutable)).toEqual(["supervisor agent"]);
    rmSync(join(a.dir, "tools"), { recursive: true });
  });

  test("an agent's --version is shown when it answers in time", async () => {
    a.write("tools/agent-v.sh", '#!/bin/sh\n[ "$1" = --version ] && echo "fake-agent 1.2.3"\n');
    a.write("tools/agent-slow.sh", "#!/bin/sh\nexec sleep 30\n");
    chmodSync(join(a.dir, "tools/agent-v.sh"), 0o755);
    chmodSync(join(a.dir, "tools/agent-slow.sh"), 0o755);
    try {
      const started = performance.now();
      const checks = await doctor({ extraEnv: { CODEX_CMD: "tools/agent-v.sh", CLAUDE_CMD: "tools/agent-slow.sh" }, versionTimeoutMs: 300 });
      expect(performance.now() - started).toBeLessThan(3000);
      expect(check(checks, "supervisor agent").detail).toMatch(/tools\/agent-v\.sh, fake-agent 1\.2\.3\)$/);
      expect(check(checks, "loop agent")).toMatchObject({ ok: true });
      expect(check(checks, "loop agent").detail).toContain("no --version answer within");
    } finally {
      rmSync(join(a.dir, "tools"), { recursive: true });
    }
  });

  test("logs/ or tmp/ not ignored", async () => {
    const good = a.read(".gitignore");
    a.write(".gitignore", "logs/\n");
    try {
      const checks = await doctor();
      expect(failing(checks)).toEqual(["ignored paths"]);
      expect(check(checks, "ignored paths").detail).toStartWith("tmp/ not ignored");
    } finally {
      a.write(".gitignore", good);
    }
  });

  test("the repository lock held by another process", async () => {
    const held = tryLock(join(a.dir, ".git/orchestrator.lock"))!;
    try {
      const checks = await doctor();
      expect(failing(checks)).toEqual(["repository lock"]);
    } finally {
      held.release();
    }
    expect(failing(await doctor())).toEqual([]);
  });

  test("binary: exit 0 when healthy, 1 with a problem, 2 for a bad --for", () => {
    const ok = a.orch(["doctor"]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("✓ git ");
    const bad = a.orch(["doctor"], { env: { CODEX_CMD: "no-such-agent-xyz" } });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain("✗ supervisor agent 'no-such-agent-xyz' not found on PATH");
    expect(bad.stdout).toContain("    fix: install it");
    expect(bad.stdout).toContain("1 problem found");
    expect(a.orch(["doctor", "--for", "both"]).code).toBe(2);
  });
});
