import { callbackLabel, type CallbackKind, type RelayEvent } from "@yuju-relay/protocol";
import { MetricsTime, type Job, type JobsOptions, type WorkerOptions } from "bullmq";
import { deliveryJobId, deliveryJobName } from "./delivery-queues.ts";

/**
 * The job catalog: every kind of job the relay runs, with its data, attempts, backoff, retention
 * and what counts as a final failure. The one home of job policy: the ingress, the worker, the
 * dashboard and the CLI read it here and nowhere else.
 *
 *   callbacks            one job per callback the ingress stored (name = callback kind). The worker
 *                        validates, normalizes, drops redeliveries and fans the event out. It only
 *                        retries what Redis or a code handler failed: an invalid body fails at once.
 *   deliveries.<name>    one job per event and destination (see delivery-queues.ts): the signed
 *                        POST, retried with the destination's own attempts and backoff.
 */

/**
 * Every callback, of whatever kind, goes through this one queue. The kind is `job.data.kind`; the
 * job name is for people (see callbackJobName).
 */
export const CALLBACK_QUEUE = "callbacks";

/** The name of the worker's backoff strategy (exponential with jitter, or the downstream's Retry-After). */
export const RELAY_BACKOFF = "relay";

/** What the ingress stores for a callback. The tenant's token has been removed from `body`. */
export interface CallbackJobData {
  kind: CallbackKind;
  /** The path and method the platform called, for the record: the kind comes from the body. */
  route: string;
  method: string;
  receivedAt: string;
  body: unknown;
}

export interface RetryPolicy {
  /** First retry delay; it doubles each attempt, with jitter. */
  baseDelayMs: number;
  /** Longest delay between attempts, and the cap on a Retry-After. */
  maxDelayMs: number;
}

/**
 * A callback job retries only a failed fan-out (Redis away) or a code handler that threw: about
 * an hour, like a delivery, before it waits in the failed list for a replay.
 */
const CALLBACK_RETRY: RetryPolicy = { baseDelayMs: 1_000, maxDelayMs: 600_000 };

export const CALLBACK_JOBS: Record<CallbackKind, { attempts: number }> = {
  message: { attempts: 15 },
  room_members: { attempts: 15 },
  // Retrying cannot give a body a kind: it fails visibly at once, kept for a replay after a fix.
  unclassified: { attempts: 1 },
};

export function callbackJobOptions(kind: CallbackKind): JobsOptions {
  const { attempts } = CALLBACK_JOBS[kind];
  return attempts > 1 ? { attempts, backoff: { type: RELAY_BACKOFF } } : { attempts: 1 };
}

/**
 * The job's name as Bull Board lists it: its kind and what it is about, `message m-1` or
 * `room_members left 10696052718820451`, so that one message's job can be found by searching
 * for its id. Only for display: code reads the kind from `job.data.kind`.
 */
export function callbackJobName(job: Pick<CallbackJobData, "kind" | "body">): string {
  const label = callbackLabel(job.kind, job.body);
  return label ? `${job.kind} ${label}` : job.kind;
}

export function callbackBackoff(random = Math.random) {
  return relayBackoff(CALLBACK_RETRY, random);
}

/** What a delivery job carries: the normalized event, never a secret (that is read from the configuration). */
export interface DeliveryJobData {
  destination: string;
  event: RelayEvent;
  /** When the ingress accepted the callback: the envelope's `timestamp`. */
  receivedAt: string;
  /** The callback job that fanned it out. */
  callbackJobId: string;
  /** The platform's messageId for messages (what a person searches by), else null. */
  messageId: string | null;
  /**
   * Set by `relay replay --as-new` only: the `webhook-id` to send instead of the event id, so that a
   * receiver that de-duplicates takes it again (see replayWebhookId). Unset: the event id.
   */
  webhookId?: string;
  /** How many `--as-new` replays this job has had: the number in its webhookId. */
  asNewReplays?: number;
  /**
   * Attempts made before this job existed: 1 when the callback job's inline attempt failed or timed
   * out. The job then has that many attempts fewer, and its attempts are numbered after them.
   */
  priorAttempts?: number;
  /**
   * The inline attempt failed for good (refused: a 4xx other than 408, 410, 429; or no attempt left):
   * the job fails with this reason
   * without sending again, so that the failure is in the failed set like any other, for a replay
   * (which clears it).
   */
  failedInline?: string;
}

/** What a destination's configuration says about its jobs. */
export interface DeliveryPolicy {
  attempts: number;
  retry: RetryPolicy;
}

