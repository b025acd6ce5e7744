/**
 * What the report reads from the remote besides the branch: the heartbeats
 * (SPEC §12). This is the one place that knows how they travel; the side
 * channel's reader replaces `syncRemote` and `readHeartbeats` when it lands.
 *
 * Until then: one `ls-remote` lists the branch and both heartbeat refs, one
 * `fetch` with explicit refspecs brings only those whose sha changed into
 * namespaces we own (never a prune-able pattern), and one `cat-file --batch`
 * reads both heartbeat.json files.
 */
import type { Git } from "../core/git.ts";
import type { Actor } from "../core/state.ts";

export const heartbeatRef = (actor: string, branch: string) => `refs/orch/heartbeat/${actor}/${branch}`;
export const localHeartbeatRef = (remote: string, actor: string, branch: string) => `refs/orch-remote/${remote}/heartbeat/${actor}/${branch}`;
export const trackingRef = (remote: string, branch: string) => `refs/remotes/${remote}/${branch}`;

export interface SyncResult {
  fetch: "fetched" | "failed";
  error: string | null;
}

/** Bring the branch and the heartbeat refs up to date; a network failure is reported, never thrown (local refs are read then). */
export async function syncRemote(git: Git, remote: string, branch: string, actors: readonly Actor[]): Promise<SyncResult> {
  const pairs = [
    { remote: `refs/heads/${branch}`, local: trackingRef(remote, branch) },
    ...actors.map((a) => ({ remote: heartbeatRef(a, branch), local: localHeartbeatRef(remote, a, branch) })),
  ];
  const listed = await git.run(["ls-remote", remote, ...pairs.map((p) => p.remote)], { allowFail: true });
  if (listed.code !== 0) return { fetch: "failed", error: firstLine(listed.stderr) || `git ls-remote exited ${listed.code}` };
  const remoteSha = new Map<string, string>();
  for (const line of listed.stdout.split("\n")) {
    const [sha, name] = line.split("\t");
    if (sha && name) remoteSha.set(name, sha);
  }
  const localSha = await git.refShas(pairs.map((p) => p.local));
  const wanted = pairs.filter((p) => remoteSha.has(p.remote) && remoteSha.get(p.remote) !== localSha.get(p.local));
  if (wanted.length > 0) {
    const r = await git.run(["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", remote, ...wanted.map((p) => `+${p.remote}:${p.local}`)], { allowFail: true });
    if (r.code !== 0) return { fetch: "failed", error: firstLine(r.stderr) || `git fetch exited ${r.code}` };
  }
  // A heartbeat deleted on the remote (a runner removed) must not live on here as a ghost.
  const gone = pairs.slice(1).filter((p) => !remoteSha.has(p.remote) && localSha.has(p.local));
  if (gone.length > 0) {
    await git.run(["update-ref", "--stdin"], { input: gone.map((p) => `delete ${p.local}\n`).join("") });
  }
  return { fetch: "fetched", error: null };
}

/** Each actor's heartbeat.json from the local copies of the refs (parsed; a string when it is not JSON); null when absent. */
export async function readHeartbeats(git: Git, remote: string, branch: string, actors: readonly Actor[]): Promise<Record<Actor, unknown | null>> {
  const specs = actors.map((a) => `${localHeartbeatRef(remote, a, branch)}:heartbeat.json`);
  const blobs = await catFileBatch(git, specs);
  const out = {} as Record<Actor, unknown | null>;
  actors.forEach((a, i) => {
    const blob = blobs[i];
    if (!blob) {
      out[a] = null;
      return;
    }
    const text = new TextDecoder().decode(blob);
    try {
      out[a] = JSON.parse(text);
    } catch {
      out[a] = text;
    }
  });
  return out;
}

/** `git cat-file --batch` for several `<rev>:<path>` at once: each blob's bytes, or null when missing. */
export async function catFileBatch(git: Git, specs: string[]): Promise<(Uint8Array | null)[]> {
  if (specs.length === 0) return [];
  const r = await git.run(["cat-file", "--batch"], { input: specs.join("\n") + "\n", bytes: true });
  const bytes = r.stdoutBytes!;
  const decoder = new TextDecoder();
  const out: (Uint8Array | null)[] = [];
  let pos = 0;
  for (let i = 0; i < specs.length; i++) {
    const nl = bytes.indexOf(10, pos);
    if (nl < 0) break;
    const header = decoder.decode(bytes.subarray(pos, nl));
    pos = nl + 1;
    const m = /^[0-9a-f]+ (\w+) (\d+)$/.exec(header);
    if (!m) {
      out.push(null); // "<spec> missing" or "ambiguous"
      continue;
    }
    const size = Number(m[2]);
    out.push(m[1] === "blob" ? bytes.subarray(pos, pos + size) : null);
    pos += size + 1;
  }
  return out;
}

function firstLine(text: string): string {
  return text.split("\n").map((l) => l.trim()).find((l) => l && !l.startsWith("hint:")) ?? "";
}

/** Shipped logs (SPEC §12): the local copy of `refs/orch/logs/<actor>/<branch>`, fetched by the side channel. */
export const localLogsRef = (remote: string, actor: string, branch: string) => `refs/orch-remote/${remote}/logs/${actor}/${branch}`;

/**
 * The shipped copy of each log, by its file name (`<actor>/iter-….log` in the logs ref's tree); null when absent.
 * Only the logs asked for are read: the report never opens a log it does not show.
 */
export async function readShippedLogs(git: Git, remote: string, branch: string, logs: { actor: Actor; name: string }[]): Promise<(Uint8Array | null)[]> {
  return catFileBatch(git, logs.map((l) => `${localLogsRef(remote, l.actor, branch)}:${l.actor}/${l.name}`));
}
