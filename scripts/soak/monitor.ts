/**
 * Watches the remote branch: its tip and how many [SYNC commits it holds, with
 * the time of each change, so the injector can wait for progress and measure
 * how long the runners took to move the branch again after a fault.
 */
import type { SoakWorld } from "./world.ts";

export class Monitor {
  syncCount = 0;
  tip: string | null = null;
  lastChangeAt = Date.now();
  /** (time, syncCount) at each change of the tip. */
  private readonly changes: { t: number; count: number }[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  private busy = false;

  constructor(private readonly world: SoakWorld) {}

  start(intervalMs = 50): void {
    this.poll();
    this.timer = setInterval(() => this.poll(), intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  poll(): void {
    if (this.busy) return;
    this.busy = true;
    try {
      const tip = this.world.remoteTip();
      if (tip && tip !== this.tip) {
        this.tip = tip;
        this.syncCount = this.world.syncCount(tip);
        this.lastChangeAt = Date.now();
        this.changes.push({ t: this.lastChangeAt, count: this.syncCount });
      }
    } finally {
      this.busy = false;
    }
  }

  /** The [SYNC count as it was at time t. */
  countAt(t: number): number {
    let count = 0;
    for (const c of this.changes) {
      if (c.t > t) break;
      count = c.count;
    }
    return count;
  }

  /** Time of the first change that added a [SYNC commit after t (now if none yet). */
  firstChangeAfter(t: number): number {
    const base = this.countAt(t);
    return this.changes.find((c) => c.t > t && c.count > base)?.t ?? Date.now();
  }
}
