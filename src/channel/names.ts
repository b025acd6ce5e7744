/**
 * The side channel's ref names (SPEC §12). They end with the shared branch's
 * full name, so they inherit git's naming rules. What orch fetches lands in
 * its own local namespace, `refs/orch-remote/<remote>/…`, never on a ref it
 * writes and never under refs/remotes (so `fetch.prune` cannot touch them).
 */
import type { Actor } from "../core/state.ts";

export const heartbeatRef = (actor: Actor, branch: string) => `refs/orch/heartbeat/${actor}/${branch}`;
export const logsRef = (actor: Actor, branch: string) => `refs/orch/logs/${actor}/${branch}`;
export const controlRef = (branch: string) => `refs/orch/control/${branch}`;

/** Where a fetched side ref is kept locally. */
export function localCopy(remote: string, ref: string): string {
  return ref.replace(/^refs\/orch\//, `refs/orch-remote/${remote}/`);
}

/** Every side ref of a branch, in a fixed order (heartbeats, logs, control). */
export function sideRefs(branch: string): string[] {
  const actors: Actor[] = ["galph", "ralph"];
  return [...actors.map((a) => heartbeatRef(a, branch)), ...actors.map((a) => logsRef(a, branch)), controlRef(branch)];
}
