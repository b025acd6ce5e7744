/**
 * A runner's side of the side channel (SPEC §12): its heartbeats (pushed with
 * its marks and stamps, at every phase change and every
 * sync.heartbeat_push_sec), its shipped logs (with its stamps), and the
 * refusal fallback: a remote that will not take refs/orch/* pushes turns the
 * channel off with one warning, and turns go on.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { OrchError, Exit, errorMessage } from "../core/errors.ts";
import type { Runner } from "../core/identity.ts";
import type { Repo } from "../core/repo.ts";
import type { Role } from "../core/roles.ts";
import { compileRedactPatterns, makeRedactor } from "../core/secrets.ts";
import { pushRefs, refusalReasons, type RefUpdate, type RefStatus } from "../core/sync.ts";
import { isoUtc, parseSubject, type Actor } from "../core/state.ts";
import { parseTrailers } from "../core/identity.ts";
import { run } from "../core/proc.ts";
import { heartbeatAgeSec, serializeHeartbeat, configHash, type Heartbeat, type Phase } from "../channel/heartbeat.ts";
import { heartbeatRef, logsRef } from "../channel/names.ts";
import { writeCommits, type CommitSpec } from "../channel/objects.ts";
import { peerLogImporter, shipSpec } from "../channel/logs.ts";
import { LocalWatch, RemoteWatch, type Watch } from "../channel/watch.ts";
import { branchDir } from "../core/repo.ts";
import { VERSION } from "../version.ts";

/** What a heartbeat says beyond the runner's identity. */
export interface BeatInfo {
  iteration?: number | null;
  turn_started_at?: string | null;
  last_output_at?: string | null;
  blocked_until?: string | null;
  reason?: string | null;
}

const ownRef = (kind: "hb" | "logs", actor: Actor, branch: string) => `refs/orch-local/${kind}/${actor}/${branch}`;

/** A side commit not yet written, and the ref update it becomes: written with a push's other commits in one fast-import. */
export interface PendingUpdate {
  spec: CommitSpec;
  dst: string;
  expect: string | null;
}


export class Side {
  readonly watch: Watch;
  /** False once the remote refused a refs/orch/* push: heartbeats and shipping stop, turns go on. */
  enabled: boolean;
  private readonly ship: boolean;
  private readonly info = new Map<Actor, BeatInfo & { phase: Phase }>();
  private readonly lastPush = new Map<Actor, number>();
  /** Actors whose phase changed since their last heartbeat push (defer). */
  private readonly unpushed = new Set<Actor>();
  private readonly redact: (text: string) => string;
  private readonly hash: string;
  private readonly agents = new Map<Actor, { argv0: string; version: string | null }>();
  private readonly logSpecs = new Map<string, CommitSpec>();

  constructor(
    private readonly repo: Repo,
    private readonly runner: Runner,
    private readonly roles: readonly Role[],
    private readonly say: (line: string) => void,
    /** Nothing is published (orch pair --no-push, or no remote): no heartbeats, no shipped logs; the watch reads HEAD. */
    offline = false,
  ) {
    const c = repo.config;
    this.ship = c.get("logs.ship");
    this.enabled = !offline;
    this.hash = configHash(c);
    const redactor = makeRedactor({ env: process.env, patterns: compileRedactPatterns(c.get("logs.redact_patterns")) });
    this.redact = (text) => redactor(text).text;
    this.watch = offline ? new LocalWatch(repo.git, repo.stateRel) : new RemoteWatch({
      git: repo.git,
      remote: repo.remote,
      branch: repo.branch,
      stateRel: repo.stateRel,
      own: roles.flatMap((r) => [heartbeatRef(r.actor, repo.branch), logsRef(r.actor, repo.branch)]),
      // A peer's heartbeat is read when its health is in question (Steering.peerHealth), not at every move.
      lazy: roles.filter((r) => !roles.some((o) => o.actor === r.peer)).map((r) => heartbeatRef(r.peer, repo.branch)),
      // The peer's new logs land in the local log dir after each look that saw them move (our own are here already).
      onLogs: peerLogImporter(repo.git, repo.top, this.branchLogDir(), (line) => this.say(`[sync] WARNING: ${line}`), (actor) => this.roles.some((r) => r.actor === actor)),
    });
  }

  private branchLogDir(): string {
    return `${this.repo.logDir}/${branchDir(this.repo.branch)}`;
  }

