import {
  deliveryJob,
  replayWebhookId,
  type CallbackJobData,
  type DeliveryJobData,
  type DeliveryPolicy,
} from "@yuju-relay/queue";
import type { Job, Queue } from "bullmq";
import { eventOfCallback } from "./job-views.ts";

export type ReplayOutcome =
  | { status: "replayed"; how: string; webhookId: string | null }
  /** Nothing to do: the job is already waiting or running. */
  | { status: "skipped"; reason: string }
  | { status: "error"; reason: string };

export interface ReplayRequest {
  /** Send under a new webhook-id (`<eventId>_r<n>`), so that a de-duplicating receiver takes it again. */
  asNew: boolean;
  /** Who asked, for the job's log: the command as typed, or the dashboard user and button. */
  commandLine: string;
  now?: () => Date;
}

// A replay gives the job the full attempts of its policy again: one attempt only (what a plain
// BullMQ retry leaves a job that used them all) would fail it for good at the receiver's next hiccup.
const FRESH_ATTEMPTS = { resetAttemptsMade: true, resetAttemptsStarted: true };

function isDelivery(job: Job<CallbackJobData> | Job<DeliveryJobData>): job is Job<DeliveryJobData> {
  return "event" in (job.data as object);
}

/**
 * Delivers a job again, and writes a line in its log saying when and by which command.
 *   failed      moved back to wait (BullMQ retry): same job id, same event
 *   completed   a delivery is moved back to wait too (so `relay event` still finds it by id)
 *   delayed     a delivery waiting for its next attempt is promoted: it runs now
 *   otherwise   already waiting or running: skipped
 * The webhook-id stays the event id (a retry of the same event) unless `asNew`, which gives the job
 * the next `<eventId>_r<n>`.
 */
export async function replayJob(
  job: Job<CallbackJobData> | Job<DeliveryJobData>,
  request: ReplayRequest,
): Promise<ReplayOutcome> {
  try {
    const state = await job.getState();
    const delivery = isDelivery(job);
    if (state !== "failed" && state !== "delayed" && !(state === "completed" && delivery)) {
      const reason =
        state === "completed" ? "completed callback job (its deliveries are what is replayed)" : `already ${state}`;
      return { status: "skipped", reason };
    }
    let webhookId: string | null = null;
    let how = state === "delayed" ? "promoted: delivers now" : `${state} job moved back to wait`;
    if (delivery) {
      // A job whose inline attempt failed for good fails unsent until a replay: this one sends.
      if (job.data.failedInline) {
        const { failedInline: _refused, ...data } = job.data;
        await job.updateData(data);
      }
      webhookId = job.data.webhookId ?? job.data.event.id;
      if (request.asNew) {
        const replay = (job.data.asNewReplays ?? 0) + 1;
        webhookId = replayWebhookId(job.data.event.id, replay);
        await job.updateData({ ...job.data, webhookId, asNewReplays: replay });
        how += `, as new: webhook-id ${webhookId}`;
      } else {
        how += `, webhook-id ${webhookId} kept`;
      }
    } else if (request.asNew) {
      how += " (a callback job has no webhook-id: --as-new applies to deliveries)";
    }
    if (state === "delayed") await job.promote();
    else await job.retry(state, FRESH_ATTEMPTS);
    const at = (request.now ?? (() => new Date()))().toISOString();
    await job.log(`${at} ${request.commandLine}: ${how}`);
    return { status: "replayed", how, webhookId };
  } catch (error) {
    return { status: "error", reason: oneLine(error instanceof Error ? error.message : String(error)) };
  }
}

/**
 * Replays a delivery that has no job: the callback job delivered it inline (or its job was removed
 * by retention while the record was not). Adds the destination's delivery job, with the usual id,
 * from the event the callback job carries: from then on it is replayed like any other.
 */
export async function replayWithoutJob(
  queue: Queue<DeliveryJobData>,
  callback: Job<CallbackJobData>,
  destination: string,
  policy: DeliveryPolicy,
  request: ReplayRequest,
): Promise<ReplayOutcome> {
  try {
    const event = eventOfCallback(callback);
    if (!event) return { status: "error", reason: "its callback job's body is not a valid event" };
    const data: DeliveryJobData = {
      destination,
      event,
      receivedAt: callback.data.receivedAt,
      callbackJobId: callback.id ?? "",
      messageId: event.type === "message.received" ? event.data.messageId : null,
    };
    let how = "delivered inline: a delivery job added";
    if (request.asNew) {
      data.asNewReplays = 1;
      data.webhookId = replayWebhookId(event.id, 1);
      how += `, as new: webhook-id ${data.webhookId}`;
    } else {
      how += `, webhook-id ${event.id} kept`;
    }
    const spec = deliveryJob(data, policy);
    const job = await queue.add(spec.name, spec.data, spec.opts);
    const at = (request.now ?? (() => new Date()))().toISOString();
    await job.log(`${at} ${request.commandLine}: ${how}`);
    return { status: "replayed", how, webhookId: data.webhookId ?? event.id };
  } catch (error) {
    return { status: "error", reason: oneLine(error instanceof Error ? error.message : String(error)) };
  }
}

/** Errors are one line, so that a log or a script takes them as one record. */
function oneLine(text: string): string {
  return text.trim().replace(/\s*\n\s*/g, "; ");
}
