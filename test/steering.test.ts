/**
 * orch pause/resume/stop/nudge (issue 14, SPEC §15) through the compiled
 * binary, against a real bare remote: a third clone plays the person's
 * laptop (another branch checked out), the result is read back with plain git.
 */
import { describe, expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempWorld, type Clone, type World } from "./helpers/world.ts";
import { Git } from "../src/core/git.ts";
import { updateControl, readControlCopy } from "../src/channel/control-push.ts";
import { pendingNudges, nudgesForTurn, readControl } from "../src/channel/control.ts";

const REF = "refs/orch/control/feature/x";
const ON = ["--branch", "feature/x"];

/** A laptop: a clone of the remote with some other branch checked out. */
function laptop(world: World, name = "laptop"): Clone {
  const c = world.clone(name);
  c.git("checkout", "-q", "-b", "my-own-work");
  return c;
}

/** The remote's control ref as plain git sees it: sha, control.json, the tree's file names, the chain's length. */
function remoteControl(c: Clone): { sha: string; doc: any; files: string[]; length: number } | null {
  const line = c.git("ls-remote", "origin", REF).trim();
  if (!line) return null;
  c.git("fetch", "-q", "origin", `+${REF}:refs/test/control`);
  return {
    sha: line.split("\t")[0]!,
    doc: JSON.parse(c.git("show", "refs/test/control:control.json")),
    files: c.git("ls-tree", "--name-only", "refs/test/control").trim().split("\n"),
    length: Number(c.git("rev-list", "--count", "refs/test/control").trim()),
  };
}