/**
 * The delivery job of an event for one destination. After a failed inline attempt
 * (`data.priorAttempts`), it has that many attempts fewer and starts after `delayMs` (the backoff of
 * the attempt that failed): the inline attempt was the delivery's first.
 */
export function deliveryJob(data: DeliveryJobData, policy: DeliveryPolicy, delayMs = 0) {
  const opts: JobsOptions = {
    jobId: deliveryJobId(data.event.id),
    attempts: Math.max(1, policy.attempts - (data.priorAttempts ?? 0)),
    backoff: { type: RELAY_BACKOFF },
  };
  if (delayMs > 0) opts.delay = delayMs;
  return { name: deliveryJobName(data.event), data, opts };
}

/** The number of the attempt a delivery job is about to make, counting the inline attempt before it. */
export function deliveryAttemptNumber(job: Pick<Job<DeliveryJobData>, "attemptsMade" | "data">): number {
  return (job.data.priorAttempts ?? 0) + job.attemptsMade + 1;
}

/**
 * What a callback job leaves as its result (the dashboard shows it; `relay event` reads it).
 *   queued      the event went to these destinations (their filters matched): `delivered` inline by
 *               the callback job itself, `queued` handed to the destination's queue (a failed inline
 *               attempt, an ordered, paused, rate-limited or unhealthy destination)
 *   unmatched   no destination wanted it: completed, on purpose
 *   handled     a code handler (HANDLERS_MODULE) took it; `destinations` are those it delivered to
 *   duplicate   a platform redelivery of an event another job already took
 */
export type CallbackJobResult =
  | { outcome: "queued"; eventId: string; type: string; destinations: string[]; delivered: string[]; queued: string[] }
  | { outcome: "unmatched"; eventId: string; type: string; reason: string }
  | {
      outcome: "handled";
      eventId: string;
      type: string;
      destinations: string[];
      delivered: string[];
      queued: string[];
      result: unknown;
    }
  | { outcome: "duplicate"; eventId: string; firstJobId: string };

/** A delivery job's result, visible in the dashboard (and to `relay event`). */
export interface DeliveryJobResult {
  status: number;
  durationMs: number;
  webhookId: string;
  deliveredAt: string;
  /** The attempt that delivered, counting an inline attempt before the job. */
  attempt?: number;
}

/**
 * Ordered destinations (`ordering: per-conversation`, see conversation-order.ts):
 *   parkedForMs       a delivery whose turn has not come waits in `delayed` this long; the end of
 *                     the turn before it promotes it long before. A year stays well inside BullMQ's
 *                     delayed-score range (timestamps up to 2039), and a job that does come due
 *                     unpromoted only checks its turn and parks again.
 *   fanOutWaitMs      how long a due delivery waits in its worker for older callbacks to finish
 *                     their fan-out (normally a few ms) ...
 *   fanOutRecheckMs   ... before it gives its slot back and waits in `delayed` this long: a worker
 *                     that died mid-fan-out holds the barrier until its lock expires
 *                     (JOB_LOCK_DURATION, 5 s by default).
 */
export const ORDERED_DELIVERY = {
  parkedForMs: 365 * 86_400_000,
  fanOutWaitMs: 1_000,
  fanOutRecheckMs: 1_000,
} as const;

/** A delivery added behind another of its conversation: parked until its turn. */
export function parkedDeliveryJob(job: ReturnType<typeof deliveryJob>): ReturnType<typeof deliveryJob> {
  return { ...job, opts: { ...job.opts, delay: ORDERED_DELIVERY.parkedForMs } };
}

/**
 * Inside the processor, before BullMQ counts the attempt: whether this failure is the job's last
 * (`isFinalFailure` is the same question asked after BullMQ counted it).
 */
export function isLastAttempt(job: Job, error: Error): boolean {
  if (error.name === "RateLimitError" || error.name === "DelayedError") return false;
  return error.name === "UnrecoverableError" || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

/** Delivery backoff of one destination: its worker's `settings.backoffStrategy`. */
export function deliveryBackoff(policy: DeliveryPolicy, random = Math.random) {
  return relayBackoff(policy.retry, random);
}

/**
 * Exponential from the base delay, with equal jitter so that a burst that failed together does not
 * retry together, capped. A downstream's Retry-After wins (capped too: a header cannot park a job
 * for a day).
 */
export function relayBackoff({ baseDelayMs, maxDelayMs }: RetryPolicy, random = Math.random) {
  return (attemptsMade: number, _type?: string, error?: Error): number => {
    const retryAfterMs = (error as { retryAfterMs?: number } | undefined)?.retryAfterMs;
    if (retryAfterMs !== undefined) return Math.min(retryAfterMs, maxDelayMs);
    const exponential = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, attemptsMade - 1));
    return Math.round(exponential / 2 + random() * (exponential / 2));
  };
}

