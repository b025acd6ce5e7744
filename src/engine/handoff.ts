/**
 * Committing and publishing the state file: orch's own commits hold only the
 * state file (never what the agent staged), carry their trailers in the body,
 * and never run the repository's hooks.
 *
 * The fast way (marks and stamps, every turn): the state commit is written by
 * `git fast-import` (with the push's heartbeat and shipped-logs commits, one
 * process for all), then HEAD is fast-forwarded onto it (one `merge
 * --ff-only`, which also brings in the peer's turn when the mark is written on
 * the remote's tip). No `git commit --only`: that rebuilds a temporary index of
 * the whole tree (150 ms in a 50,000-file tree) and runs a refresh. The commit
 * is the one `git commit` would write: same tree, parent, author, committer,
 * message (cleaned up the same way) — so the history is unchanged. Where it
 * could differ (signed commits, another commit encoding, a verbatim cleanup,
 * no configured identity), or when the fast-forward is refused, the state is
 * committed the porcelain way as before.
 */
import { statSync } from "node:fs";
import type { Git } from "../core/git.ts";
import type { Repo } from "../core/repo.ts";
import { fastForward, pushWithRetry } from "../core/sync.ts";
import { serializeState, writeStateFile, type State } from "../core/state.ts";
import { writeCommits, type CommitSpec } from "../channel/objects.ts";
import { forwardOneFile } from "../core/index-file.ts";
import { objectId } from "../core/loose.ts";

/** A commit message: the exact SPEC §3 subject, then git trailers (receipts, runner identity). */
export interface StateMessage {
  subject: string;
  trailers?: readonly (readonly [string, string])[];
}

export function formatMessage(m: StateMessage): string {
  const trailers = (m.trailers ?? []).filter(([, v]) => v !== "").map(([k, v]) => `${k}: ${v.replace(/\s*\n\s*/g, " ")}`);
  return trailers.length ? `${m.subject}\n\n${trailers.join("\n")}\n` : `${m.subject}\n`;
}

/**
 * Write the state atomically and commit only the state file. `--only` takes
 * the file from the working tree, so a tracked state file needs no `git add`;
 * a new one (init) does, and is unstaged again if the commit fails, so the
 * user's index is left as it was.
 */
export async function commitState(repo: Repo, state: State, message: StateMessage, opts: { newFile?: boolean } = {}): Promise<void> {
  writeStateFile(repo.statePath, state);
  if (!opts.newFile) return repo.git.commitPaths(formatMessage(message), [repo.stateRel]);
  await repo.git.add([repo.stateRel]);
  try {
    await repo.git.commitPaths(formatMessage(message), [repo.stateRel]);
  } catch (e) {
    await repo.git.run(["reset", "-q", "--", repo.stateRel], { allowFail: true });
    throw e;
  }
}

/** Push HEAD:<branch>, rebasing once when the remote moved. */
export async function publish(repo: Repo): Promise<void> {
  await pushWithRetry(repo.git, repo.remote, repo.branch);
}

// ---- the fast way ------------------------------------------------------------

/** Who `git commit` would name as author and committer (without the time), and how it would clean the message. */
interface CommitIdentity {
  author: string;
  committer: string;
  /** GIT_AUTHOR_DATE / GIT_COMMITTER_DATE fix the time of every commit: kept as git var gave it. */
  authorDate: string | null;
  committerDate: string | null;
  verbatim: boolean;
}

/**
 * The identities git would use and the config that decides whether a
 * plumbing commit can match a porcelain one (from the binding's one `git var
 * -l`). Null: use the porcelain way (signing, a non-UTF-8 commit encoding,
 * or no name and email configured, where `git commit` would guess or refuse).
 */
async function commitIdentity(git: Git): Promise<CommitIdentity | null> {
  const vars = await git.vars();
  if (!vars) return null;
  const env = git.env;
  const yes = (v: string | undefined) => v !== undefined && /^(true|yes|on|1)$/i.test(v);
  if (yes(vars.get("commit.gpgsign"))) return null;
  const encoding = vars.get("i18n.commitencoding");
  if (encoding && !/^utf-?8$/i.test(encoding)) return null;
  const named = (who: "author" | "committer") =>
    (env[`GIT_${who.toUpperCase()}_NAME`] || vars.get(`${who}.name`) || vars.get("user.name")) &&
    (env[`GIT_${who.toUpperCase()}_EMAIL`] || vars.get(`${who}.email`) || vars.get("user.email") || env.EMAIL);
  if (!named("author") || !named("committer")) return null;
  const split = (ident: string | undefined) => {
    const m = ident ? /^(.*>) (\d+ [+-]\d{4})$/.exec(ident) : null;
    return m ? { who: m[1]!, date: m[2]! } : null;
  };
  const author = split(vars.get("GIT_AUTHOR_IDENT"));
  const committer = split(vars.get("GIT_COMMITTER_IDENT"));
  if (!author || !committer) return null;
  return {
    author: author.who,
    committer: committer.who,
    authorDate: env.GIT_AUTHOR_DATE ? author.date : null,
    committerDate: env.GIT_COMMITTER_DATE ? committer.date : null,
    verbatim: vars.get("commit.cleanup") === "verbatim",
  };
}

