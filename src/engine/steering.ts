/**
 * What a runner hears from people and from the pair's own progress, between
 * turns (SPEC §15): the control document (pause, resume, stop, nudges) as the
 * last look saw it, and the stalemate breaker. Kept beside the runner so the
 * turn loop stays about turns.
 */
import { errorMessage } from "../core/errors.ts";
import type { Repo } from "../core/repo.ts";
import type { Role } from "../core/roles.ts";
import { isoUtc, parseSubject, type Actor } from "../core/state.ts";
import { parseTrailers } from "../core/identity.ts";
import { emptyControl, nudgesForTurn, pendingNudges, readControl, stopApplies, type Control, type Nudge } from "../channel/control.ts";
import { updateControl } from "../channel/control-push.ts";
import { controlRef, heartbeatRef } from "../channel/names.ts";
import type { Side } from "./side.ts";
import type { RunEvents } from "./events.ts";
import type { Ready } from "./wait.ts";
import { heartbeatAgeSec, type Heartbeat } from "../channel/heartbeat.ts";

interface Cycle {
  iteration: number;
  moved: boolean;
}

export class Steering {
  /** The control document's seq when this runner first read it: only a stop set after that ends it. */
  private startSeq: number | null = null;
  private controlText: string | null | undefined;
  private controlDoc: Control = emptyControl();
  private readonly announcedPause = new Set<string>();
  /** What this run saw of each cycle, newest last: did ralph change code, did galph change input.md. */
  private readonly progress = { ralph: [] as Cycle[], galph: [] as Cycle[] };
  private observedTip: string | null = null;
  /** Peers announced as silent (their heartbeat went stale while their state says running). */
  private readonly silent = new Set<string>();

  constructor(
    private readonly repo: Repo,
    private readonly side: Side,
    private readonly events: RunEvents,
    private readonly say: (line: string) => void,
    /** No remote to steer through (orch pair --no-push): no control document, no nudges, no stalemate pause. */
    private readonly offline: boolean,
    private readonly host: string,
  ) {}

  /** At start: the stop already set is an old one, and the tip's stamp predates this run (not a cycle it saw). */
  begin(): void {
    this.control();
    this.observedTip = this.side.watch.view.tip;
  }

  /**
   * The control document as the last look saw it. A broken one is said once
   * and ignored until it is fixed: a person's typo must not stop a night's work.
   */
  control(): Control {
    const text = this.side.watch.view.control;
    if (text === this.controlText) return this.controlDoc;
    this.controlText = text;
    try {
      this.controlDoc = readControl(text, `${this.repo.remote} ${controlRef(this.repo.branch)}`);
      this.startSeq ??= this.controlDoc.seq;
    } catch (e) {
      this.say(`[sync] WARNING: ${errorMessage(e)}; pause, stop and nudges are ignored until it is fixed`);
      this.controlDoc = emptyControl();
    }
    return this.controlDoc;
  }

  /**
   * The nudges for this actor's turn: the ones waiting (claimed now, by
   * compare-and-swap, so exactly one turn gets each) and the ones already
   * claimed for this very iteration (a rerun after a crash or a limit wait).
   * A claim that cannot be published leaves them waiting for the next turn.
   */
  async claimNudges(actor: Actor, iteration: number): Promise<Nudge[]> {
    if (this.offline) return [];
    const doc = this.control();
    const already = nudgesForTurn(doc, actor, iteration);
    const pending = pendingNudges(doc, actor);
    if (pending.length === 0) return already;
    try {
      const r = await updateControl(this.repo.git, this.repo.remote, this.repo.branch, { kind: "deliver", actor, ids: pending.map((n) => n.id), iteration, at: isoUtc(new Date()), by: this.host });
      return [...already, ...r.delivered];
    } catch (e) {
      this.say(`[sync] WARNING: could not claim the nudges for ${actor} (${errorMessage(e)}); they wait for the next turn`);
      return already;
    }
  }

  /** An `orch stop` set after this runner started. */
  stopRequested(): boolean {
    const doc = this.control();
    return this.startSeq !== null && stopApplies(doc, this.startSeq);
  }

  /** The actor is paused: wait (heartbeat phase paused), say so once, notify once. */
  async pausedNow(role: Role): Promise<boolean> {
    const paused = this.control().paused[role.actor];
    if (paused && !this.announcedPause.has(role.actor)) {
      this.announcedPause.add(role.actor);
      this.say(`[sync] ${role.actor} is paused (orch pause); waiting before its next turn until orch resume`);
      this.events.emit("paused", role.actor, `${role.actor} is paused before iteration ${this.side.watch.view.state?.iteration ?? "?"}`, { iteration: this.side.watch.view.state?.iteration ?? null });
      await this.side.enter([role.actor], "paused");
    } else if (!paused && this.announcedPause.has(role.actor)) {
      this.announcedPause.delete(role.actor);
      this.say(`[sync] ${role.actor} resumed`);
      await this.side.enter([role.actor], "waiting");
    }
    return paused;
  }

