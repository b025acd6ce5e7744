import { describe, expect, test } from "bun:test";
import { makeWorld, type Clone, type World } from "./helpers/world.ts";
import { gatherStatus, type StatusReport } from "../src/ops/status.ts";
import { renderStatus, renderStatusJson, formatAge } from "../src/ops/status-text.ts";
import { initialState, serializeState, stampOutcome, markRunning, subjects, type State } from "../src/core/state.ts";
import { OrchError } from "../src/core/errors.ts";

const MIN = 60_000;

/** Commit a state with a SPEC subject (as a runner would), optionally pushing it. */
function commitState(c: Clone, state: State, subject: string, push = true): void {
  c.write("sync/state.json", serializeState(state));
  c.git("add", "sync/state.json");
  c.git("commit", "-q", "-m", subject);
  if (push) c.git("push", "-q", "origin", `HEAD:refs/heads/${c.world.branch}`);
}

/** The turn history up to "galph ok at i=1": init, galph running, galph ok. Returns the last state. */
function galphOk(c: Clone, at: Date): State {
  const init = initialState(at);
  commitState(c, init, subjects.init(), false);
  const running = markRunning(init, "galph", at);
  commitState(c, running, subjects.running("galph", 1), false);
  const sha = c.git("rev-parse", "--short", "HEAD").trim();
  const ok = stampOutcome(running, "galph", "ok", sha, at);
  commitState(c, ok, subjects.stamp("galph", "ok", 1, sha));
  return ok;
}

const status = (world: World, c: Clone, opts: { offline?: boolean; now?: Date; flags?: Record<string, string> } = {}) =>
  gatherStatus({ cwd: c.dir, env: world.env, ...opts });

