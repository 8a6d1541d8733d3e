import { normalizeCallback, type RelayEvent } from "@yuju-relay/protocol";
import type { CallbackJobData, DeliveryJobData } from "@yuju-relay/queue";
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
  if (state === "delayed" && job.attemptsMade > 0) return "retrying";
  return state;
}

const EXCERPT = 200;

/** A failure reason on one line, cut short: the start of the answer is what tells the cause. */
export function reasonExcerpt(reason: string | undefined | null, max = EXCERPT): string | null {
  if (!reason) return null;
  const line = reason.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** The HTTP status in a delivery's failure ("http://… answered 503: …"); null for a timeout or a refused connection. */
export function statusInReason(reason: string | undefined | null): number | null {
  const match = reason ? / answered (\d{3})\b/.exec(reason) : null;
  return match ? Number(match[1]) : null;
}

function iso(ms: number | undefined | null): string | null {
  return ms ? new Date(ms).toISOString() : null;
}

export interface CallbackView {
  jobId: string;
  state: ShownState;
  /** The callback's kind (the job name): message, room_members, friend_accepted or unclassified. */
  kind: string;
  /** The method and path the platform called: how a callback of no known kind is told apart. */
  route: string | null;
  receivedAt: string | null;
  attempts: number;
  maxAttempts: number;
  failedReason: string | null;
  /** What the completed job did: queued, unmatched, handled or duplicate. */
  outcome: string | null;
  /** The destinations its fan-out queued the event for, when it completed. */
  queuedFor: string[] | null;
  /** Those of them (with `merge`) where it went into its chat's burst instead. */
  mergedAt: string[] | null;
  /** The job's last log lines: each `relay replay` writes one. */
  log: string[];
}

export async function callbackView(job: Job<CallbackJobData>): Promise<CallbackView> {
  const result = (job.returnvalue ?? null) as { outcome?: string; destinations?: string[]; merged?: string[] } | null;
  return {
    jobId: job.id ?? "",
    state: await shownState(job),
    kind: job.data.kind,
    route: job.data.route ? `${job.data.method ?? "POST"} ${job.data.route}` : null,
    receivedAt: job.data.receivedAt ?? iso(job.timestamp),
    attempts: job.attemptsMade,
    maxAttempts: job.opts.attempts ?? 1,
    failedReason: reasonExcerpt(job.failedReason),
    outcome: result?.outcome ?? null,
    queuedFor: result?.destinations ?? null,
    mergedAt: result?.merged ?? null,
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
  /** "none": this destination has no job for the event (see `note`). */
  state: ShownState | "none";
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
}

export async function deliveryView(destination: string, job: Job<DeliveryJobData>): Promise<DeliveryView> {
  const state = await shownState(job);
  const result = (job.returnvalue ?? null) as { status?: number; webhookId?: string; deliveredAt?: string } | null;
  const completed = state === "completed" && result !== null;
  return {
    destination,
    jobId: job.id ?? null,
    state,
    note: null,
    attempts: job.attemptsMade,
    maxAttempts: job.opts.attempts ?? 1,
    lastStatus: completed ? (result.status ?? null) : statusInReason(job.failedReason),
    answer: completed ? null : reasonExcerpt(job.failedReason),
    deliveredAt: completed ? (result.deliveredAt ?? iso(job.finishedOn)) : null,
    webhookId: (completed ? result.webhookId : undefined) ?? job.data.webhookId ?? job.data.event.id,
    asNewReplays: job.data.asNewReplays ?? 0,
    log: [],
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
  };
}
