import { join } from "node:path";
import { disposing, makeWorld, ROOT, tempWorld, type Clone, type World } from "./world.ts";

export const AGENTS = join(ROOT, "test/fixtures/agents");
export const worker = (name: string, code = 0) => ["sh", join(AGENTS, "worker.sh"), name, String(code)];

/** Agents as TOML arrays. */
const tomlArray = (argv: string[]) => "[" + argv.map((a) => JSON.stringify(a)).join(", ") + "]";

export interface EngineWorldOptions {
  supervisorAgent?: string[];
  loopAgent?: string[];
  extraToml?: string;
  /** agent_kind of each role (default: auto). */
  supervisorKind?: string;
  loopKind?: string;
  clones?: number;
  branch?: string;
}

export interface EngineWorld {
  world: World;
  a: Clone;
  b: Clone;
  clones: Clone[];
}

/**
 * A remote whose branch has prompts, .gitignore and an orch.toml pointing at fake
 * agents; clones m1 (machine A: supervisor) and m2 (machine B: loop). Removed
 * when the `using` block ends: `await using w = tempEngineWorld(); const { a, b } = w;`
 */
export function tempEngineWorld(opts: EngineWorldOptions = {}): EngineWorld & Disposable & AsyncDisposable {
  return disposing(engineWorld(opts, tempWorld));
}

/** The same, removed after the file's tests (prefer `tempEngineWorld` per test). */
export function makeEngineWorld(opts: EngineWorldOptions = {}): EngineWorld {
  return engineWorld(opts, makeWorld);
}

function engineWorld(opts: EngineWorldOptions, make: typeof makeWorld): EngineWorld {
  const toml = [
    "[supervisor]",
    `agent = ${tomlArray(opts.supervisorAgent ?? worker("galph"))}`,
    ...(opts.supervisorKind ? [`agent_kind = "${opts.supervisorKind}"`] : []),
    "[loop]",
    `agent = ${tomlArray(opts.loopAgent ?? worker("ralph"))}`,
    ...(opts.loopKind ? [`agent_kind = "${opts.loopKind}"`] : []),
    "[sync]",
    "poll_interval = 0.05",
    // Tests wait seconds, not minutes: reruns and usage-limit waits are short here.
    "[agent]",
    "retry_backoff_sec = 0.05",
    // Fake agents rarely touch input.md: the stalemate breaker is off unless a test turns it on.
    "[stalemate]",
    "cycles = 0",
    "[limits]",
    "min_wait_sec = 0",
    "jitter_sec = 0",
    "backoff_sec = 1",
    "[git]",
    "network_retry_sec = 2",
    opts.extraToml ?? "",
  ].join("\n");
  const { world, clones } = make({
    branch: opts.branch ?? "feature/x",
    clones: opts.clones ?? 2,
    files: { "prompts/supervisor.md": "You are galph.\n", "prompts/main.md": "You are ralph.\n", "orch.toml": toml + "\n" },
  });
  return { world, a: clones[0]!, b: clones[1]!, clones };
}

/** Remote history subjects, oldest first. */
export function remoteSubjects(world: World, clone: Clone): string[] {
  clone.git("fetch", "-q", "origin");
  return clone.git("log", "--reverse", "--format=%s", `origin/${world.branch}`).trim().split("\n");
}

/** Everything (else) a child prints, and its exit code; works after part of stdout was read with a reader. */
export async function collect(proc: ReturnType<typeof Bun.spawn>): Promise<{ code: number; stdout: string; stderr: string }> {
  const [stdout, stderr, code] = await Promise.all([readRest(proc.stdout as ReadableStream<Uint8Array>), readRest(proc.stderr as ReadableStream<Uint8Array>), proc.exited]);
  return { code, stdout, stderr };
}

async function readRest(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return text + decoder.decode();
    text += decoder.decode(value, { stream: true });
  }
}

/** Read a child's stdout until it printed `text` (or `ms` passed, or it closed); returns what it printed so far. */
export async function readUntil(proc: ReturnType<typeof Bun.spawn>, text: string, ms = 30_000): Promise<string> {
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let seen = "";
  const deadline = Date.now() + ms;
  while (!seen.includes(text) && Date.now() < deadline) {
    const { value, done } = await Promise.race([reader.read(), Bun.sleep(Math.max(1, deadline - Date.now())).then(() => ({ value: undefined, done: false }))]);
    if (done) break;
    if (value) seen += decoder.decode(value, { stream: true });
  }
  reader.releaseLock();
  return seen;
}

/** `ps` lines of the processes whose command line contains `mark`. */
export function processesWith(mark: string): string[] {
  const r = Bun.spawnSync(["ps", "-eo", "pid,args"], { stdout: "pipe" });
  return r.stdout
    .toString()
    .split("\n")
    .filter((l) => l.includes(mark) && !l.includes("ps -eo"));
}
