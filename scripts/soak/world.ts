/**
 * The soak's world: a temporary bare remote, one clone per runner ("machines"),
 * a third clone for unrelated pushes (and a person's `orch takeover`), more
 * clones made on demand (a split brain: the same actor started on another
 * machine), and a control directory shared with the fake agents. Everything
 * runs with a hermetic git configuration, and with the planted secrets in
 * every process's environment.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Actor } from "../../src/core/state.ts";

export const ROOT = resolve(import.meta.dir, "../..");
export const FAKE_AGENT = join(ROOT, "test/fixtures/soak/fake-agent.ts");
export const STATE_REL = "sync/state.json";

export interface ShResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function sh(argv: string[], cwd: string, env: Record<string, string>, input?: string): ShResult {
  const r = Bun.spawnSync(argv, { cwd, env, stdin: input === undefined ? "ignore" : Buffer.from(input), stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? 128, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

export class SoakWorld {
  readonly root: string;
  readonly remote: string;
  /** Where the remote goes while it is "unreachable". */
  readonly remoteAway: string;
  readonly control: string;
  readonly runnerLogs: string;
  readonly clones: Record<Actor | "third", string>;
  readonly branch = "soak/main";
  private readonly baseEnv: Record<string, string>;
  remoteIsAway = false;

  constructor(opts: { orchBin: string; bun?: string; agentDirt?: number; env?: Record<string, string> }) {
    this.root = mkdtempSync(join(tmpdir(), "orch-soak-"));
    this.remote = join(this.root, "remote.git");
    this.remoteAway = join(this.root, "remote.git.away");
    this.control = join(this.root, "control");
    this.runnerLogs = join(this.root, "runner-logs");
    mkdirSync(this.control);
    mkdirSync(this.runnerLogs);
    const home = join(this.root, "home");
    mkdirSync(home);
    const cfg = join(home, "gitconfig");
    writeFileSync(
      cfg,
      "[user]\n\tname = soak\n\temail = soak@example.com\n[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n[commit]\n\tgpgsign = false\n[gc]\n\tauto = 0\n[maintenance]\n\tauto = false\n",
    );
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (v === undefined) continue;
      if (/^(GIT_|ORCH_|SOAK_|SYNC_LOOPS|POLL_INTERVAL|MAX_WAIT_SEC|STATE_FILE|ORCHESTRATION_BRANCH|CODEX_CMD|CLAUDE_CMD|HEARTBEAT_SECS|LOOP_PROMPT)/.test(k)) continue;
      env[k] = v;
    }
    this.baseEnv = { ...env, HOME: home, GIT_CONFIG_GLOBAL: cfg, GIT_CONFIG_NOSYSTEM: "1", GIT_TERMINAL_PROMPT: "0", NO_COLOR: "1", SOAK_AGENT_DIRT: String(opts.agentDirt ?? 0.15), ...(opts.env ?? {}) };
    this.clones = { galph: join(this.root, "galph"), ralph: join(this.root, "ralph"), third: join(this.root, "third") };
    this.setup(opts.bun ?? process.execPath);
  }

  /** Environment for a process acting as `author` (commits carry it: rebases keep authors). */
  env(author: string, extra: Record<string, string> = {}): Record<string, string> {
    return {
      ...this.baseEnv,
      GIT_AUTHOR_NAME: author,
      GIT_AUTHOR_EMAIL: `${author}@soak.invalid`,
      GIT_COMMITTER_NAME: author,
      GIT_COMMITTER_EMAIL: `${author}@soak.invalid`,
      ...extra,
    };
  }

  git(cwd: string, args: string[], author = "soak"): ShResult {
    return sh(["git", ...args], cwd, this.env(author));
  }

  gitOk(cwd: string, args: string[], author = "soak"): string {
    const r = this.git(cwd, args, author);
    if (r.code !== 0) throw new Error(`git ${args.join(" ")} failed in ${cwd}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  private setup(bun: string): void {
    this.gitOk(this.root, ["init", "-q", "--bare", this.remote]);
    const seed = join(this.root, "seed");
    this.gitOk(this.root, ["clone", "-q", this.remote, seed]);
    this.gitOk(seed, ["checkout", "-q", "-b", this.branch]);
    const files: Record<string, string> = {
      "README.md": "# soak project\n",
      ".gitignore": "logs/\ntmp/\n",
      "prompts/supervisor.md": "You are galph (soak fake agent).\n",
      "prompts/main.md": "You are ralph (soak fake agent).\n",
      "orch.toml": [
        "# Written by scripts/soak: fast fake agents that commit a numbered line per run.",
        "[supervisor]",
        `agent = ${JSON.stringify([bun, FAKE_AGENT, "galph", this.control])}`,
        "",
        "[loop]",
        `agent = ${JSON.stringify([bun, FAKE_AGENT, "ralph", this.control])}`,
        "",
        "# Heartbeats and shipped logs stay on (the defaults); a heartbeat every second while",
        "# waiting or running makes two runners of one actor meet on the lease within a fault.",
        "[sync]",
        "heartbeat_push_sec = 1",
        "",
        "# The fake agents never touch input.md: no stalemate breaker here.",
        "[stalemate]",
        "cycles = 0",
        "",
      ].join("\n"),
    };
    for (const [rel, content] of Object.entries(files)) {
      mkdirSync(join(seed, rel, ".."), { recursive: true });
      writeFileSync(join(seed, rel), content);
    }
    this.gitOk(seed, ["add", "-A"], "seed");
    this.gitOk(seed, ["commit", "-q", "-m", "soak: initial project"], "seed");
    this.gitOk(seed, ["push", "-q", "origin", `HEAD:refs/heads/${this.branch}`], "seed");
    for (const dir of Object.values(this.clones)) {
      this.gitOk(this.root, ["clone", "-q", this.remote, dir]);
      this.gitOk(dir, ["checkout", "-q", "-B", this.branch, `origin/${this.branch}`]);
    }
  }

  /** Another machine: a fresh clone of the remote on the shared branch (its own orch clone id). */
  addClone(name: string): string {
    const dir = join(this.root, name);
    this.gitOk(this.root, ["clone", "-q", this.remotePath(), dir]);
    this.gitOk(dir, ["checkout", "-q", "-B", this.branch, `origin/${this.branch}`]);
    if (this.remoteIsAway) this.gitOk(dir, ["remote", "set-url", "origin", this.remote]);
    return dir;
  }

  // ---- the remote -----------------------------------------------------------

  /** Make the remote unreachable (as a network outage would), and back. */
  moveRemoteAway(): void {
    renameSync(this.remote, this.remoteAway);
    this.remoteIsAway = true;
  }
  bringRemoteBack(): void {
    renameSync(this.remoteAway, this.remote);
    this.remoteIsAway = false;
  }
  /** Path of the remote wherever it currently is. */
  remotePath(): string {
    return this.remoteIsAway ? this.remoteAway : this.remote;
  }

  remoteTip(): string | null {
    const r = this.git(this.remotePath(), ["rev-parse", "-q", "--verify", `refs/heads/${this.branch}`]);
    return r.code === 0 ? r.stdout.trim() : null;
  }

  /** The state file at a revision of a repository (remote or clone); null if absent. */
  stateAt(repo: string, rev: string): string | null {
    const r = this.git(repo, ["show", `${rev}:${STATE_REL}`]);
    return r.code === 0 ? r.stdout : null;
  }

  syncCount(tip: string): number {
    const r = this.git(this.remotePath(), ["rev-list", "--count", "--fixed-strings", "--grep=[SYNC ", tip]);
    return r.code === 0 ? Number(r.stdout.trim()) : 0;
  }

  gitDir(actor: Actor | "third"): string {
    return join(this.clones[actor], ".git");
  }

  cleanup(): void {
    if (this.remoteIsAway && existsSync(this.remoteAway)) this.bringRemoteBack();
    rmSync(this.root, { recursive: true, force: true });
  }

  readEvents(): Record<string, unknown>[] {
    const path = join(this.control, "events.log");
    if (!existsSync(path)) return [];
    return readFileSync(path, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

/**
 * Turn progress as one number: galph's turn i pending = 2(i-1), ralph's = 2(i-1)+1.
 * A missing state is galph's turn 1.
 */
export function progressKey(stateText: string | null): number {
  if (stateText === null) return 0;
  try {
    const s = JSON.parse(stateText) as { iteration?: number; expected_actor?: string };
    const i = typeof s.iteration === "number" ? s.iteration : 1;
    return 2 * (i - 1) + (s.expected_actor === "ralph" ? 1 : 0);
  } catch {
    return 0;
  }
}

/** Turns an actor still has to run to reach `target` completed iterations. */
export function remainingTurns(actor: Actor, key: number, target: number): number {
  const done = actor === "galph" ? Math.ceil(key / 2) : Math.floor(key / 2);
  return Math.max(0, target - done);
}
