import { accessSync, constants, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { OrchError, errorMessage } from "../core/errors.ts";
import { gitVersion, type Git } from "../core/git.ts";
import { firstLine } from "../core/git-errors.ts";
import { tryLock } from "../core/lock.ts";
import { findExecutable, run } from "../core/proc.ts";
import { inRepo, openRepoOrDir, type Clone, type NoRepo } from "../core/repo.ts";
import { ROLES, type Role } from "../core/roles.ts";
import { adapterFor, type AgentKind } from "../agents/index.ts";
import { parseState, readStateFile, remoteStateRestore } from "../core/state.ts";
import { fetchBranch, pushRefs, refusalReasons } from "../core/sync.ts";
import { cloneId } from "../core/identity.ts";

export interface Check {
  name: string;
  /** null: not run, because an earlier check it needs failed. */
  ok: boolean | null;
  detail: string;
  fix?: string;
}

export interface DoctorOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  configPath?: string;
  flags?: Record<string, string | boolean | undefined>;
  /** Roles whose prompt and agent are checked (a machine often runs only one). */
  roles?: readonly Role[];
  /** For `orch pair`: both roles, and a clone without the remote is fine (everything stays here). */
  pair?: boolean;
  /** Timeouts (tests shorten them). */
  remoteTimeoutMs?: number;
  versionTimeoutMs?: number;
}

/** Oldest git whose commands and flags orch relies on (rebase --quit, remote get-url, porcelain=v1). */
export const MIN_GIT = [2, 25] as const;

export function gitVersionOk(version: string): boolean {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  return major > MIN_GIT[0] || (major === MIN_GIT[0] && minor >= MIN_GIT[1]);
}

/** Every check in order; the ones that need something missing are reported as not run. */
export async function runDoctor(opts: DoctorOptions): Promise<Check[]> {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const roles = opts.roles ?? ROLES;
  const checks: Check[] = [];
  const skipRest = (why: string, names: string[]) => names.forEach((name) => checks.push({ name, ok: null, detail: `${name}: not checked (${why})` }));
  const LATER = ["configuration", "branch", "remote", "state file", "prompts", "agents", "ignored paths", "repository lock"];

  let version: string | null = null;
  try {
    version = await gitVersion(env);
  } catch (e) {
    checks.push({ name: "git", ok: false, detail: errorMessage(e), fix: "install git (2.25 or newer) and put it on PATH" });
    skipRest("git is missing", ["repository", ...LATER]);
    return checks;
  }
  checks.push(
    version && gitVersionOk(version)
      ? { name: "git", ok: true, detail: `git ${version}` }
      : { name: "git", ok: false, detail: `git ${version ?? "(unknown version)"} is older than ${MIN_GIT.join(".")}`, fix: "upgrade git" },
  );

  const opened = await openForDoctor(opts, cwd, env);
  if (!opened.clone) {
    checks.push({ name: "repository", ok: false, detail: `${cwd} is not inside a git repository`, fix: "cd into your project's clone (or git clone it first)" });
    skipRest("not in a repository", LATER);
    return checks;
  }
  const ctx = opened.clone;
  const { git, config, top } = ctx;
  checks.push({ name: "repository", ok: true, detail: `repository ${top}` });
  checks.push(opened.configCheck);
  const remote = ctx.remote;

  const current = ctx.checkedOut;
  const wanted = config.get("git.branch");
  const branch = ctx.branch;
  if (!branch) checks.push({ name: "branch", ok: false, detail: "HEAD is detached", fix: "git checkout <shared branch> (or set [git] branch / --branch)" });
  else if (wanted && current !== wanted) checks.push({ name: "branch", ok: false, detail: `on '${current ?? "(detached HEAD)"}', but orch is set to '${wanted}'`, fix: `git checkout ${wanted}` });
  else checks.push({ name: "branch", ok: true, detail: `branch ${branch} checked out` });

  // Slow probes run concurrently: the remote (up to ~10 s) and each agent's --version (up to 5 s).
  const remoteCheck = checkRemote(ctx, remote, branch, opts.remoteTimeoutMs ?? 10_000, opts.pair ?? false);
  const agentChecks = roles.map((role) => checkAgent(ctx, role, roles.length, opts.versionTimeoutMs ?? 5_000));
  checks.push(...(await remoteCheck));

  checks.push(checkState(ctx));
  for (const role of roles) checks.push(checkPrompt(ctx, role));
  const every = config.get("pair.review_every");
  if (every > 0 && roles.some((r) => r.reviews)) checks.push(checkReviewerPrompt(ctx, every));
  checks.push(...(await Promise.all(agentChecks)));
  checks.push(await checkIgnored(ctx));
  checks.push(await checkLock(git, top));
  return checks;
}

