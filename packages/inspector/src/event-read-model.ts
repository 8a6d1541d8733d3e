import { toEnvelope, type RelayEvent, type WebhookEnvelope } from "@yuju-relay/protocol";
import {
  readEventRecord,
  type DeliveryAttempt,
  type DestinationState,
  type EventRecord,
  type EventSummary,
} from "@yuju-relay/queue";
import type { Queue } from "bullmq";
import { candidateEventIds, findEventJobs, type EventJobs } from "./event-jobs.ts";
import type { EventSources } from "./event-sources.ts";
import { humanDuration } from "./human-duration.ts";
import { callbackView, deliveryView, eventOfCallback, type CallbackView, type DeliveryView } from "./job-views.ts";

/** A destination's state as the inspector shows it: the record's word, or `none` (no trace at all). */
export type DeliveryState = DestinationState | "none";

/** One attempt, as the record keeps it. */
export type AttemptView = Omit<DeliveryAttempt, "destination">;

/** Where one destination stands with the event, and every attempt made. */
export interface DeliveryReport {
  destination: string;
  state: DeliveryState;
  /** `filtered`: the filter condition that excluded it; otherwise a short why, when there is one. */
  reason: string | null;
  attempts: AttemptView[];
  /** The delivery job in `deliveries.<name>`, when there is one. */
  jobId: string | null;
  /** BullMQ's state of that job (`none` without one). */
  jobState: DeliveryView["state"];
  attemptsMade: number;
  maxAttempts: number;
  lastStatus: number | null;
  /** The last failure, on one line. */
  answer: string | null;
  deliveredAt: string | null;
  /** The webhook-id its next or last attempt carries. */
  webhookId: string | null;
  asNewReplays: number;
  /** The job's last log lines: each replay (CLI or dashboard) writes who and when. */
  log: string[];
}

/** One step of the callback job's life, in order. */
export interface TimelineStep {
  step: "received" | "queued" | "validated" | "invalid" | "claimed" | "duplicate" | "pending";
  at: string | null;
  note: string | null;
}

/** Everything known of one event: what `relay event` prints and `GET /api/events/{id}` answers. */
export interface EventView {
  found: true;
  query: string;
  eventId: string;
  type: string | null;
  kind: string | null;
  messageId: string | null;
  receivedAt: string | null;
  summary: EventSummary | null;
  /** Null when the callback job is gone (removed by retention) or was never found. */
  callback: CallbackView | null;
  callbackNote: string | null;
  timeline: TimelineStep[];
  /** Set when the event went to no destination at all, saying why (`no destination is configured`). */
  destinationsNote: string | null;
  deliveries: DeliveryReport[];
  /** The body as sent (the Standard Webhooks envelope) and the webhook-id it went under. */
  body: { webhookId: string; envelope: WebhookEnvelope } | null;
}

export interface EventMissing {
  found: false;
  query: string;
  reason: "unknown" | "past_retention";
  message: string;
}

const NO_DESTINATION = "no destination is configured";

function retentionText(sources: EventSources): string {
  return `completed jobs are kept ${humanDuration(sources.retention.completedMs)}, failed ones ${humanDuration(sources.retention.failedMs)}`;
}

async function recordOf(sources: EventSources, query: string): Promise<{ id: string; record: EventRecord } | null> {
  for (const id of candidateEventIds(query)) {
    const record = await readEventRecord(sources.redis, sources.prefix, id);
    if (record) return { id, record };
  }
  return null;
}

/**
 * The read model of one event, from its record (summary, each destination's status, every attempt)
 * and its jobs (the callback job's life, each delivery job's state and log). The record says what
 * happened; the jobs say what is happening now (a replayed delivery waits again).
 */
