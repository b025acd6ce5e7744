import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { OrchError, Exit } from "../core/errors.ts";
import { initialState, writeStateFile } from "../core/state.ts";
import { inRepo, openRepo, type Clone } from "../core/repo.ts";
import { ROLES } from "../core/roles.ts";
import { pushHead, refusalReasons } from "../core/sync.ts";
import { wrongBranch } from "../core/errors.ts";
import { exampleToml } from "./toml-text.ts";
import { REVIEWER_PROMPT, STARTER_PROMPTS } from "./starter-prompts.ts";

export interface InitOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  configPath?: string;
  flags?: Record<string, string | boolean | undefined>;
  /** Overwrite orch.toml and the prompts when they differ (never the state file). */
  force?: boolean;
  dryRun?: boolean;
  /** A one-machine start (orch pair): also the reviewer prompt. */
  pair?: boolean;
  commit?: boolean;
  /** Push HEAD:<branch> after committing (implies commit). */
  push?: boolean;
  now?: Date;
}

export type InitVerb = "create" | "overwrite" | "append" | "keep" | "commit" | "push";

export interface InitAction {
  verb: InitVerb;
  /** Repo-relative path, or the commit/push target. */
  target: string;
  detail?: string;
  /** Whether it changed (or, in a dry run, would change) anything. */
  changes: boolean;
}

interface PlannedFile {
  rel: string;
  abs: string;
  action: InitAction;
  write?: () => void;
  /** The file already holds what init would write (so committing it commits init's content). */
  matches?: boolean;
}

/**
 * `orch init`: create what is missing (orch.toml, both prompts, .gitignore
 * entries, the state file), never overwrite without --force, never reset the
 * turn; optionally commit exactly those files and push HEAD:<branch>.
 */
export async function runInit(opts: InitOptions): Promise<InitAction[]> {
  const ctx = await openInitContext(opts);
  const wantsCommit = opts.commit === true || opts.push === true;
  let branch: string | null = null;
  if (opts.push) {
    if (!ctx.branch) throw new OrchError(Exit.usage, "HEAD is detached; check out the shared branch or pass --branch NAME");
    if (ctx.checkedOut !== ctx.branch) throw wrongBranch(ctx.branch, ctx.checkedOut);
    branch = ctx.branch;
  }

  const files = planFiles(ctx, opts);
  const actions = files.map((f) => f.action);
  if (!opts.dryRun) for (const f of files) f.write?.();

  if (wantsCommit) {
    const remote = ctx.config.get("git.remote");
    await ctx.git.withLock(async () => {
      const managed = files.map((f) => f.rel);
      // What init changed now, plus what an earlier `orch init` left uncommitted:
      // untracked files, and modified ones that hold exactly init's content. Other
      // edits to a tracked file are someone's work, theirs to commit.
      const status = await ctx.git.statusZ({ paths: managed });
      const pending = (f: PlannedFile) => status.some((e) => e.path === f.rel && (e.code === "??" || (e.code !== "!!" && f.matches)));
      const toCommit = files.filter((f) => f.action.changes || pending(f)).map((f) => f.rel);
      if (toCommit.length === 0) {
        actions.push({ verb: "commit", target: "", detail: "nothing to commit", changes: false });
      } else {
        const subject = `orch init: ${toCommit.join(", ")}`;
        if (!opts.dryRun) {
          await ctx.git.add(toCommit);
          await ctx.git.commitPaths(subject, toCommit);
        }
        actions.push({ verb: "commit", target: opts.dryRun ? "" : await ctx.git.shortHead(), detail: subject, changes: true });
      }
      if (branch !== null) {
        if (!opts.dryRun) {
          const r = await pushHead(ctx.git, remote, branch);
          if (r.code !== 0) {
            const why = refusalReasons(r).join(" | ") || (r.stderr.split("\n").find((l) => /rejected|error|fatal/i.test(l))?.trim() ?? `exit ${r.code}`);
            throw new OrchError(Exit.runtime, `push of HEAD:${branch} to ${remote} failed (${why}); pull first (git pull --rebase ${remote} ${branch}), then rerun 'orch init --push'`);
          }
        }
        actions.push({ verb: "push", target: `HEAD:${branch}`, detail: `to ${remote}`, changes: true });
      }
    });
  }
  return actions;
}

