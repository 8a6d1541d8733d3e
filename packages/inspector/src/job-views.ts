import { normalizeCallback, type RelayEvent } from "@yuju-relay/protocol";
import {
  type CallbackJobData,
  type CallbackJobResult,
  type DeliveryAttempt,
  type DeliveryJobData,
  type DeliveryJobResult,
  type DestinationStatus,
} from "@yuju-relay/queue";
import type { Job } from "bullmq";

/** What `relay` shows of a job's state: BullMQ's, with "retrying" for a delayed job that already failed once. */
export type ShownState =
  | "waiting"
  | "active"
  | "delayed"
  | "retrying"
  | "completed"
  | "failed"
  | "prioritized"
  | "waiting-children"
  | "unknown";

export async function shownState(job: Job): Promise<ShownState> {
  const state = await job.getState();
  // A delivery job after a failed inline attempt waits for its second attempt: retrying too.
  const prior = (job.data as Partial<DeliveryJobData> | undefined)?.priorAttempts ?? 0;
  if (state === "delayed" && job.attemptsMade + prior > 0) return "retrying";
  return state;
}

const EXCERPT = 200;

/** A failure reason on one line, cut short: the start of the answer is what tells the cause. */
export function reasonExcerpt(reason: string | undefined | null, max = EXCERPT): string | null {
  if (!reason) return null;
  const line = reason.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

function iso(ms: number | undefined | null): string | null {
  return ms ? new Date(ms).toISOString() : null;
}

export interface CallbackView {
  jobId: string;
  state: ShownState;
  /** The callback's kind (the job name): message, room_members or unclassified. */
  kind: string;
  receivedAt: string | null;
  attempts: number;
  maxAttempts: number;
  failedReason: string | null;
  /** What the completed job did: queued, unmatched, handled or duplicate. */
  outcome: CallbackJobResult["outcome"] | null;
  /** The destinations its fan-out sent the event to (inline or through their queues), when it completed. */
  queuedFor: string[] | null;
  /** Why a completed job queued nothing (`no destination is configured`, `no destination wants it`). */
  outcomeReason: string | null;
  /** The job this one's event was a duplicate of, when its outcome is `duplicate`. */
  firstJobId: string | null;
  /** When the job entered the queue, was first taken by a worker, and ended. */
  queuedAt: string | null;
  processedAt: string | null;
  finishedAt: string | null;
  /** Of those, the ones it delivered inline itself. */
  deliveredInline: string[] | null;
  /** The job's last log lines: each `relay replay` writes one. */
  log: string[];
}

export async function callbackView(job: Job<CallbackJobData>): Promise<CallbackView> {
  const result = (job.returnvalue ?? null) as CallbackJobResult | null;
  const fannedOut = result && (result.outcome === "queued" || result.outcome === "handled") ? result : null;
  return {
    jobId: job.id ?? "",
    state: await shownState(job),
    kind: job.data.kind,
    receivedAt: job.data.receivedAt ?? iso(job.timestamp),
    attempts: job.attemptsMade,
    maxAttempts: job.opts.attempts ?? 1,
    failedReason: reasonExcerpt(job.failedReason),
    outcome: result?.outcome ?? null,
    queuedFor: fannedOut?.destinations ?? (result ? [] : null),
    deliveredInline: fannedOut?.delivered ?? null,
    outcomeReason: result?.outcome === "unmatched" ? result.reason : null,
    firstJobId: result?.outcome === "duplicate" ? result.firstJobId : null,
    queuedAt: iso(job.timestamp),
    processedAt: iso(job.processedOn),
    finishedAt: iso(job.finishedOn),
    log: [],
  };
}

/** The event a callback job carries, when its body is valid. */
export function eventOfCallback(job: Job<CallbackJobData>): RelayEvent | null {
  const normalized = normalizeCallback(job.data.kind, job.data.body);
  return normalized.ok ? normalized.event : null;
}

export interface DeliveryView {
  destination: string;
  jobId: string | null;
  /**
   * "none": this destination has no job for the event (see `note`); "delivered": delivered inline
   * by the callback job (no delivery job: the event's record says so).
   */
  state: ShownState | "none" | "delivered";
  note: string | null;
  attempts: number;
  maxAttempts: number;
  /** The last HTTP status the destination answered, when there was one. */
  lastStatus: number | null;
  /** The last failure (the start of the destination's answer), on one line. */
  answer: string | null;
  deliveredAt: string | null;
  /** The webhook-id this delivery used (or will use). */
  webhookId: string | null;
  /** `relay replay --as-new` replays so far. */
  asNewReplays: number;
  /** The job's last log lines: each `relay replay` writes one. */
  log: string[];
  /** The event record's word on this destination (state, why, when). */
  recorded: DestinationStatus | null;
}

/**
 * A destination's delivery job, with its attempts from the event's record: the counts include an
 * inline attempt made before the job, and the last status is the last attempt's, read as data.
 */
export async function deliveryView(
  destination: string,
  job: Job<DeliveryJobData>,
  attempts: readonly DeliveryAttempt[] = [],
): Promise<DeliveryView> {
  const state = await shownState(job);
  const result = (job.returnvalue ?? null) as DeliveryJobResult | null;
  const completed = state === "completed" && result !== null;
  const prior = job.data.priorAttempts ?? 0;
  const last = attempts.at(-1);
  return {
    destination,
    jobId: job.id ?? null,
    state,
    note: null,
    // The record counts attempts as made; a job failed unsent (its inline attempt was refused) made none.
    attempts: last?.attempt ?? prior + job.attemptsMade,
    maxAttempts: prior + (job.opts.attempts ?? 1),
    lastStatus: completed ? result.status : (last?.status ?? null),
    answer: completed ? null : reasonExcerpt(job.failedReason),
    deliveredAt: completed ? (result.deliveredAt ?? iso(job.finishedOn)) : null,
    webhookId: (completed ? result.webhookId : undefined) ?? job.data.webhookId ?? job.data.event.id,
    asNewReplays: job.data.asNewReplays ?? 0,
    log: [],
    recorded: null,
  };
}

/** A delivery the record knows of and no job holds: delivered inline (or its job removed by retention). */
export function recordedDelivery(
  destination: string,
  status: DestinationStatus,
  attempts: readonly DeliveryAttempt[],
): DeliveryView {
  const last = attempts.at(-1);
  const delivered = status.state === "delivered";
  return {
    destination,
    jobId: status.jobId,
    state: delivered ? "delivered" : "none",
    note: delivered
      ? last?.inline
        ? "delivered inline by the callback job"
        : null
      : `${status.state}: no job (removed by retention)`,
    attempts: last?.attempt ?? 0,
    maxAttempts: 0,
    lastStatus: last?.status ?? null,
    answer: delivered ? null : reasonExcerpt(status.reason),
    deliveredAt: delivered ? status.at : null,
    webhookId: last?.webhookId ?? null,
    asNewReplays: 0,
    log: [],
    recorded: status,
  };
}

export function noDelivery(destination: string, note: string): DeliveryView {
  return {
    destination,
    jobId: null,
    state: "none",
    note,
    attempts: 0,
    maxAttempts: 0,
    lastStatus: null,
    answer: null,
    deliveredAt: null,
    webhookId: null,
    asNewReplays: 0,
    log: [],
    recorded: null,
  };
}
