import { accessSync, constants } from "node:fs";
import { join, relative } from "node:path";
import { loadConfig, type Config } from "../core/config.ts";
import { OrchError, oneLine } from "../core/errors.ts";
import type { Git } from "../core/git.ts";
import { tryLock } from "../core/lock.ts";
import { run } from "../core/proc.ts";
import type { RoleName } from "../core/settings.ts";
import { readStateFile } from "../core/state.ts";
import { gitFor, inRepo, openContext, stateLocation, type OpsContext, type OpsOptions } from "./context.ts";

export interface Check {
  name: string;
  /** null: not run, because an earlier check it needs failed. */
  ok: boolean | null;
  detail: string;
  fix?: string;
}

export interface DoctorOptions extends Omit<OpsOptions, "command"> {
  /** Roles whose prompt and agent are checked (a machine often runs only one). */
  roles?: RoleName[];
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
  const roles = opts.roles ?? ["supervisor", "loop"];
  const checks: Check[] = [];
  const skipRest = (why: string, names: string[]) => names.forEach((name) => checks.push({ name, ok: null, detail: `${name}: not checked (${why})` }));
  const LATER = ["configuration", "branch", "remote", "state file", "prompts", "agents", "ignored paths", "repository lock"];

  const probe = gitFor(cwd, env);
  let version: string | null = null;
  try {
    version = await probe.version();
  } catch (e) {
    checks.push({ name: "git", ok: false, detail: oneLine((e as Error).message), fix: "install git (2.25 or newer) and put it on PATH" });
    skipRest("git is missing", ["repository", ...LATER]);
    return checks;
  }
  checks.push(
    version && gitVersionOk(version)
      ? { name: "git", ok: true, detail: `git ${version}` }
      : { name: "git", ok: false, detail: `git ${version ?? "(unknown version)"} is older than ${MIN_GIT.join(".")}`, fix: "upgrade git" },
  );

  let top: string;
  try {
    top = await probe.topLevel();
    checks.push({ name: "repository", ok: true, detail: `repository ${top}` });
  } catch {
    checks.push({ name: "repository", ok: false, detail: `${cwd} is not inside a git repository`, fix: "cd into your project's clone (or git clone it first)" });
    skipRest("not in a repository", LATER);
    return checks;
  }

  const ctx = await configCheck(opts, top, env, checks);
  const { git, config } = ctx;
  const remote = config.get<string>("git.remote");

  const current = await git.currentBranch();
  const wanted = config.get<string>("git.branch");
  const branch = wanted || current;
  if (!branch) checks.push({ name: "branch", ok: false, detail: "HEAD is detached", fix: "git checkout <shared branch> (or set [git] branch / --branch)" });
  else if (wanted && current !== wanted) checks.push({ name: "branch", ok: false, detail: `on '${current ?? "(detached HEAD)"}', but orch is set to '${wanted}'`, fix: `git checkout ${wanted}` });
  else checks.push({ name: "branch", ok: true, detail: `branch ${branch} checked out` });

  // Slow probes run concurrently: the remote (up to ~10 s) and each agent's --version (up to 5 s).
  const remoteCheck = checkRemote(ctx, remote, branch, opts.remoteTimeoutMs ?? 10_000);
  const agentChecks = roles.map((role) => checkAgent(ctx, role, roles.length, opts.versionTimeoutMs ?? 5_000));
  checks.push(...(await remoteCheck));

  checks.push(checkState(ctx));
  for (const role of roles) checks.push(checkPrompt(ctx, role));
  checks.push(...(await Promise.all(agentChecks)));
  checks.push(await checkIgnored(ctx));
  checks.push(await checkLock(git, top));
  return checks;
}

/** orch.toml (and the variables and flags) must load; when they don't, later checks use the defaults. */
async function configCheck(opts: DoctorOptions, top: string, env: Record<string, string | undefined>, checks: Check[]): Promise<OpsContext> {
  try {
    const ctx = await openContext({ ...opts, cwd: top, command: "doctor", timeoutMs: 20_000, networkRetryMs: 0 });
    const file = ctx.config.file;
    checks.push({ name: "configuration", ok: true, detail: file ? `${file} valid` : "no orch.toml: built-in defaults (orch init writes one)" });
    return ctx;
  } catch (e) {
    if (!(e instanceof OrchError)) throw e;
    checks.push({ name: "configuration", ok: false, detail: oneLine(e.message), fix: "fix the named line or variable ('orch config' shows every setting; 'orch init --force' rewrites orch.toml)" });
    let config: Config;
    try {
      config = loadConfig({ dir: top, configPath: "/dev/null", env, flags: opts.flags, command: "doctor" });
    } catch {
      config = loadConfig({ dir: top, configPath: "/dev/null", env: {}, command: "doctor" });
    }
    return { git: gitFor(top, env, config, { timeoutMs: 20_000, networkRetryMs: 0 }), top, config, env };
  }
}

