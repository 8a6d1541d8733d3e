import {
  callbackEventId,
  callbackIndexKey,
  deliveryJobId,
  eventClaimKey,
  readEventRecord,
  type EventRecord,
  type CallbackJobData,
  type DeliveryJobData,
} from "@yuju-relay/queue";
import { messageEventId } from "@yuju-relay/protocol";
import type { Job, JobType } from "bullmq";
import type { EventSources } from "./event-sources.ts";

/** The jobs behind an event, for `relay replay` (which needs the jobs, not their views). */
export interface EventJobs {
  eventId: string;
  callback: Job<CallbackJobData> | null;
  /** By destination. */
  deliveries: Map<string, Job<DeliveryJobData>>;
  /** A callback job id that an index named, whose job retention has removed. */
  removedCallbackJobId: string | null;
  /** The event's record (its summary, each destination's status, every attempt), while retained. */
  record: EventRecord | null;
}

/**
 * The event ids a query may stand for. A person types a messageId (`m-1` → `msg_m-1`) or an event
 * id as the receiver saw it in `webhook-id` (`msg_m-1`, `room_left_…`); a messageId that is not a
 * plain header value has a derived event id (`msg_~<hash>`, messageEventId). A messageId may itself
 * begin with `msg_`, so that one is tried both ways.
 */
export function candidateEventIds(query: string): string[] {
  if (query.startsWith("room_")) return [query];
  if (query.startsWith("msg_")) return [query, messageEventId(query)];
  return [messageEventId(query)];
}

// Newest jobs of each unfinished or failed state read when no index names the callback job: a
// body whose job never ran, or that failed while Redis was away. Bounded so that `relay event`
// stays a second's work on a queue of a million jobs; older ones need the dashboard.
const SCAN_STATES: JobType[] = ["failed", "waiting", "delayed", "active", "prioritized"];
const SCAN_LIMIT = 500;

/**
 * Finds an event's jobs without scanning queues:
 *   1. each destination's delivery job, by its id derived from the event id (deliveryJobId);
 *   2. the callback job, named by a delivery job or the event's record, else by the failure index
 *      (recordFailedCallback, kept KEEP_FAILED_AGE), else by the de-duplication claim (kept DEDUP_WINDOW);
 *   3. else, a bounded scan of the newest unfinished and failed callback jobs.
 */
export async function findEventJobs(
  relay: EventSources,
  query: string,
): Promise<EventJobs | { removed: string } | null> {
  const candidates = candidateEventIds(query);
  let removed: string | null = null;
  for (const eventId of candidates) {
    const jobs = await jobsOf(relay, eventId);
    if (jobs.callback || jobs.deliveries.size > 0 || jobs.record) return jobs;
    removed ??= jobs.removedCallbackJobId;
  }
  const scanned = await scanCallbacks(relay, new Set(candidates));
  if (scanned) {
    const eventId = callbackEventId(scanned.data)!;
    return { eventId, callback: scanned, deliveries: new Map(), removedCallbackJobId: null, record: null };
  }
  return removed ? { removed } : null;
}

async function jobsOf(relay: EventSources, eventId: string): Promise<EventJobs> {
  const jobId = deliveryJobId(eventId);
  const [found, record] = await Promise.all([
    Promise.all([...relay.deliveries].map(async ([name, queue]) => [name, await queue.getJob(jobId)] as const)),
    readEventRecord(relay.redis, relay.prefix, eventId),
  ]);
  const deliveries = new Map<string, Job<DeliveryJobData>>();
  for (const [name, job] of found) if (job) deliveries.set(name, job);
  let callbackJobId = [...deliveries.values()][0]?.data.callbackJobId ?? record?.summary?.callbackJobId ?? null;
  if (!callbackJobId) {
    // Two GETs, not an MGET: on a Cluster both keys share the hash-tagged prefix, but a plain
    // prefix would put them in different slots.
    const [failedIndex, claim] = await Promise.all([
      relay.redis.get(callbackIndexKey(relay.prefix, eventId)),
      relay.redis.get(eventClaimKey(relay.prefix, eventId)),
    ]);
    callbackJobId = failedIndex ?? claim;
  }
  const callback = callbackJobId ? ((await relay.callbacks.getJob(callbackJobId)) ?? null) : null;
  return {
    eventId,
    callback,
    deliveries,
    removedCallbackJobId: callbackJobId && !callback ? callbackJobId : null,
    record,
  };
}

async function scanCallbacks(relay: EventSources, eventIds: Set<string>): Promise<Job<CallbackJobData> | null> {
  for (const state of SCAN_STATES) {
    const jobs = await relay.callbacks.getJobs([state], 0, SCAN_LIMIT - 1);
    const match = jobs.find((job) => job && eventIds.has(callbackEventId(job.data) ?? ""));
    if (match) return match;
  }
  return null;
}
