import {
  callbackEventId,
  callbackIndexKey,
  deliveryJobId,
  eventClaimKey,
  readEventRecord,
  type CallbackJobData,
  type DeliveryAttempt,
  type DeliveryJobData,
  type EventRecord,
} from "@yuju-relay/queue";
import { messageEventId } from "@yuju-relay/protocol";
import type { Job, JobType, Queue } from "bullmq";
import { humanDuration } from "./human-duration.ts";
import {
  callbackView,
  deliveryView,
  eventOfCallback,
  noDelivery,
  recordedDelivery,
  type CallbackView,
  type DeliveryView,
} from "./job-views.ts";
import type { RelayQueues } from "./relay-queues.ts";

/** Everything `relay event` knows of one event. */
export interface EventReport {
  found: true;
  query: string;
  eventId: string;
  type: string | null;
  kind: string | null;
  messageId: string | null;
  /** Null when the callback job is gone (removed by retention) or was never found. */
  callback: CallbackView | null;
  callbackNote: string | null;
  deliveries: DeliveryView[];
  /** Every delivery attempt, inline or queued, in the order made: the event's record. */
  attempts: DeliveryAttempt[];
}

export interface EventMissing {
  found: false;
  query: string;
  /** `unknown` or `past_retention`. */
  reason: "unknown" | "past_retention";
  message: string;
}

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
 *   1. each destination's delivery job, by its id derived from the event id (deliveryJobId), and the
 *      event's record (an event delivered inline has no delivery job: the record says so);
 *   2. the callback job, named by a delivery job or the record, else by the failure index
 *      (recordFailedCallback, kept KEEP_FAILED_AGE), else by the de-duplication claim (kept DEDUP_WINDOW);
 *   3. else, a bounded scan of the newest unfinished and failed callback jobs.
 */
export async function findEventJobs(
  relay: RelayQueues,
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

async function jobsOf(relay: RelayQueues, eventId: string): Promise<EventJobs> {
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

async function scanCallbacks(relay: RelayQueues, eventIds: Set<string>): Promise<Job<CallbackJobData> | null> {
  for (const state of SCAN_STATES) {
    const jobs = await relay.callbacks.getJobs([state], 0, SCAN_LIMIT - 1);
    const match = jobs.find((job) => job && eventIds.has(callbackEventId(job.data) ?? ""));
    if (match) return match;
  }
  return null;
}

function retentionText(relay: RelayQueues): string {
  return `completed jobs are kept ${humanDuration(relay.retention.completedMs)}, failed ones ${humanDuration(relay.retention.failedMs)}`;
}

/** `relay event`: the read model of one event. */
export async function findEvent(relay: RelayQueues, query: string): Promise<EventReport | EventMissing> {
  const jobs = await findEventJobs(relay, query);
  if (!jobs) {
    return {
      found: false,
      query,
      reason: "unknown",
      message: `unknown event ${query}: no job in the callbacks queue or any destination's queue carries it (never received, or past retention: ${retentionText(relay)})`,
    };
  }
  if ("removed" in jobs) {
    return {
      found: false,
      query,
      reason: "past_retention",
      message: `event ${query} is past retention: its callback job ${jobs.removed} was removed (${retentionText(relay)})`,
    };
  }
  const callback = jobs.callback ? await callbackView(jobs.callback) : null;
  if (callback) callback.log = await lastLogLines(relay.callbacks, callback.jobId);
  const firstDelivery = [...jobs.deliveries.values()][0];
  const event = firstDelivery?.data.event ?? (jobs.callback ? eventOfCallback(jobs.callback) : null);
  const deliveries: DeliveryView[] = [];
  const attempts = jobs.record?.attempts ?? [];
  for (const name of relay.deliveries.keys()) {
    const job = jobs.deliveries.get(name);
    const status = jobs.record?.destinations[name] ?? null;
    const own = attempts.filter((a) => a.destination === name);
    if (!job) {
      deliveries.push(
        status && status.state !== "filtered"
          ? recordedDelivery(name, status, own)
          : noDelivery(name, whyNoDelivery(name, callback, status?.reason ?? null)),
      );
      continue;
    }
    const view = await deliveryView(name, job, own);
    view.recorded = status;
    view.log = await lastLogLines(relay.deliveries.get(name)!, view.jobId!);
    deliveries.push(view);
  }
  return {
    found: true,
    query,
    eventId: jobs.eventId,
    type: event?.type ?? null,
    kind: event?.type === "message.received" ? event.data.kind : null,
    messageId: event?.type === "message.received" ? event.data.messageId : (firstDelivery?.data.messageId ?? null),
    callback,
    callbackNote: callback
      ? null
      : jobs.removedCallbackJobId
        ? `callback job ${jobs.removedCallbackJobId} removed by retention`
        : "callback job not found (removed by retention)",
    deliveries,
    attempts,
  };
}

const LOG_LINES = 10;

async function lastLogLines(queue: Queue, jobId: string): Promise<string[]> {
  return (await queue.getJobLogs(jobId, -LOG_LINES, -1, true)).logs;
}

function whyNoDelivery(destination: string, callback: CallbackView | null, filteredBecause: string | null): string {
  if (filteredBecause) return `not wanted: ${filteredBecause}`;
  if (!callback) return "no delivery job (removed by retention, or never queued)";
  if (callback.state === "failed") return "none: the callback job failed before its fan-out";
  if (callback.state !== "completed") return "no delivery job yet: the callback job has not fanned out";
  if (callback.outcome === "duplicate") return "none: a platform redelivery of an event already taken";
  if (callback.queuedFor && !callback.queuedFor.includes(destination)) return "not wanted by its filter";
  return "no delivery job (removed by retention)";
}
