/** The notification module (SPEC §15): what the engine and `orch notify` use. */
export { makeEvent, type EventName } from "./events.ts";
export { notifySettings } from "./config.ts";
export { Notifier } from "./notifier.ts";