/**
 * The clone and its settings. A bad orch.toml, variable or flag is a failed
 * check, not the end: the later checks then run on the built-in defaults.
 */
async function openForDoctor(opts: DoctorOptions, cwd: string, env: Record<string, string | undefined>): Promise<{ clone: Clone | null; configCheck: Check }> {
  const base = { command: "doctor" as const, cwd, env, branch: "none" as const, interactive: true };
  try {
    const place = await openRepoOrDir({ ...base, configPath: opts.configPath, flags: opts.flags });
    if (!place.inRepo) return { clone: null, configCheck: { name: "configuration", ok: null, detail: "" } };
    const file = place.config.file;
    return { clone: place, configCheck: { name: "configuration", ok: true, detail: file ? `${file} valid` : "no orch.toml: built-in defaults (orch init writes one)" } };
  } catch (e) {
    if (!(e instanceof OrchError)) throw e;
    const configCheck: Check = { name: "configuration", ok: false, detail: errorMessage(e), fix: "fix the named line or variable ('orch config' shows every setting; 'orch init --force' rewrites orch.toml)" };
    let place: Clone | NoRepo;
    try {
      place = await openRepoOrDir({ ...base, configPath: "/dev/null", flags: opts.flags });
    } catch {
      place = await openRepoOrDir({ ...base, configPath: "/dev/null", env: {} });
    }
    return { clone: place.inRepo ? place : null, configCheck };
  }
}

async function checkRemote(ctx: Clone, remote: string, branch: string | null, timeoutMs: number, pair: boolean): Promise<Check[]> {
  const url = await ctx.git.remoteUrl(remote);
  if (url === null && pair) {
    return [{ name: "remote", ok: true, detail: `no remote '${remote}': orch pair keeps everything in this clone (git remote add ${remote} <url> to share the branch)` }];
  }
  if (url === null) {
    return [
      { name: "remote", ok: false, detail: `no remote '${remote}' in this clone`, fix: `git remote add ${remote} <url> (or set [git] remote / --remote); one machine without a remote (orch pair): orch doctor --for pair` },
      { name: "remote branch", ok: null, detail: "remote branch: not checked (no remote)" },
      { name: "remote state file", ok: null, detail: "remote state file: not checked (no remote)" },
      { name: "side channel", ok: null, detail: "side channel: not checked (no remote)" },
    ];
  }
  let sha: string | null;
  try {
    sha = await ctx.git.lsRemote(remote, branch ?? "HEAD", { timeoutMs });
  } catch (e) {
    return [
      { name: "remote", ok: false, detail: `remote ${remote} (${url}) unreachable: ${errorMessage(e)}`, fix: "check the network, the URL (git remote -v) and your credentials (git ls-remote must work without a prompt)" },
      { name: "remote branch", ok: null, detail: "remote branch: not checked (remote unreachable)" },
      { name: "remote state file", ok: null, detail: "remote state file: not checked (remote unreachable)" },
      { name: "side channel", ok: null, detail: "side channel: not checked (remote unreachable)" },
    ];
  }
  const reachable: Check = { name: "remote", ok: true, detail: `remote ${remote} reachable (${url})` };
  if (!branch) return [reachable, { name: "remote branch", ok: null, detail: "remote branch: not checked (no branch)" }, { name: "remote state file", ok: null, detail: "remote state file: not checked (no branch)" }, { name: "side channel", ok: null, detail: "side channel: not checked (no branch)" }];
  if (!sha && pair) {
    // orch pair publishes the branch itself when it starts; the side channel can be probed with HEAD.
    const head = await ctx.git.revParse("HEAD");
    return [
      reachable,
      { name: "remote branch", ok: true, detail: `branch ${branch} is not on ${remote} yet: orch pair publishes it when it starts (--no-push keeps it here)` },
      { name: "remote state file", ok: null, detail: "remote state file: not checked (no remote branch yet)" },
      head ? await checkSideChannel(ctx, remote, head) : { name: "side channel", ok: null, detail: "side channel: not checked (no commit yet)" },
    ];
  }
  if (!sha) {
    return [
      reachable,
      { name: "remote branch", ok: false, detail: `branch ${branch} is not on ${remote}`, fix: `git push ${remote} HEAD:refs/heads/${branch} (or orch init --push)` },
      { name: "remote state file", ok: null, detail: "remote state file: not checked (no remote branch)" },
      { name: "side channel", ok: null, detail: "side channel: not checked (no remote branch)" },
    ];
  }
  return [
    reachable,
    { name: "remote branch", ok: true, detail: `branch ${branch} on ${remote} (${sha.slice(0, 7)})` },
    await checkRemoteState(ctx, remote, branch),
    await checkSideChannel(ctx, remote, sha),
  ];
}

