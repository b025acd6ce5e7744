/**
 * `orch report` black-box: the compiled binary in a clone that did not build the
 * history (it fetches it), on a night whose figures are known (night.ts).
 */
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeWorld, sh, ORCH_BIN } from "../helpers/world.ts";
import { buildNight, KNOWN, at } from "./night.ts";
import { heartbeat, iso, pushHeartbeat } from "./helpers.ts";
import type { Report } from "../../src/report/types.ts";

// The night ended two hours ago, so the default --since 24h holds all of it.
const t0 = Math.floor(Date.now() / 60_000) * 60 - 5 * 3600;
const { world, clones } = makeWorld({ clones: 2 });
const [builder, reader] = [clones[0]!, clones[1]!];
const night = buildNight(builder, t0);
const galphBeat = heartbeat("galph", { phase: "waiting", iteration: 4, updated_at: iso(at(t0, 165)) });
pushHeartbeat(builder, "galph", galphBeat);

const full = ["--since", iso(at(t0, -10)), "--until", iso(at(t0, 200))];
const json = (args: string[]): Report => {
  const r = reader.orch(["report", "--json", ...args]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Report;
};

describe("orch report", () => {
  test("JSON figures equal the night's known ones", () => {
    const r = json(full);
    expect(r.schema).toBe(1);
    expect(r).toMatchObject({ branch: "feature/x", remote: "origin", ref: "refs/remotes/origin/feature/x", fetch: "fetched", fetch_error: null });
    expect(r.period).toEqual({ since: iso(at(t0, -10)), until: iso(at(t0, 200)), seconds: 210 * 60 });
    expect(r.actors.galph).toMatchObject(KNOWN.galph);
    expect(r.actors.ralph).toMatchObject(KNOWN.ralph);
    expect(r.actors.galph.tokens).toEqual({ input: 1000, output: 200, cache_read: 50, cache_write: 0 });
    expect(r.actors.ralph.running).toEqual({ iteration: 4, since: iso(at(t0, KNOWN.ralphRunningAt)) });
    expect(r.actors.galph.running).toBeNull();
    expect(r.cycles).toEqual(KNOWN.cycles);
    expect(r.stalemates).toEqual([]);
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0]).toMatchObject({ actor: "ralph", iteration: 2, reason: "agent exited 3", exit: 3, log: "logs/feature-x/ralph/iter-00002_c_main.log", at: iso(at(t0, 37)) });
    // the old-tool stamp: counted, no receipt, diffstat counted from its commit
    const old = r.turns.find((t) => !t.receipt)!;
    expect(old).toMatchObject({ actor: "ralph", iteration: 3, duration_sec: null, started_at: iso(at(t0, 146)), commits: 1 });
    expect(old.diffstat).toMatchObject({ code_files: 1, code_add: 3, doc_files: 1, doc_add: 2, source: "numstat" });
    const limited = r.turns.find((t) => t.limit_wait_sec > 0)!;
    expect(limited).toMatchObject({ actor: "ralph", iteration: 2, outcome: "ok", attempts: 2, limit_wait_sec: 1800, duration_sec: 4800, host: "host-b" });
    expect(limited.agent).toEqual({ kind: "claude", version: "2.1.197", model: "claude-sonnet-4-5" });
    expect(r.machines.galph.heartbeat).toMatchObject({ phase: "waiting", host: "host-a", iteration: 4, since: iso(at(t0, 165)), stale: false });
    expect(r.machines.ralph.heartbeat).toBeNull();
  });

  test("the terminal form shows the same figures on one screen, without colour off a TTY", () => {
    const r = reader.orch(["report", ...full]);
    expect(r.code).toBe(0);
    const out = r.stdout;
    expect(out).not.toContain("\x1b[");
    expect(out.split("\n").length).toBeLessThan(40);
    const row = (a: string) => out.split("\n").find((l) => l.startsWith(`${a} `))!.split(/\s{2,}/);
    // actor | turns ok fail retried | median longest | in turns | limit wait | handover | cost | tokens
    expect(row("galph")).toEqual(["galph", "4", "4", "0", "1", "4m00s", "5m00s", "17m00s", "0s", "3m00s", "$0.30", "1.0k/200"]);
    expect(row("ralph")).toEqual(["ralph", "4", "3", "1", "1", "13m00s", "1h20m", "1h43m (+1?)", "30m00s", "5m00s", "$1.60", "5.0k/1.0k"]);
    expect(out).toContain("i=2 ralph");
    expect(out).toContain("agent exited 3  logs/feature-x/ralph/iter-00002_c_main.log");
    expect(out).toMatch(/^i=1 +2 +1 +\+50\/-2 +1 +\+10\/-0 +ok +ok$/m);
    expect(out).toMatch(/^i=3 +1 +1 +\+3\/-0 +1 +\+2\/-0 +ok +ok$/m);
    expect(out).toContain("ralph turn i=4 running since");
    expect(out).toContain("galph  waiting on host-a");
    expect(out).toContain("ralph  no heartbeat (older tool?)");
    expect(out).not.toContain("STALEMATE");
  });

  test("--since and --until bound the period", () => {
    const late = json(["--since", iso(at(t0, 10)), "--until", iso(at(t0, 200))]);
    expect(late.actors.galph.turns).toBe(3); // galph's i=1 stamp (minute 6) is before the period
    expect(late.actors.ralph.turns).toBe(4);
    expect(late.actors.ralph.peer_wait_sec).toBe(KNOWN.ralph.peer_wait_sec - 120); // that handover ended at minute 8
    const early = json(["--since", iso(at(t0, -10)), "--until", iso(at(t0, 100))]);
    expect(early.turns.map((t) => `${t.actor}${t.iteration}${t.outcome}`)).toEqual(["galph1ok", "ralph1ok", "galph2ok", "ralph2fail"]);
    expect(early.actors.ralph.running).toEqual({ iteration: 2, since: iso(at(t0, 60)) });
    // the default is the last 24 hours: the whole night
    const dflt = json([]);
    expect(dflt.turns).toHaveLength(8);
    expect(dflt.period.seconds).toBe(86400);
    // a period with no turns
    const empty = json(["--since", iso(at(t0, -600)), "--until", iso(at(t0, -300))]);
    expect(empty.turns).toEqual([]);
    expect(empty.actors.galph).toMatchObject({ turns: 0, duration_sec: null, cost_usd: null });
  });

  test("--no-fetch reads local refs only; a fetch brings the new stamp and the new heartbeat", () => {
    // machine B's heartbeat and one more turn reach the remote after the reader's last fetch
    pushHeartbeat(builder, "ralph", heartbeat("ralph", { phase: "running", iteration: 4, turn_started_at: iso(at(t0, 166)), last_output_at: iso(at(t0, 170)), updated_at: iso(at(t0, 171)) }));
    night.stamp("ralph", "ok", at(t0, 180), { "Orch-Duration": "840s", "Orch-Diffstat": "files=1 add=1 del=0 code_files=1 code_add=1 code_del=0 doc_files=0 doc_add=0 doc_del=0" }).push();
    const until = iso(at(t0, 200));
    const offline = json(["--no-fetch", "--since", iso(at(t0, -10)), "--until", until]);
    expect(offline.fetch).toBe("offline");
    expect(offline.turns).toHaveLength(8);
    expect(offline.machines.ralph.heartbeat).toBeNull();
    const fetched = json(["--since", iso(at(t0, -10)), "--until", until]);
    expect(fetched.turns).toHaveLength(9);
    expect(fetched.turns.at(-1)).toMatchObject({ actor: "ralph", iteration: 4, outcome: "ok", duration_sec: 840 });
    // the heartbeat is two and a half hours old while it says running: stale
    expect(fetched.machines.ralph.heartbeat).toMatchObject({ phase: "running", host: "host-b", since: iso(at(t0, 166)), last_output_at: iso(at(t0, 170)), stale: true });
    expect(reader.git("for-each-ref", "--format=%(refname)", "refs/orch-remote/").trim().split("\n")).toEqual([
      "refs/orch-remote/origin/heartbeat/galph/feature/x",
      "refs/orch-remote/origin/heartbeat/ralph/feature/x",
    ]);
    // the reader's own branch, index and working tree are untouched
    expect(reader.git("status", "--porcelain")).toBe("");
    expect(reader.exists("sync/state.json")).toBe(false);
  });

  test("an unreachable remote is reported, and the local refs are still read", () => {
    reader.git("remote", "add", "nowhere", join(world.root, "gone.git"));
    try {
      const r = reader.orch(["report", "--json", "--remote", "nowhere", ...full]);
      expect(r.code).toBe(0);
      const rep = JSON.parse(r.stdout) as Report;
      expect(rep.fetch).toBe("failed");
      expect(rep.fetch_error).toBeTruthy();
      expect(rep.ref).toBe("refs/heads/feature/x"); // no refs/remotes/nowhere/…: the local branch
    } finally {
      reader.git("remote", "remove", "nowhere");
    }
    // A remote this clone does not have (one machine, orch pair): nothing to fetch, not a failure.
    const local = JSON.parse(reader.orch(["report", "--json", "--remote", "elsewhere", ...full]).stdout) as Report;
    expect([local.fetch, local.fetch_error]).toEqual(["local", null]);
  });

  test("colour on a TTY only, and never with NO_COLOR", () => {
    const inTty = (extra: Record<string, string>) => {
      const env: Record<string, string> = { ...world.env, ...extra };
      if (!("NO_COLOR" in extra)) delete env.NO_COLOR;
      const cmd = [ORCH_BIN, "report", "--no-fetch", ...full].map((a) => `'${a}'`).join(" ");
      return sh(["script", "-qec", cmd, "/dev/null"], { cwd: reader.dir, env }).stdout;
    };
    expect(inTty({})).toContain("\x1b[31m");
    expect(inTty({ NO_COLOR: "1" })).not.toContain("\x1b[");
    expect(inTty({ NO_COLOR: "1" })).toContain("failures (1)");
  });

  test("a branch that exists nowhere, and a directory outside git", () => {
    const r = reader.orch(["report", "--no-fetch", "--branch", "no/such"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("origin/no/such and no/such do not exist here: nothing to report");
    const outside = sh([ORCH_BIN, "report"], { cwd: world.root, env: world.env });
    expect(outside.code).toBe(2);
    expect(outside.stderr).toContain("is not inside a git repository");
  });

  test("usage errors exit 2 with one line naming the accepted forms", () => {
    for (const args of [["--since", "yesterday"], ["--until", "2026-02-30"], ["--since", "1h", "--until", "2h"], ["--bogus"], ["--since"]]) {
      const r = reader.orch(["report", ...args]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
    expect(reader.orch(["report", "--since", "yesterday"]).stderr).toContain("a duration like 90m, 24h, 7d");
    expect(reader.orch(["report", "--help"]).stdout).toContain("--no-fetch");
  });

  test("--html to a FIFO or through a symlink writes there and leaves the node what it was", async () => {
    const fifo = join(world.root, "page.fifo");
    expect(sh(["mkfifo", fifo], { cwd: world.root, env: world.env }).code).toBe(0);
    const cat = Bun.spawn(["cat", fifo], { stdout: "pipe" });
    setTimeout(() => cat.kill(), 15_000).unref(); // a broken -o must fail the test, not leave cat waiting
    expect(reader.orch(["report", "--no-fetch", "--html", fifo]).code).toBe(0);
    expect(await new Response(cat.stdout).text()).toStartWith("<!doctype html>");
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    const real = join(world.root, "real.html");
    writeFileSync(real, "old\n");
    symlinkSync(real, join(world.root, "link.html"));
    expect(reader.orch(["report", "--no-fetch", "--html", join(world.root, "link.html")]).code).toBe(0);
    expect(lstatSync(join(world.root, "link.html")).isSymbolicLink()).toBe(true);
    expect(readFileSync(real, "utf8")).toStartWith("<!doctype html>");
  });

  test("--open opens the page with xdg-open, and is a note when there is none", () => {
    const bin = join(world.root, "bin");
    mkdirSync(bin, { recursive: true });
    const seen = join(world.root, "opened.txt");
    // written then renamed: the test must never read a half-written file
    writeFileSync(join(bin, "xdg-open"), `#!/bin/sh\necho "$1" > ${seen}.tmp && mv ${seen}.tmp ${seen}\n`);
    chmodSync(join(bin, "xdg-open"), 0o755);
    const page = join(world.root, "page.html");
    const r = reader.orch(["report", "--no-fetch", "--html", page, "--open"], { env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`wrote ${page}`);
    // the opener runs detached: wait for it (bounded, so a broken --open fails instead of hanging)
    for (let i = 0; i < 250 && !existsSync(seen); i++) Bun.sleepSync(20);
    expect(readFileSync(seen, "utf8").trim()).toBe(page);
    // a PATH with git and nothing else
    const gitOnly = join(world.root, "git-only");
    mkdirSync(gitOnly, { recursive: true });
    symlinkSync(Bun.which("git")!, join(gitOnly, "git"));
    const none = reader.orch(["report", "--no-fetch", "--html", page, "--open"], { env: { PATH: gitOnly } });
    expect(none.code).toBe(0);
    expect(none.stderr).toContain("no xdg-open or open on this host");
  });
});
