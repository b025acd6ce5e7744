import { readFileSync, writeSync } from "node:fs";
import { spawnOrExplain } from "../core/proc.ts";
import type { IterationLog } from "./logs.ts";
import { forgetAgent, recordAgent } from "./leftover.ts";

export interface AgentRun {
  argv: string[];
  promptPath: string;
  cwd: string;
  env: Record<string, string>;
  log: IterationLog;
  pty: boolean;
  /** 0 = off. */
  wallTimeoutMs: number;
  idleTimeoutMs: number;
  heartbeatMs: number;
  /** Grace between SIGTERM and SIGKILL. */
  killGraceMs: number;
  /** Where the agent's process group is recorded while it runs (see leftover.ts). */
  pidFile?: string;
}

export interface AgentOutcome {
  /** The agent's exit code; 124 after a timeout; 128+n when a signal ended it. */
  code: number;
  timedOut: "wall" | "idle" | null;
  /** Set when orch itself was asked to stop (SIGINT/SIGTERM/SIGHUP). */
  interrupted: NodeJS.Signals | null;
  durationMs: number;
}

const SIGNAL_EXIT: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };
export const exitCodeForSignal = (sig: NodeJS.Signals) => SIGNAL_EXIT[sig] ?? 128;

/**
 * Splits a byte stream into lines, forwarding complete lines as they arrive and
 * keeping a partial last line until more bytes (or the end) come.
 */
class LineSplitter {
  private pending = "";
  private readonly decoder = new TextDecoder("utf-8", { fatal: false });
  constructor(private readonly emit: (text: string) => void) {}
  push(chunk: Uint8Array): void {
    const text = this.pending + this.decoder.decode(chunk, { stream: true });
    const cut = text.lastIndexOf("\n");
    if (cut < 0) {
      this.pending = text;
      // A runaway line without newlines must not grow memory without bound.
      if (this.pending.length > 1 << 20) this.flush();
      return;
    }
    this.pending = text.slice(cut + 1);
    this.emit(text.slice(0, cut + 1));
  }
  flush(): void {
    const rest = this.pending + this.decoder.decode();
    this.pending = "";
    if (rest) this.emit(rest.endsWith("\n") ? rest : rest + "\n");
  }
}

function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EAGAIN") continue;
      return; // console gone (closed pipe): keep logging to the file
    }
  }
}

/** Kill the agent's whole process group: SIGTERM, then SIGKILL after the grace period. */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {}
  }
}

