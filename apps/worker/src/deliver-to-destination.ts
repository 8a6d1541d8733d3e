import type { Destination } from "@yuju-relay/config";
import type { Logger } from "@yuju-relay/logging";
import type { DeliveryJobData } from "@yuju-relay/queue";
import { Worker, type Job, type Queue } from "bullmq";
import { DestinationGone, DestinationRateLimited } from "./delivery-errors.ts";
import { eventSubject } from "./event-subject.ts";
import type { DeliverEvent } from "./signed-delivery.ts";
import type { WorkerMetrics } from "./worker-metrics.ts";

/** A delivery job's result, visible in the dashboard (and to `relay event`). */
export interface DeliveryJobResult {
  status: number;
  durationMs: number;
  webhookId: string;
  deliveredAt: string;
}

/**
 * The processor of one destination's queue: sign and POST the event, with what the answer means
 * for the destination as a whole.
 *   429 + Retry-After  the destination's queue is rate-limited for that long (capped by its
 *                      maxDelay), for every worker; the job goes back to wait without using an attempt.
 *   410 Gone           the queue is paused (every worker stops taking its jobs) until resumed in
 *                      the dashboard; the job goes back to wait without using an attempt.
 * Everything else is the job's own: a retry with the destination's backoff, or a failure.
 */
export function createDestinationProcessor(deps: {
  destination: Destination;
  deliver: DeliverEvent;
  queue: Queue<DeliveryJobData>;
  metrics: WorkerMetrics;
  logger: Logger;
}) {
  const { destination, deliver, queue, metrics, logger } = deps;
  const name = destination.name;
  // Several deliveries in flight may each get a 410: they share one pause, counted once by this
  // process (the check and the pause are two commands, so each caller doing both would count too).
  let pausing: Promise<void> | undefined;
  const pauseDestination = () =>
    (pausing ??= (async () => {
      try {
        if (await queue.isPaused()) return;
        await queue.pause();
        metrics.paused(name);
      } finally {
        pausing = undefined;
      }
    })());

  return async function deliverToDestination(job: Job<DeliveryJobData>): Promise<DeliveryJobResult> {
    const { event, receivedAt } = job.data;
    // Every line about this job names the destination, the job, the event and its messageId (or room).
    const subject = () => ({ destination: name, jobId: job.id, eventId: event.id, ...eventSubject(event) });
    // The event id, unless `relay replay --as-new` gave this job a webhook-id of its own.
    const webhookId = job.data.webhookId ?? event.id;
    try {
      const delivered = await deliver(event, receivedAt, webhookId);
      metrics.answered(name, delivered.status, delivered.durationMs);
      metrics.delivery(name, "delivered");
      if (logger.isLevelEnabled("info")) {
        logger.info({ ...subject(), ...delivered }, "event delivered");
      }
      return { ...delivered, webhookId, deliveredAt: new Date().toISOString() };
    } catch (error) {
      if (error instanceof DestinationRateLimited) {
        const waitMs = Math.min(error.retryAfterMs, destination.retry.maxDelayMs);
        metrics.delivery(name, "rate_limited");
        logger.warn(
          { ...subject(), waitMs, err: error.message },
          "destination rate-limited us: the whole destination waits",
        );
        await queue.rateLimit(waitMs);
        throw Worker.RateLimitError();
      }
      if (error instanceof DestinationGone) {
        await pauseDestination();
        metrics.delivery(name, "paused");
        logger.error(
          { ...subject(), err: error.message },
          "destination answered 410 Gone: paused until resumed (dashboard: the queue's Resume)",
        );
        throw Worker.RateLimitError();
      }
      throw error;
    }
  };
}
