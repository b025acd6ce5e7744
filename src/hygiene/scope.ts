/** The hooks' context (the engine's side) and the steps' shared scope. */
import { isAbsolute, relative } from "node:path";
import type { Repo } from "../core/repo.ts";
import type { Role } from "../core/roles.ts";
import { stripSlash, underPrefix } from "./paths.ts";
import type { Scope } from "./steps.ts";

export interface HygieneContext {
  repo: Repo;
  role: Role;
  /** A line for the iteration log (the console when no log is open yet). */
  log: (line: string) => void;
  /** A line for the console only. */
  console: (line: string) => void;
}

export interface HygieneResult {
  /** Dirty paths that fail the handoff (supervisor doc/meta check); empty = ok. */
  blocked: string[];
  /** Paths committed by all steps (in a dry run: those that would have been). */
  committed: string[];
}

/** The log directory relative to the top level, or null when it lies outside the repository. */
function logDirRel(repo: Repo): string | null {
  const dir = repo.config.get("logs.dir");
  const rel = (isAbsolute(dir) ? relative(repo.top, dir) : dir).split("\\").join("/");
  if (rel.startsWith("..") || isAbsolute(rel)) return null;
  const clean = stripSlash(rel.replace(/^\.\//, ""));
  return clean === "" || clean === "." ? null : clean;
}

/**
 * `phase: "pull"`: the hooks around a pull run every turn before any log is
 * open (ctx.log already reaches the console), so nothing is echoed twice.
 */
export function makeScope(ctx: HygieneContext, phase: "turn" | "pull" = "turn"): Scope {
  const { repo } = ctx;
  const logRel = logDirRel(repo);
  return {
    git: repo.git,
    top: repo.top,
    // The role's view of the settings: the old tool's role variables (REPORT_EXTENSIONS …) apply.
    config: repo.config.forRole(ctx.role.section),
    role: ctx.role,
    dryRun: repo.config.get("autocommit.dry_run"),
    owned: (p) => stripSlash(p) === repo.stateRel || (logRel !== null && underPrefix(p, logRel)),
    taken: new Set(),
    warned: new Set(),
    secrets: new Map(),
    log: ctx.log,
    console: phase === "pull" ? () => {} : ctx.console,
  };
}