/** `1700000000 +0100`: now, in the local zone (as git stamps a commit). */
function gitNow(): string {
  const now = new Date();
  const offset = -now.getTimezoneOffset();
  const abs = Math.abs(offset);
  return `${Math.floor(now.getTime() / 1000)} ${offset < 0 ? "-" : "+"}${String(Math.floor(abs / 60)).padStart(2, "0")}${String(abs % 60).padStart(2, "0")}`;
}

/**
 * git's `--cleanup=whitespace` (what `git commit -F` does): trailing
 * whitespace off every line, runs of blank lines folded into one, none at
 * the start or end, one final newline.
 */
export function stripspace(message: string): string {
  const out: string[] = [];
  let blanks = 0;
  for (const raw of message.split("\n")) {
    const line = raw.replace(/[ \t\n\v\f\r]+$/, "");
    if (line === "") {
      blanks++;
      continue;
    }
    if (blanks > 0 && out.length > 0) out.push("");
    blanks = 0;
    out.push(line);
  }
  return out.length ? out.join("\n") + "\n" : "";
}

/** The state commit on top of `parent`, as fast-import writes it (null: the porcelain way must be taken). */
export async function stateCommitSpec(repo: Repo, parent: string, state: State, message: StateMessage): Promise<CommitSpec | null> {
  const id = await commitIdentity(repo.git);
  if (!id) return null;
  const now = gitNow();
  const text = formatMessage(message);
  let mode = "100644";
  try {
    if (statSync(repo.statePath).mode & 0o100) mode = "100755"; // as `git commit` would record the file
  } catch {
    // absent here: a plain file
  }
  return {
    ref: `refs/orch-local/state/${repo.branch}`,
    parent,
    files: [{ path: repo.stateRel, data: Buffer.from(serializeState(state)), mode }],
    message: id.verbatim ? text : stripspace(text),
    author: `${id.author} ${id.authorDate ?? now}`,
    committer: `${id.committer} ${id.committerDate ?? now}`,
  };
}

/** A state commit made: its sha, git's abbreviation of it when known, and the side commits written with it. */
export interface StateCommitted {
  sha: string;
  short: string | null;
  side: string[];
}

/**
 * Commit the state file on top of HEAD (`head`, its full sha) with the side
 * commits of the same push, and move HEAD there: the fast way, or the
 * porcelain way when the fast one cannot match it or git refuses the
 * fast-forward (the agent left the state file modified, say).
 */
export async function commitStateFast(repo: Repo, head: string, state: State, message: StateMessage, side: CommitSpec[] = []): Promise<StateCommitted> {
  const spec = await stateCommitSpec(repo, head, state, message);
  const shas = await writeCommits(repo.git, spec ? [spec, ...side] : side);
  if (spec) {
    if (await forwardInProcess(repo, head, shas[0]!, spec)) return { sha: shas[0]!, short: null, side: shas.slice(1) };
    const ff = await fastForward(repo.git, shas[0]!);
    if (ff.ok) return { sha: shas[0]!, short: ff.short, side: shas.slice(1) };
    repo.git.log(`[git] could not fast-forward onto the state commit (${ff.text.trim().split("\n")[0]}); committing it the usual way`);
  }
  await commitState(repo, state, message);
  return { sha: (await repo.git.headSha())!, short: null, side: spec ? shas.slice(1) : shas };
}

/**
 * HEAD onto the state commit written on it, with no process, when only the
 * state file differs and the layout is plain (core/index-file.ts); false:
 * `git merge --ff-only` does it.
 */
async function forwardInProcess(repo: Repo, head: string, sha: string, spec: CommitSpec): Promise<boolean> {
  const loose = await repo.git.loose();
  const vars = await repo.git.vars();
  const file = spec.files[0]!;
  const old = loose?.fileAt(head, repo.stateRel);
  if (!loose || !vars || !old || old.mode !== (file.mode ?? "100644") || !spec.committer) return false;
  try {
    return forwardOneFile({
      gitDir: await repo.git.gitDir(),
      top: repo.top,
      branch: repo.branch,
      from: head,
      to: sha,
      path: repo.stateRel,
      oldBlob: old.sha,
      newBlob: objectId("blob", file.data),
      mode: old.mode === "100755" ? "100755" : "100644",
      data: file.data,
      reflogIdent: spec.committer,
      createReflogs: !/^(false|no|off|0)$/i.test(vars.get("core.logallrefupdates") ?? "true"),
    });
  } catch (e) {
    repo.git.log(`[git] the in-process fast-forward failed (${(e as Error).message}); git merge does it`);
    return false;
  }
}
