/**
 * Building a branch history the way runners leave it: real commits of the state
 * file with the SPEC §3 subjects and receipt trailers in their bodies, work
 * commits between them, all at chosen times; heartbeats as parentless commits
 * pushed to refs/orch/heartbeat/<actor>/<branch>.
 */
import { isoUtc, markRunning, serializeState, stampOutcome, subjects, initialState, type Actor, type State } from "../../src/core/state.ts";
import { sh, type Clone } from "../helpers/world.ts";

export const MIN = 60;

/** Trailer lines in the team's format, in insertion order. */
export type Trailers = Record<string, string | number>;

export class HistoryBuilder {
  private state: State;
  constructor(readonly clone: Clone) {
    this.state = initialState(new Date(0));
  }

  private commit(message: string, at: number, paths: string[]): void {
    const date = `@${at} +0000`;
    const env = { ...this.clone.world.env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date };
    const add = sh(["git", "add", "--", ...paths], { cwd: this.clone.dir, env });
    if (add.code !== 0) throw new Error(add.stderr);
    const r = sh(["git", "-c", "core.hooksPath=/dev/null", "commit", "-q", "--allow-empty", "-F", "-"], { cwd: this.clone.dir, env, input: message });
    if (r.code !== 0) throw new Error(r.stderr);
  }

  private writeState(s: State): void {
    this.state = s;
    this.clone.write("sync/state.json", serializeState(s));
  }

  init(at: number): this {
    this.writeState(initialState(new Date(at * 1000)));
    this.commit(subjects.init(), at, ["sync/state.json"]);
    return this;
  }

  running(actor: Actor, at: number, host = actor === "galph" ? "host-a" : "host-b"): this {
    this.writeState(markRunning(this.state, actor, new Date(at * 1000)));
    this.commit(`${subjects.running(actor, this.state.iteration)}\n\nOrch-Runner: host=${host} clone=c-${actor} pid=4242\n`, at, ["sync/state.json"]);
    return this;
  }

  /** A work commit (the agent's or an auto-commit): files with their full contents. */
  work(at: number, files: Record<string, string>, message = "work"): this {
    for (const [p, c] of Object.entries(files)) this.clone.write(p, c);
    this.commit(message, at, Object.keys(files));
    return this;
  }

  /** An ok/fail stamp; `trailers` null = the old tool's stamp (no body). */
  stamp(actor: Actor, outcome: "ok" | "fail", at: number, trailers: Trailers | null): this {
    const sha = this.clone.git("rev-parse", "--short", "HEAD").trim();
    const next = stampOutcome(this.state, actor, outcome, sha, new Date(at * 1000));
    this.writeState(next);
    const subject = subjects.stamp(actor, outcome, next.iteration, sha);
    const body = trailers ? "\n\n" + Object.entries(trailers).map(([k, v]) => `${k}: ${v}`).join("\n") + "\n" : "\n";
    this.commit(subject + body, at, ["sync/state.json"]);
    return this;
  }

  push(): this {
    this.clone.git("push", "-q", "origin", `HEAD:refs/heads/${this.clone.world.branch}`);
    return this;
  }
}

export const iso = (sec: number) => isoUtc(new Date(sec * 1000));

/** A heartbeat.json (SPEC §12) with every field; `over` replaces some. */
export function heartbeat(actor: Actor, over: Record<string, unknown>): Record<string, unknown> {
  return {
    schema: 1,
    actor,
    role: actor === "galph" ? "supervisor" : "loop",
    host: actor === "galph" ? "host-a" : "host-b",
    clone: `c-${actor}`,
    pid: 4242,
    orch_version: "0.2.0",
    config_hash: "abc123",
    agent: { argv0: actor === "galph" ? "codex" : "claude", version: "1.0.0" },
    phase: "waiting",
    iteration: 1,
    turn_started_at: null,
    last_output_at: null,
    updated_at: null,
    blocked_until: null,
    reason: null,
    ...over,
  };
}

/** Push a parentless commit whose tree holds heartbeat.json to refs/orch/heartbeat/<actor>/<branch> (forced, as a runner does). */
export function pushHeartbeat(c: Clone, actor: Actor, json: Record<string, unknown>): string {
  const run = (args: string[], input?: string) => {
    const r = sh(["git", ...args], { cwd: c.dir, env: c.world.env, input });
    if (r.code !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const blob = run(["hash-object", "-w", "--stdin"], JSON.stringify(json, null, 2) + "\n");
  const tree = run(["mktree"], `100644 blob ${blob}\theartbeat.json\n`);
  const commit = run(["commit-tree", tree, "-m", `heartbeat ${actor} ${String(json.phase)}`]);
  run(["push", "-q", "--force", "origin", `${commit}:refs/orch/heartbeat/${actor}/${c.world.branch}`]);
  return commit;
}
