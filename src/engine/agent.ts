/**
 * Running one agent process for a turn: spawn it in its own process group
 * (pipes, or a pseudo-terminal), watch it (wall-clock and idle timeouts, a
 * quiet-agent progress line), drain its output line by line into a sink, and
 * end it cleanly: whatever it left running in its group is stopped, and an
 * abort (orch was asked to stop) stops the group too.
 */
import { spawnProcess, stopGroup, killGroup, groupAlive, exitForSignal } from "../core/proc.ts";
import { LineSplitter } from "./lines.ts";
import { forgetAgent, recordAgent, stopOrphans } from "./leftover.ts";

/** Where the agent's output goes, a chunk of complete lines at a time. */
export interface AgentOutput {
  stdout(lines: string): void;
  stderr(lines: string): void;
}

export interface AgentRun {
  argv: string[];
  /** Fed on stdin (or typed into the terminal). */
  prompt: Uint8Array;
  cwd: string;
  env: Record<string, string>;
  output: AgentOutput;
  /** orch's own lines about the agent (the log); `loud` ones also reach the console. */
  note: (line: string, loud?: boolean) => void;
  pty: boolean;
  /** 0 = off. */
  wallTimeoutMs: number;
  idleTimeoutMs: number;
  heartbeatMs: number;
  /** Grace between SIGTERM and SIGKILL. */
  killGraceMs: number;
  /** Where the agent's process group is recorded while it runs (see leftover.ts). */
  pidFile?: string;
  /** The iteration log (named in the progress line). */
  logPath: string;
  /** Aborted when orch is asked to stop (its reason is the signal name); `hurry` cuts the grace period. */
  signal: AbortSignal;
  hurry?: AbortSignal;
  /** Called on every chunk of output (the heartbeat's "last output" time). */
  onOutput?: (at: number) => void;
}

export interface AgentOutcome {
  /** The agent's exit code; 124 after a timeout; 128+n when a signal ended it. */
  code: number;
  timedOut: "wall" | "idle" | null;
  /** Set when orch itself was asked to stop (SIGINT/SIGTERM/SIGHUP). */
  interrupted: NodeJS.Signals | null;
  durationMs: number;
}

type Spawned = { proc: ReturnType<typeof Bun.spawn>; streams: [ReadableStream<Uint8Array> | undefined, ReadableStream<Uint8Array> | undefined]; terminalDone: Promise<void> };

/** Pipes: the prompt on stdin. Pseudo-terminal: the prompt typed in, then end-of-file. */
function spawnAgent(run: AgentRun, out: LineSplitter): Spawned {
  if (!run.pty) {
    const proc = spawnProcess(run.argv, { cwd: run.cwd, env: run.env, detached: true, stdin: new Blob([run.prompt]), stdout: "pipe", stderr: "pipe" });
    return { proc, streams: [proc.stdout as ReadableStream<Uint8Array>, proc.stderr as ReadableStream<Uint8Array>], terminalDone: Promise.resolve() };
  }
  let closeTerminal!: () => void;
  const terminalDone = new Promise<void>((r) => (closeTerminal = r));
  const proc = spawnProcess(run.argv, {
    cwd: run.cwd,
    env: run.env,
    detached: true,
    terminal: { cols: 200, rows: 50, data: (_t, data) => out.push(data), exit: () => closeTerminal() },
  });
  const text = Buffer.from(run.prompt).toString("utf8");
  proc.terminal!.write(text.endsWith("\n") ? text : text + "\n");
  proc.terminal!.write("\x04"); // Ctrl-D on an empty line
  return { proc, streams: [undefined, undefined], terminalDone };
}