async function checkRemote(ctx: OpsContext, remote: string, branch: string | null, timeoutMs: number): Promise<Check[]> {
  const url = await ctx.git.remoteUrl(remote);
  if (url === null) {
    return [
      { name: "remote", ok: false, detail: `no remote '${remote}' in this clone`, fix: `git remote add ${remote} <url> (or set [git] remote / --remote)` },
      { name: "remote branch", ok: null, detail: "remote branch: not checked (no remote)" },
    ];
  }
  const quick = gitFor(ctx.top, ctx.env, ctx.config, { timeoutMs, networkRetryMs: 0 });
  let sha: string | null;
  try {
    sha = await quick.lsRemote(remote, branch ?? "HEAD");
  } catch (e) {
    return [
      { name: "remote", ok: false, detail: `remote ${remote} (${url}) unreachable: ${oneLine((e as Error).message)}`, fix: "check the network, the URL (git remote -v) and your credentials (git ls-remote must work without a prompt)" },
      { name: "remote branch", ok: null, detail: "remote branch: not checked (remote unreachable)" },
    ];
  }
  const reachable: Check = { name: "remote", ok: true, detail: `remote ${remote} reachable (${url})` };
  if (!branch) return [reachable, { name: "remote branch", ok: null, detail: "remote branch: not checked (no branch)" }];
  return [
    reachable,
    sha
      ? { name: "remote branch", ok: true, detail: `branch ${branch} on ${remote} (${sha.slice(0, 7)})` }
      : { name: "remote branch", ok: false, detail: `branch ${branch} is not on ${remote}`, fix: `git push ${remote} HEAD:refs/heads/${branch} (or orch init --push)` },
  ];
}

function checkState(ctx: OpsContext): Check {
  try {
    const loc = stateLocation(ctx);
    const state = readStateFile(loc.abs, loc.rel);
    if (!state) return { name: "state file", ok: true, detail: `${loc.rel} not created yet (orch init, or the supervisor's first turn, creates it)` };
    return { name: "state file", ok: true, detail: `${loc.rel} valid (${state.expected_actor}'s turn, ${state.status}, iteration ${state.iteration})` };
  } catch (e) {
    return { name: "state file", ok: false, detail: oneLine((e as Error).message), fix: "restore it from git (git checkout -- <file>) or hand the turn over with orch stamp" };
  }
}

function promptRel(config: Config, role: RoleName): string {
  return role === "supervisor" ? config.get<string>("supervisor.prompt") : join(config.get<string>("loop.prompts_dir"), `${config.get<string>("loop.prompt")}.md`);
}

function checkPrompt(ctx: OpsContext, role: RoleName): Check {
  const { abs, rel } = inRepo(ctx.top, promptRel(ctx.config, role));
  try {
    accessSync(abs, constants.R_OK);
    return { name: `${role} prompt`, ok: true, detail: `${role} prompt ${rel}` };
  } catch {
    return { name: `${role} prompt`, ok: false, detail: `${role} prompt ${rel} is missing`, fix: `create it (orch init writes a starter) or set ${role === "supervisor" ? "[supervisor] prompt" : "[loop] prompt / prompts_dir"}` };
  }
}

/** argv[0] on PATH (or a path relative to the top level), then `--version` within the timeout. */
async function checkAgent(ctx: OpsContext, role: RoleName, roleCount: number, versionTimeoutMs: number): Promise<Check> {
  const argv = ctx.config.get<string[]>(`${role}.agent`);
  const exe = argv[0]!;
  const name = `${role} agent`;
  const path = exe.includes("/") ? executable(inRepo(ctx.top, exe).abs) : Bun.which(exe, { PATH: ctx.env.PATH ?? "", cwd: ctx.top });
  if (!path) {
    const variable = role === "supervisor" ? "CODEX_CMD" : "CLAUDE_CMD";
    const other = role === "supervisor" ? "loop" : "supervisor";
    return {
      name,
      ok: false,
      detail: `${role} agent '${exe}' not found${exe.includes("/") ? " or not executable" : " on PATH"}`,
      fix: `install it, or set [${role}] agent in orch.toml (or ${variable})${roleCount > 1 ? `; if this machine runs only the ${other}: orch doctor --for ${other}` : ""}`,
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
  return { name, ok: true, detail: `${role} agent ${exe} (${path}${version})` };
}

function executable(path: string): string | null {
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    return null;
  }
}

async function checkIgnored(ctx: OpsContext): Promise<Check> {
  const dirs = [...new Set([inRepo(ctx.top, ctx.config.get<string>("logs.dir")).rel, "tmp"])].filter((d) => !d.startsWith(".."));
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

export const doctorPassed = (checks: Check[]) => checks.every((c) => c.ok === true);
