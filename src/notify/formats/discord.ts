import { summary } from "../events.ts";
import type { Format } from "./types.ts";

/** Discord rejects content over 2000 characters. */
export const DISCORD_MAX = 2000;

/**
 * A Discord webhook. `allowed_mentions` with no types: text from an agent's turn never pings
 * @everyone or a role.
 */
export const discord: Format = (event, url) => ({
  url,
  contentType: "application/json",
  body: JSON.stringify({ content: truncate(summary(event), DISCORD_MAX), allowed_mentions: { parse: [] } }),
});

/** At most `max` UTF-16 units (so at most `max` characters however they are counted), never half a pair. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, max - 1);
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return cut + "…";
}
