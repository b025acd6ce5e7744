import type { Config } from "../core/config.ts";
import { describeSource, suggest } from "../core/config.ts";
import { usageError } from "../core/errors.ts";
import { EVENT_NAMES, isEventName, type EventName } from "./events.ts";
import { FORMATS } from "./formats/index.ts";
import { ntfyTopic } from "./formats/ntfy.ts";

/** The `[notify]` settings, checked beyond their types. */
export interface NotifySettings {
  on: EventName[];
  /** argv; empty = no command hook. */
  command: string[];
  /** "" = no webhook. */
  webhookUrl: string;
  webhookFormat: string;
  /** What each hook and each webhook request gets (SPEC §15: 10 s). */
  timeoutMs: number;
}

/**
 * Read and check `[notify]`: unknown event names, a URL that is not http(s), an ntfy URL without
 * a topic are usage errors naming where the value came from (`orch.toml:LINE`, `env NAME`).
 * Runners call this at start so a typo fails there, not at the first event hours later.
 */
export function notifySettings(config: Config): NotifySettings {
  const where = (key: string) => {
    const source = config.sources.get(key);
    return source ? describeSource(source) : "default";
  };
  const on = config.get("notify.on");
  for (const name of on) {
    if (!isEventName(name)) {
      throw usageError(`${where("notify.on")}: notify.on has unknown event '${name}'${suggest(name, [...EVENT_NAMES])}; known events: ${EVENT_NAMES.join(", ")}`);
    }
  }
  const webhookUrl = config.get("notify.webhook_url").trim();
  const webhookFormat = config.get("notify.webhook_format");
  if (!FORMATS[webhookFormat]) throw usageError(`${where("notify.webhook_format")}: notify.webhook_format '${webhookFormat}' is not one of ${Object.keys(FORMATS).join(", ")}`);
  if (webhookUrl) {
    let url: URL;
    try {
      url = new URL(webhookUrl);
    } catch {
      throw usageError(`${where("notify.webhook_url")}: notify.webhook_url is not a URL; give one like https://ntfy.sh/<topic>`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw usageError(`${where("notify.webhook_url")}: notify.webhook_url must start with https:// or http://, got ${url.protocol}`);
    }
    if (webhookFormat === "ntfy" && !ntfyTopic(webhookUrl).topic) {
      throw usageError(`${where("notify.webhook_url")}: notify.webhook_format "ntfy" needs the topic in the URL, like https://ntfy.sh/<topic>`);
    }
  }
  const timeoutSec = config.get("notify.timeout_sec");
  if (!(timeoutSec > 0)) throw usageError(`${where("notify.timeout_sec")}: notify.timeout_sec must be more than 0 (the spec's limit is 10)`);
  return {
    on: on as EventName[],
    command: config.get("notify.command"),
    webhookUrl,
    webhookFormat,
    timeoutMs: Math.round(timeoutSec * 1000),
  };
}

/** Whether any channel is configured at all. */
export const anyChannel = (s: NotifySettings) => s.command.length > 0 || s.webhookUrl !== "";
