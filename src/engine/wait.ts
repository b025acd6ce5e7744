import type { Git } from "../core/git.ts";
import { OrchError, Exit } from "../core/errors.ts";
import { sleep } from "../core/proc.ts";
import type { Actor, State } from "../core/state.ts";

export interface Waiter {
  git: Git;
  remote: string;
  branch: string;
  /** The state on the remote-tracking ref (null: the branch has no state file: galph's turn). */
  readState: () => Promise<State | null>;
  pollMs: number;
  maxWaitMs: number;
  heartbeatMs: number;
  verbose: boolean;
  actor: Actor;
  peer: Actor;
  say: (line: string) => void;
}

/**
 * Poll until `ready(state)`. Cheap (SPEC §4.3): compare the remote tip with
 * ls-remote, fetch and read the state from the fetched ref only when it moved;
 * the working tree is never touched. Returns the state, or "exit" when the
 * state carries the exit flag (the caller prints the message).
 */
export async function waitFor(w: Waiter, what: string, ready: (s: State) => boolean): Promise<State> {
  const started = Date.now();
  let lastBeat = started;
  let lastSeen = "";
  let peerFailureNoticed = false;
  let tip = await w.git.revParse(`refs/remotes/${w.remote}/${w.branch}`);
  let state = orGalphsTurn(await w.readState());
  for (;;) {
    const seen = `${state.expected_actor}/${state.status}/${state.iteration}`;
    if (w.verbose && seen !== lastSeen) w.say(`[sync] state: actor=${state.expected_actor} status=${state.status} iter=${state.iteration}`);
    lastSeen = seen;
    if (state.extra.exit === true || ready(state)) return state;
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
    await sleep(Math.min(w.pollMs, remaining));
    const remoteTip = await w.git.lsRemote(w.remote, w.branch);
    if (remoteTip !== tip) {
      await w.git.fetch(w.remote, w.branch);
      tip = remoteTip;
      state = orGalphsTurn(await w.readState());
    }
  }
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
