/**
 * The remote as a runner sees it: the shared branch and its side refs, read
 * cheaply. One `git ls-remote` lists them all; only what moved is fetched
 * (one `git fetch`, into orch's own namespace) and read (one `cat-file
 * --batch`). When nothing moved, a look costs that single ls-remote.
 */
import type { Git } from "../core/git.ts";
import { fetchBranch, RemoteBranchMissing } from "../core/sync.ts";
import { parseState, remoteStateRestore, type Actor, type State } from "../core/state.ts";
import { heartbeatRef, localCopy, logsRef, controlRef, sideRefs } from "./names.ts";
import { parseHeartbeat, type Heartbeat } from "./heartbeat.ts";

export interface View {
  /** The branch tip on the remote (per the last fetch), null when it has none. */
  tip: string | null;
  /** Its state file; null when the branch has none. */
  state: State | null;
  heartbeats: Partial<Record<Actor, Heartbeat>>;
  /** control.json as text (parsed by the steering module); null when there is none. */
  control: string | null;
  /** The tip commit's message (a stamp's subject and receipt), when known. */
  tipMessage?: string;
}

/** The message of a raw commit object (after its headers). */
export function commitMessage(raw: Buffer): string {
  const text = raw.toString("utf8");
  const at = text.indexOf("\n\n");
  return at < 0 ? "" : text.slice(at + 2);
}

export interface WatchOptions {
  git: Git;
  remote: string;
  branch: string;
  stateRel: string;
  /** A log ref that moved: its actor and the local copy to import from. */
  onLogs?: (actor: Actor, localRef: string) => Promise<void>;
  /**
   * Refs this runner writes (its heartbeat and log refs). Their lease is what
   * we pushed last: a look does not move it, so a push after another runner
   * wrote them fails its lease, as it must.
   */
  own?: readonly string[];
  /**
   * Refs whose content is fetched only when asked for (`freshen`): a waiting
   * runner's peer heartbeat moves with every push the peer makes, and all the
   * runner needs of it is that it moved (peer health); a fetch of the branch
   * alone is the faster one, on the path from the peer's stamp to our turn.
   * A forced look fetches them too.
   */
  lazy?: readonly string[];
}

const ACTORS: Actor[] = ["galph", "ralph"];

export class RemoteWatch {
  /** The remote's sha of each ref as last seen (null: absent). */
  readonly known = new Map<string, string | null>();
  view: View = { tip: null, state: null, heartbeats: {}, control: null };
  private readonly branchRef: string;
  private readonly tracking: string;
  /** Lazy refs that moved since their local copy was fetched (sha on the remote). */
  private readonly behind = new Map<string, string>();
  /** When this watch last saw each lazy ref change (its own clock: no skew). */
  private readonly movedAt = new Map<string, number>();

  constructor(private readonly o: WatchOptions) {
    this.branchRef = `refs/heads/${o.branch}`;
    this.tracking = `refs/remotes/${o.remote}/${o.branch}`;
  }

  private get refs(): string[] {
    return [this.branchRef, ...sideRefs(this.o.branch)];
  }

  /** One ls-remote of the branch and its side refs. */
  async list(): Promise<Map<string, string | null>> {
    const r = await this.o.git.runNetwork(["ls-remote", this.o.remote, ...this.refs]);
    const found = new Map<string, string | null>(this.refs.map((ref) => [ref, null]));
    for (const line of r.stdout.split("\n")) {
      const tab = line.indexOf("\t");
      if (tab < 0) continue;
      const ref = line.slice(tab + 1);
      if (found.has(ref)) found.set(ref, line.slice(0, tab));
    }
    return found;
  }

  /**
   * Look at the remote; fetch and read only what moved. Returns whether
   * anything did. `force` fetches the branch even when its tip looks unmoved.
   */
  async look(opts: { force?: boolean } = {}): Promise<boolean> {
    const now = await this.list();
    const moved = [...now].filter(([ref, sha]) => this.known.get(ref) !== sha || (opts.force && ref === this.branchRef));
    if (moved.length === 0) return false;
    const lazy = new Set(this.o.lazy ?? []);
    for (const [ref, sha] of moved) {
      if (!lazy.has(ref)) continue;
      if (this.known.has(ref)) this.movedAt.set(ref, Date.now());
      if (sha && !opts.force) this.behind.set(ref, sha);
      else this.behind.delete(ref);
    }
    const fetched = opts.force ? moved : moved.filter(([ref]) => !lazy.has(ref));
    await this.fetch(fetched);
    const own = new Set(this.o.own ?? []);
    for (const [ref, sha] of moved) if (!own.has(ref) || !this.known.has(ref)) this.known.set(ref, sha);
    await this.read();
    for (const actor of ACTORS) {
      const ref = logsRef(actor, this.o.branch);
      if (moved.some(([r, sha]) => r === ref && sha) && this.o.onLogs) await this.o.onLogs(actor, localCopy(this.o.remote, ref));
    }
    return true;
  }