/** Timeouts and the progress line, checked a few times a second. */
function watchdog(run: AgentRun, started: number, lastOutput: () => number, expire: (kind: "wall" | "idle") => void): () => void {
  let lastBeat = started;
  let fired = false;
  const period = Math.max(50, Math.min(1000, run.idleTimeoutMs || 1000, run.wallTimeoutMs || 1000, run.heartbeatMs || 1000) / 4);
  const ticker = setInterval(() => {
    const now = Date.now();
    if (!fired && run.wallTimeoutMs > 0 && now - started >= run.wallTimeoutMs) {
      fired = true;
      run.note(`[agent] wall-clock timeout: no exit after ${Math.round(run.wallTimeoutMs / 1000)}s (agent_timeout_sec)`);
      expire("wall");
    } else if (!fired && run.idleTimeoutMs > 0 && now - lastOutput() >= run.idleTimeoutMs) {
      fired = true;
      run.note(`[agent] idle timeout: no output for ${Math.round(run.idleTimeoutMs / 1000)}s (idle_timeout_sec)`);
      expire("idle");
    }
    if (run.heartbeatMs > 0 && now - lastOutput() >= run.heartbeatMs && now - lastBeat >= run.heartbeatMs) {
      lastBeat = now;
      run.note(`[agent] still running (${Math.round((now - started) / 1000)}s, quiet ${Math.round((now - lastOutput()) / 1000)}s) log=${run.logPath}`, true);
    }
  }, period);
  return () => clearInterval(ticker);
}

async function pump(stream: ReadableStream<Uint8Array> | undefined, splitter: LineSplitter): Promise<void> {
  if (!stream) return;
  for await (const chunk of stream) splitter.push(chunk);
  splitter.flush();
}

export async function runAgent(run: AgentRun): Promise<AgentOutcome> {
  const started = Date.now();
  let lastOutput = started;
  const seen = () => {
    lastOutput = Date.now();
    run.onOutput?.(lastOutput);
  };
  const out = new LineSplitter((lines) => (seen(), run.output.stdout(lines)));
  const err = new LineSplitter((lines) => (seen(), run.output.stderr(lines)));
  const { proc, streams, terminalDone } = spawnAgent(run, out);
  if (run.pidFile) recordAgent(run.pidFile, proc.pid);

  let timedOut: AgentOutcome["timedOut"] = null;
  let interrupted: NodeJS.Signals | null = null;
  let stopping: Promise<void> | null = null;
  const stop = (why: string) => {
    if (stopping) return;
    run.note(`[agent] ${why}: sending SIGTERM to the agent's process group`);
    stopping = stopGroup(proc.pid, run.killGraceMs, run.hurry).then(() => {
      if (groupAlive(proc.pid)) run.note(`[agent] still alive after SIGTERM: sent SIGKILL`);
    });
  };
  const onAbort = () => {
    interrupted ??= (run.signal.reason as NodeJS.Signals) ?? "SIGTERM";
    stop(`orch received ${interrupted}`);
  };
  if (run.signal.aborted) onAbort();
  run.signal.addEventListener("abort", onAbort, { once: true });
  const stopWatching = watchdog(run, started, () => lastOutput, (kind) => {
    timedOut = kind;
    stop(`${kind === "wall" ? "wall-clock" : "idle"} timeout`);
  });

  try {
    const pumps = Promise.all([pump(streams[0], out), pump(streams[1], err)]);
    const code = await proc.exited;
    // Whatever the agent left running in its group (`nohup … &`) would hold our
    // pipes open and keep writing into the tree during the peer's turn: stop it.
    if (groupAlive(proc.pid)) {
      run.note("[agent] the agent exited but left processes running in its group: stopping them");
      await stopGroup(proc.pid, Math.min(run.killGraceMs, 2000), run.hurry);
    }
    for (const escaped of await stopOrphans(Math.min(run.killGraceMs, 2000))) run.note(`[agent] stopped ${escaped}, left running by the agent outside its group`);
    const drained = await Promise.race([pumps.then(() => true), Bun.sleep(1000).then(() => false)]);
    if (!drained) killGroup(proc.pid, "SIGKILL");
    await Promise.race([pumps, Bun.sleep(1000)]);
    await Promise.race([terminalDone, Bun.sleep(200)]);
    out.flush();
    err.flush();
    if (stopping) await stopping;
    const signal = proc.signalCode ? String(proc.signalCode) : null;
    const finalCode = timedOut ? 124 : interrupted ? exitForSignal(interrupted) : signal ? exitForSignal(signal) : code;
    run.note(`[agent] exited ${signal ? `by ${signal}` : `with code ${code}`} after ${((Date.now() - started) / 1000).toFixed(1)}s`);
    return { code: finalCode, timedOut, interrupted, durationMs: Date.now() - started };
  } finally {
    stopWatching();
    run.signal.removeEventListener("abort", onAbort);
    if (run.pidFile) forgetAgent(run.pidFile);
  }
}