export async function runAgent(run: AgentRun): Promise<AgentOutcome> {
  const started = Date.now();
  let lastOutput = started;
  const prompt = readFileSync(run.promptPath);
  const onOut = (text: string) => {
    lastOutput = Date.now();
    writeAll(1, text);
    run.log.write(text);
  };
  const onErr = (text: string) => {
    lastOutput = Date.now();
    writeAll(2, text);
    run.log.write(text);
  };
  const out = new LineSplitter(onOut);
  const err = new LineSplitter(onErr);

  let terminalDone: Promise<void> = Promise.resolve();
  let proc: ReturnType<typeof Bun.spawn>;
  if (run.pty) {
    let closeTerminal!: () => void;
    terminalDone = new Promise((r) => (closeTerminal = r));
    proc = spawnOrExplain(run.argv, {
      cwd: run.cwd,
      env: run.env,
      detached: true,
      terminal: { cols: 200, rows: 50, data: (_t, data) => out.push(data), exit: () => closeTerminal() },
    });
    // The prompt goes in as typed input, then end-of-file (Ctrl-D on an empty line).
    const text = prompt.toString("utf8");
    proc.terminal!.write(text.endsWith("\n") ? text : text + "\n");
    proc.terminal!.write("\x04");
  } else {
    proc = spawnOrExplain(run.argv, { cwd: run.cwd, env: run.env, detached: true, stdin: new Blob([prompt]), stdout: "pipe", stderr: "pipe" });
  }

  if (run.pidFile) recordAgent(run.pidFile, proc.pid);
  let timedOut: AgentOutcome["timedOut"] = null;
  let interrupted: NodeJS.Signals | null = null;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const terminate = (why: string) => {
    if (killTimer) return;
    run.log.line(`[agent] ${why}: sending SIGTERM to the agent's process group`);
    killGroup(proc.pid, "SIGTERM");
    killTimer = setTimeout(() => {
      run.log.line(`[agent] still alive ${Math.round(run.killGraceMs / 1000)}s after SIGTERM: sending SIGKILL`);
      killGroup(proc.pid, "SIGKILL");
    }, run.killGraceMs);
  };

  const onSignal = (sig: NodeJS.Signals) => {
    interrupted ??= sig;
    terminate(`orch received ${sig}`);
  };
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  for (const s of signals) process.on(s, onSignal);

  let lastBeat = started;
  const ticker = setInterval(() => {
    const now = Date.now();
    if (run.wallTimeoutMs > 0 && now - started >= run.wallTimeoutMs && !timedOut) {
      timedOut = "wall";
      run.log.line(`[agent] wall-clock timeout: no exit after ${Math.round(run.wallTimeoutMs / 1000)}s (agent_timeout_sec)`);
      terminate("wall-clock timeout");
    } else if (run.idleTimeoutMs > 0 && now - lastOutput >= run.idleTimeoutMs && !timedOut) {
      timedOut = "idle";
      run.log.line(`[agent] idle timeout: no output for ${Math.round(run.idleTimeoutMs / 1000)}s (idle_timeout_sec)`);
      terminate("idle timeout");
    }
    if (run.heartbeatMs > 0 && now - lastOutput >= run.heartbeatMs && now - lastBeat >= run.heartbeatMs) {
      lastBeat = now;
      const msg = `[agent] still running (${Math.round((now - started) / 1000)}s, quiet ${Math.round((now - lastOutput) / 1000)}s) log=${run.log.path}`;
      writeAll(1, msg + "\n");
      run.log.line(msg);
    }
  }, Math.max(50, Math.min(1000, run.idleTimeoutMs || 1000, run.wallTimeoutMs || 1000, run.heartbeatMs || 1000) / 4));

  const pump = async (stream: ReadableStream<Uint8Array> | undefined, splitter: LineSplitter) => {
    if (!stream) return;
    for await (const chunk of stream) splitter.push(chunk);
    splitter.flush();
  };
  try {
    const pumps = Promise.all([
      pump(proc.stdout as ReadableStream<Uint8Array> | undefined, out),
      pump(proc.stderr as ReadableStream<Uint8Array> | undefined, err),
    ]);
    const code = await proc.exited;
    // Whatever the agent left running in its group would hold our pipes open: give it a moment, then kill it.
    const drained = await Promise.race([pumps.then(() => true), Bun.sleep(1000).then(() => false)]);
    if (!drained) {
      run.log.line("[agent] the agent exited but left processes holding its output open: killing its process group");
      killGroup(proc.pid, "SIGKILL");
      await Promise.race([pumps, Bun.sleep(2000)]);
    }
    await Promise.race([terminalDone, Bun.sleep(200)]);
    out.flush();
    err.flush();
    if (timedOut || interrupted) killGroup(proc.pid, "SIGKILL");
    const signal = proc.signalCode;
    const finalCode = timedOut ? 124 : interrupted ? exitCodeForSignal(interrupted) : signal ? 128 + (signal === "SIGKILL" ? 9 : signal === "SIGTERM" ? 15 : 1) : code;
    run.log.line(`[agent] exited ${signal ? `by ${signal}` : `with code ${code}`} after ${((Date.now() - started) / 1000).toFixed(1)}s`);
    return { code: finalCode, timedOut, interrupted, durationMs: Date.now() - started };
  } finally {
    clearInterval(ticker);
    clearTimeout(killTimer);
    if (run.pidFile) forgetAgent(run.pidFile);
    for (const s of signals) process.off(s, onSignal);
  }
}