/** A broken orch.toml must not stop `orch init --force` from replacing it. */
async function openInitContext(opts: InitOptions): Promise<Clone> {
  const base = { cwd: opts.cwd, env: opts.env, flags: opts.flags, command: "init" as const, branch: "none" as const };
  try {
    return await openRepo({ ...base, configPath: opts.configPath });
  } catch (e) {
    if (!(opts.force && e instanceof OrchError && e.exitCode === Exit.usage && /orch\.toml/.test(e.message))) throw e;
    return openRepo({ ...base, configPath: "/dev/null" });
  }
}

function planFiles(ctx: Clone, opts: InitOptions): PlannedFile[] {
  const { top, config } = ctx;
  const files: PlannedFile[] = [];
  const template = (abs: string, rel: string, text: string) => {
    const existing = existsSync(abs) ? readFileSync(abs, "utf8") : null;
    const write = () => {
      mkdirSync(dirname(abs), { recursive: true });
      writeFileSync(abs, text);
    };
    if (existing === null) files.push({ rel, abs, action: { verb: "create", target: rel, changes: true }, write });
    else if (existing === text) files.push({ rel, abs, action: { verb: "keep", target: rel, detail: "up to date", changes: false }, matches: true });
    else if (opts.force) files.push({ rel, abs, action: { verb: "overwrite", target: rel, detail: "--force", changes: true }, write });
    else files.push({ rel, abs, action: { verb: "keep", target: rel, detail: "exists; --force to overwrite", changes: false } });
  };

  template(join(top, "orch.toml"), "orch.toml", exampleToml());
  for (const role of ROLES) {
    const prompt = inRepo(top, role.promptPath(config.forRole(role.section), top));
    template(prompt.abs, prompt.rel, STARTER_PROMPTS[role.actor]);
  }
  if (opts.pair) {
    const reviewer = inRepo(top, config.get("pair.reviewer_prompt"));
    template(reviewer.abs, reviewer.rel, REVIEWER_PROMPT);
  }

  files.push(planGitignore(top, [inRepo(top, config.get("logs.dir")).rel, "tmp"]));

  const state = { abs: ctx.statePath, rel: ctx.stateRel };
  if (existsSync(state.abs)) {
    files.push({ rel: state.rel, abs: state.abs, action: { verb: "keep", target: state.rel, detail: "exists; init never resets the turn", changes: false } });
  } else {
    const initial = initialState(opts.now);
    files.push({
      rel: state.rel,
      abs: state.abs,
      action: { verb: "create", target: state.rel, detail: "galph's turn, idle, iteration 1", changes: true },
      write: () => writeStateFile(state.abs, initial),
    });
  }
  return files.filter((f) => !f.rel.startsWith(".."));
}

/** Directories to ignore, as `dir/` lines appended to the top-level .gitignore when no line covers them. */
function planGitignore(top: string, dirs: string[]): PlannedFile {
  const abs = join(top, ".gitignore");
  const text = existsSync(abs) ? readFileSync(abs, "utf8") : "";
  const covered = new Set(
    text
      .split(/\r?\n/)
      .map((l) => l.trim().replace(/^\//, "").replace(/\/(\*\*?)?$/, ""))
      .filter((l) => l && !l.startsWith("#")),
  );
  const missing = [...new Set(dirs.filter((d) => d && !d.startsWith("..") && !covered.has(d)))].map((d) => `${d}/`);
  if (missing.length === 0) return { rel: ".gitignore", abs, action: { verb: "keep", target: ".gitignore", detail: "already ignores them", changes: false }, matches: true };
  return {
    rel: ".gitignore",
    abs,
    action: { verb: text ? "append" : "create", target: ".gitignore", detail: missing.join(", "), changes: true },
    write: () => writeFileSync(abs, text + (text && !text.endsWith("\n") ? "\n" : "") + missing.map((m) => m + "\n").join("")),
  };
}

/** One line per action: `create    orch.toml`; `would create …` in a dry run. */
export function renderInit(actions: InitAction[], dryRun: boolean): string {
  const lines = actions.map((a) => {
    const verb = (dryRun && a.changes ? `would ${a.verb}` : a.verb).padEnd(dryRun ? 15 : 9);
    if (a.verb === "commit" || a.verb === "push") return `${verb} ${[a.target, a.detail].filter(Boolean).join(" ")}`;
    return `${verb} ${a.target}${a.detail ? ` (${a.detail})` : ""}`;
  });
  return lines.join("\n") + "\n";
}
