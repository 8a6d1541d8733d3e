import { createHash } from "node:crypto";
import type { RelayEvent } from "@yuju-relay/protocol";

/**
 * How destination queues and their jobs are named: the one place a tool (the worker, the dashboard,
 * the `relay` CLI) learns where an event's deliveries are. Each destination has a queue of its own,
 * so that it retries, rate-limits, pauses and fails on its own.
 */
export const DELIVERY_QUEUE_PREFIX = "deliveries.";

/** `deliveries.crm`. Destination names are `[a-z0-9-]` (checked in the configuration), so never a `:`. */
export function deliveryQueueName(destination: string): string {
  return `${DELIVERY_QUEUE_PREFIX}${destination}`;
}

// BullMQ job ids must not contain ':' (its key separator) and must not be all digits (those are
// its own auto-increment ids). Event ids are `msg_<messageId>` or `room_<hash>`; a messageId is
// whatever the platform sent, so anything outside this set is hashed.
const SAFE_JOB_ID = /^[A-Za-z0-9_.~-]{1,200}$/;

/**
 * The delivery job's id in its destination's queue: derived from the event id alone, so a callback
 * job run again after a worker died mid-fan-out adds nothing twice (BullMQ ignores an add whose id
 * exists), and `relay event <id>` finds every destination's job without scanning.
 */
export function deliveryJobId(eventId: string): string {
  if (SAFE_JOB_ID.test(eventId) && !/^\d+$/.test(eventId)) return eventId;
  return `sha256-${createHash("sha256").update(eventId).digest("hex").slice(0, 40)}`;
}

/** Shown in the dashboard's job list: `message.received msg_m-1`. */
export function deliveryJobName(event: Pick<RelayEvent, "type" | "id">): string {
  return `${event.type} ${event.id}`;
}

/**
 * The `webhook-id` of the n-th `relay replay --as-new` of an event: derived from the event id, the
 * same for the same replay number, and different from the id a de-duplicating receiver has seen.
 */
export function replayWebhookId(eventId: string, replay: number): string {
  return `${eventId}_r${replay}`;
}
