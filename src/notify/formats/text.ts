import { priority, summary, tags, title } from "../events.ts";
import type { Format } from "./types.ts";

/**
 * One plain-text line; the headers are ntfy's (`curl -d msg ntfy.sh/topic` works the same), and
 * other receivers ignore them.
 */
export const text: Format = (event, url) => ({
  url,
  contentType: "text/plain; charset=utf-8",
  headers: { Title: title(event), Priority: String(priority(event)), Tags: tags(event).join(",") },
  body: summary(event),
});