describe("orch status", () => {
  const fresh = makeWorld();
  const broken = makeWorld({ files: { "sync/state.json": "{ not json" } });

  test("fresh world: no state file yet, galph's turn, nothing to warn about", async () => {
    const r = await status(fresh.world, fresh.clones[0]!);
    expect(r.state).toBeNull();
    expect(r.state_source).toBe("none");
    expect(r.fetch).toBe("fetched");
    expect(r.stamps).toEqual({ galph: null, ralph: null });
    expect(r.sync).toMatchObject({ remote_branch: true, local_branch: true, ahead: 0, behind: 0, unpushed_stamps: [] });
    expect(r.stale).toBeNull();
    const text = renderStatus(r);
    expect(text).toContain("no sync/state.json yet");
    expect(text).toContain("up to date with origin/feature/x");
    expect(text).not.toContain("WARNING");
  });

  test("a branch nobody pushed yet: says so, fetch is not an error", async () => {
    const c = fresh.clones[0]!;
    c.git("checkout", "-q", "-b", "feature/new");
    const r = await status(fresh.world, c);
    expect(r.branch).toBe("feature/new");
    expect(r.fetch).toBe("fetched");
    expect(r.sync.remote_branch).toBe(false);
    expect(renderStatus(r)).toContain("origin/feature/new does not exist yet");
    c.git("checkout", "-q", "feature/x");
  });

  const { world, clones } = makeWorld({ clones: 2 });
  const [a, b] = clones as [Clone, Clone];
  const t0 = new Date(Math.floor((Date.now() - 30 * MIN) / 1000) * 1000); // whole seconds, as the state file stores

  test("waiting: ralph's turn after galph's ok stamp, with galph's commit and ages", async () => {
    const ok = galphOk(a, t0);
    const now = new Date(t0.getTime() + 4 * MIN);
    const r = await status(world, a, { now });
    expect(r.state_source).toBe("origin/feature/x");
    expect(r.state).toMatchObject({ expected_actor: "ralph", status: "waiting-ralph", iteration: 1, galph_commit: ok.galph_commit });
    expect(r.state_age_sec).toBe(240);
    expect(r.stamps.galph).toMatchObject({ outcome: "ok", iteration: 1, commit: ok.galph_commit });
    expect(r.stamps.ralph).toBeNull();
    expect(r.working_tree_differs).toBe(false);
    const text = renderStatus(r);
    expect(text).toMatch(/^turn +ralph \(loop\) · waiting-ralph · iteration 1 · changed 4m ago$/m);
    expect(text).toMatch(new RegExp(`^galph +last OK i=1 · commit ${ok.galph_commit} · `, "m"));
    expect(text).toMatch(/^ralph +no ok\/fail stamp yet$/m);
    const json = JSON.parse(renderStatusJson(r));
    expect(json).toMatchObject({ schema: 1, branch: "feature/x", remote: "origin", state: { status: "waiting-ralph" }, stamps: { galph: { outcome: "ok" } } });
  });

  test("behind: the other machine pushed; --offline shows the last fetched refs, a fetch catches up", async () => {
    b.git("pull", "-q", "--rebase", "origin", "feature/x");
    const waiting = JSON.parse(b.read("sync/state.json"));
    const running = markRunning({ ...initialState(), ...waiting, extra: {} }, "ralph");
    commitState(b, running, subjects.running("ralph", 1));
    const offline = await status(world, a, { offline: true });
    expect(offline.fetch).toBe("offline");
    expect(offline.state?.status).toBe("waiting-ralph");
    expect(offline.sync.behind).toBe(0);
    const r = await status(world, a);
    expect(r.state?.status).toBe("running-ralph");
    expect(r.sync).toMatchObject({ ahead: 0, behind: 1 });
    expect(r.working_tree_differs).toBe(true);
    const text = renderStatus(r);
    expect(text).toContain("behind origin/feature/x by 1");
    expect(text).toContain("working tree differs: ralph · waiting-ralph · iteration 1");
  });

  test("running-stale: a running status past its lease warns that the machine may be dead", async () => {
    a.git("pull", "-q", "--rebase", "origin", "feature/x");
    const now = new Date();
    const r = await status(world, a, { now });
    expect(r.stale).toBeNull(); // fresh lease
    const late = new Date(now.getTime() + 25 * MIN);
    const stale = await status(world, a, { now: late, offline: true });
    expect(stale.stale?.actor).toBe("ralph");
    expect(stale.stale!.lease_expired_sec).toBeGreaterThanOrEqual(15 * 60 - 5);
    expect(renderStatus(stale)).toMatch(/^WARNING +ralph has been running 25m without a state change \(lease expired 1[45]m ago\): a long agent turn, or the loop machine stopped/m);
  });

  test("failed: ralph's fail stamp shows as the last ralph stamp and the failed status", async () => {
    b.git("pull", "-q", "--rebase", "origin", "feature/x");
    const current = JSON.parse(b.read("sync/state.json"));
    const sha = b.git("rev-parse", "--short", "HEAD").trim();
    const failed = stampOutcome({ ...initialState(), ...current, extra: {} }, "ralph", "fail", sha);
    commitState(b, failed, subjects.stamp("ralph", "fail", 1, sha));
    const r = await status(world, a);
    expect(r.state).toMatchObject({ status: "failed", expected_actor: "ralph" });
    expect(r.stamps.ralph).toMatchObject({ outcome: "fail", iteration: 1, commit: sha });
    expect(r.stamps.galph?.outcome).toBe("ok");
    expect(r.stale).toBeNull();
    expect(renderStatus(r)).toMatch(new RegExp(`^ralph +last FAIL i=1 · commit ${sha} · `, "m"));
  });

  test("unpushed: a stamp committed here but not pushed is named, with how to publish it", async () => {
    a.git("pull", "-q", "--rebase", "origin", "feature/x");
    const current = JSON.parse(a.read("sync/state.json"));
    const sha = a.git("rev-parse", "--short", "HEAD").trim();
    const next = stampOutcome({ ...initialState(), ...current, extra: {} }, "ralph", "ok", sha);
    const subject = subjects.stamp("ralph", "ok", 2, sha);
    commitState(a, next, subject, false);
    a.write("notes.txt", "x");
    a.commitAll("unrelated local work");
    const r = await status(world, a);
    expect(r.sync).toMatchObject({ ahead: 2, behind: 0, unpushed_stamps: [subject] });
    expect(r.state?.status).toBe("failed"); // the remote's view
    expect(r.working_tree_differs).toBe(true);
    const text = renderStatus(r);
    expect(text).toContain("ahead by 2 (unpushed)");
    expect(text).toContain(`unpushed  ${subject} (relaunch the runner, or: git push origin HEAD:feature/x)`);
    a.git("push", "-q", "origin", "HEAD:refs/heads/feature/x");
    const after = await status(world, a);
    expect(after.sync.unpushed_stamps).toEqual([]);
    // The subject says i=2 (ralph's ok names the next iteration); the turn worked on 1.
    expect(after.stamps.ralph).toMatchObject({ outcome: "ok", iteration: 1, subject: subject });
  });

  test("logs: the newest log of each actor with size and age; exit flag shown", async () => {
    a.write("logs/feature-x/galph/iter-00001_20260101_000000.log", "old\n");
    a.write("logs/feature-x/galph/iter-00002_20260101_000000.log", "x".repeat(2048));
    a.write("logs/feature-x/ralph/iter-00001_20260101_000100_main.log", "r\n");
    const current = JSON.parse(a.read("sync/state.json"));
    const withExit: State = { ...initialState(), ...current, extra: { exit: true, exit_reason: "release freeze" } };
    commitState(a, withExit, "stop the runners");
    const r = await status(world, a);
    expect(r.logs.galph).toMatchObject({ path: "logs/feature-x/galph/iter-00002_20260101_000000.log", bytes: 2048 });
    expect(r.logs.ralph?.path).toBe("logs/feature-x/ralph/iter-00001_20260101_000100_main.log");
    expect(r.exit).toEqual({ reason: "release freeze" });
    const text = renderStatus(r);
    expect(text).toMatch(/^logs +galph  logs\/feature-x\/galph\/iter-00002_20260101_000000\.log · 2\.0 KiB · \d+s ago$/m);
    expect(text).toContain("exit flag set: release freeze");
  });

  test("an unreachable remote: fetch failure is a warning, the last fetched state is shown", async () => {
    a.git("remote", "set-url", "origin", world.root + "/gone.git");
    try {
      const r = await status(world, a);
      expect(r.fetch).toBe("failed");
      expect(r.state).not.toBeNull();
      expect(renderStatus(r)).toMatch(/^WARNING +fetch failed: /m);
    } finally {
      a.git("remote", "set-url", "origin", world.remote);
    }
  });

  test("an invalid state file is exit 3 naming the file", async () => {
    const cs = broken.clones;
    const err = await status(broken.world, cs[0]!).catch((e) => e);
    expect(err).toBeInstanceOf(OrchError);
    expect(err.exitCode).toBe(3);
    expect(err.message).toContain("sync/state.json");
    const bin = cs[0]!.orch(["status", "--offline"]);
    expect(bin.code).toBe(3);
    expect(bin.stderr).toContain("sync/state.json");
  });

  test("binary: text and --json, exit 0 whatever the state, under half a second", () => {
    const started = performance.now();
    const text = b.orch(["status"]);
    const elapsed = performance.now() - started;
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^branch +feature\/x on origin · fetched just now$/m);
    expect(elapsed).toBeLessThan(500);
    const json = b.orch(["status", "--json", "--offline"]);
    expect(json.code).toBe(0);
    const r = JSON.parse(json.stdout) as StatusReport & { schema: number };
    expect(r.schema).toBe(1);
    expect(r.fetch).toBe("offline");
    expect(r.exit).toEqual({ reason: "release freeze" });
    expect(Object.keys(r.stamps)).toEqual(["galph", "ralph"]);
  });
});

test("ages read like 3m ago", () => {
  expect(formatAge(45)).toBe("45s ago");
  expect(formatAge(180)).toBe("3m ago");
  expect(formatAge(2 * 3600 + 5 * 60)).toBe("2h 5m ago");
  expect(formatAge(3 * 86400 + 4 * 3600)).toBe("3d 4h ago");
  expect(formatAge(-120)).toBe("in 2m");
});
