import { summary } from "../events.ts";
import type { Format } from "./types.ts";

/** A Slack incoming webhook. Slack reads &, < and > as markup, so they are escaped as it asks. */
export const slack: Format = (event, url) => ({
  url,
  contentType: "application/json",
  body: JSON.stringify({ text: summary(event).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;") }),
});
