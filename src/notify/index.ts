/** The notification module (SPEC §15): what the engine and `orch notify` use. */
export { EVENT_NAMES, makeEvent, dedupeKey, type EventName, type NotifyEvent } from "./events.ts";
export { notifySettings, anyChannel, type NotifySettings } from "./config.ts";
export { Notifier, type NotifierOptions } from "./notifier.ts";
export { deliver, describeOutcome, type Outcome } from "./send.ts";
export { FORMATS } from "./formats/index.ts";
