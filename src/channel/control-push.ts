/**
 * Publishing a change to control.json (SPEC §15): a compare-and-swap on
 * `refs/orch/control/<branch>`. Read the remote's sha (one ls-remote), fetch
 * it only when this clone lacks it, apply the change to that document, write
 * the next commit of the chain (fast-import: no index, no working tree), and
 * push it with a lease on exactly the sha read. A lost lease means someone
 * else changed the document meanwhile: read again and apply again, so two
 * people never lose each other's change.
 */
import type { Git } from "../core/git.ts";
import { GitError } from "../core/git-errors.ts";
import { OrchError, Exit } from "../core/errors.ts";
import { sleep } from "../core/proc.ts";
import { pushRefs, refusalReasons, PushRefused } from "../core/sync.ts";
import { controlRef, localCopy } from "./names.ts";
import { writeCommits } from "./objects.ts";
import { applyChange, ControlInvalid, readControl, serializeControl, type Applied, type Control, type ControlChange } from "./control.ts";

export interface ControlUpdate extends Applied {
  /** The control commit the remote now has (when `changed`: the one we pushed); null when it has none. */
  sha: string | null;
  /** Compare-and-swap rounds it took (1 without a race). */
  attempts: number;
}

/** Rounds before giving up on a document that keeps moving. */
const MAX_ATTEMPTS = 8;

/** Where this clone writes control commits before pushing them (orch's own namespace; no fetch prunes it). */
const ownRef = (branch: string) => `refs/orch-local/control/${branch}`;

/**
 * Apply `change` to the remote's control document and publish it. Holds the
 * clone's repository lock (re-entrant: a runner may call it inside its own
 * critical section). Returns the document as published (or as found, when the
 * change changed nothing, in which case nothing is pushed).
 * Throws OrchError exit 2 (the shared branch is not on the remote),
 * ControlInvalid (exit 3: the remote's control.json is broken; it is left as
 * it is), PushRefused (the remote will not take refs/orch/*), GitError.
 */
export async function updateControl(git: Git, remote: string, branch: string, change: ControlChange): Promise<ControlUpdate> {
  const ref = controlRef(branch);
  const where = `${remote} ${ref}`;
  return git.withLock(async () => {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const { base, doc, copy } = await readRemote(git, remote, branch);
      const applied = applyChange(doc, change);
      if (!applied.changed) return { ...applied, sha: base, attempts: attempt };
      const [sha] = await writeCommits(git, [
        {
          ref: ownRef(branch),
          parent: base,
          files: [{ path: "control.json", data: Buffer.from(serializeControl(applied.doc)) }],
          message: `control: ${applied.summary}\n\nseq ${applied.doc.seq}\n`,
        },
      ]);
      const { status, result } = await pushRefs(git, remote, [{ src: sha!, dst: ref, expect: base }], { atomic: false });
      const s = status.get(ref);
      if (s === "ok") {
        await advanceCopy(git, remote, ref, sha!, copy);
        return { ...applied, sha: sha!, attempts: attempt };
      }
      if (s === "refused") throw new PushRefused(remote, ref, refusalReasons(result));
      if (s !== "stale") throw new GitError(["push", remote, ref], result);
      // Lost the lease: someone changed the document since we read it. A little jitter keeps two racing clones from meeting again.
      git.log(`[control] ${where} moved while we wrote seq ${applied.doc.seq}; reading it again`);
      await sleep(20 + Math.random() * 80 * attempt);
    }
    throw new OrchError(Exit.runtime, `${where} kept changing (${MAX_ATTEMPTS} tries); rerun the command`);
  });
}

/** The remote's control document now: its sha (null: none yet), parsed, and this clone's local copy's sha. */
async function readRemote(git: Git, remote: string, branch: string): Promise<{ base: string | null; doc: Control; copy: string | null }> {
  const ref = controlRef(branch);
  const branchRef = `refs/heads/${branch}`;
  const r = await git.runNetwork(["ls-remote", remote, branchRef, ref]);
  const listed = new Map(
    r.stdout
      .split("\n")
      .filter((l) => l.includes("\t"))
      .map((l) => [l.slice(l.indexOf("\t") + 1), l.slice(0, l.indexOf("\t"))] as const),
  );
  // A control ref for a branch the remote does not have is a typo in --branch, not a new document.
  if (!listed.has(branchRef)) {
    throw new OrchError(Exit.usage, `branch '${branch}' does not exist on remote '${remote}'; name the pair's shared branch with --branch NAME (or [git] branch in orch.toml)`);
  }
  const remoteSha = listed.get(ref) ?? null;
  const copyRef = localCopy(remote, ref);
  const [copy] = await git.catFiles([`${copyRef}^{commit}`]);
  const copySha = copy?.type === "commit" ? copy.sha : null;
  if (remoteSha === null) return { base: null, doc: readControl(null, `${remote} ${ref}`), copy: copySha };
  let [commit, file] = await git.catFiles([`${remoteSha}^{commit}`, `${remoteSha}:control.json`]);
  if (commit?.type !== "commit") {
    // Not here yet: fetch it (into our own ref; it may have moved again since the ls-remote, then we work on the newer one).
    await git.runNetwork(["fetch", "--quiet", "--no-tags", remote, `+${ref}:${ownRef(branch)}`]);
    [commit, file] = await git.catFiles([`${ownRef(branch)}^{commit}`, `${ownRef(branch)}:control.json`]);
    if (commit?.type !== "commit") throw new OrchError(Exit.runtime, `could not fetch ${ref} from ${remote}; rerun the command`);
  }
  const where = `${remote} ${ref} (commit ${commit.sha.slice(0, 12)})`;
  const text = file?.type === "blob" ? file.body.toString("utf8") : null;
  if (text === null) throw new ControlInvalid(where, "the commit has no control.json file");
  return { base: commit.sha, doc: readControl(text, where), copy: copySha };
}

/**
 * Move this clone's copy of the remote ref (what `orch status` and the
 * runners' watch read) to what we pushed, but only from where it was: a
 * runner's watch may have fetched a newer one meanwhile, never step it back.
 */
async function advanceCopy(git: Git, remote: string, ref: string, sha: string, was: string | null): Promise<void> {
  await git.run(["update-ref", "-m", "orch: control pushed", localCopy(remote, ref), sha, was ?? ""], { allowFail: true });
}

/** The control document as this clone last fetched it (no network); a broken one throws ControlInvalid. */
export async function readControlCopy(git: Git, remote: string, branch: string): Promise<Control> {
  const ref = controlRef(branch);
  const [file] = await git.catFiles([`${localCopy(remote, ref)}:control.json`]);
  return readControl(file?.type === "blob" ? file.body.toString("utf8") : null, `${remote} ${ref}`);
}
