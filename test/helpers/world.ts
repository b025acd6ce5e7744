import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync, existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { afterAll } from "bun:test";

export const ROOT = resolve(import.meta.dir, "../..");
/** The compiled binary (make test builds it first); ORCH_BIN overrides. */
export const ORCH_BIN = process.env.ORCH_BIN ?? join(ROOT, "dist/orch");

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Hermetic git environment: no user or system config leaks into tests. */
export function gitEnv(home: string): Record<string, string> {
  const cfg = join(home, "gitconfig");
  if (!existsSync(cfg)) {
    writeFileSync(
      cfg,
      "[user]\n\tname = Test\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n[commit]\n\tgpgsign = false\n[protocol \"file\"]\n\tallow = always\n",
    );
  }
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (/^(GIT_|ORCH_|SYNC_LOOPS|POLL_INTERVAL|MAX_WAIT_SEC|STATE_FILE|ORCHESTRATION_BRANCH|CODEX_CMD|CLAUDE_CMD|HEARTBEAT_SECS|LOOP_PROMPT)/.test(k)) continue;
    env[k] = v;
  }
  return { ...env, HOME: home, GIT_CONFIG_GLOBAL: cfg, GIT_CONFIG_NOSYSTEM: "1", GIT_TERMINAL_PROMPT: "0", NO_COLOR: "1" };
}

export function sh(argv: string[], opts: { cwd: string; env: Record<string, string>; input?: string }): Result {
  const r = Bun.spawnSync(argv, { cwd: opts.cwd, env: opts.env, stdin: opts.input ? Buffer.from(opts.input) : "ignore", stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? 128, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

export class Clone {
  constructor(readonly world: World, readonly dir: string) {}
  git(...args: string[]): string {
    const r = sh(["git", ...args], { cwd: this.dir, env: this.world.env });
    if (r.code !== 0) throw new Error(`git ${args.join(" ")} failed in ${this.dir}: ${r.stderr}`);
    return r.stdout;
  }
  gitResult(...args: string[]): Result {
    return sh(["git", ...args], { cwd: this.dir, env: this.world.env });
  }
  write(rel: string, content: string | Uint8Array): string {
    const p = join(this.dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
    return p;
  }
  read(rel: string): string {
    return readFileSync(join(this.dir, rel), "utf8");
  }
  exists(rel: string): boolean {
    return existsSync(join(this.dir, rel));
  }
  commitAll(message: string): void {
    this.git("add", "-A");
    this.git("commit", "-q", "-m", message);
  }
  /** Run the compiled orch binary in this clone. */
  orch(args: string[], opts: { env?: Record<string, string>; input?: string } = {}): Result {
    return sh([ORCH_BIN, ...args], { cwd: this.dir, env: { ...this.world.env, ...opts.env }, input: opts.input });
  }
  /** Start orch without waiting (long-running roles). */
  spawnOrch(args: string[], opts: { env?: Record<string, string> } = {}) {
    return Bun.spawn([ORCH_BIN, ...args], { cwd: this.dir, env: { ...this.world.env, ...opts.env }, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  }
  head(): string {
    return this.git("rev-parse", "HEAD").trim();
  }
  subjects(ref = "HEAD"): string[] {
    return this.git("log", "--format=%s", ref).trim().split("\n").filter(Boolean);
  }
}

/**
 * A bare remote and its clones in a temporary directory. Disposable: `using
 * world = new World(branch)` (or `await using`) removes it when the block ends.
 */
export class World implements Disposable, AsyncDisposable {
  readonly root: string;
  readonly remote: string;
  readonly env: Record<string, string>;
  readonly clones: Clone[] = [];
  constructor(readonly branch: string) {
    this.root = mkdtempSync(join(tmpdir(), "orch-test-"));
    this.env = gitEnv(this.root);
    this.remote = join(this.root, "remote.git");
    sh(["git", "init", "-q", "--bare", this.remote], { cwd: this.root, env: this.env });
  }
  /** A new clone on the shared branch ("another machine"). */
  clone(name = `c${this.clones.length + 1}`): Clone {
    const dir = join(this.root, name);
    const r = sh(["git", "clone", "-q", this.remote, dir], { cwd: this.root, env: this.env });
    if (r.code !== 0) throw new Error(r.stderr);
    const c = new Clone(this, dir);
    const hasBranch = sh(["git", "ls-remote", "--heads", this.remote, this.branch], { cwd: this.root, env: this.env }).stdout.trim() !== "";
    if (hasBranch) c.git("checkout", "-q", "-B", this.branch, `origin/${this.branch}`);
    else c.git("checkout", "-q", "-b", this.branch);
    this.clones.push(c);
    return c;
  }
  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
  [Symbol.dispose](): void {
    this.cleanup();
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}

export interface WorldOptions {
  branch?: string;
  clones?: number;
  files?: Record<string, string>;
}

/** A world and its machines, removed when the `using` block that holds it ends. */
export interface TempWorld extends Disposable, AsyncDisposable {
  world: World;
  clones: Clone[];
}

/** Anything holding a world, made disposable: the world goes when the holder does. */
export function disposing<T extends { world: World }>(holder: T): T & Disposable & AsyncDisposable {
  return Object.assign(holder, {
    [Symbol.dispose]: () => holder.world[Symbol.dispose](),
    [Symbol.asyncDispose]: () => holder.world[Symbol.asyncDispose](),
  });
}

/**
 * A bare remote with `branch` holding one initial commit (README, .gitignore
 * for logs/ and tmp/, `files`), and `clones` clones of it; one per test:
 * `await using w = tempWorld({ clones: 2 }); const { world, clones } = w;`
 */
export function tempWorld(opts: WorldOptions = {}): TempWorld {
  const world = new World(opts.branch ?? "feature/x");
  const seed = world.clone("seed");
  seed.write("README.md", "# test project\n");
  seed.write(".gitignore", "logs/\ntmp/\n");
  for (const [p, c] of Object.entries(opts.files ?? {})) seed.write(p, c);
  seed.commitAll("initial");
  seed.git("push", "-q", "origin", `HEAD:refs/heads/${world.branch}`);
  const clones = Array.from({ length: opts.clones ?? 1 }, (_, i) => world.clone(`m${i + 1}`));
  return disposing({ world, clones });
}

/** The same world shared by a whole file's tests, removed after them (prefer `tempWorld` per test). */
export function makeWorld(opts: WorldOptions = {}): { world: World; clones: Clone[] } {
  const { world, clones } = tempWorld(opts);
  afterAll(() => world.cleanup());
  return { world, clones };
}

/** SPEC §2 bytes for a state. */
export function stateJson(s: Record<string, unknown>): string {
  return JSON.stringify(s, null, 2) + "\n";
}