  /** Each role's agent (argv[0] and its --version, asked once, 5 s at most). */
  async learnAgents(argvOf: (role: Role) => string[]): Promise<void> {
    await Promise.all(
      this.roles.map(async (role) => {
        const argv0 = argvOf(role)[0]!;
        let version: string | null = null;
        try {
          const r = await run([argv0, "--version"], { cwd: this.repo.top, timeoutMs: 5000, killGraceMs: 500 });
          version = r.code === 0 ? (r.stdout.trim() || r.stderr.trim()).split("\n")[0]!.slice(0, 80) || null : null;
        } catch {
          version = null;
        }
        this.agents.set(role.actor, { argv0, version });
      }),
    );
  }

  /**
   * At start: is one of our actors already run by another live runner (another
   * clone, a fresh heartbeat, not stopped)? Worth a warning: the running mark
   * decides who runs each turn, and the heartbeat leases end the extra runner
   * (the one not holding a turn exits 7 at its next heartbeat).
   */
  othersRunning(): { actor: Actor; hb: Heartbeat; ageSec: number }[] {
    const staleMs = this.repo.config.ms("sync.stale_after_sec");
    const found: { actor: Actor; hb: Heartbeat; ageSec: number }[] = [];
    for (const role of this.roles) {
      const hb = this.watch.view.heartbeats[role.actor];
      if (!hb || hb.clone === this.runner.clone || hb.phase === "stopped") continue;
      const age = heartbeatAgeSec(hb);
      if (age !== null && age * 1000 < staleMs) found.push({ actor: role.actor, hb, ageSec: age });
    }
    return found;
  }

  /** The role's agent's --version, as asked at start (null when it did not answer). */
  agentVersion(actor: Actor): string | null {
    return this.agents.get(actor)?.version ?? null;
  }

  phaseOf(actor: Actor): Phase | undefined {
    return this.info.get(actor)?.phase;
  }

  /**
   * The heartbeat commits for these actors in `phase` (written locally, not
   * pushed), as updates for the next push. Empty when the channel is off.
   */
  async beats(actors: readonly Actor[], phase: Phase, patch: BeatInfo = {}): Promise<RefUpdate[]> {
    const pending = this.beatCommits(actors, phase, patch);
    return this.written(pending, await writeCommits(this.repo.git, pending.map((p) => p.spec)));
  }

  /** The ref updates of pending commits, once written (`shas` in the same order); a log commit's spec is kept to rebuild it on a rival's tip. */
  written(pending: PendingUpdate[], shas: string[]): RefUpdate[] {
    return pending.map((p, i) => {
      if (p.dst.startsWith("refs/orch/logs/")) this.logSpecs.set(shas[i]!, p.spec);
      return { src: shas[i]!, dst: p.dst, expect: p.expect };
    });
  }

  /** The heartbeat commits of `beats`, not written yet (they ride the fast-import of a state commit). */
  beatCommits(actors: readonly Actor[], phase: Phase, patch: BeatInfo = {}): PendingUpdate[] {
    if (!this.enabled || actors.length === 0) return [];
    const pending: PendingUpdate[] = [];
    for (const actor of actors) {
      const prev = this.info.get(actor);
      const next = { ...(prev ?? {}), ...patch, phase };
      this.info.set(actor, next);
      const role = this.roles.find((r) => r.actor === actor)!;
      const hb: Heartbeat = {
        schema: 1,
        actor,
        role: role.command,
        host: this.runner.host,
        clone: this.runner.clone,
        pid: this.runner.pid,
        orch_version: VERSION,
        config_hash: this.hash,
        agent: this.agents.get(actor) ?? { argv0: "", version: null },
        phase,
        iteration: next.iteration ?? null,
        turn_started_at: next.turn_started_at ?? null,
        last_output_at: next.last_output_at ?? null,
        updated_at: isoUtc(new Date()),
        blocked_until: next.blocked_until ?? null,
        reason: next.reason ?? null,
      };
      const dst = heartbeatRef(actor, this.repo.branch);
      pending.push({
        spec: { ref: ownRef("hb", actor, this.repo.branch), parent: null, files: [{ path: "heartbeat.json", data: Buffer.from(serializeHeartbeat(hb)) }], message: `heartbeat ${actor} ${phase}\n` },
        dst,
        expect: this.watch.known.get(dst) ?? null,
      });
    }
    return pending;
  }

  /** The shipped-logs commit of a turn (redacted, capped), not written yet: it rides the stamp's fast-import and push. */
  logCommits(actor: Actor, files: string[], iteration: number): PendingUpdate[] {
    if (!this.enabled || !this.ship) return [];
    const dst = logsRef(actor, this.repo.branch);
    const parent = this.watch.known.get(dst) ?? null;
    const spec = shipSpec({
      ref: ownRef("logs", actor, this.repo.branch),
      parent,
      branchDir: this.branchLogDir(),
      files,
      redact: this.redact,
      maxBytes: this.repo.config.get("logs.ship_max_bytes"),
      message: `logs ${actor} i=${iteration}\n`,
    });
    return spec ? [{ spec, dst, expect: parent }] : [];
  }

