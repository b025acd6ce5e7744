import type { NotifyEvent } from "../events.ts";

/** What one webhook format makes of an event: where to POST, with which body and headers. */
export interface WebhookRequest {
  url: string;
  contentType: string;
  headers?: Record<string, string>;
  body: string;
}

export type Format = (event: NotifyEvent, webhookUrl: string) => WebhookRequest;
