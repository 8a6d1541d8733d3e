import type { RelayEvent } from "./events.ts";

/**
 * What every destination receives as the body of a signed POST. The event's id travels in the
 * `webhook-id` header, not in the body (Standard Webhooks).
 */
export interface WebhookEnvelope<Event extends RelayEvent = RelayEvent> {
  type: Event["type"];
  /** When the ingress accepted the callback (ISO 8601). */
  timestamp: string;
  data: Event["data"];
}

export function toEnvelope<Event extends RelayEvent>(event: Event, timestamp: string): WebhookEnvelope<Event> {
  return { type: event.type, timestamp, data: event.data };
}