  /**
   * Push side updates on their own (a phase change between turns, a periodic
   * heartbeat). A lost lease means another runner of the same actor writes
   * them: exit 7 — except with `keep` (while we hold a turn, or at start before
   * the marks decide), when the heartbeat is taken back, once. Network trouble
   * never fails a turn.
   */
  async pushAlone(updates: RefUpdate[], opts: { keep?: boolean } = {}): Promise<void> {
    if (updates.length === 0) return;
    try {
      for (let attempt = 0; ; attempt++) {
        const { status, result } = await pushRefs(this.repo.git, this.repo.remote, updates, { atomic: true });
        const { lost, refused } = this.settle(updates, status);
        if (refused) return this.disable(refusalReasons(result));
        if (lost.length === 0) return;
        if (!opts.keep) {
          // No rival: a ref someone deleted (by hand, or a cleanup), or a heartbeat whose writer said
          // it stopped (another runner of this actor that ran while this one slept, and ended). Take it back, once.
          if (attempt > 0) throw this.lostLease(lost[0]!);
          const now = await this.watch.list();
          if (lost.some((u) => now.get(u.dst))) await this.watch.look(); // read the holder's heartbeat
          const rival = lost.find((u) => now.get(u.dst) && !this.endedHolder(u.dst));
          if (rival) throw this.lostLease(rival);
          this.repo.git.log(`[sync] ${lost.map((u) => u.dst).join(", ")} deleted on ${this.repo.remote}, or its writer stopped; writing it again`);
          updates = await this.released(updates, lost, now);
          continue;
        }
        if (attempt >= 2) {
          // Two runners starting (or changing phase) at the same moment: the marks decide who runs
          // a turn; the one that does not hold one loses at its next periodic push.
          this.repo.git.log(`[sync] another runner keeps writing ${lost.map((u) => u.dst).join(", ")}; leaving it for now`);
          for (const u of lost) this.watch.known.set(u.dst, (await this.watch.list()).get(u.dst) ?? null);
          return;
        }
        this.repo.git.log(`[sync] another runner wrote ${lost.map((u) => u.dst).join(", ")}; taking it back`);
        await Bun.sleep(20 + Math.random() * 80);
        updates = await this.released(updates, lost);
      }
    } catch (e) {
      if (e instanceof OrchError && e.exitCode === Exit.fenced) throw e;
      this.repo.git.log(`[sync] heartbeat push failed (${errorMessage(e)}); trying again later`);
    }
  }

  /** The same updates with leases on what the remote holds now (after someone else wrote them). */
  async released(updates: RefUpdate[], lost: RefUpdate[], listed?: Map<string, string | null>): Promise<RefUpdate[]> {
    const now = listed ?? (await this.watch.list());
    const out: RefUpdate[] = [];
    for (const u of updates) {
      if (!lost.includes(u)) {
        out.push(u);
        continue;
      }
      const tip = now.get(u.dst) ?? null;
      const spec = this.logSpecs.get(u.src);
      if (spec && tip) {
        // Build on the other runner's shipped logs, never drop them.
        await this.repo.git.run(["fetch", "--quiet", "--no-tags", this.repo.remote, `+${u.dst}:refs/orch-local/tmp-logs`]);
        const [sha] = await writeCommits(this.repo.git, [{ ...spec, parent: tip }]);
        this.logSpecs.set(sha!, { ...spec, parent: tip });
        out.push({ ...u, src: sha!, expect: tip });
      } else out.push({ ...u, expect: tip });
    }
    return out;
  }

  /**
   * The peer's stamp at the tip names its log (Orch-Log), and the log is not
   * here yet: the look that saw the stamp listed the new branch beside the old
   * log ref (an atomic push is not an atomic read for ls-remote). Look once
   * more, so the peer's log is here before our turn starts.
   */
  async catchUpPeerLog(view: { tipMessage?: string }): Promise<void> {
    if (!this.enabled || !view.tipMessage) return;
    const parsed = parseSubject(view.tipMessage.split("\n")[0] ?? "");
    if (!parsed || (parsed.kind !== "ok" && parsed.kind !== "fail") || this.roles.some((r) => r.actor === parsed.actor)) return;
    if (!this.watch.known.get(logsRef(parsed.actor, this.repo.branch))) return; // the peer ships no logs
    const log = parseTrailers(view.tipMessage).get("Orch-Log");
    if (!log || existsSync(join(this.repo.top, log))) return;
    await this.watch.look();
  }