export async function readEvent(sources: EventSources, query: string): Promise<EventView | EventMissing> {
  const recorded = await recordOf(sources, query);
  const found = await findEventJobs(sources, recorded?.id ?? query);
  const record = recorded?.record ?? null;
  if (!record && !found) {
    return {
      found: false,
      query,
      reason: "unknown",
      message: `unknown event ${query}: no record and no job in the callbacks queue or any destination's queue carries it (never received, or past retention: ${retentionText(sources)})`,
    };
  }
  if (!record && found && "removed" in found) {
    return {
      found: false,
      query,
      reason: "past_retention",
      message: `event ${query} is past retention: its callback job ${found.removed} was removed (${retentionText(sources)})`,
    };
  }
  const jobs: EventJobs =
    found && !("removed" in found)
      ? found
      : {
          eventId: recorded!.id,
          callback: null,
          deliveries: new Map(),
          removedCallbackJobId: found && "removed" in found ? found.removed : null,
          record,
        };
  const eventId = recorded?.id ?? jobs.eventId;
  const summary = record?.summary ?? null;

  const callback = jobs.callback ? await callbackView(jobs.callback) : null;
  if (callback) callback.log = await lastLogLines(sources.callbacks, callback.jobId);
  const firstDelivery = [...jobs.deliveries.values()][0];
  const event: RelayEvent | null = firstDelivery?.data.event ?? (jobs.callback ? eventOfCallback(jobs.callback) : null);

  const deliveries = await deliveryReports(sources, jobs, record, callback);
  const receivedAt = summary?.receivedAt ?? callback?.receivedAt ?? firstDelivery?.data.receivedAt ?? null;
  return {
    found: true,
    query,
    eventId,
    type: summary?.type ?? event?.type ?? null,
    kind: summary?.kind ?? (event?.type === "message.received" ? event.data.kind : null),
    messageId:
      summary?.messageId ??
      (event?.type === "message.received" ? event.data.messageId : (firstDelivery?.data.messageId ?? null)),
    receivedAt,
    summary,
    callback,
    callbackNote: callback
      ? null
      : jobs.removedCallbackJobId
        ? `callback job ${jobs.removedCallbackJobId} removed by retention`
        : summary
          ? `callback job ${summary.callbackJobId} removed by retention`
          : "callback job not found (removed by retention)",
    timeline: timelineOf(receivedAt, callback),
    destinationsNote: deliveries.length === 0 ? noDestinationNote(callback) : null,
    deliveries,
    body: event && receivedAt ? { webhookId: eventId, envelope: toEnvelope(event, receivedAt) } : null,
  };
}

function noDestinationNote(callback: CallbackView | null): string {
  if (callback?.outcome === "handled") return "a code handler took it and delivered it to no destination";
  if (callback?.outcome === "duplicate") return "none: a platform redelivery of an event already taken";
  if (callback?.state === "failed") return "none: the callback job failed before its fan-out";
  if (callback && callback.state !== "completed") return "none yet: the callback job has not fanned out";
  return callback?.outcomeReason ?? NO_DESTINATION;
}

function timelineOf(receivedAt: string | null, callback: CallbackView | null): TimelineStep[] {
  const steps: TimelineStep[] = [{ step: "received", at: receivedAt, note: "accepted by the ingress" }];
  if (!callback) return steps;
  steps.push({ step: "queued", at: callback.queuedAt, note: `callback job ${callback.jobId} [${callback.kind}]` });
  if (callback.state === "failed" && !callback.outcome) {
    steps.push({ step: "invalid", at: callback.finishedAt, note: callback.failedReason });
    return steps;
  }
  if (!callback.outcome) {
    steps.push({ step: "pending", at: null, note: `callback job ${callback.state}` });
    return steps;
  }
  steps.push({ step: "validated", at: callback.processedAt, note: null });
  if (callback.outcome === "duplicate") {
    steps.push({
      step: "duplicate",
      at: callback.finishedAt,
      note: `dropped as a duplicate: callback job ${callback.firstJobId ?? "?"} took this event first`,
    });
  } else {
    steps.push({ step: "claimed", at: callback.finishedAt, note: callback.outcome });
  }
  return steps;
}

// Without a record (an event taken before the worker wrote them, or a record past retention), a
// destination's state is read from its job.
function stateOfJob(view: DeliveryView): DeliveryState {
  switch (view.state) {
    case "completed":
      return "delivered";
    case "failed":
      return "failed";
    case "retrying":
      return "retrying";
    case "none":
      return "none";
    default:
      return "queued";
  }
}

