import { exitCodeForSignal } from "./agent.ts";

/**
 * SIGINT/SIGTERM/SIGHUP outside the agent: exit at once (128+n), except inside a
 * critical git step (commit + push of a stamp), which is finished first so a
 * stop never leaves a stamp half done. While the agent runs, runAgent handles
 * the signal (it stops the agent's group) and the engine returns normally.
 */
export class Shutdown {
  private depth = 0;
  private pending: NodeJS.Signals | null = null;
  agentRunning = false;
  private readonly handler = (sig: NodeJS.Signals) => {
    if (this.agentRunning) return;
    this.pending ??= sig;
    if (this.depth === 0) process.exit(exitCodeForSignal(sig));
    this.say(`[sync] ${sig} received: finishing the current git step, then exiting`);
  };

  constructor(private readonly say: (line: string) => void) {}

  install(): void {
    for (const s of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(s, this.handler);
  }

  uninstall(): void {
    for (const s of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.off(s, this.handler);
  }

  async critical<T>(fn: () => Promise<T>): Promise<T> {
    this.depth++;
    try {
      return await fn();
    } finally {
      this.depth--;
      if (this.depth === 0 && this.pending) process.exit(exitCodeForSignal(this.pending));
    }
  }
}
