import { anyChannel, type NotifySettings } from "./config.ts";
import { dedupeKey, type NotifyEvent } from "./events.ts";
import { deliver, describeOutcome } from "./send.ts";
import { SentStore } from "./sent.ts";

export interface NotifierOptions {
  settings: NotifySettings;
  /** The clone's git dir, where the sent keys persist across restarts; null = remember in memory only. */
  gitDir: string | null;
  /** Receives one line per failed delivery (and per failure to record a send). */
  log: (line: string) => void;
  /** Environment the command hook inherits (default: this process's). */
  env?: Record<string, string | undefined>;
}

/**
 * What the engine holds for a run: `emit` where it observes an event (only there, see events.ts),
 * `drain` once before it exits. Delivery runs in the background, each channel bounded by
 * `notify.timeout_sec`; nothing here throws into a turn or waits on a hook.
 *
 * Once per event: an event whose key (event, actor, iteration, blocked_until) this clone has
 * already sent is dropped, in memory at once and across restarts through the git dir. The key is
 * recorded when the attempt ends, so a runner killed mid-delivery sends the event again when it
 * observes it again (rather twice than never).
 */
export class Notifier {
  private readonly store: SentStore;
  private readonly emitted = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private abort = new AbortController();

  constructor(private readonly opts: NotifierOptions) {
    this.store = new SentStore(opts.gitDir);
  }

  /** Start sending `event` unless it is not in `notify.on`, no channel is set, or it was sent already. Returns whether it started. */
  emit(event: NotifyEvent): boolean {
    const { settings, log } = this.opts;
    if (!anyChannel(settings) || !(settings.on as string[]).includes(event.event)) return false;
    const key = dedupeKey(event);
    if (this.emitted.has(key) || this.store.has(key)) return false;
    this.emitted.add(key);
    const job = (async () => {
      try {
        const outcomes = await deliver(event, settings, { signal: this.abort.signal, env: this.opts.env });
        for (const o of outcomes) if (!o.ok) log(`notify ${event.event}: ${describeOutcome(o)}`);
        this.store.add(key);
      } catch (e) {
        log(`notify ${event.event}: ${e instanceof Error ? e.message : String(e)}`);
      }
    })();
    this.inFlight.add(job);
    void job.finally(() => this.inFlight.delete(job));
    return true;
  }

  /** Deliveries still running. */
  get pending(): number {
    return this.inFlight.size;
  }

  /**
   * Wait for running deliveries, at most `maxMs` (default: the channel timeout); past it, kill
   * the hooks still running and abandon the requests. The engine awaits this before exiting.
   */
  async drain(maxMs = this.opts.settings.timeoutMs): Promise<void> {
    if (this.inFlight.size === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const all = Promise.all([...this.inFlight]);
    const late = await Promise.race([all.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), maxMs)))]);
    clearTimeout(timer);
    if (!late) return;
    this.abort.abort();
    this.abort = new AbortController();
    // Killed hooks and aborted requests settle at once; the bound only guards against the unforeseen.
    await Promise.race([all, new Promise<void>((r) => (timer = setTimeout(r, 1000)))]);
    clearTimeout(timer);
  }
}
