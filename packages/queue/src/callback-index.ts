import { messageEventId, normalizeCallback } from "@yuju-relay/protocol";
import type { Job } from "bullmq";
import type { RedisClient } from "./connections.ts";
import type { CallbackJobData } from "./job-catalog.ts";

/**
 * Which event a callback job carries, for finding it again by id (`relay event`, `relay replay`):
 * its event's id when the body is valid, else its message's event id (messageEventId) when an
 * invalid message body still names its message, else null (nothing a person could search by).
 */
export function callbackEventId(data: Pick<CallbackJobData, "kind" | "body">): string | null {
  const normalized = normalizeCallback(data.kind, data.body);
  if (normalized.ok) return normalized.event.id;
  const messageId = (data.body as { data?: { messageId?: unknown } } | null)?.data?.messageId;
  return typeof messageId === "string" || typeof messageId === "number" ? messageEventId(String(messageId)) : null;
}

/** `<prefix>:event-jobs:<eventId>` → the id of the callback job that failed with that event. */
export function callbackIndexKey(prefix: string, eventId: string): string {
  return `${prefix}:event-jobs:${eventId}`;
}

/**
 * Records which callback job failed with an event, for as long as failed jobs are kept. A delivery
 * job names its callback job, and the de-duplication claim names it for DEDUP_WINDOW; a callback
 * job that failed before any delivery existed (an invalid body, a handler that threw, Redis away
 * during the fan-out) is found through this key. Written on failures only: the hot path pays
 * nothing. Best effort: when Redis itself is what failed, this write fails too, and `relay event`
 * falls back to a bounded scan of the callbacks queue.
 */
export async function recordFailedCallback(
  redis: RedisClient,
  prefix: string,
  job: Job<CallbackJobData>,
  keepFailedMs: number,
): Promise<void> {
  const eventId = callbackEventId(job.data);
  if (!eventId || !job.id) return;
  await redis.set(callbackIndexKey(prefix, eventId), job.id, "PX", keepFailedMs);
}
