import type { Format } from "./types.ts";

/** The event itself (field names documented in events.ts and docs/notify.md). */
export const json: Format = (event, url) => ({ url, contentType: "application/json", body: JSON.stringify(event) });
