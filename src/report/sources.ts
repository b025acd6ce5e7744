/**
 * What the report reads from the remote besides the branch: both runners'
 * heartbeats and shipped logs (SPEC §12), through the side channel's watch:
 * one ls-remote, one fetch of what moved (into orch's own namespace), and the
 * peers' new logs written into the local log dir (so the report can show
 * either actor's transcript on any machine).
 */
import { errorMessage, Exit, OrchError } from "../core/errors.ts";
import type { Git } from "../core/git.ts";
import type { Actor } from "../core/state.ts";
import { RemoteBranchMissing } from "../core/sync.ts";
import { heartbeatRef, localCopy, logsRef } from "../channel/names.ts";
import { peerLogImporter } from "../channel/logs.ts";
import { RemoteWatch } from "../channel/watch.ts";

export const trackingRef = (remote: string, branch: string) => `refs/remotes/${remote}/${branch}`;

export interface SyncResult {
  fetch: "fetched" | "failed";
  error: string | null;
  /** Trouble copying the peers' shipped logs here (the log dir not ignored, a write that failed). */
  notes: string[];
}

/** Bring the branch, the heartbeats and the shipped logs up to date; a network failure is reported, never thrown (local refs are read then). */
export async function syncRemote(git: Git, top: string, remote: string, branch: string, stateRel: string, logBranchDir: string): Promise<SyncResult> {
  const notes: string[] = [];
  const watch = new RemoteWatch({ git, remote, branch, stateRel, onLogs: peerLogImporter(git, top, logBranchDir, (line) => void notes.push(line)) });
  try {
    await watch.look({ force: true });
    return { fetch: "fetched", error: null, notes };
  } catch (e) {
    // Nothing published yet, or a state file the report does not need to parse: not a fetch failure.
    if (e instanceof RemoteBranchMissing || (e instanceof OrchError && e.exitCode === Exit.badState)) return { fetch: "fetched", error: null, notes };
    return { fetch: "failed", error: errorMessage(e), notes };
  }
}

/** Each actor's heartbeat.json from the local copies of the refs (parsed; a string when it is not JSON); null when absent. */
export async function readHeartbeats(git: Git, remote: string, branch: string, actors: readonly Actor[]): Promise<Record<Actor, unknown | null>> {
  const blobs = await git.catFiles(actors.map((a) => `${localCopy(remote, heartbeatRef(a, branch))}:heartbeat.json`));
  const out = {} as Record<Actor, unknown | null>;
  actors.forEach((a, i) => {
    const blob = blobs[i];
    if (!blob || blob.type !== "blob") {
      out[a] = null;
      return;
    }
    const text = blob.body.toString("utf8");
    try {
      out[a] = JSON.parse(text);
    } catch {
      out[a] = text;
    }
  });
  return out;
}

/** Shipped log files (`<actor>/<name>` on the actor's log ref, as last fetched): each one's bytes, or null. */
export async function readShippedLogs(git: Git, remote: string, branch: string, logs: { actor: Actor; name: string }[]): Promise<(Uint8Array | null)[]> {
  const blobs = await git.catFiles(logs.map((l) => `${localCopy(remote, logsRef(l.actor, branch))}:${l.actor}/${l.name}`));
  return blobs.map((b) => (b && b.type === "blob" ? new Uint8Array(b.body) : null));
}
