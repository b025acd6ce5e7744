import { details, priority, tags, title } from "../events.ts";
import type { Format } from "./types.ts";

/**
 * ntfy's JSON publishing: POST to the server root with the topic in the body (docs.ntfy.sh/publish).
 * webhook_url is the topic's URL as people share it (https://ntfy.sh/my-topic); a server under a
 * sub-path (https://host/ntfy/my-topic) keeps that path as its root.
 */
export const ntfy: Format = (event, url) => {
  const { root, topic } = ntfyTopic(url);
  return {
    url: root,
    contentType: "application/json",
    body: JSON.stringify({ topic, message: details(event), title: title(event), priority: priority(event), tags: tags(event) }),
  };
};

/** Split a topic URL into the server root and the topic (its last path segment; "" when none). */
export function ntfyTopic(url: string): { root: string; topic: string } {
  const u = new URL(url);
  const segments = u.pathname.split("/").filter(Boolean);
  const topic = segments.pop() ?? "";
  u.pathname = "/" + segments.map((s) => s + "/").join("");
  u.search = "";
  u.hash = "";
  return { root: u.toString(), topic: decodeURIComponent(topic) };
}