  /** Fetch the lazy refs that moved since their copy was made, and read the view again (no-op when none did). */
  async freshen(refs: readonly string[]): Promise<void> {
    const due = refs.filter((r) => this.behind.has(r)).map((r): [string, string] => [r, this.behind.get(r)!]);
    if (due.length === 0) return;
    await this.fetch(due);
    for (const [ref] of due) this.behind.delete(ref);
    await this.read();
  }

  /** Milliseconds since this watch saw a lazy ref change; null when it has not seen it change. */
  movedAgoMs(ref: string): number | null {
    const at = this.movedAt.get(ref);
    return at === undefined ? null : Date.now() - at;
  }

  /** One fetch of the moved refs that exist; a branch missing on the remote is RemoteBranchMissing. */
  private async fetch(moved: [string, string | null][]): Promise<void> {
    const present = moved.filter(([, sha]) => sha !== null);
    const branchGone = moved.some(([ref, sha]) => ref === this.branchRef && sha === null);
    if (branchGone) throw new RemoteBranchMissing(this.o.remote, this.o.branch);
    if (present.length === 0) return;
    const specs = present.map(([ref]) => (ref === this.branchRef ? `+${ref}:${this.tracking}` : `+${ref}:${localCopy(this.o.remote, ref)}`));
    if (specs.length === 1 && present[0]![0] === this.branchRef) return fetchBranch(this.o.git, this.o.remote, this.o.branch);
    await this.o.git.runNetwork(["fetch", "--quiet", "--no-tags", this.o.remote, ...specs]);
  }

  /** Read the view from the local copies: one cat-file for the tip, the state, both heartbeats and control. */
  async read(): Promise<View> {
    const { git, remote, branch, stateRel } = this.o;
    const hb = ACTORS.map((a) => `${localCopy(remote, heartbeatRef(a, branch))}:heartbeat.json`);
    const [tip, state, galph, ralph, control] = await git.catFiles([`${this.tracking}^{commit}`, `${this.tracking}:${stateRel}`, ...hb, `${localCopy(remote, controlRef(branch))}:control.json`]);
    const heartbeats: View["heartbeats"] = {};
    const g = parseHeartbeat(galph?.body.toString("utf8") ?? null);
    const r = parseHeartbeat(ralph?.body.toString("utf8") ?? null);
    if (g) heartbeats.galph = g;
    if (r) heartbeats.ralph = r;
    this.view = {
      tip: tip?.type === "commit" ? tip.sha : null,
      state: state?.type === "blob" ? parseState(state.body.toString("utf8"), `${stateRel} (on ${remote}/${branch})`, remoteStateRestore(remote, branch, stateRel)) : null,
      heartbeats,
      control: control?.type === "blob" ? control.body.toString("utf8") : null,
      tipMessage: tip?.type === "commit" ? commitMessage(tip.body) : undefined,
    };
    return this.view;
  }

  /** After a push of ours: the remote now has these shas (no need to fetch them back). */
  pushed(updates: { dst: string; sha: string }[]): void {
    for (const u of updates) this.known.set(u.dst, u.sha);
  }

  /** Forget what was seen of the branch (our own pull/push moved it): the next look fetches it. */
  forgetBranch(): void {
    this.known.delete(this.branchRef);
  }
}


/** Both actors' heartbeats as last fetched (local copies; no network). */
export async function readHeartbeats(git: Git, remote: string, branch: string): Promise<Partial<Record<Actor, Heartbeat>>> {
  const blobs = await git.catFiles(ACTORS.map((a) => `${localCopy(remote, heartbeatRef(a, branch))}:heartbeat.json`));
  const out: Partial<Record<Actor, Heartbeat>> = {};
  ACTORS.forEach((a, i) => {
    const hb = parseHeartbeat(blobs[i]?.body.toString("utf8") ?? null);
    if (hb) out[a] = hb;
  });
  return out;
}

/** What the engine needs of a watch: the remote one, or the local one of a clone that does not publish. */
export type Watch = Pick<RemoteWatch, "known" | "view" | "look" | "read" | "list" | "pushed" | "freshen" | "movedAgoMs">;

/**
 * A clone that keeps its turns to itself (`orch pair --no-push`, or no remote
 * at all): the "remote" view is HEAD's own state, which only this process
 * changes. A look never moves anything.
 */
export class LocalWatch implements Watch {
  readonly known = new Map<string, string | null>();
  view: View = { tip: null, state: null, heartbeats: {}, control: null };
  constructor(private readonly git: Git, private readonly stateRel: string) {}
  async look(): Promise<boolean> {
    await this.read();
    return false;
  }
  async read(): Promise<View> {
    const [tip, state] = await this.git.catFiles(["HEAD^{commit}", `HEAD:${this.stateRel}`]);
    this.view = {
      tip: tip?.type === "commit" ? tip.sha : null,
      state: state?.type === "blob" ? parseState(state.body.toString("utf8"), `${this.stateRel} (at HEAD)`) : null,
      heartbeats: {},
      control: null,
      tipMessage: tip?.type === "commit" ? commitMessage(tip.body) : undefined,
    };
    return this.view;
  }
  async list(): Promise<Map<string, string | null>> {
    return new Map();
  }
  pushed(): void {}
  async freshen(): Promise<void> {}
  movedAgoMs(): number | null {
    return null;
  }
}
