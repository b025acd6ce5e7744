import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Rng } from "../scripts/soak/rng.ts";
import { FAULT_KINDS, planFaults } from "../scripts/soak/faults.ts";
import { checkSoak, type GenInfo } from "../scripts/soak/check.ts";
import { readHistory, type History, type HistoryCommit, type SideRefs } from "../scripts/soak/history.ts";
import { checkSide } from "../scripts/soak/check-side.ts";
import { plantedEnv, plantSecrets, scanRefs } from "../scripts/soak/planted.ts";
import { makeRedactor } from "../src/core/secrets.ts";
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
  /** Clone ids of runners on extra clones (split brains); the actors' own clones are aaaa0000 and bbbb0000. */
  readonly cloneIds: Record<string, string> = {};
  private add(author: string, subject: string, files: string[], state: string | null = this.commits.at(-1)?.state ?? null, more: Partial<HistoryCommit["trailers"]> = {}): this {
    const sha = (this.commits.length + 1).toString(16).padStart(40, "a");
    // Marks name their runner as orch's do (the soak's gens: pid 1000+gen).
    const g = /^(galph|ralph)-g(\d+)$/.exec(author);
    const clone = this.cloneIds[author] ?? (g?.[1] === "galph" ? "aaaa0000" : "bbbb0000");
    const runner = subject.endsWith("status=running") && g ? `host=soak clone=${clone} pid=${1000 + Number(g[2])}` : "";
    this.commits.push({ sha, parents: this.commits.length ? [this.commits.at(-1)!.sha] : [], author, subject, files, state, trailers: { runner, takeover: "", log: "", ...more } });
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
    const turn = this.state.iteration;
    this.state = stampOutcome(this.state, actor, outcome, sha, new Date("2026-11-24T09:00:00Z"));
    // A runner's stamp names its turn's log (Orch-Log); a takeover says who took over.
    const log = /-g\d+$/.test(author) ? `logs/soak-main/${actor}/iter-${String(turn).padStart(5, "0")}_${this.commits.length}.log` : "";
    const takeover = author === "takeover" ? "by soak" : "";
    return this.add(author, subjects.stamp(actor, outcome, this.state.iteration, sha), [STATE_REL, ...extraFiles], serializeState(this.state), { log, takeover });
  }
  /** The Orch-Log paths of the stamps so far, as shipped (relative to the branch's log dir). */
  logs(actor: Actor): string[] {
    return this.commits.filter((c) => c.trailers.log && c.subject.includes(`actor=${actor} `)).map((c) => c.trailers.log.split("/").slice(-2).join("/"));
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
      const commitAs = (author: string, subject: string, write: () => void, body: string[] = []) => {
        mkdirSync(join(dir, "sync"), { recursive: true });
        mkdirSync(join(dir, "runs"), { recursive: true });
        write();
        world.gitOk(dir, ["add", "-A"], author);
        world.gitOk(dir, ["commit", "-q", "-m", subject, ...body.flatMap((b) => ["-m", b])], author);
      };
      commitAs("galph-g1", subjects.init(), () => writeFileSync(join(dir, STATE_REL), serializeState(initialState())));
      for (const actor of ["galph", "ralph"] as const) {
        // Marks and runs by hand (as the engine makes them), stamps through the real binary.
        const line = `actor=${actor} iteration=1 attempt=1 gen=1`;
        const running = markRunning(parseState(world.gitOk(dir, ["show", `HEAD:${STATE_REL}`]), STATE_REL), actor);
        commitAs(`${actor}-g1`, subjects.running(actor, 1), () => writeFileSync(join(dir, STATE_REL), serializeState(running)), [`Orch-Runner: host=soak clone=${actor === "galph" ? "aaaa" : "bbbb"}0000 pid=1001`]);
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

describe("soak fencing invariants (split brain)", () => {
  const extra = (author: string, over: Partial<GenInfo> = {}) => gen(author, { clone: "extra-1", extra: true, hitBy: ["split-brain"], exit: { code: 143, signal: null }, doneAtExit: false, ...over });
  const splitWorld = () => {
    const h = new FakeHistory().seed().init();
    h.cloneIds["galph-g2"] = "cccc0000";
    return h;
  };

  test("an extra runner that took a turn legitimately, and one stopped holding a turn then taken over, pass", () => {
    const took = splitWorld().mark("galph", "galph-g2").run("galph", 2).stamp("galph", "ok", "galph-g2").mark("ralph", "ralph-g1").run("ralph", 1).stamp("ralph", "ok", "ralph-g1");
    const main = gen("galph-g1", { hitBy: ["split-brain"] });
    expect(check(took, 1, [main, extra("galph-g2", { exit: { code: 0, signal: null } }), gen("ralph-g1")])).toEqual([]);

    const held = splitWorld().mark("galph", "galph-g2").stamp("galph", "fail", "takeover").mark("galph", "galph-g1").run("galph", 1).stamp("galph", "ok", "galph-g1");
    held.mark("ralph", "ralph-g1").run("ralph", 1).stamp("ralph", "ok", "ralph-g1");
    const r = checkSoak({ history: held.history(), target: 1, gens: [main, extra("galph-g2"), gen("ralph-g1")], stateRel: STATE_REL });
    expect(r.violations).toEqual([]);
    expect(r.stats.takeovers).toBe(1);
  });

  test("catches a turn marked by two clones, a stamp onto another clone's mark, a mark naming the wrong pid, a takeover of no running turn", () => {
    const gens = [gen("galph-g1", { hitBy: ["split-brain"] }), extra("galph-g2"), gen("ralph-g1")];
    const twice = splitWorld().mark("galph", "galph-g1").mark("galph", "galph-g2").run("galph", 2).stamp("galph", "ok", "galph-g2");
    twice.mark("ralph", "ralph-g1").run("ralph", 1).stamp("ralph", "ok", "ralph-g1");
    expect(check(twice, 1, gens).join("\n")).toContain("while galph-g1 on clone galph held the turn (split brain)");

    const foreign = splitWorld().mark("galph", "galph-g2").run("galph", 1).stamp("galph", "ok", "galph-g1");
    foreign.mark("ralph", "ralph-g1").run("ralph", 1).stamp("ralph", "ok", "ralph-g1");
    expect(check(foreign, 1, gens).join("\n")).toContain("not onto its own clone's running mark");

    const lying = new FakeHistory().seed().init().iteration();
    expect(check(lying, 1, [gen("galph-g1", { pid: 77 }), gen("ralph-g1")]).join("\n")).toContain("running mark by galph-g1 (pid 77) names pid 1001");

    const sameId = splitWorld();
    sameId.cloneIds["galph-g2"] = "aaaa0000";
    sameId.mark("galph", "galph-g1").stamp("galph", "fail", "takeover").mark("galph", "galph-g2").run("galph", 2).stamp("galph", "ok", "galph-g2");
    sameId.mark("ralph", "ralph-g1").run("ralph", 1).stamp("ralph", "ok", "ralph-g1");
    expect(check(sameId, 1, gens).join("\n")).toContain("share the clone id aaaa0000");

    const idle = new FakeHistory().seed().init().mark("galph", "galph-g1").run("galph", 1).stamp("galph", "fail", "galph-g1").stamp("galph", "fail", "takeover");
    expect(check(idle, 1, [gen("galph-g1", { hitBy: ["agent-fail"], agentFailCodes: [9], exit: { code: 9, signal: null } }), gen("ralph-g1")]).join("\n")).toContain("takeover stamp onto galph-g1's");
  });

  test("exit 7 is allowed only to runners a split brain met", () => {
    const h = new FakeHistory().seed().init().iteration();
    const fenced = { exit: { code: 7, signal: null }, doneAtExit: false };
    expect(check(h, 1, [gen("galph-g1"), gen("ralph-g1"), gen("ralph-g2", { ...fenced, hitBy: ["split-brain"] })])).toEqual([]);
    expect(check(h, 1, [gen("galph-g1"), gen("ralph-g1"), gen("ralph-g2", fenced)]).join("\n")).toContain("ralph-g2 exited 7");
  });
});

describe("soak side-channel invariants", () => {
  const hb = (over: Record<string, unknown> = {}) => JSON.stringify({ schema: 1, actor: "galph", role: "supervisor", host: "soak", clone: "aaaa0000", pid: 1001, orch_version: "0.2.0", config_hash: "x", agent: { argv0: "bun", version: null }, phase: "stopped", iteration: 2, turn_started_at: null, last_output_at: null, updated_at: "2026-11-24T09:00:00Z", blocked_until: null, reason: null, ...over });
  const sideOf = (h: FakeHistory, over: Partial<SideRefs> = {}): SideRefs => ({
    refs: [],
    heartbeats: {
      galph: { sha: "h".repeat(40), parents: [], subject: "heartbeat galph stopped", files: ["heartbeat.json"], text: hb() },
      ralph: { sha: "i".repeat(40), parents: [], subject: "heartbeat ralph stopped", files: ["heartbeat.json"], text: hb({ actor: "ralph", pid: 1001 }) },
    },
    logs: Object.fromEntries(
      (["galph", "ralph"] as const).map((a) => {
        // One log commit per stamp, newest first, each on the one before.
        const files = h.logs(a);
        const shas = files.map((_, i) => `${a[0]}${i}`.padEnd(40, "0"));
        return [a, files.map((f, i) => ({ sha: shas[i]!, parents: i ? [shas[i - 1]!] : [], subject: `logs ${a} i=${Number(/iter-(\d+)/.exec(f)![1])}`, files: [f] })).reverse()];
      }),
    ),
    ...over,
  });
  const events = (...spans: [string, number, number, number, string?][]) =>
    spans.flatMap(([actor, pid, start, end, clone]) => [
      { type: "start", actor, pid, t: start, gen: "1", clone: clone ?? actor },
      { type: "end", actor, pid, t: end, code: 0, clone: clone ?? actor },
    ]);
  const scan = { leaks: [], objects: 10, bytes: 100 };
  const run = (h: FakeHistory, side: SideRefs, over: Partial<Parameters<typeof checkSide>[0]> = {}) =>
    checkSide({ history: h.history(), side, gens: [gen("galph-g1"), gen("ralph-g1")], events: events(["galph", 1, 0, 10], ["ralph", 2, 20, 30]), scan, ...over }).violations;

  test("a clean side channel passes", () => {
    const h = new FakeHistory().seed().init().iteration().iteration();
    expect(run(h, sideOf(h))).toEqual([]);
  });

  test("catches a shipped log no stamp names, a broken chain, and a runner stamp whose log is missing", () => {
    const h = new FakeHistory().seed().init().iteration().iteration();
    const side = sideOf(h);
    side.logs.ralph![0]!.files.push("ralph/iter-00007_x.log");
    expect(run(h, side).join("\n")).toContain("ships ralph/iter-00007_x.log, but no stamp on the branch names that log");
    const broken = sideOf(h);
    broken.logs.galph![0]!.parents = [];
    expect(run(h, broken).join("\n")).toContain("not a linear chain");
    const lost = sideOf(h);
    lost.logs.galph!.shift();
    const v = run(h, lost).join("\n");
    expect(v).toContain("is not on refs/orch/logs/galph");
    // …unless the next runner published that stamp alone after a crash.
    const alone = run(h, lost, { gens: [gen("galph-g1"), gen("ralph-g1", { publishedStamps: ["galph i=2 ok"] })] });
    expect(alone).toEqual([]);
    const off = run(h, sideOf(h), { gens: [gen("galph-g1", { sideOff: "[sync] WARNING: origin refuses pushes to refs/orch/*" }), gen("ralph-g1")] });
    expect(off.join("\n")).toContain("galph-g1 turned the side channel off");
  });

  test("catches a final heartbeat with a parent, one that does not parse, one not stopped or not by the last runner", () => {
    const h = new FakeHistory().seed().init().iteration();
    const with_ = (galph: Partial<NonNullable<SideRefs["heartbeats"]["galph"]>>) => {
      const side = sideOf(h);
      side.heartbeats.galph = { ...side.heartbeats.galph!, ...galph };
      return run(h, side).join("\n");
    };
    expect(with_({ parents: ["p".repeat(40)] })).toContain("has parents");
    expect(with_({ text: "{not json" })).toContain("does not parse");
    expect(with_({ files: ["heartbeat.json", "x"] })).toContain("not only heartbeat.json");
    expect(with_({ text: hb({ phase: "waiting" }) })).toContain("says waiting, not stopped");
    expect(with_({ text: hb({ pid: 4242 }) })).toContain("names pid 4242, not galph's last runner galph-g1");
    const none = sideOf(h);
    none.heartbeats.ralph = null;
    expect(run(h, none).join("\n")).toContain("refs/orch/heartbeat/ralph: no heartbeat on the remote");
  });

  test("catches two agents of one actor at once, an agent of a refused second runner, a leak, an empty scan", () => {
    const h = new FakeHistory().seed().init().iteration();
    const side = sideOf(h);
    expect(run(h, side, { events: events(["galph", 1, 0, 10], ["galph", 2, 5, 6], ["ralph", 3, 5, 9]) }).join("\n")).toContain("two agents of galph at once");
    expect(run(h, side, { events: events(["galph", 1, 0, 10], ["galph", 2, 11, 12], ["galph", 3, 13, 14]) })).toEqual([]);
    // A pid reused by a later agent is another agent.
    expect(run(h, side, { events: events(["galph", 1, 0, 10], ["galph", 1, 20, 30], ["galph", 2, 31, 32]) })).toEqual([]);
    expect(run(h, side, { events: events(["galph", 1, 0, 10], ["galph", 2, 20, 30, "galph-second"]) }).join("\n")).toContain("started by a second runner");
    const missingEnd = events(["ralph", 2, 20, 30]).slice(0, 1);
    expect(run(h, side, { events: missingEnd }).join("\n")).toContain("never recorded its end");
    expect(run(h, side, { scan: { leaks: [{ kind: "GitHub token", object: "f".repeat(40), type: "blob", path: "ralph/iter-00001_x.log" }], objects: 5, bytes: 9 } }).join("\n")).toContain("planted secret (GitHub token) reached the remote: blob ffffffffffff at ralph/iter-00001_x.log");
    expect(run(h, side, { scan: { leaks: [], objects: 0, bytes: 0 } }).join("\n")).toContain("read no object");
  });
});

describe("soak planted secrets", () => {
  test("are drawn from the seed, are shapes orch promises to redact, and the scan finds them in any object of any ref", () => {
    const p = plantSecrets(new Rng(9));
    expect(plantSecrets(new Rng(9))).toEqual(p);
    expect(plantSecrets(new Rng(10)).printed[0]!.value).not.toBe(p.printed[0]!.value);
    const env = plantedEnv(p);
    const redact = makeRedactor({ env });
    const text = JSON.parse(env.SOAK_PLANTED!).join("\n") + `\nAuthorization: Bearer ${env.SOAK_API_TOKEN}\n`;
    const out = redact(text).text;
    for (const s of [...p.printed, p.envToken]) expect(out.includes(s.value)).toBe(false);

    const world = new SoakWorld({ orchBin: ORCH_BIN });
    try {
      const dir = world.clones.third;
      const secrets = [...p.printed, p.envToken];
      expect(scanRefs(world.remote, world.env("soak"), secrets).leaks).toEqual([]);
      // A blob on a side ref and a commit message on an obsolete branch: both are found, by kind.
      writeFileSync(join(dir, "leak.log"), `note ${p.printed[1]!.value}\n`);
      world.gitOk(dir, ["add", "leak.log"]);
      world.gitOk(dir, ["commit", "-q", "-m", "logs", "-m", `token ${p.envToken.value}`]);
      world.gitOk(dir, ["push", "-q", "origin", "HEAD:refs/orch/logs/ralph/x", "HEAD:refs/heads/orch/obsolete/ralph-i1-x"]);
      const found = scanRefs(world.remote, world.env("soak"), secrets);
      expect(found.leaks.map((l) => `${l.kind} ${l.type} ${l.path}`).sort()).toEqual(["GitHub token blob leak.log", "value of $SOAK_API_TOKEN commit "]);
      expect(found.objects).toBeGreaterThan(3);
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

describe("engine bugs the split-brain fault found (fixed; kept as regression tests)", () => {
  test(
    "a runner whose log-ref lease went stale builds on the other runner's shipped logs (it once replaced them)",
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
          stderr: clone === "ralph" ? "pipe" : "ignore",
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
        const xCode = await x.exited;
        if (xCode !== 0) console.error("runner X stderr:", await new Response(x.stderr as ReadableStream).text());
        expect(xCode).toBe(0);
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

describe("engine bug the split-brain fault found: a mark race lost at the remote (fixed; kept as a regression test)", () => {
  test(
    "losing the mark's compare-and-swap inside the remote's ref transaction is a race, never read as 'origin refuses refs/orch/*'",
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
    "20 iterations, 10 faults (every kind, split brain included), heartbeats and shipping on: every invariant holds",
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
      // Ten kinds, ten faults: each once, the split brain and the second runner included.
      expect(result.figures.faultsByKind["split-brain"]).toBe(1);
      expect(result.figures.faultsByKind["second-runner"]).toBe(1);
      expect(result.figures.side.shippedLogs).toBeGreaterThanOrEqual(40);
      expect(result.figures.side.objectsScanned).toBeGreaterThan(0);
    },
    60_000,
  );
});
