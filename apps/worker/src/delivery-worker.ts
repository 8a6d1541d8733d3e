import type { Destination } from "@yuju-relay/config";
import type { Logger } from "@yuju-relay/logging";
import { deliveryBackoff, isFinalFailure, type DeliveryJobData, type DeliveryJobResult } from "@yuju-relay/queue";
import { Worker, type Job, type Queue } from "bullmq";
import { NO_RATE_LIMIT, RATE_WINDOW_MS } from "./destination-gates.ts";
import { eventSubject } from "./event-subject.ts";
import type { OrderedDestination } from "./ordered-delivery.ts";
import { LOST_WORKER, withReadableFailures, type CommonWorkerOptions } from "./readable-failures.ts";
import type { WorkerMetrics } from "./worker-metrics.ts";

/** The ids of a delivery job's event, for log lines; never throws (it runs in event listeners). */
function deliverySubject(data: Partial<DeliveryJobData> | undefined) {
  const event = data?.event;
  if (!event?.id || !event.data) return { eventId: event?.id ?? null, messageId: data?.messageId ?? null };
  try {
    return { eventId: event.id, ...eventSubject(event) };
  } catch {
    return { eventId: event.id, messageId: data?.messageId ?? null };
  }
}

/**
 * One destination's BullMQ worker (its own concurrency, rate limit and backoff) and its listeners:
 * metrics, the end of a failed ordered turn, log lines.
 */
export function startDeliveryWorker(deps: {
  destination: Destination;
  processor: (job: Job<DeliveryJobData>) => Promise<DeliveryJobResult>;
  queue: Queue<DeliveryJobData>;
  inLine: OrderedDestination | undefined;
  common: CommonWorkerOptions;
  metrics: WorkerMetrics;
  logger: Logger;
}): Worker<DeliveryJobData, DeliveryJobResult> {
  const { destination, processor, queue, inLine, common, metrics, logger } = deps;
  const name = destination.name;
  const worker = new Worker<DeliveryJobData, DeliveryJobResult>(
    queue.name,
    withReadableFailures(inLine ? inLine.inTurn(processor) : processor),
    {
      ...common,
      // BullMQ's limiter holds across every worker of the queue. Without a rateLimit a limit far
      // above any real rate is still set: a 429's Retry-After (queue.rateLimit) is only honoured
      // by a worker that has a limiter.
      limiter: { max: destination.rateLimit ?? NO_RATE_LIMIT, duration: RATE_WINDOW_MS },
      settings: { backoffStrategy: deliveryBackoff(destination) },
    },
  );
  worker.on("failed", (job, error) => {
    if (!job) return;
    const final = isFinalFailure(job, error);
    metrics.delivery(name, final ? "failed" : "retrying");
    if (final && inLine) {
      inLine
        .endTurnOfFailed(job, error)
        .catch((err: Error) =>
          logger.warn({ destination: name, jobId: job.id, err: err.message }, "could not end a failed turn"),
        );
    }
    logger[final ? "error" : "warn"](
      {
        destination: name,
        jobId: job.id,
        // A job added by anything else than the fan-out may lack data: a listener must not throw.
        ...deliverySubject(job.data),
        attempt: job.attemptsMade,
        err: error.message,
      },
      final ? "delivery failed (kept for replay)" : "delivery failed, will retry",
    );
  });
  worker.on("error", (error) => logger.warn({ destination: name, err: error.message }, "worker error"));
  worker.on("stalled", (jobId) => {
    queue.getJob(jobId).then(
      (job) => logger.warn({ destination: name, jobId, ...deliverySubject(job?.data) }, LOST_WORKER),
      () => logger.warn({ destination: name, jobId }, LOST_WORKER),
    );
  });
  return worker;
}
