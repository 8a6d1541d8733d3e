import type { Logger } from "@yuju-relay/logging";
import { createMetricsRegistry, registerQueueMetrics, startOpsServer, type OpsServer } from "@yuju-relay/metrics";
import {
  CALLBACK_QUEUE,
  createCallbackQueue,
  createWorkerConnection,
  EventClaims,
  RELAY_BACKOFF,
  type CallbackJobData,
} from "@yuju-relay/queue";
import { callbackSubject } from "@yuju-relay/protocol";
import { UnrecoverableError, Worker, type Job } from "bullmq";
import { RetryableDeliveryError } from "./delivery-errors.ts";
import type { WorkerConfig } from "./config.ts";
import { createEventHandlers, type EventHandlers, type EventSink } from "./event-handlers.ts";
import { createCallbackProcessor, type CallbackJobResult } from "./process-callback.ts";
import { relayBackoff } from "./retry-backoff.ts";
import { createSignedDelivery } from "./signed-delivery.ts";
import { createDeliveryMetrics, createWorkerHealth, isFinalFailure } from "./worker-health.ts";

export interface RunningWorker {
  worker: Worker<CallbackJobData, CallbackJobResult>;
  /** The /healthz, /readyz and /metrics server, when OPS_PORT is set. */
  ops: OpsServer | null;
  close(): Promise<void>;
}

type ObserveDelivery = (status: number, durationMs: number) => void;

// context.logger makes a child logger (bindings serialized, redaction set up): the sinks touch it
// only when their line will be written.
function defaultSink(config: WorkerConfig, observe: ObserveDelivery, baseLogger: Logger): EventSink {
  if (!config.FORWARD_URL || !config.FORWARD_SECRET) {
    return async (event, context) => {
      if (baseLogger.isLevelEnabled("info")) {
        context.logger.info({ event }, "event (FORWARD_URL unset: logged, not delivered)");
      }
      return { logged: true };
    };
  }
  const deliver = createSignedDelivery({
    url: config.FORWARD_URL,
    secret: config.FORWARD_SECRET,
    timeoutMs: config.FORWARD_TIMEOUT,
    maxSockets: config.WORKER_CONCURRENCY,
  });
  return async (event, context) => {
    const delivered = await deliver(event, context.receivedAt);
    observe(delivered.status, delivered.durationMs);
    if (baseLogger.isLevelEnabled("info")) context.logger.info(delivered, "event delivered");
    return { delivered };
  };
}

/**
 * A failure we described ourselves (an invalid body, a refused or failed delivery) is shown in the
 * dashboard by its message alone: its stack trace points into our own code and buries the reason.
 * Anything else (a bug in a handler) keeps its stack.
 */
function withReadableFailures<T>(processor: (job: Job<CallbackJobData>) => Promise<T>) {
  return async (job: Job<CallbackJobData>) => {
    try {
      return await processor(job);
    } catch (error) {
      if (error instanceof UnrecoverableError || error instanceof RetryableDeliveryError) {
        error.stack = `${error.name}: ${error.message}`;
      }
      throw error;
    }
  };
}

export async function startWorker(
  config: WorkerConfig,
  logger: Logger,
  customHandlers?: EventHandlers,
): Promise<RunningWorker> {
  const registry = createMetricsRegistry("worker");
  const handlers = customHandlers ?? createEventHandlers(defaultSink(config, createDeliveryMetrics(registry), logger));
  const connection = createWorkerConnection(config.REDIS_URL, { cluster: config.REDIS_CLUSTER });
  connection.on("error", (error) => logger.warn({ err: error.message }, "redis connection error"));
  const claims = config.DEDUP_WINDOW > 0 ? new EventClaims(connection, config.QUEUE_PREFIX, config.DEDUP_WINDOW) : null;
  const worker = new Worker<CallbackJobData, CallbackJobResult>(
    CALLBACK_QUEUE,
    withReadableFailures(createCallbackProcessor({ handlers, claims, logger })),
    {
      connection,
      prefix: config.QUEUE_PREFIX,
      concurrency: config.WORKER_CONCURRENCY,
      removeOnComplete: { age: Math.ceil(config.KEEP_COMPLETED_AGE / 1000), count: config.KEEP_COMPLETED_COUNT },
      removeOnFail: { age: Math.ceil(config.KEEP_FAILED_AGE / 1000), count: config.KEEP_FAILED_COUNT },
      settings: { backoffStrategy: relayBackoff({ baseMs: config.RETRY_BASE_DELAY, maxMs: config.RETRY_MAX_DELAY }) },
      // How fast a dead worker's jobs come back, and how many deaths a job survives: config.ts says why.
      lockDuration: config.JOB_LOCK_DURATION,
      stalledInterval: config.STALLED_CHECK_INTERVAL,
      maxStalledCount: config.MAX_STALLED_COUNT,
    },
  );
  worker.on("failed", (job, error) => {
    if (!job) return;
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
      final ? "job failed (kept for replay)" : "job failed, will retry",
    );
  });
  worker.on("error", (error) => logger.warn({ err: error.message }, "worker error"));
  const queue = createCallbackQueue(connection, config.QUEUE_PREFIX);
  registerQueueMetrics(registry, queue);
  worker.on("stalled", (jobId) => {
    // Rare (a worker died holding the job): worth a read for the job's ids.
    queue.getJob(jobId).then(
      (job) =>
        logger.warn(
          { jobId, ...(job ? callbackSubject(job.data?.kind, job.data?.body) : {}) },
          "job lost its worker (lock lapsed): running it again",
        ),
      () => logger.warn({ jobId }, "job lost its worker (lock lapsed): running it again"),
    );
  });
  const health = createWorkerHealth({ worker, queue, connection, registry, stallAfterMs: config.STALL_AFTER });
  await worker.waitUntilReady();
  const ops =
    config.OPS_PORT === undefined ? null : await startOpsServer(config.OPS_PORT, config.OPS_HOST, registry, health);
  logger.info(
    {
      concurrency: config.WORKER_CONCURRENCY,
      prefix: config.QUEUE_PREFIX,
      forwardTo: config.FORWARD_URL ? new URL(config.FORWARD_URL).origin : null,
      backoff: RELAY_BACKOFF,
      deduplication: claims ? `${config.DEDUP_WINDOW}ms` : "off",
      lockDuration: config.JOB_LOCK_DURATION,
      maxStalledCount: config.MAX_STALLED_COUNT,
    },
    "worker started",
  );

  return {
    worker,
    ops,
    async close() {
      // worker.close() waits for active jobs without a limit, and may never return while Redis is
      // unreachable: bound it, then force. Jobs cut short keep their lock until it expires and are
      // then picked up again by another worker (at-least-once; handlers are idempotent).
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), config.WORKER_CLOSE_TIMEOUT);
      });
      const outcome = await Promise.race([worker.close().then(() => "closed" as const), timedOut]);
      clearTimeout(timer);
      if (outcome === "timeout") {
        logger.warn("active jobs did not finish within WORKER_CLOSE_TIMEOUT: leaving them to be picked up again");
        await Promise.race([worker.close(true), new Promise((r) => setTimeout(r, 2_000))]);
      }
      await ops?.close();
      await queue.close().catch(() => {});
      await connection.quit().catch(() => connection.disconnect());
      logger.info("worker stopped");
    },
  };
}
