import { isAbsolute, relative, resolve } from "node:path";
import { Git } from "../core/git.ts";
import { loadConfig, type Config } from "../core/config.ts";
import { OrchError, Exit } from "../core/errors.ts";

/** What the operator commands act on: one clone, its settings, and the environment they came from. */
export interface OpsContext {
  git: Git;
  top: string;
  config: Config;
  env: Record<string, string | undefined>;
}

export interface OpsOptions {
  cwd?: string;
  /** Environment for settings and git (tests pass a hermetic one). */
  env?: Record<string, string | undefined>;
  configPath?: string;
  flags?: Record<string, string | boolean | undefined>;
  /** Command whose flags and role-specific variables apply. */
  command: string;
  /** Shorter git timeouts for commands a person waits on. */
  timeoutMs?: number;
  networkRetryMs?: number;
}

export function gitFor(cwd: string, env: Record<string, string | undefined>, config?: Config, opts: { timeoutMs?: number; networkRetryMs?: number } = {}): Git {
  const setting = (key: string, fallback: number) => (config ? config.get<number>(key) * 1000 : fallback);
  return new Git({
    cwd,
    env,
    timeoutMs: opts.timeoutMs ?? setting("git.timeout_sec", 120_000),
    networkRetryMs: opts.networkRetryMs ?? setting("git.network_retry_sec", 60_000),
    lockTimeoutMs: setting("git.lock_timeout_sec", 30_000),
  });
}

/** Find the clone's top level and load its settings (flag > env > orch.toml > default). */
export async function openContext(opts: OpsOptions): Promise<OpsContext> {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const top = await gitFor(cwd, env).topLevel();
  const config = loadConfig({ dir: top, configPath: opts.configPath, env, flags: opts.flags, command: opts.command });
  return { git: gitFor(top, env, config, opts), top, config, env };
}

/** The branch orch works on: the configured one, else the checked-out one. */
export async function resolveBranch(ctx: OpsContext): Promise<{ branch: string; current: string | null }> {
  const current = await ctx.git.currentBranch();
  const wanted = ctx.config.get<string>("git.branch");
  if (wanted) return { branch: wanted, current };
  if (!current) throw new OrchError(Exit.usage, "HEAD is detached; check out the shared branch or pass --branch NAME");
  return { branch: current, current };
}

/** A setting path made absolute against the top level, and its repo-relative form. */
export function inRepo(top: string, setting: string): { abs: string; rel: string } {
  const abs = isAbsolute(setting) ? setting : resolve(top, setting);
  return { abs, rel: relative(top, abs).split("\\").join("/") };
}

export function stateLocation(ctx: OpsContext): { abs: string; rel: string } {
  const loc = inRepo(ctx.top, ctx.config.get<string>("git.state_file"));
  if (loc.rel.startsWith("..")) throw new OrchError(Exit.usage, `state file ${loc.abs} is outside the repository ${ctx.top}; use a path inside it`);
  return loc;
}