  /** A new tip that is ralph's ok stamp: remember whether that turn changed code (its receipt's diffstat). */
  observe(view: { tip: string | null; tipMessage?: string }): void {
    if (!view.tip || view.tip === this.observedTip || !view.tipMessage) return;
    this.observedTip = view.tip;
    const parsed = parseSubject(view.tipMessage.split("\n")[0] ?? "");
    if (!parsed || parsed.actor !== "ralph" || parsed.kind !== "ok" || parsed.iteration === null) return;
    const diffstat = parseTrailers(view.tipMessage).get("Orch-Diffstat");
    const code = diffstat ? Number(/code_files=(\d+)/.exec(diffstat)?.[1] ?? "1") : 1; // no receipt (the old tool): not evidence
    note(this.progress.ralph, parsed.iteration - 1, code > 0);
  }

  /** Between polls: whether a running peer's machine went silent (or came back); said and notified once each way. */
  async peerHealth(role: Role, view: Ready, local: readonly Actor[]): Promise<void> {
    const peer = role.peer;
    if (local.includes(peer) || view.state.status !== `running-${peer}`) return;
    const staleMs = this.repo.config.ms("sync.stale_after_sec");
    const ref = heartbeatRef(peer, this.repo.branch);
    const watch = this.side.watch;
    // Fresh when its content says so or when this runner saw its ref move lately (its content is read only when that changes the verdict).
    const isStale = (hb: Heartbeat) => {
      const age = heartbeatAgeSec(hb);
      const moved = watch.movedAgoMs(ref);
      return age !== null && age * 1000 >= staleMs && (moved === null || moved >= staleMs);
    };
    let hb = watch.view.heartbeats[peer];
    if (!hb && !watch.known.get(ref)) return; // no heartbeat at all (the old tool): unknown, never stale
    if (!hb || isStale(hb) !== this.silent.has(peer)) {
      await watch.freshen([ref]);
      hb = watch.view.heartbeats[peer];
      if (!hb) return;
    }
    const age = heartbeatAgeSec(hb);
    const stale = isStale(hb);
    if (stale && !this.silent.has(peer)) {
      this.silent.add(peer);
      const last = (iso: string | null) => (iso ? iso.slice(11, 16) + "Z" : "never");
      const line = `[sync] ${peer} on ${hb.host} silent for ${formatElapsed(age! * 1000)} (last heartbeat ${last(hb.updated_at)}, running i=${view.state.iteration}, last agent output ${last(hb.last_output_at)}); if that machine is gone: orch takeover ${peer}`;
      this.say(line);
      this.events.emit("peer_stale", peer, line.replace(/^\[sync\] /, ""), { iteration: view.state.iteration });
    } else if (!stale && this.silent.has(peer)) {
      this.silent.delete(peer);
      const line = `[sync] ${peer} on ${hb.host} is back (heartbeat ${hb.updated_at.slice(11, 16)}Z)`;
      this.say(line);
      this.events.emit("peer_back", peer, line.replace(/^\[sync\] /, ""), { iteration: view.state.iteration });
    }
  }

  /** galph's own ok turn: did it change input.md. */
  galphDone(iteration: number, changedInput: boolean): void {
    note(this.progress.galph, iteration, changedInput);
  }

  /**
   * Before galph's turn: stalemate.cycles cycles in a row in which ralph
   * changed no file outside the doc/meta whitelist, or galph's input.md came
   * out unchanged, pause the pair (through the control ref, so both machines
   * wait), notify, and let `orch resume` continue. Only cycles this run saw
   * count. Without a remote (orch pair --no-push) there is nothing to pause
   * and resume through: "stop" ends the run after saying why.
   */
  async breakStalemate(): Promise<"stop" | null> {
    const n = this.repo.config.get("stalemate.cycles");
    if (n <= 0) return null;
    const last = (list: Cycle[]) => (list.length >= n && list.slice(-n).every((c) => !c.moved) ? list.slice(-n) : null);
    const ralph = last(this.progress.ralph);
    const galph = last(this.progress.galph);
    if (!ralph && !galph) return null;
    const evidence = ralph
      ? `ralph changed no file outside the doc/meta whitelist in iterations ${ralph.map((c) => c.iteration).join(", ")}`
      : `galph's input.md came out unchanged in iterations ${galph!.map((c) => c.iteration).join(", ")}`;
    this.progress.ralph.length = 0;
    this.progress.galph.length = 0;
    if (!this.offline) {
      try {
        await updateControl(this.repo.git, this.repo.remote, this.repo.branch, { kind: "pause", actors: ["galph", "ralph"] });
        await this.side.watch.read();
      } catch (e) {
        this.say(`[sync] WARNING: could not pause the pair for the stalemate (${errorMessage(e)})`);
      }
    }
    const line = this.offline
      ? `[sync] stalemate: ${evidence}; the pair stops here (this clone only: nothing to pause it through; run it again to continue)`
      : `[sync] stalemate: ${evidence}; the pair is paused (orch resume to continue)`;
    this.say(line);
    this.events.emit("stalemate", "", line.replace(/^\[sync\] /, ""), { iteration: this.side.watch.view.state?.iteration ?? null });
    return this.offline ? "stop" : null;
  }
}

function note(list: Cycle[], iteration: number, moved: boolean): void {
  if (list.at(-1)?.iteration === iteration) list.pop();
  list.push({ iteration, moved });
  if (list.length > 64) list.shift();
}

/** `42s`, `3m05s`, `2h10m`. */
export function formatElapsed(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
