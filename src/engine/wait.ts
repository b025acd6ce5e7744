/**
 * Waiting for a turn (SPEC §4.3), cheap: each poll is one `git ls-remote` of
 * the branch and its side refs; only what moved is fetched and read; the
 * working tree is never touched. Network outages and a remote that hangs are
 * waited out (bounded only by --max-wait-sec).
 */
import { isTransientGitError } from "../core/git-errors.ts";
import { OrchError, Exit } from "../core/errors.ts";
import { sleep } from "../core/proc.ts";
import type { Actor, State } from "../core/state.ts";
import type { Watch, View } from "../channel/watch.ts";

export interface Waiter {
  watch: Watch;
  pollMs: number;
  maxWaitMs: number;
  heartbeatMs: number;
  verbose: boolean;
  actor: Actor;
  peer: Actor;
  say: (line: string) => void;
  /**
   * Asked when `ready` says yes: may the turn not be taken yet? (Another
   * clone's runner holds it, or the actor is paused.) Asked again only when
   * something on the remote moves.
   */
  held?: (view: View & { state: State }) => Promise<boolean>;
  /** Checked every poll: stop waiting now (orch stop); the caller says why. */
  stopped?: (view: View & { state: State }) => boolean;
  /** After every poll (periodic heartbeats, peer health); never fails the wait. */
  tick?: (view: View & { state: State }) => Promise<void>;
}

export type Ready = View & { state: State };

export async function waitFor(w: Waiter, what: string, ready: (s: State) => boolean): Promise<Ready> {
  const started = Date.now();
  let lastBeat = started;
  let lastSeen = "";
  let peerFailureNoticed = false;
  let unreachableSince = 0;
  // Polls of this wait so far: the back-off below 40 ms (pollDelay) is not reset by a move that
  // did not make us ready (the peer's mark): the next move worth seeing (its stamp) is a whole turn away.
  let polls = 0;
  // What `held` said, and at which generation of the view (bumped by every look that saw a move).
  let generation = 0;
  let heldAt = -1;
  for (;;) {
    const view: Ready = { ...w.watch.view, state: orGalphsTurn(w.watch.view.state) };
    const { state } = view;
    const seen = `${state.expected_actor}/${state.status}/${state.iteration}`;
    if (w.verbose && seen !== lastSeen) w.say(`[sync] state: actor=${state.expected_actor} status=${state.status} iter=${state.iteration}`);
    lastSeen = seen;
    if (state.extra.exit === true || w.stopped?.(view)) return view;
    if (ready(state)) {
      if (heldAt !== generation) heldAt = w.held && (await w.held(view)) ? generation : -1;
      if (heldAt !== generation) return view;
    }
    if (!peerFailureNoticed && state.expected_actor === w.peer && state.status === "failed") {
      peerFailureNoticed = true;
      w.say(`[sync] ${w.peer} stamped failed at i=${state.iteration}; waiting for it to be rerun or stamped by hand (orch stamp ${w.peer} ok)`);
    }
    await w.tick?.(view);
    const elapsed = Date.now() - started;
    if (w.maxWaitMs > 0 && elapsed >= w.maxWaitMs) {
      throw new OrchError(
        Exit.waitTimeout,
        `gave up after ${Math.round(elapsed / 1000)}s waiting for ${what} (state: actor=${state.expected_actor} status=${state.status} iter=${state.iteration}); raise --max-wait-sec or check the other machine`,
      );
    }
    if (w.heartbeatMs > 0 && Date.now() - lastBeat >= w.heartbeatMs) {
      lastBeat = Date.now();
      w.say(`[sync] waiting for turn (${w.actor})… ${Math.round(elapsed / 1000)}s elapsed`);
    }
    const remaining = w.maxWaitMs > 0 ? Math.max(0, w.maxWaitMs - elapsed) : Infinity;
    await sleep(Math.min(pollDelay(w.pollMs, polls++), remaining));
    try {
      if (await w.watch.look()) generation++;
      if (unreachableSince) w.say(`[sync] remote reachable again after ${Math.round((Date.now() - unreachableSince) / 1000)}s`);
      unreachableSince = 0;
    } catch (e) {
      if (!isTransientGitError(e)) throw e;
      if (!unreachableSince) w.say(`[sync] remote unreachable (${e.message}); still waiting`);
      unreachableSince ||= Date.now();
    }
  }
}

const MAX_IDLE_BACKOFF_MS = 40;

/**
 * The configured interval; below 40 ms, the polls of one wait back off (0, 5,
 * 10, 20, 40 ms) so a tiny interval does not spin git processes while the
 * peer works.
 */
export function pollDelay(pollMs: number, polls: number): number {
  if (pollMs >= MAX_IDLE_BACKOFF_MS || polls === 0) return pollMs;
  return Math.max(pollMs, Math.min(MAX_IDLE_BACKOFF_MS, 5 * 2 ** (polls - 1)));
}

/** A branch without a state file is galph's turn (SPEC §2). */
export function orGalphsTurn(state: State | null): State {
  return (
    state ?? {
      iteration: 1,
      expected_actor: "galph",
      status: "idle",
      last_update: "",
      lease_expires_at: "",
      galph_commit: null,
      ralph_commit: null,
      extra: {},
    }
  );
}