/**
 * The side channel needs pushes to refs/orch/* (heartbeats, shipped logs,
 * control). Some hosts hide or protect namespaces: push a probe ref and delete it.
 */
async function checkSideChannel(ctx: Clone, remote: string, sha: string): Promise<Check> {
  const probe = `refs/orch/probe/${cloneId(await ctx.git.gitDir())}`;
  const name = "side channel";
  try {
    const { status, result } = await pushRefs(ctx.git, remote, [{ src: sha, dst: probe }], { atomic: false });
    if (status.get(probe) !== "ok") {
      const why = refusalReasons(result).join(" | ") || firstLine(result.stderr) || "refused";
      return {
        name,
        ok: false,
        detail: `${remote} does not accept pushes to refs/orch/* (${why}): heartbeats, shipped logs, pause/stop/nudge will not work (turns still do)`,
        fix: "allow pushes to refs/orch/* on the host (it must not be a hidden or protected namespace); without it turns still run: the runner warns once and stops pushing side refs",
      };
    }
    await pushRefs(ctx.git, remote, [{ src: "", dst: probe }], { atomic: false });
    return { name, ok: true, detail: `${remote} accepts refs/orch/* (heartbeats, shipped logs, control)` };
  } catch (e) {
    return { name, ok: false, detail: `could not try a push to ${remote} (${errorMessage(e)})`, fix: "check the network and that this clone may push to the remote" };
  }
}

/** The state file as the remote has it: the one both machines read; a broken one stops every runner. */
async function checkRemoteState(ctx: Clone, remote: string, branch: string): Promise<Check> {
  const where = `${remote}/${branch}`;
  try {
    await fetchBranch(ctx.git, remote, branch);
    const text = await ctx.git.show(`refs/remotes/${remote}/${branch}`, ctx.stateRel);
    if (text === null) return { name: "remote state file", ok: true, detail: `${ctx.stateRel} not on ${where} yet (the supervisor's first turn creates it)` };
    const state = parseState(text, `${ctx.stateRel} on ${where}`, remoteStateRestore(remote, branch, ctx.stateRel));
    return { name: "remote state file", ok: true, detail: `${ctx.stateRel} on ${where} valid (${state.expected_actor}'s turn, ${state.status}, iteration ${state.iteration})` };
  } catch (e) {
    return { name: "remote state file", ok: false, detail: errorMessage(e), fix: `${remoteStateRestore(remote, branch, ctx.stateRel)}; or hand the turn over with orch stamp` };
  }
}

function checkState(ctx: Clone): Check {
  try {
    const state = readStateFile(ctx.statePath, ctx.stateRel);
    if (!state) return { name: "state file", ok: true, detail: `${ctx.stateRel} not created yet (orch init, or the supervisor's first turn, creates it)` };
    return { name: "state file", ok: true, detail: `${ctx.stateRel} valid (${state.expected_actor}'s turn, ${state.status}, iteration ${state.iteration})` };
  } catch (e) {
    return { name: "state file", ok: false, detail: errorMessage(e), fix: `restore it from git (git checkout HEAD -- ${ctx.stateRel}) or hand the turn over with orch stamp` };
  }
}

function checkPrompt(ctx: Clone, role: Role): Check {
  const abs = role.promptPath(ctx.config.forRole(role.section), ctx.top);
  const rel = relative(ctx.top, abs) || abs;
  const name = `${role.command} prompt`;
  try {
    accessSync(abs, constants.R_OK);
    if (!statSync(abs).isFile()) return { name, ok: false, detail: `${name} ${rel} is not a regular file`, fix: `point ${role.promptSetting} at a file` };
    return { name, ok: true, detail: `${name} ${rel}` };
  } catch {
    return { name, ok: false, detail: `${name} ${rel} is missing`, fix: `create it (orch init writes a starter) or set ${role.promptSetting}` };
  }
}

/** Every pair.review_every-th iteration galph runs the reviewer prompt: a missing one would fail that turn. */
function checkReviewerPrompt(ctx: Clone, every: number): Check {
  const rel = ctx.config.get("pair.reviewer_prompt");
  const name = "reviewer prompt";
  try {
    accessSync(resolve(ctx.top, rel), constants.R_OK);
    return { name, ok: true, detail: `${name} ${rel} (every ${every} iterations)` };
  } catch {
    return { name, ok: false, detail: `${name} ${rel} is missing (pair.review_every = ${every})`, fix: "create it (orch init --pair writes a starter), set [pair] reviewer_prompt, or set [pair] review_every = 0" };
  }
}