const REPLAYED = new Set<DeliveryState>(["delivered", "failed", "retrying"]);

async function deliveryReports(
  sources: EventSources,
  jobs: EventJobs,
  record: EventRecord | null,
  callback: CallbackView | null,
): Promise<DeliveryReport[]> {
  const names = new Set<string>([...Object.keys(record?.destinations ?? {}), ...jobs.deliveries.keys()]);
  // No record of the destinations: fall back to those configured now, as `relay event` always did.
  const legacy = !record?.summary;
  if (legacy && (callback === null || callback.outcome === "queued" || callback.outcome === "handled")) {
    for (const name of sources.deliveries.keys()) names.add(name);
  }
  const reports: DeliveryReport[] = [];
  for (const name of names) {
    const job = jobs.deliveries.get(name);
    const attempts = (record?.attempts ?? []).filter((a) => a.destination === name);
    const view = job ? await deliveryView(name, job, attempts) : null;
    if (view?.jobId) view.log = await lastLogLines(sources.deliveries.get(name)!, view.jobId);
    const status = record?.destinations[name];
    let state: DeliveryState = status?.state ?? (view ? stateOfJob(view) : "none");
    let reason = status?.reason ?? null;
    // A replay moved the job back to wait: the record's last word is history until its next attempt.
    if (view && REPLAYED.has(state) && (view.state === "waiting" || view.state === "active")) {
      state = "queued";
      reason = "replayed: waiting for its next attempt";
    }
    if (!status && !view) {
      const why = whyNoDelivery(name, callback);
      state = why.state;
      reason = why.reason;
    }
    const last = attempts.at(-1);
    const delivered = attempts.findLast((a) => a.outcome === "delivered");
    reports.push({
      destination: name,
      state,
      reason,
      attempts: attempts.map(({ destination: _, ...attempt }) => attempt),
      jobId: view?.jobId ?? status?.jobId ?? null,
      jobState: view?.state ?? "none",
      // An inline first attempt has no job, or is the job's attempt 1 before the job ever ran.
      attemptsMade: Math.max(view?.attempts ?? 0, attempts.length),
      maxAttempts: view?.maxAttempts ?? 0,
      lastStatus: last ? last.status : (view?.lastStatus ?? null),
      answer: view?.answer ?? (last && last.outcome !== "delivered" ? attemptAnswer(last) : null),
      deliveredAt: view?.deliveredAt ?? delivered?.at ?? null,
      webhookId: view?.webhookId ?? last?.webhookId ?? null,
      asNewReplays: view?.asNewReplays ?? 0,
      log: view?.log ?? [],
    });
  }
  return reports;
}

/** A failed attempt on one line, as a job's failure reads: the status and the answer's start, or the error. */
function attemptAnswer(attempt: DeliveryAttempt): string {
  if (attempt.status === null) return attempt.error ?? "no answer";
  const excerpt = attempt.responseExcerpt?.replace(/\s+/g, " ").slice(0, 200);
  return `answered ${attempt.status}${excerpt ? `: ${excerpt}` : ""}`;
}

function whyNoDelivery(destination: string, callback: CallbackView | null): { state: DeliveryState; reason: string } {
  const none = (reason: string) => ({ state: "none" as const, reason });
  if (!callback) return none("no delivery job (removed by retention, or never queued)");
  if (callback.state === "failed") return none("none: the callback job failed before its fan-out");
  if (callback.state !== "completed") return none("no delivery job yet: the callback job has not fanned out");
  if (callback.queuedFor && !callback.queuedFor.includes(destination)) {
    return { state: "filtered", reason: "not wanted by its filter" };
  }
  return none("no delivery job (removed by retention)");
}

const LOG_LINES = 10;

async function lastLogLines(queue: Queue, jobId: string): Promise<string[]> {
  return (await queue.getJobLogs(jobId, -LOG_LINES, -1, true)).logs;
}