  /** The remote's heartbeat at this ref (as the last look read it) says its runner stopped. */
  private endedHolder(dst: string): boolean {
    if (!dst.startsWith("refs/orch/heartbeat/")) return false;
    return this.watch.view.heartbeats[dst.split("/")[3] as Actor]?.phase === "stopped";
  }

  lostLease(u: RefUpdate): OrchError {
    const actor = u.dst.split("/")[3];
    return new OrchError(Exit.fenced, `another runner of ${actor} is writing ${u.dst} (its lease moved under us); stopping this one: run each actor in one place only`);
  }

  /**
   * A phase change pushed later: by the next push that carries a heartbeat
   * (a running mark) or at the first poll of a wait (flush). A phase over
   * before then (start-up; a wait that ends at once) costs no push of its own.
   */
  defer(actors: readonly Actor[], phase: Phase): void {
    for (const a of actors) {
      const prev = this.info.get(a);
      if (prev?.phase === phase) continue;
      this.info.set(a, { ...(prev ?? {}), phase });
      this.unpushed.add(a);
    }
  }

  /** Push the deferred phase changes (SPEC §12: every phase change is pushed; this one now lasts). */
  async flush(): Promise<void> {
    if (!this.enabled || this.unpushed.size === 0) return;
    const byPhase = new Map<Phase, Actor[]>();
    for (const a of this.unpushed) byPhase.set(this.phaseOf(a)!, [...(byPhase.get(this.phaseOf(a)!) ?? []), a]);
    for (const [phase, group] of byPhase) {
      await this.pushAlone(await this.beats(group, phase), { keep: true });
      for (const a of group) this.lastPush.set(a, Date.now());
    }
  }

  /**
   * A phase change, pushed at once (when it is one). A phase change takes the
   * heartbeat back from a rival once (`keep`); the rival that does not hold a
   * turn loses at its next periodic push.
   */
  async enter(actors: readonly Actor[], phase: Phase, patch: BeatInfo = {}): Promise<void> {
    const changed = actors.filter((a) => this.phaseOf(a) !== phase || Object.keys(patch).length > 0);
    if (changed.length) await this.pushAlone(await this.beats(changed, phase, patch), { keep: true });
    for (const a of changed) this.lastPush.set(a, Date.now());
  }

  /** Every sync.heartbeat_push_sec: push the heartbeat again (with the agent's last output time). */
  async refresh(actors: readonly Actor[], patch: BeatInfo = {}, opts: { keep?: boolean } = {}): Promise<void> {
    if (!this.enabled) return;
    const every = this.repo.config.ms("sync.heartbeat_push_sec");
    const due = actors.filter((a) => every > 0 && Date.now() - (this.lastPush.get(a) ?? 0) >= every && this.phaseOf(a));
    if (due.length === 0) return;
    for (const a of due) this.lastPush.set(a, Date.now());
    const byPhase = new Map<Phase, Actor[]>();
    for (const a of due) byPhase.set(this.phaseOf(a)!, [...(byPhase.get(this.phaseOf(a)!) ?? []), a]);
    for (const [phase, group] of byPhase) await this.pushAlone(await this.beats(group, phase, patch), opts);
  }

  /** What a push that carried side updates did to them: remembered when landed; `lost` leases; a refusal. */
  settle(updates: RefUpdate[], status: Map<string, RefStatus>): { lost: RefUpdate[]; refused: boolean } {
    const landed = updates.filter((u) => status.get(u.dst) === "ok");
    this.watch.pushed(landed.map((u) => ({ dst: u.dst, sha: u.src })));
    for (const u of landed) {
      if (!u.dst.startsWith("refs/orch/heartbeat/")) continue;
      const actor = u.dst.split("/")[3] as Actor;
      this.lastPush.set(actor, Date.now());
      this.unpushed.delete(actor);
    }
    return {
      lost: updates.filter((u) => status.get(u.dst) === "stale"),
      refused: updates.some((u) => status.get(u.dst) === "refused"),
    };
  }

  /** The remote refuses refs/orch/*: say so once; no more heartbeats or shipped logs this run. */
  disable(reasons: string[]): void {
    if (!this.enabled) return;
    this.enabled = false;
    this.say(
      `[sync] WARNING: ${this.repo.remote} refuses pushes to refs/orch/* (${reasons.join(" | ") || "no reason given"}); heartbeats and shipped logs are off for this run, turns are not affected (orch doctor explains)`,
    );
  }
}