/**
 * What an endpoint's answer means for its delivery job:
 *   delivered     2xx
 *   rate_limited  429: with Retry-After the whole destination waits that long, else a retry
 *   retry         408, 5xx (and timeouts, connection errors): another attempt after the backoff
 *   gone          410: the destination is paused until someone resumes it; the job waits
 *   refused       any other status (400, 401, redirects ...): failed at once, kept for a replay,
 *                 since retrying a 400 only repeats it
 */
export type AnswerPolicy = "delivered" | "rate_limited" | "retry" | "gone" | "refused";

export function answerPolicy(status: number): AnswerPolicy {
  if (status >= 200 && status < 300) return "delivered";
  if (status === 429) return "rate_limited";
  if (status === 408 || status >= 500) return "retry";
  if (status === 410) return "gone";
  return "refused";
}

/** No attempt left, or a failure that retrying cannot fix: the job now waits in the failed set for a replay. */
export function isFinalFailure(job: Job, error: Error): boolean {
  return error.name === "UnrecoverableError" || job.attemptsMade >= (job.opts.attempts ?? 1);
}

/**
 * Every worker counts its completed jobs per minute (BullMQ metrics, one small list per queue, a day
 * of minutes): `relay stats` reads "delivered in the last hour" from it, which the completed set
 * cannot tell once retention trims it (KEEP_COMPLETED_COUNT jobs is seconds at a busy rate).
 */
export const COMPLETION_METRICS: NonNullable<WorkerOptions["metrics"]> = { maxDataPoints: MetricsTime.ONE_HOUR * 24 };

export interface RetentionConfig {
  KEEP_COMPLETED_AGE: number;
  KEEP_COMPLETED_COUNT: number;
  KEEP_FAILED_AGE: number;
  KEEP_FAILED_COUNT: number;
}

/** How long finished jobs of every queue stay visible: failed ones are the ones to replay, kept longer. */
export function retentionOptions(config: RetentionConfig): Pick<WorkerOptions, "removeOnComplete" | "removeOnFail"> {
  return {
    removeOnComplete: { age: Math.ceil(config.KEEP_COMPLETED_AGE / 1000), count: config.KEEP_COMPLETED_COUNT },
    removeOnFail: { age: Math.ceil(config.KEEP_FAILED_AGE / 1000), count: config.KEEP_FAILED_COUNT },
  };
}

/**
 * sends   one job per message accepted by the send API (`POST /v1/messages`) or `relay send`; its
 *         id is the send's id. The worker paces it (send-pacing.ts), calls the platform and records
 *         each attempt (send-record.ts). 429 and pacing waits use no attempt (DelayedError); 5xx and
 *         timeouts retry with the relay backoff; any other refusal fails at once.
 */
export const SEND_QUEUE = "sends";

/** What is sent: text, or an image or a file by URL. */
export type OutgoingMessage =
  { type: "text"; text: string } | { type: "image"; url: string } | { type: "file"; url: string; name: string | null };

/** A send job's data: never the platform's key (the worker reads it from its environment). */
export interface SendJobData {
  sendId: string;
  chatId: string;
  /** The hosted account that sends: given, or the one last seen in the chat's callbacks. */
  botWxid: string;
  message: OutgoingMessage;
  acceptedAt: string;
}

/** 5xx and timeouts: a minute of quick retries, then longer ones, capped at 5 minutes. */
export const SEND_RETRY: RetryPolicy = { baseDelayMs: 1_000, maxDelayMs: 300_000 };

/** Attempts per send for 5xx, timeouts and connection errors (a 429 or a pacing wait uses none): about 20 minutes. */
export const SEND_ATTEMPTS = 8;

export function sendJobOptions(sendId: string): JobsOptions {
  return { jobId: sendId, attempts: SEND_ATTEMPTS, backoff: { type: RELAY_BACKOFF } };
}

export function sendJobName(data: Pick<SendJobData, "chatId" | "message">): string {
  return `${data.message.type} ${data.chatId}`;
}

export function sendBackoff(random = Math.random) {
  return relayBackoff(SEND_RETRY, random);
}
