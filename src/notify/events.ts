import { hostname } from "node:os";

/**
 * Notification events as data (SPEC §15). The JSON of a `NotifyEvent` is the public format: the
 * `json` webhook body and the command hook's stdin carry exactly these field names, so they stay
 * stable; new fields may be added, none renamed or removed.
 *
 * Rule for callers (the engine): only the machine that observes an event emits it. Both machines
 * usually share one orch.toml, so an event emitted wherever it is merely *visible* would arrive twice:
 * `peer_stale`/`peer_back` come from the machine that waits on the silent peer, `blocked`/`unblocked`
 * from the machine whose agent hit the limit, `turn_failed` from the machine whose turn failed,
 * `stalemate` from the machine that paused the pair, `paused`/`stopped`/`run_done` from the runner
 * that paused, stopped or finished.
 */
export const EVENT_NAMES = ["turn_failed", "blocked", "unblocked", "peer_stale", "peer_back", "stalemate", "run_done", "paused", "stopped"] as const;
export type EventName = (typeof EVENT_NAMES)[number];
/** `test` is what `orch notify --test` sends; it is never filtered by `notify.on` nor deduplicated. */
export type AnyEventName = EventName | "test";

export interface NotifyEvent {
  /** One of EVENT_NAMES, or "test". */
  event: AnyEventName;
  /** The actor the event is about: "galph" or "ralph" ("" for the test event). */
  actor: string;
  /** The iteration (turn number) it happened in; null when none applies. */
  iteration: number | null;
  /** Host name of the machine that observed the event (and sends it). */
  host: string;
  /** The shared branch. */
  branch: string;
  /** One line for a person: what happened and, where it helps, what to do. */
  message: string;
  /** UTC ISO time a usage limit resets (blocked/unblocked); null otherwise. */
  blocked_until: string | null;
  /** Repository-relative path of the turn's log, when there is one. */
  log: string | null;
  /** UTC ISO time the event was observed. */
  at: string;
  /** Name of the repository (its top-level directory), never its remote URL (which may hold credentials). */
  repo?: string;
}

export function isEventName(name: string): name is EventName {
  return (EVENT_NAMES as readonly string[]).includes(name);
}

/** An event with `host` and `at` filled in when the caller left them out. */
export function makeEvent(fields: Omit<NotifyEvent, "host" | "at" | "blocked_until" | "log" | "iteration"> & Partial<NotifyEvent>): NotifyEvent {
  const event: NotifyEvent = {
    event: fields.event,
    actor: fields.actor,
    iteration: fields.iteration ?? null,
    host: fields.host ?? hostname(),
    branch: fields.branch,
    message: oneLine(fields.message),
    blocked_until: fields.blocked_until ?? null,
    log: fields.log ?? null,
    at: fields.at ?? new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
  };
  if (fields.repo !== undefined) event.repo = fields.repo;
  return event;
}

/** What makes two events "the same" for sending once (SPEC §15). */
export function dedupeKey(e: NotifyEvent): string {
  return [e.event, e.actor, e.iteration ?? "", e.blocked_until ?? ""].join("|");
}

export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, " ").trim();
}

/**
 * "orch turn_failed: ralph #42": the title ntfy shows. ASCII only, because it also travels as an
 * HTTP header (`Title:` of the text format).
 */
export function title(e: NotifyEvent): string {
  const who = [e.actor, e.iteration !== null ? `#${e.iteration}` : ""].filter(Boolean).join(" ");
  return `orch ${e.event}${who ? ": " + who : ""}`;
}

/** The event's message with the reset time, branch and host: the body under a title. */
export function details(e: NotifyEvent): string {
  const until = e.blocked_until ? ` (until ${e.blocked_until})` : "";
  return `${e.message}${until} [${e.repo ? e.repo + " " : ""}${e.branch} on ${e.host}]`;
}

/** Title and details on one line, for channels without a separate title. */
export function summary(e: NotifyEvent): string {
  return `${title(e)} - ${details(e)}`;
}

/** ntfy priority (1 min .. 5 max): what needs a person now is high, good news is low. */
const PRIORITY: Record<AnyEventName, number> = {
  turn_failed: 4,
  stalemate: 4,
  peer_stale: 4,
  blocked: 3,
  stopped: 3,
  paused: 3,
  run_done: 3,
  test: 3,
  unblocked: 2,
  peer_back: 2,
};
export const priority = (e: NotifyEvent) => PRIORITY[e.event] ?? 3;

/** ntfy tags: an emoji short code (ntfy shows it before the title) and the event name. */
const EMOJI: Record<AnyEventName, string> = {
  turn_failed: "x",
  blocked: "hourglass",
  unblocked: "arrow_forward",
  peer_stale: "warning",
  peer_back: "white_check_mark",
  stalemate: "repeat",
  run_done: "checkered_flag",
  paused: "pause_button",
  stopped: "stop_sign",
  test: "test_tube",
};
export const tags = (e: NotifyEvent) => [EMOJI[e.event] ?? "bell", e.event];
