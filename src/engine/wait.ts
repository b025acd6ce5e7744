import { isTransientGitError, type Git } from "../core/git.ts";
import { fetchBranch } from "../core/sync.ts";
import { OrchError, Exit } from "../core/errors.ts";
import { sleep } from "../core/proc.ts";
import type { Actor, State } from "../core/state.ts";

export interface Waiter {
  git: Git;
  remote: string;
  branch: string;
  /** Tip and state of the remote-tracking ref (state null: the branch has no state file: galph's turn). */
  readState: () => Promise<{ tip: string | null; state: State | null }>;
  pollMs: number;
  maxWaitMs: number;
  heartbeatMs: number;
  verbose: boolean;
  actor: Actor;
  peer: Actor;
  say: (line: string) => void;
  /**
   * Asked when `ready` says yes: may the turn be taken? (No while another
   * clone's runner holds it.) Asked again only when the remote tip moves.
   */
  held?: (seen: Seen & { state: State }) => Promise<boolean>;
}

/**
 * Poll until `ready(state)`. Cheap (SPEC §4.3): compare the remote tip with
 * ls-remote, fetch and read the state from the fetched ref only when it moved;
 * the working tree is never touched. Returns the state, or "exit" when the
 * state carries the exit flag (the caller prints the message).
 */
export interface Seen {
  tip: string | null;
  state: State | null;
}

export async function waitFor(w: Waiter, what: string, ready: (s: State) => boolean, initial?: Seen): Promise<Seen & { state: State }> {
  const started = Date.now();
  let lastBeat = started;
  let lastSeen = "";
  let peerFailureNoticed = false;
  let unreachableSince = 0;
  const first = initial ?? (await w.readState());
  let tip = first.tip;
  let state = orGalphsTurn(first.state);
  let idlePolls = 0;
  let heldAt: string | null | undefined;
  for (;;) {
    const seen = `${state.expected_actor}/${state.status}/${state.iteration}`;
    if (w.verbose && seen !== lastSeen) w.say(`[sync] state: actor=${state.expected_actor} status=${state.status} iter=${state.iteration}`);
    lastSeen = seen;
    if (state.extra.exit === true) return { tip, state };
    if (ready(state)) {
      if (heldAt !== tip) heldAt = w.held && (await w.held({ tip, state })) ? tip : undefined;
      if (heldAt !== tip) return { tip, state };
    }
    if (!peerFailureNoticed && state.expected_actor === w.peer && state.status === "failed") {
      peerFailureNoticed = true;
      w.say(`[sync] ${w.peer} stamped failed at i=${state.iteration}; waiting for it to be rerun or stamped by hand (orch stamp ${w.peer} ok)`);
    }
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
    await sleep(Math.min(pollDelay(w.pollMs, idlePolls), remaining));
    try {
      const remoteTip = await w.git.lsRemote(w.remote, w.branch);
      if (remoteTip !== tip) {
        await fetchBranch(w.git, w.remote, w.branch);
        const fetched = await w.readState();
        tip = fetched.tip;
        state = orGalphsTurn(fetched.state);
        idlePolls = 0;
      } else {
        idlePolls++;
      }
      if (unreachableSince) w.say(`[sync] remote reachable again after ${Math.round((Date.now() - unreachableSince) / 1000)}s`);
      unreachableSince = 0;
    } catch (e) {
      // Waiting survives network outages and a remote that hangs (bounded only by --max-wait-sec); anything else is fatal.
      if (!isTransientGitError(e)) throw e;
      if (!unreachableSince) w.say(`[sync] remote unreachable (${e.message}); still waiting`);
      unreachableSince ||= Date.now();
    }
  }
}

const MAX_IDLE_BACKOFF_MS = 40;

/**
 * The configured interval; below 40 ms, polls that saw no change back off
 * (5, 10, 20, 40 ms) so a tiny interval does not spin git processes while the
 * peer works. Any change resets it.
 */
export function pollDelay(pollMs: number, idlePolls: number): number {
  if (pollMs >= MAX_IDLE_BACKOFF_MS || idlePolls === 0) return pollMs;
  return Math.max(pollMs, Math.min(MAX_IDLE_BACKOFF_MS, 5 * 2 ** (idlePolls - 1)));
}

/** A branch without a state file is galph's turn (SPEC §2). */
function orGalphsTurn(state: State | null): State {
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
