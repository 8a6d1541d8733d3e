import type { Logger } from "@yuju-relay/logging";
import { callbackSubject } from "@yuju-relay/protocol";
import {
  callbackBackoff,
  isFinalFailure,
  recordFailedCallback,
  type CallbackJobData,
  type CallbackJobResult,
} from "@yuju-relay/queue";
import { Worker, type Job, type Queue } from "bullmq";
import { LOST_WORKER, withReadableFailures, type CommonWorkerOptions } from "./readable-failures.ts";
import type { WorkerMetrics } from "./worker-metrics.ts";

/**
 * The callbacks queue's BullMQ worker and its listeners: metrics, the failed-callback index (so that
 * `relay event <id>` finds a callback job that failed before any delivery existed), log lines.
 */
export function startCallbackWorker(deps: {
  processor: (job: Job<CallbackJobData>) => Promise<CallbackJobResult>;
  queue: Queue<CallbackJobData>;
  common: CommonWorkerOptions;
  keepFailedMs: number;
  /** The prefix of its partition's keys (the failed-callback index lives there). */
  keyPrefix: string;
  metrics: WorkerMetrics;
  logger: Logger;
}): Worker<CallbackJobData, CallbackJobResult> {
  const { processor, queue, common, keepFailedMs, keyPrefix, metrics, logger } = deps;
  const callbacks = new Worker<CallbackJobData, CallbackJobResult>(queue.name, withReadableFailures(processor), {
    ...common,
    settings: { backoffStrategy: callbackBackoff() },
  });
  callbacks.on("completed", (job, result) => metrics.callbackFinished(job, result.outcome));
  callbacks.on("failed", (job, error) => {
    if (!job) return;
    metrics.callbackFailed(job, error);
    recordFailedCallback(common.connection, keyPrefix, job, keepFailedMs).catch(() => {});
    const final = isFinalFailure(job, error);
    logger[final ? "error" : "warn"](
      {
        jobId: job.id,
        kind: job.data?.kind,
        // A job stored by anything else than the ingress may lack data: a listener must not throw.
        ...callbackSubject(job.data?.kind, job.data?.body),
        attempt: job.attemptsMade,
        err: error.message,
      },
      final ? "callback job failed (kept for replay)" : "callback job failed, will retry",
    );
  });
  callbacks.on("error", (error) => logger.warn({ err: error.message }, "worker error"));
  callbacks.on("stalled", (jobId) => {
    queue.getJob(jobId).then(
      (job) => logger.warn({ jobId, ...(job ? callbackSubject(job.data?.kind, job.data?.body) : {}) }, LOST_WORKER),
      () => logger.warn({ jobId }, LOST_WORKER),
    );
  });
  return callbacks;
}
