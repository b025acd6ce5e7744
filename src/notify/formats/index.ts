import type { Format } from "./types.ts";
import { json } from "./json.ts";
import { text } from "./text.ts";
import { ntfy } from "./ntfy.ts";
import { slack } from "./slack.ts";
import { discord } from "./discord.ts";

export type { Format } from "./types.ts";

/**
 * Webhook formats by `notify.webhook_format` name. Adding one: a file in this folder, a line here,
 * and its name in the setting's `choices` (src/core/settings.ts; a test keeps the two equal).
 */
export const FORMATS: Record<string, Format> = { json, text, ntfy, slack, discord };
