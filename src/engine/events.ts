/**
 * The runner's notifications (SPEC §15): each event is sent by the machine
 * that observed it (a turn's failure and its usage limits by the runner that
 * ran it; a silent peer by the one waiting on it; the end of a run by that
 * run), once, in the background, never blocking or failing a turn.
 */
import { basename } from "node:path";
import type { Repo } from "../core/repo.ts";
import type { Actor } from "../core/state.ts";
import { makeEvent, Notifier, notifySettings, type EventName } from "../notify/index.ts";

export interface EventFacts {
  iteration?: number | null;
  blocked_until?: string | null;
  log?: string | null;
}

export class RunEvents {
  private readonly notifier: Notifier;

  /**
   * Reads and checks [notify] at start: a typo in it fails here, not at the
   * first event hours later. A delivery that fails is said on the console
   * (`say`), where the operator looks; it never fails a turn.
   */
  constructor(
    private readonly repo: Repo,
    gitDir: string,
    say: (line: string) => void,
  ) {
    this.notifier = new Notifier({ settings: notifySettings(repo.config), gitDir, log: (line) => say(`[notify] WARNING: ${line}`) });
  }

  emit(event: EventName, actor: Actor | "", message: string, facts: EventFacts = {}): void {
    this.notifier.emit(makeEvent({ event, actor, branch: this.repo.branch, message, repo: basename(this.repo.top), ...facts }));
  }

  /** Before the runner exits: let deliveries in flight finish (each is bounded by notify.timeout_sec). */
  drain(): Promise<void> {
    return this.notifier.drain();
  }
}
