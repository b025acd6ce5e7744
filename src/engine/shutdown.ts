/**
 * The runner's only signal handlers. SIGINT/SIGTERM/SIGHUP:
 * - while the agent runs: `signal` aborts; the agent runner stops the agent's
 *   group (SIGTERM, SIGKILL after the grace period) and the engine returns;
 * - inside a critical git step (commit + push of a mark or stamp): finished
 *   first, then exit, so a stop never leaves a stamp half done (network
 *   trouble is not waited out any more: Git.stopRetries; the next start
 *   publishes a committed stamp);
 * - otherwise (waiting): exit at once with 128+n.
 * A second signal cuts the agent's grace period short (`hurry`) and ends a wait at once.
 */
import { exitForSignal } from "../core/proc.ts";

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

export class Shutdown {
  private depth = 0;
  private readonly stop = new AbortController();
  private readonly fast = new AbortController();
  /** Aborted (with the signal's name as reason) at the first signal. */
  readonly signal = this.stop.signal;
  /** Aborted at the second signal. */
  readonly hurry = this.fast.signal;
  /** Set while the agent runs: the agent runner, not this class, decides when to return. */
  agentRunning = false;
  private readonly handler = (sig: NodeJS.Signals) => {
    if (this.stop.signal.aborted) {
      this.fast.abort(sig);
      if (this.depth === 0 && !this.agentRunning) process.exit(exitForSignal(this.received!));
      return;
    }
    this.received = sig;
    this.stop.abort(sig);
    if (this.agentRunning) return;
    if (this.depth === 0) process.exit(exitForSignal(sig));
    this.say(`[sync] ${sig} received: finishing the current git step, then exiting`);
  };
  /** The first signal received. */
  received: NodeJS.Signals | null = null;

  constructor(private readonly say: (line: string) => void) {}

  install(): void {
    for (const s of SIGNALS) process.on(s, this.handler);
  }

  uninstall(): void {
    for (const s of SIGNALS) process.off(s, this.handler);
  }

  /** Run fn to the end even when a signal arrives; exit after it if one did. */
  async critical<T>(fn: () => Promise<T>): Promise<T> {
    this.depth++;
    try {
      return await fn();
    } finally {
      this.depth--;
      if (this.depth === 0 && this.received && !this.agentRunning) process.exit(exitForSignal(this.received));
    }
  }
}