describe("pause, resume, stop from a third clone", () => {
  test("pause ralph publishes a control commit; pause again changes nothing; resume clears it; each change is one commit of a chain", () => {
    using w = tempWorld({ clones: 2 });
    const me = laptop(w.world);
    const other = w.clones[0]!;
    expect(remoteControl(other)).toBeNull();

    const p = me.orch(["pause", "ralph", ...ON]);
    expect(p.stderr).toBe("");
    expect(p.code).toBe(0);
    expect(p.stdout).toBe(`paused ralph (control seq 1, pushed to origin ${REF}); ralph finishes its current turn, then waits until orch resume\n`);
    let c = remoteControl(other)!;
    expect(c.doc).toMatchObject({ schema: 1, seq: 1, paused: { galph: false, ralph: true }, stop: null, nudges: [] });
    expect(c.files).toEqual(["control.json"]);
    expect(c.length).toBe(1);

    const again = me.orch(["pause", "ralph", ...ON]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(`ralph was already paused (control seq 1 on origin ${REF}; nothing to publish)\n`);
    expect(remoteControl(other)!.sha).toBe(c.sha);

    const both = me.orch(["pause", ...ON]);
    expect(both.stdout).toStartWith("paused galph; ralph was already paused (control seq 2,");
    const r = me.orch(["resume", "ralph", ...ON]);
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith(`resumed ralph (control seq 3, pushed to origin ${REF}); ralph takes its turns again`);
    c = remoteControl(other)!;
    expect(c.doc.paused).toEqual({ galph: true, ralph: false });
    expect(c.length).toBe(3);
    expect(other.git("log", "--format=%s", "refs/test/control").trim().split("\n")).toEqual(["control: resumed ralph", "control: paused galph; ralph was already paused", "control: paused ralph"]);
    // Nothing of the laptop's own was touched: its branch, index and working tree are as they were.
    expect(me.git("status", "--porcelain").trim()).toBe("");
    expect(me.git("rev-parse", "--abbrev-ref", "HEAD").trim()).toBe("my-own-work");
  });

  test("stop --reason, then resume without an actor clears the stop and the pauses", () => {
    using w = tempWorld({ clones: 1 });
    const me = laptop(w.world);
    me.orch(["pause", "galph", ...ON]);
    const s = me.orch(["stop", "--reason", "done for today", ...ON]);
    expect(s.code).toBe(0);
    expect(s.stdout).toBe(`stop requested: "done for today" (control seq 2, pushed to origin ${REF}); both runners exit after their current turn\n`);
    let doc = remoteControl(w.clones[0]!)!.doc;
    expect(doc.stop).toMatchObject({ reason: "done for today", by: expect.any(String), seq: 2 });
    expect(doc.stop.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const plain = me.orch(["stop", ...ON]);
    expect(plain.stdout).toMatch(/^stop requested: "orch stop from \S+"/);
    const r = me.orch(["resume", ...ON]);
    expect(r.stdout).toStartWith(`resumed galph and cleared the stop ("orch stop from `);
    doc = remoteControl(w.clones[0]!)!.doc;
    expect(doc.stop).toBeNull();
    expect(doc.paused).toEqual({ galph: false, ralph: false });
    expect(me.orch(["stop", "--reason", "  ", ...ON])).toMatchObject({ code: 2, stderr: expect.stringContaining("--reason is empty") });
  });

  test("bad usage: an unknown actor, an unknown flag, a branch the remote does not have, detached HEAD without --branch", () => {
    using w = tempWorld({ clones: 1 });
    const me = laptop(w.world);
    expect(me.orch(["pause", "bob", ...ON])).toMatchObject({ code: 2, stderr: "orch: actor must be galph or ralph, got 'bob'\n" });
    expect(me.orch(["resume", "--now", ...ON])).toMatchObject({ code: 2, stderr: expect.stringContaining("unknown option '--now'") });
    const typo = me.orch(["pause", "--branch", "feature/y"]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("branch 'feature/y' does not exist on remote 'origin'");
    me.git("checkout", "-q", "--detach");
    expect(me.orch(["pause"])).toMatchObject({ code: 2, stderr: expect.stringContaining("HEAD is detached") });
    expect(remoteControl(w.clones[0]!)).toBeNull();
  });

  test("the checked-out shared branch is used when no --branch is given", () => {
    using w = tempWorld({ clones: 1 });
    const m1 = w.clones[0]!;
    expect(m1.orch(["pause", "galph"]).code).toBe(0);
    expect(remoteControl(m1)!.doc.paused.galph).toBe(true);
  });
});

describe("nudges", () => {
  test("TEXT, --file and --file - (stdin) are queued in order with id, actor, text, time and host", () => {
    using w = tempWorld({ clones: 1 });
    const me = laptop(w.world);
    const a = me.orch(["nudge", "ralph", "focus on the failing test", ...ON]);
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(new RegExp(`^nudge (n-[0-9a-f]{6}) for ralph queued: "focus on the failing test" \\(delivered with ralph's next turn; control seq 1, pushed to origin ${REF}\\)\\n$`));
    const id = /nudge (n-[0-9a-f]{6})/.exec(a.stdout)![1];
    const file = me.write("notes.md", "Review the parser first.\nThen the docs.\n\n");
    const b = me.orch(["nudge", "galph", "--file", file, ...ON]);
    expect(b.code).toBe(0);
    expect(b.stdout).toContain('for galph queued: "Review the parser first. …"');
    const c = me.orch(["nudge", "ralph", "--file", "-", ...ON], { input: "from stdin\n" });
    expect(c.code).toBe(0);
    const doc = remoteControl(w.clones[0]!)!.doc;
    expect(doc.nudges.map((n: any) => [n.actor, n.text])).toEqual([
      ["ralph", "focus on the failing test"],
      ["galph", "Review the parser first.\nThen the docs."],
      ["ralph", "from stdin"],
    ]);
    expect(doc.nudges[0]).toMatchObject({ id, by: expect.any(String), at: expect.stringMatching(/Z$/) });
    expect(doc.seq).toBe(3);
  });

  test("empty, too long, not UTF-8, unreadable, both TEXT and --file, neither: exit 2, nothing published", () => {
    using w = tempWorld({ clones: 1 });
    const me = laptop(w.world);
    const cases: [string[], string | undefined, RegExp][] = [
      [["nudge", "ralph", "   "], undefined, /the nudge is empty/],
      [["nudge", "ralph", "--file", "-"], "\n\n", /the nudge in - is empty/],
      [["nudge", "ralph", "x".repeat(16 * 1024 + 1)], undefined, /the nudge is 16385 bytes; keep it under 16 KiB/],
      [["nudge", "ralph", "--file", "missing.md"], undefined, /cannot read the nudge file missing.md: no such file/],
      [["nudge", "ralph", "--file", "-"], "y".repeat(1 << 20), /the nudge is over 65536 bytes; keep it under 16 KiB/],
      [["nudge", "ralph", "--file", "."], undefined, /cannot read the nudge file \.: /],
      [["nudge", "ralph", "text", "--file", "x.md"], undefined, /not both/],
      [["nudge", "ralph"], undefined, /missing the nudge/],
      [["nudge", "bob", "hi"], undefined, /actor must be galph or ralph/],
    ];
    for (const [args, input, message] of cases) {
      const r = me.orch([...args, ...ON], { input });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split("\n").length).toBe(1);
    }
    writeFileSync(join(me.dir, "latin1.txt"), Buffer.from([0x63, 0x61, 0x66, 0xe9]));
    expect(me.orch(["nudge", "ralph", "--file", "latin1.txt", ...ON])).toMatchObject({ code: 2, stderr: expect.stringContaining("is not UTF-8 text") });
    expect(remoteControl(w.clones[0]!)).toBeNull();
  });

  test("two clones nudging at the same moment, several rounds: every nudge is kept", async () => {
    using w = tempWorld({ clones: 1 });
    const one = laptop(w.world, "laptop1");
    const two = laptop(w.world, "laptop2");
    const ROUNDS = 4;
    for (let round = 0; round < ROUNDS; round++) {
      const procs = [one.spawnOrch(["nudge", "ralph", `from one, round ${round}`, ...ON]), two.spawnOrch(["nudge", "galph", `from two, round ${round}`, ...ON])];
      const results = await Promise.all(procs.map(async (p) => ({ code: await p.exited, out: await new Response(p.stdout).text(), err: await new Response(p.stderr).text() })));
      for (const r of results) {
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
      }
    }
    const c = remoteControl(w.clones[0]!)!;
    expect(c.doc.seq).toBe(2 * ROUNDS);
    expect(c.length).toBe(2 * ROUNDS);
    const texts = c.doc.nudges.map((n: any) => n.text).sort();
    const want = Array.from({ length: ROUNDS }, (_, i) => [`from one, round ${i}`, `from two, round ${i}`]).flat().sort();
    expect(texts).toEqual(want);
    expect(new Set(c.doc.nudges.map((n: any) => n.id)).size).toBe(2 * ROUNDS);
  }, 60_000);
});

describe("a remote that is not as expected", () => {
  test("a broken control.json on the remote: exit 3 naming the ref, and nothing is overwritten", () => {
    using w = tempWorld({ clones: 1 });
    const hand = w.clones[0]!;
    const b = Bun.spawnSync(["git", "hash-object", "-w", "--stdin"], { cwd: hand.dir, env: w.world.env, stdin: Buffer.from('{"schema": 1, "seq": "three"}\n') }).stdout.toString().trim();
    const tree = Bun.spawnSync(["git", "mktree"], { cwd: hand.dir, env: w.world.env, stdin: Buffer.from(`100644 blob ${b}\tcontrol.json\n`) }).stdout.toString().trim();
    const commit = hand.git("commit-tree", tree, "-m", "hand-made").trim();
    hand.git("push", "-q", "origin", `${commit}:${REF}`);
    const me = laptop(w.world);
    for (const args of [["pause", "ralph"], ["nudge", "ralph", "hi"], ["stop"]]) {
      const r = me.orch([...args, ...ON]);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(`control.json on origin ${REF} (commit ${commit.slice(0, 12)}) is invalid: "seq" must be a whole number`);
      expect(r.stderr.trim().split("\n").length).toBe(1);
    }
    expect(remoteControl(hand)!.sha).toBe(commit);
    // orch status shows the problem instead of failing.
    const s = me.orch(["status", ...ON]);
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(/WARNING +control\.json on origin refs\/orch\/control\/feature\/x is invalid/);
  });

  test("a remote that refuses refs/orch/* (pre-receive hook): exit 1 with the remote's reason", () => {
    using w = tempWorld({ clones: 1 });
    const hook = join(w.world.remote, "hooks/pre-receive");
    writeFileSync(hook, '#!/bin/sh\nwhile read o n r; do case "$r" in refs/orch/*) echo "refs/orch is not allowed here" >&2; exit 1;; esac; done\nexit 0\n');
    chmodSync(hook, 0o755);
    const me = laptop(w.world);
    const r = me.orch(["pause", ...ON]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`origin refused the push to ${REF}: refs/orch is not allowed here`);
    expect(r.stderr.trim().split("\n").length).toBe(1);
    expect(remoteControl(w.clones[0]!)).toBeNull();
  });
});

describe("orch status", () => {
  test("shows pauses, the stop and waiting nudges from another clone, in text and JSON; nothing when control is empty", () => {
    using w = tempWorld({ clones: 1 });
    const machine = w.clones[0]!;
    const quiet = machine.orch(["status"]);
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).not.toMatch(/^(paused|stop|nudges) /m);
    expect(JSON.parse(machine.orch(["status", "--json"]).stdout).control).toEqual({ seq: 0, paused: { galph: false, ralph: false }, stop: null, nudges: [], error: null });

    const me = laptop(w.world);
    me.orch(["pause", "ralph", ...ON]);
    me.orch(["nudge", "ralph", "focus on the failing test\nand nothing else", ...ON]);
    me.orch(["nudge", "galph", "x".repeat(80), ...ON]);
    me.orch(["stop", "--reason", "done for today", ...ON]);

    const s = machine.orch(["status"]);
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(/^paused +ralph \(no new turn until orch resume ralph\)$/m);
    expect(s.stdout).toMatch(/^stop +"done for today" · set \d+s ago by \S+ /m);
    expect(s.stdout).toMatch(/^nudges +n-[0-9a-f]{6} for ralph · queued \d+s ago by \S+ · "focus on the failing test" \(not delivered yet\)$/m);
    expect(s.stdout).toMatch(new RegExp(`^ +n-[0-9a-f]{6} for galph · queued \\d+s ago by \\S+ · "${"x".repeat(59)}…" \\(not delivered yet\\)$`, "m"));

    const j = JSON.parse(machine.orch(["status", "--json"]).stdout).control;
    expect(j.seq).toBe(4);
    expect(j.paused).toEqual({ galph: false, ralph: true });
    expect(j.stop).toMatchObject({ reason: "done for today", age_sec: expect.any(Number) });
    expect(j.nudges.map((n: any) => [n.actor, n.text])).toEqual([
      ["ralph", "focus on the failing test\nand nothing else"],
      ["galph", "x".repeat(80)],
    ]);
    expect(j.error).toBeNull();

    // Offline: the copy fetched by the last look.
    expect(machine.orch(["status", "--offline"]).stdout).toMatch(/^paused +ralph/m);
    // The control ref deleted on the remote: status no longer shows the old copy.
    machine.git("push", "-q", "origin", `:${REF}`);
    expect(machine.orch(["status"]).stdout).not.toMatch(/^paused /m);
  });
});

describe("the runner's side: updateControl deliver (the API the engine calls)", () => {
  test("two runners claiming the same nudges at once: each nudge goes to exactly one; the claim names the turn; the local copy advances", async () => {
    using w = tempWorld({ clones: 2 });
    const [a, b] = w.clones as [Clone, Clone];
    const me = laptop(w.world);
    for (const t of ["one", "two", "three"]) expect(me.orch(["nudge", "ralph", t, ...ON]).code).toBe(0);
    const gitA = new Git({ cwd: a.dir, env: w.world.env });
    const gitB = new Git({ cwd: b.dir, env: w.world.env });
    const first = readControl(JSON.stringify(remoteControl(a)!.doc), "test");
    const ids = pendingNudges(first, "ralph").map((n) => n.id);
    expect(ids.length).toBe(3);
    const deliver = (git: Git, by: string) => updateControl(git, "origin", "feature/x", { kind: "deliver", actor: "ralph", ids, iteration: 7, at: "2026-12-01T06:10:00Z", by });
    const [ra, rb] = await Promise.all([deliver(gitA, "box-a"), deliver(gitB, "box-b")]);
    const got = [...ra.delivered, ...rb.delivered].map((n) => n.text).sort();
    expect(got).toEqual(["one", "three", "two"]);
    expect([ra.changed, rb.changed].filter(Boolean).length).toBe(1);
    const doc = remoteControl(a)!.doc;
    expect(doc.nudges).toEqual([]);
    expect(doc.delivered.map((n: any) => [n.text, n.iteration])).toEqual([["one", 7], ["two", 7], ["three", 7]]);
    // A rerun of turn 7 finds its claim; the runner's copy (what its watch and orch status read) moved with the push.
    const winner = ra.changed ? gitA : gitB;
    const copy = await readControlCopy(winner, "origin", "feature/x");
    expect(copy.seq).toBe(doc.seq);
    expect(nudgesForTurn(copy, "ralph", 7).map((n) => n.text)).toEqual(["one", "two", "three"]);
    expect(me.orch(["status", ...ON]).stdout).not.toMatch(/^nudges /m);
  });
});
