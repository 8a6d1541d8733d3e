import type { Destination } from "@yuju-relay/config";
import type { Logger } from "@yuju-relay/logging";
import {
  deliveryAttemptNumber,
  isLastAttempt,
  type AttemptOutcome,
  type DeliveryJobData,
  type DeliveryJobResult,
  type EventRecorder,
} from "@yuju-relay/queue";
import { UnrecoverableError, Worker, type Job } from "bullmq";
import { attemptRecord, factsOf } from "./delivery-attempt.ts";
import { DestinationGone, DestinationRateLimited } from "./delivery-errors.ts";
import type { DestinationGates } from "./destination-gates.ts";
import { eventSubject } from "./event-subject.ts";
import type { DeliverEvent } from "./signed-delivery.ts";
import type { WorkerMetrics } from "./worker-metrics.ts";

/**
 * The processor of one destination's queue: sign and POST the event, record the attempt in the
 * event's record, with what the answer means for the destination as a whole.
 *   429 + Retry-After  the destination's queue is rate-limited for that long (capped by its
 *                      maxDelay), for every worker; the job goes back to wait without using an attempt.
 *   410 Gone           the queue is paused (every worker stops taking its jobs) until resumed in
 *                      the dashboard; the job goes back to wait without using an attempt.
 * Everything else is the job's own: a retry with the destination's backoff, or a failure. A job
 * whose inline attempt already failed for good (`failedInline`) fails with that reason, unsent.
 */
export function createDestinationProcessor(deps: {
  destination: Destination;
  deliver: DeliverEvent;
  gates: DestinationGates;
  recorder: EventRecorder;
  metrics: WorkerMetrics;
  logger: Logger;
}) {
  const { destination, deliver, gates, recorder, metrics, logger } = deps;
  const name = destination.name;

  return async function deliverToDestination(job: Job<DeliveryJobData>): Promise<DeliveryJobResult> {
    const { event, receivedAt } = job.data;
    if (job.data.failedInline) throw new UnrecoverableError(job.data.failedInline);
    // Every line about this job names the destination, the job, the event and its messageId (or room).
    const subject = () => ({ destination: name, jobId: job.id, eventId: event.id, ...eventSubject(event) });
    // The event id, unless `relay replay --as-new` gave this job a webhook-id of its own.
    const webhookId = job.data.webhookId ?? event.id;
    const attempt = deliveryAttemptNumber(job);
    const startedAt = new Date();
    const started = performance.now();
    const record = (outcome: AttemptOutcome, facts: ReturnType<typeof factsOf>, reason: string | null) =>
      recorder.write({
        attempts: [
          {
            eventId: event.id,
            ...attemptRecord({
              destination: name,
              attempt,
              inline: false,
              facts,
              outcome,
              webhookId,
              jobId: job.id ?? null,
              reason,
            }),
          },
        ],
      });
    try {
      const delivered = await deliver(event, receivedAt, webhookId);
      metrics.answered(name, delivered.status, delivered.durationMs);
      metrics.delivery(name, "delivered");
      if (logger.isLevelEnabled("info")) {
        logger.info({ ...subject(), status: delivered.status, durationMs: delivered.durationMs }, "event delivered");
      }
      // Delivered is delivered: a record that cannot be written must not send the event again.
      await record("delivered", delivered.facts, null).catch((err: Error) =>
        logger.warn({ ...subject(), err: err.message }, "could not record a delivered attempt"),
      );
      return {
        status: delivered.status,
        durationMs: delivered.durationMs,
        webhookId,
        deliveredAt: new Date().toISOString(),
        attempt,
      };
    } catch (error) {
      const facts = factsOf(error, startedAt, started);
      if (facts.status !== null) metrics.answered(name, facts.status, facts.durationMs);
      const reason = (error as Error).message;
      if (error instanceof DestinationRateLimited) {
        const waitMs = Math.min(error.retryAfterMs, destination.retry.maxDelayMs);
        metrics.delivery(name, "rate_limited");
        logger.warn({ ...subject(), waitMs, err: reason }, "destination rate-limited us: the whole destination waits");
        await Promise.all([gates.rateLimit(name, waitMs), record("rate_limited", facts, reason)]);
        throw Worker.RateLimitError();
      }
      if (error instanceof DestinationGone) {
        await Promise.all([gates.pause(name), record("paused", facts, reason)]);
        metrics.delivery(name, "paused");
        logger.error(
          { ...subject(), err: reason },
          "destination answered 410 Gone: paused until resumed (dashboard: the queue's Resume)",
        );
        throw Worker.RateLimitError();
      }
      // The worker's `failed` listener counts it in the metrics; the record says it here.
      await record(isLastAttempt(job, error as Error) ? "failed" : "retrying", facts, reason).catch(() => {});
      throw error;
    }
  };
}