/** argv[0] on PATH (or a path relative to the top level), then `--version` within the timeout. */
async function checkAgent(ctx: Clone, role: Role, roleCount: number, versionTimeoutMs: number): Promise<Check> {
  const argv = ctx.config.forRole(role.section).get(role.agentKey);
  const exe = argv[0]!;
  const name = `${role.command} agent`;
  const path = findExecutable(exe, ctx.top, ctx.env);
  if (!path) {
    const other = ROLES.find((r) => r !== role)!;
    return {
      name,
      ok: false,
      detail: `${name} '${exe}' not found${exe.includes("/") ? " or not executable" : " on PATH"}`,
      fix: `install it, or set [${role.section}] agent in orch.toml (or ${role.legacyAgentEnv})${roleCount > 1 ? `; if this machine runs only the ${other.command}: orch doctor --for ${other.command}` : ""}`,
    };
  }
  let version = "";
  try {
    const r = await run([path, "--version"], { cwd: ctx.top, env: ctx.env, timeoutMs: versionTimeoutMs, killGraceMs: 500 });
    const first = (r.stdout.trim() || r.stderr.trim()).split("\n")[0]!.trim();
    version = r.timedOut ? `, no --version answer within ${Math.round(versionTimeoutMs / 1000)} s` : r.code === 0 && first ? `, ${first.slice(0, 80)}` : "";
  } catch {
    version = "";
  }
  // What would make its first turn fail although it is installed (claude refusing to skip permissions as root).
  const kind = ctx.config.forRole(role.section).get(`${role.section}.agent_kind` as const) as "auto" | AgentKind;
  const adapter = adapterFor(kind, argv);
  const pre = adapter.preflight(argv, ctx.env, process.getuid?.() ?? -1);
  if (pre) return { name, ok: false, detail: `${name} ${exe} (${path}${version}): ${pre.problem}`, fix: pre.fix };
  return { name, ok: true, detail: `${name} ${exe} (${path}${version})` };
}


async function checkIgnored(ctx: Clone): Promise<Check> {
  const dirs = [...new Set([inRepo(ctx.top, ctx.config.get("logs.dir")).rel, "tmp"])].filter((d) => !d.startsWith(".."));
  const probes = dirs.map((d) => `${d}/.orch-doctor-probe`);
  const ignored = await ctx.git.ignoredPaths(probes);
  const missing = dirs.filter((_, i) => !ignored.includes(probes[i]!));
  const list = dirs.map((d) => `${d}/`).join(" and ");
  if (missing.length === 0) return { name: "ignored paths", ok: true, detail: `${list} ignored by git` };
  return {
    name: "ignored paths",
    ok: false,
    detail: `${missing.map((d) => `${d}/`).join(" and ")} not ignored by git (logs and scratch files would be committed)`,
    fix: `add ${missing.map((d) => `'${d}/'`).join(" and ")} to .gitignore (orch init does) and commit it`,
  };
}

async function checkLock(git: Git, top: string): Promise<Check> {
  const path = join(await git.gitDir(), "orchestrator.lock");
  const shown = relative(top, path) || path;
  const held = tryLock(path);
  if (!held) {
    return { name: "repository lock", ok: false, detail: `repository lock ${shown} is held (an orch or the old tool is running in this clone)`, fix: "wait for it to finish, or stop it; never delete the lock file" };
  }
  held.release();
  return { name: "repository lock", ok: true, detail: `repository lock ${shown} free` };
}

/** ✓/✗ lines with a fix under each failure; a summary line. */
export function renderDoctor(checks: Check[]): string {
  const lines: string[] = [];
  for (const c of checks) {
    lines.push(`${c.ok === true ? "✓" : c.ok === false ? "✗" : "–"} ${c.detail}`);
    if (c.ok === false && c.fix) lines.push(`    fix: ${c.fix}`);
  }
  const problems = checks.filter((c) => c.ok === false).length;
  lines.push("", problems === 0 ? "All checks passed." : `${problems} problem${problems === 1 ? "" : "s"} found; fix ${problems === 1 ? "it" : "them"} and rerun orch doctor.`);
  return lines.join("\n") + "\n";
}

/** Passed when nothing failed (a check not run is "–": it needs what the pass does not, or a failure said why). */
export const doctorPassed = (checks: Check[]) => !checks.some((c) => c.ok === false);
