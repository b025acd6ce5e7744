import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Rng } from "../scripts/soak/rng.ts";
import { FAULT_KINDS, planFaults } from "../scripts/soak/faults.ts";
import { checkSoak, type GenInfo } from "../scripts/soak/check.ts";
import { readHistory, type History, type HistoryCommit } from "../scripts/soak/history.ts";
import { runSoak } from "../scripts/soak/run.ts";
import { progressKey, remainingTurns, SoakWorld, STATE_REL } from "../scripts/soak/world.ts";
import { initialState, markRunning, parseState, serializeState, stampOutcome, subjects, type Actor, type State } from "../src/core/state.ts";
import { ORCH_BIN } from "./helpers/world.ts";

describe("soak rng", () => {
  test("a seed gives the same sequence, another seed a different one", () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const seqA = Array.from({ length: 20 }, () => a.next());
    expect(Array.from({ length: 20 }, () => b.next())).toEqual(seqA);
    expect(Array.from({ length: 20 }, () => c.next())).not.toEqual(seqA);
    expect(seqA.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  test("int stays in bounds and shuffle is a permutation", () => {
    const r = new Rng(7);
    const ints = Array.from({ length: 2000 }, () => r.int(3, 9));
    expect(Math.min(...ints)).toBe(3);
    expect(Math.max(...ints)).toBe(9);
    const items = Array.from({ length: 50 }, (_, i) => i);
    expect([...r.shuffle([...items])].sort((x, y) => x - y)).toEqual(items);
  });
});

describe("soak fault plan", () => {
  test("is reproducible from the seed, covers every kind, strikes in order", () => {
    const p1 = planFaults(new Rng(5), 50, 200, false);
    expect(planFaults(new Rng(5), 50, 200, false)).toEqual(p1);
    expect(planFaults(new Rng(6), 50, 200, false)).not.toEqual(p1);
    for (const k of FAULT_KINDS) expect(p1.some((f) => f.kind === k)).toBe(true);
    expect(p1.map((f) => f.trigger)).toEqual([...p1.map((f) => f.trigger)].sort((a, b) => a - b));
    expect(Math.max(...p1.map((f) => f.trigger))).toBeLessThanOrEqual(640);
  });

  test("turn accounting: remaining turns per actor from the state", () => {
    const st = (iteration: number, expected_actor: Actor) => JSON.stringify({ iteration, expected_actor });
    expect(remainingTurns("galph", progressKey(null), 3)).toBe(3);
    expect(remainingTurns("ralph", progressKey(st(1, "ralph")), 3)).toBe(3);
    expect(remainingTurns("galph", progressKey(st(1, "ralph")), 3)).toBe(2);
    expect(remainingTurns("ralph", progressKey(st(3, "ralph")), 3)).toBe(1);
    expect(remainingTurns("galph", progressKey(st(4, "galph")), 3)).toBe(0);
    expect(remainingTurns("ralph", progressKey(st(4, "galph")), 3)).toBe(0);
  });
});

/** Builds a remote-like history in memory, with states from the real transition functions. */
class FakeHistory {
  commits: HistoryCommit[] = [];
  private state: State = initialState(new Date("2026-11-24T09:00:00Z"));
  private lines: Record<Actor, string[]> = { galph: [], ralph: [] };
  private add(author: string, subject: string, files: string[], state: string | null = this.commits.at(-1)?.state ?? null): this {
    const sha = (this.commits.length + 1).toString(16).padStart(40, "a");
    // Marks name their runner as orch's do (the soak's gens: pid 1000+gen, one clone id per actor).
    const g = /^(galph|ralph)-g(\d+)$/.exec(author);
    const runner = subject.endsWith("status=running") && g ? `host=soak clone=${g[1] === "galph" ? "aaaa" : "bbbb"}0000 pid=${1000 + Number(g[2])}` : "";
    this.commits.push({ sha, parents: this.commits.length ? [this.commits.at(-1)!.sha] : [], author, subject, files, state, trailers: { runner, takeover: "", log: "" } });
    return this;
  }
  seed(): this {
    return this.add("seed", "soak: initial project", ["README.md"], null);
  }
  init(): this {
    return this.add("galph-g1", subjects.init(), [STATE_REL], serializeState(this.state));
  }
  mark(actor: Actor, author: string): this {
    this.state = markRunning(this.state, actor, new Date("2026-11-24T09:00:00Z"));
    return this.add(author, subjects.running(actor, this.state.iteration), [STATE_REL], serializeState(this.state));
  }
  run(actor: Actor, gen: number, iteration = this.state.iteration): this {
    const attempt = this.lines[actor].filter((l) => l.startsWith(`actor=${actor} iteration=${iteration} `)).length + 1;
    const line = `actor=${actor} iteration=${iteration} attempt=${attempt} gen=${gen}`;
    this.lines[actor].push(line);
    return this.add(`${actor}-g${gen}`, `soak run ${line}`, [`runs/${actor}.txt`]);
  }
  stamp(actor: Actor, outcome: "ok" | "fail", author: string, extraFiles: string[] = []): this {
    const sha = this.commits.at(-1)!.sha.slice(0, 7);
    this.state = stampOutcome(this.state, actor, outcome, sha, new Date("2026-11-24T09:00:00Z"));
    return this.add(author, subjects.stamp(actor, outcome, this.state.iteration, sha), [STATE_REL, ...extraFiles], serializeState(this.state));
  }
  other(author: string, subject: string, files: string[]): this {
    return this.add(author, subject, files);
  }
  /** One clean iteration by generation 1 of both runners. */
  iteration(): this {
    return this.mark("galph", "galph-g1").run("galph", 1).stamp("galph", "ok", "galph-g1").mark("ralph", "ralph-g1").run("ralph", 1).stamp("ralph", "ok", "ralph-g1");
  }
  history(): History {
    return { commits: this.commits, finalFiles: { "runs/galph.txt": this.lines.galph.map((l) => l + "\n").join(""), "runs/ralph.txt": this.lines.ralph.map((l) => l + "\n").join("") } };
  }
}

const gen = (author: string, over: Partial<GenInfo> = {}): GenInfo => ({
  author,
  actor: author.startsWith("galph") ? "galph" : "ralph",
  gen: Number(author.split("-g")[1]),
  clone: author.startsWith("galph") ? "galph" : "ralph",
  extra: false,
  pid: 1000 + Number(author.split("-g")[1]),
  publishedStamps: [],
  sideOff: null,
  hitBy: [],
  agentFailCodes: [],
  exit: { code: 0, signal: null },
  doneAtExit: true,
  stderrTail: "",
  ...over,
});
const check = (h: FakeHistory, target: number, gens: GenInfo[] = [gen("galph-g1"), gen("ralph-g1")]) =>
  checkSoak({ history: h.history(), target, gens, stateRel: STATE_REL }).violations;

describe("soak invariant checker", () => {
  test("a clean history passes; counts turns and runs", () => {
    const h = new FakeHistory().seed().init().iteration().other("third", "third: unrelated", ["third/a.txt"]).iteration();
    const r = checkSoak({ history: h.history(), target: 2, gens: [gen("galph-g1"), gen("ralph-g1")], stateRel: STATE_REL });
    expect(r.violations).toEqual([]);
    expect(r.stats.turnsCompleted).toBe(4);
    expect(r.stats.runs).toBe(4);
  });

  test("a turn rerun after a kill passes only when the fault hit that runner", () => {
    const h = new FakeHistory().seed().init().mark("galph", "galph-g1").run("galph", 1).mark("galph", "galph-g2").run("galph", 2).stamp("galph", "ok", "galph-g2");
    h.mark("ralph", "ralph-g1").run("ralph", 1).stamp("ralph", "ok", "ralph-g1");
    const killed = gen("galph-g1", { hitBy: ["kill9"], exit: { code: null, signal: "SIGKILL" }, doneAtExit: false });
    expect(check(h, 1, [killed, gen("galph-g2"), gen("ralph-g1")])).toEqual([]);
    const notKilled = gen("galph-g1", { exit: { code: null, signal: "SIGKILL" }, doneAtExit: false });
    const v = check(h, 1, [notKilled, gen("galph-g2"), gen("ralph-g1")]);
    expect(v.some((x) => x.includes("turn repeated without cause"))).toBe(true);
    expect(v.some((x) => x.includes("galph-g1 exited SIGKILL"))).toBe(true);
  });

  test("a failed turn stamped ok by hand passes; the failing runner's exit code must match", () => {
    const h = new FakeHistory().seed().init().mark("galph", "galph-g1").run("galph", 1).stamp("galph", "fail", "galph-g1").stamp("galph", "ok", "human");
    h.mark("ralph", "ralph-g1").run("ralph", 1).stamp("ralph", "ok", "ralph-g1");
    const failed = gen("galph-g1", { hitBy: ["agent-fail"], agentFailCodes: [42], exit: { code: 42, signal: null }, doneAtExit: false });
    expect(check(h, 1, [failed, gen("ralph-g1")])).toEqual([]);
    const wrongCode = { ...failed, exit: { code: 1, signal: null } };
    expect(check(h, 1, [wrongCode, gen("ralph-g1")]).join("\n")).toContain("galph-g1 exited 1");
  });

  test("catches a run after its stamp, a lost turn, a wrong walk, dirty SYNC commits and bad state bytes", () => {
    const afterStamp = new FakeHistory().seed().init().iteration().run("ralph", 1, 1);
    expect(check(afterStamp, 1).join("\n")).toContain("ran again after its ok stamp");

    const lost = new FakeHistory().seed().init().iteration();
    expect(check(lost, 2).join("\n")).toContain("turn galph i=2 has 0 ok stamps");

    const wrongWalk = new FakeHistory().seed().init().mark("ralph", "ralph-g1");
    expect(check(wrongWalk, 1).join("\n")).toContain("invalid walk");

    const dirty = new FakeHistory().seed().init().mark("galph", "galph-g1").run("galph", 1).stamp("galph", "ok", "galph-g1", ["src/x.ts"]);
    dirty.mark("ralph", "ralph-g1").run("ralph", 1).stamp("ralph", "ok", "ralph-g1");
    expect(check(dirty, 1).join("\n")).toContain("not only sync/state.json");

    const bytes = new FakeHistory().seed().init().iteration();
    bytes.commits[3]!.state = bytes.commits[3]!.state!.replace("\n}", "}");
    expect(check(bytes, 1).join("\n")).toContain("not in the canonical form");

    const twice = new FakeHistory().seed().init().mark("galph", "galph-g1").run("galph", 1).run("galph", 1).stamp("galph", "ok", "galph-g1");
    twice.mark("ralph", "ralph-g1").run("ralph", 1).stamp("ralph", "ok", "ralph-g1");
    expect(check(twice, 1).join("\n")).toContain("ran 2 times in one runner");
  });

  test("reads a history built with the real orch stamp from a bare remote", () => {
    if (!existsSync(ORCH_BIN)) throw new Error(`${ORCH_BIN} missing: run make build`);
    const world = new SoakWorld({ orchBin: ORCH_BIN });
    try {
      const dir = world.clones.galph;
      const commitAs = (author: string, subject: string, write: () => void) => {
        mkdirSync(join(dir, "sync"), { recursive: true });
        mkdirSync(join(dir, "runs"), { recursive: true });
        write();
        world.gitOk(dir, ["add", "-A"], author);
        world.gitOk(dir, ["commit", "-q", "-m", subject], author);
      };
      commitAs("galph-g1", subjects.init(), () => writeFileSync(join(dir, STATE_REL), serializeState(initialState())));
      for (const actor of ["galph", "ralph"] as const) {
        // Marks and runs by hand (as the engine makes them), stamps through the real binary.
        const line = `actor=${actor} iteration=1 attempt=1 gen=1`;
        const running = markRunning(parseState(world.gitOk(dir, ["show", `HEAD:${STATE_REL}`]), STATE_REL), actor);
        commitAs(`${actor}-g1`, subjects.running(actor, 1), () => writeFileSync(join(dir, STATE_REL), serializeState(running)));
        commitAs(`${actor}-g1`, `soak run ${line}`, () => writeFileSync(join(dir, `runs/${actor}.txt`), line + "\n"));
        const r = Bun.spawnSync([ORCH_BIN, "stamp", actor, "ok", "--no-pull"], { cwd: dir, env: world.env(`${actor}-g1`), stdout: "pipe", stderr: "pipe" });
        expect(r.stderr.toString()).toBe("");
        expect(r.exitCode).toBe(0);
      }
      const history = readHistory(world.remote, world.branch, world.env("soak"), { stateRel: STATE_REL, finalFiles: ["runs/galph.txt", "runs/ralph.txt"] });
      expect(history.commits.map((c) => c.author)).toEqual(["seed", "galph-g1", "galph-g1", "galph-g1", "galph-g1", "ralph-g1", "ralph-g1", "ralph-g1"]);
      expect(history.commits[0]!.state).toBeNull();
      const result = checkSoak({ history, target: 1, gens: [gen("galph-g1"), gen("ralph-g1")], stateRel: STATE_REL });
      expect(result.violations).toEqual([]);
      expect(result.stats.turnsCompleted).toBe(2);
    } finally {
      world.cleanup();
    }
  });
});

describe("engine bugs the soak found", () => {
  test("a runner relaunched in the same second as its own interrupted running mark runs the turn (no empty-commit exit 1)", async () => {
    if (!existsSync(ORCH_BIN)) throw new Error(`${ORCH_BIN} missing: run make build`);
    const world = new SoakWorld({ orchBin: ORCH_BIN });
    try {
      const dir = world.clones.ralph;
      writeFileSync(join(dir, "orch.toml"), `[loop]\nagent = ["true"]\n`);
      world.gitOk(dir, ["commit", "-qam", "plain agent"]);
      // Start of a fresh second, so orch's re-mark below falls in the same second as this one.
      await Bun.sleep(1000 - (Date.now() % 1000));
      const galphDone = stampOutcome(initialState(), "galph", "ok", "0000000");
      mkdirSync(join(dir, "sync"), { recursive: true });
      writeFileSync(join(dir, STATE_REL), serializeState(markRunning(galphDone, "ralph")));
      world.gitOk(dir, ["add", STATE_REL]);
      world.gitOk(dir, ["commit", "-q", "-m", subjects.running("ralph", 1)], "ralph-g1");
      world.gitOk(dir, ["push", "-q", "origin", `HEAD:refs/heads/${world.branch}`]);
      const r = Bun.spawnSync([ORCH_BIN, "loop", "--sync-via-git", "--sync-loops", "1", "--poll-interval", "0"], { cwd: dir, env: world.env("ralph-g2"), stdout: "pipe", stderr: "pipe" });
      expect(r.stderr.toString()).toBe("");
      expect(r.exitCode).toBe(0);
      expect(world.gitOk(dir, ["log", "-1", "--format=%s", `origin/${world.branch}`]).trim()).toStartWith("[SYNC i=2] actor=ralph \u2192 next=galph status=ok");
    } finally {
      world.cleanup();
    }
  });
});

describe("engine bugs the split-brain fault found (reported to the lead; these fail until the engine is fixed)", () => {
  test(
    "ENGINE BUG: a runner whose log-ref lease went stale replaces the other runner's shipped logs instead of building on them",
    async () => {
      // Runner X (ralph, clone "ralph") ships ralph's log of i=1, then sleeps (SIGSTOP) while runner Y (ralph on
      // another clone) takes i=2 and ships its log onto X's. X wakes and takes i=3: its log commit still has its own
      // i=1 commit as parent; the lease fails, Side.released() re-leases onto Y's tip but keeps that parent, so the
      // push drops Y's i=2 log from refs/orch/logs/ralph/<branch>. The soak sees it as runner stamps whose log is not shipped.
      if (!existsSync(ORCH_BIN)) throw new Error(`${ORCH_BIN} missing: run make build`);
      const world = new SoakWorld({ orchBin: ORCH_BIN, agentDirt: 0 });
      const spawn = (clone: "galph" | "ralph" | "third", cmd: string, loops: number, author: string) =>
        Bun.spawn([ORCH_BIN, cmd, "--sync-via-git", "--sync-loops", String(loops), "--poll-interval", "0.05"], {
          cwd: world.clones[clone],
          env: world.env(author),
          stdin: "ignore",
          stdout: "ignore",
          stderr: "ignore",
        });
      const remoteHas = (subjectStart: string) => world.gitOk(world.remote, ["log", "--format=%s", `refs/heads/${world.branch}`]).split("\n").some((s) => s.startsWith(subjectStart));
      const until = async (cond: () => boolean, what: string) => {
        const deadline = Date.now() + 30_000;
        while (!cond()) {
          if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
          await Bun.sleep(20);
        }
      };
      const procs: ReturnType<typeof spawn>[] = [];
      try {
        const g = spawn("galph", "supervisor", 3, "galph-g1");
        const x = spawn("ralph", "loop", 2, "ralph-g1");
        procs.push(g, x);
        await until(() => remoteHas("[SYNC i=2] actor=ralph \u2192 next=galph status=ok"), "X's stamp of ralph i=1");
        process.kill(x.pid, "SIGSTOP");
        const y = spawn("third", "loop", 1, "ralph-g2");
        procs.push(y);
        expect(await y.exited).toBe(0);
        await until(() => remoteHas("[SYNC i=3] actor=galph \u2192 next=ralph status=ok"), "galph's stamp of i=3");
        process.kill(x.pid, "SIGCONT");
        expect(await x.exited).toBe(0);
        expect(await g.exited).toBe(0);
        const stamps = world.gitOk(world.remote, ["log", "--format=%an %(trailers:key=Orch-Log,valueonly,separator=)", "--fixed-strings", "--grep=actor=ralph \u2192", `refs/heads/${world.branch}`]);
        const logs = stamps.split("\n").filter(Boolean).map((l) => ({ author: l.split(" ")[0]!, log: l.split(" ")[1]!.split("/").slice(-2).join("/") }));
        expect(logs.map((l) => l.author).sort()).toEqual(["ralph-g1", "ralph-g1", "ralph-g2"]);
        const shipped = world.gitOk(world.remote, ["ls-tree", "-r", "--name-only", `refs/orch/logs/ralph/${world.branch}`]).split("\n").filter(Boolean);
        // Every ralph stamp's log is on the log ref, Y's (i=2) included.
        expect(shipped.filter((f) => f.endsWith(".log")).sort()).toEqual(logs.map((l) => l.log).sort());
      } finally {
        for (const p of procs) {
          try {
            process.kill(p.pid, "SIGCONT");
          } catch {}
          p.kill("SIGKILL");
        }
        world.cleanup();
      }
    },
    60_000,
  );
});

describe("engine bug the split-brain fault found: a mark race lost at the remote turns the side channel off", () => {
  test(
    "ENGINE BUG: losing the mark's compare-and-swap inside the remote's ref transaction is read as 'origin refuses refs/orch/*'",
    async () => {
      // Two runners of ralph push their marks at the same instant: both pass the lease check, the remote's atomic ref
      // transaction lets one win, and the loser's porcelain says `[remote rejected] (atomic transaction failed)` for
      // every ref (the "cannot lock ref" reason is on a `remote:` line only). pushRefs classifies that as "refused",
      // TurnTaker.pushWithSide then calls Side.disable(): the loser pushes no heartbeat and ships no log for the rest
      // of its life. A pre-receive hook that moves the branch (as the winner's push would) reproduces it exactly.
      if (!existsSync(ORCH_BIN)) throw new Error(`${ORCH_BIN} missing: run make build`);
      const world = new SoakWorld({ orchBin: ORCH_BIN, agentDirt: 0 });
      try {
        // The remote says it is ralph's turn i=1.
        const third = world.clones.third;
        const galphDone = stampOutcome(initialState(), "galph", "ok", "0000000");
        mkdirSync(join(third, "sync"), { recursive: true });
        writeFileSync(join(third, STATE_REL), serializeState(galphDone));
        world.gitOk(third, ["add", STATE_REL]);
        world.gitOk(third, ["commit", "-q", "-m", subjects.stamp("galph", "ok", 1, "0000000")], "galph-g1");
        world.gitOk(third, ["push", "-q", "origin", `HEAD:refs/heads/${world.branch}`]);
        // The winner's mark (another machine's runner), on the remote already but not on the branch yet.
        writeFileSync(join(third, STATE_REL), serializeState(markRunning(galphDone, "ralph")));
        world.gitOk(third, ["commit", "-q", "-am", subjects.running("ralph", 1), "-m", "Orch-Runner: host=elsewhere clone=feedfeedfeedfeed pid=4242"], "winner");
        const winner = world.gitOk(third, ["rev-parse", "HEAD"]).trim();
        world.gitOk(third, ["push", "-q", "origin", `HEAD:refs/heads/winner`]);
        world.gitOk(third, ["reset", "-q", "--hard", "HEAD~1"]);
        // The first push that moves the branch loses to the winner inside the remote's ref transaction.
        const flag = join(world.root, "race-done");
        const hook = join(world.remote, "hooks", "pre-receive");
        writeFileSync(hook, `#!/bin/sh\nif grep -q ' refs/heads/${world.branch}$' && [ ! -e '${flag}' ]; then\n  touch '${flag}'\n  unset GIT_QUARANTINE_PATH\n  git update-ref refs/heads/${world.branch} ${winner}\nfi\nexit 0\n`, { mode: 0o755 });
        const out = join(world.root, "loop.out");
        const runner = Bun.spawn([ORCH_BIN, "loop", "--sync-via-git", "--sync-loops", "1", "--poll-interval", "0.05"], { cwd: world.clones.ralph, env: world.env("ralph-g1"), stdin: "ignore", stdout: Bun.file(out), stderr: "pipe" });
        try {
          // It lost the race and waits on the winner; the winner's machine is gone: a person takes the turn over.
          const deadline = Date.now() + 20_000;
          while (!(existsSync(out) && readFileSync(out, "utf8").includes("is held by elsewhere"))) {
            if (Date.now() > deadline) throw new Error(`the loser never waited on the winner; its output: ${existsSync(out) ? readFileSync(out, "utf8") : ""}`);
            await Bun.sleep(20);
          }
          const t = Bun.spawnSync([ORCH_BIN, "takeover", "ralph"], { cwd: third, env: world.env("takeover"), stdout: "pipe", stderr: "pipe" });
          expect(t.stderr.toString()).toBe("");
          expect(await runner.exited).toBe(0);
        } finally {
          runner.kill("SIGKILL");
        }
        const said = readFileSync(out, "utf8");
        expect(said).toContain("another runner marked ralph's turn first");
        // The channel stays on: no refusal warning, and the turn's log went out with its stamp.
        expect(said).not.toContain("refuses pushes to refs/orch");
        const stamp = world.gitOk(world.remote, ["log", "-1", "--format=%s%n%(trailers:key=Orch-Log,valueonly,separator=)", `refs/heads/${world.branch}`]).trim().split("\n");
        expect(stamp[0]).toStartWith("[SYNC i=2] actor=ralph \u2192 next=galph status=ok");
        const shipped = world.git(world.remote, ["ls-tree", "-r", "--name-only", `refs/orch/logs/ralph/${world.branch}`]).stdout;
        expect(shipped).toContain(stamp[1]!.split("/").slice(-2).join("/"));
      } finally {
        world.cleanup();
      }
    },
    60_000,
  );
});

describe("chaos soak (short)", () => {
  test(
    "20 iterations, 10 faults: every invariant holds",
    async () => {
      const lines: string[] = [];
      const result = await runSoak({ iterations: 20, faults: 10, seed: 20261124, quick: true, timeoutMs: 55_000, log: (l) => lines.push(l) });
      if (!result.ok) {
        console.error(lines.join("\n"));
        console.error(`soak failed (reproduce: make soak ITERATIONS=20 FAULTS=10 SEED=${result.seed}); world kept at ${result.kept}`);
      }
      expect(result.violations).toEqual([]);
      expect(result.figures.turnsCompleted).toBe(40);
      expect(result.figures.faultsInjected).toBeGreaterThanOrEqual(10);
    },
    60_000,
  );
});
