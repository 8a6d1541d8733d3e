import { loadDestinations, type Destination } from "@yuju-relay/config";
import type { EventHandlers } from "@yuju-relay/handlers";
import type { Logger } from "@yuju-relay/logging";
import { callbackSubject } from "@yuju-relay/protocol";
import { createMetricsRegistry, registerQueueMetrics, startOpsServer, type OpsServer } from "@yuju-relay/metrics";
import {
  CALLBACK_QUEUE,
  callbackBackoff,
  COMPLETION_METRICS,
  ConversationOrder,
  createCallbackQueue,
  createDeliveryQueue,
  createWorkerConnection,
  deliveryBackoff,
  deliveryQueueName,
  BurstBuffer,
  EventClaims,
  FanOutWatermark,
  isFinalFailure,
  recordFailedCallback,
  retentionOptions,
  type CallbackJobData,
  type DeliveryJobData,
} from "@yuju-relay/queue";
import { UnrecoverableError, Worker, type Job, type Queue } from "bullmq";
import type { WorkerConfig } from "./config.ts";
import { createDestinationProcessor, type DeliveryJobResult } from "./deliver-to-destination.ts";
import { RetryableDeliveryError } from "./delivery-errors.ts";
import { createDeliveryEnqueuer } from "./enqueue-deliveries.ts";
import { startBurstCloser } from "./burst-close.ts";
import { createBurstAdder } from "./burst-merge.ts";
import { loadHandlersModule } from "./handlers-module.ts";
import { createCallbackProcessor, type CallbackJobResult } from "./process-callback.ts";
import { endTurnOfFailed, inConversationOrder } from "./ordered-delivery.ts";
import { createSignedDelivery } from "./signed-delivery.ts";
import { logSigningKeys } from "./webhook-signer.ts";
import { createWorkerMetrics, registerPausedGauge } from "./worker-metrics.ts";
import { createWorkerReadiness } from "./worker-readiness.ts";
import { eventSubject } from "./event-subject.ts";

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

export interface RunningWorker {
  /** The callbacks queue's worker. */
  worker: Worker<CallbackJobData, CallbackJobResult>;
  /** One worker per enabled destination, by destination name. */
  deliveryWorkers: ReadonlyMap<string, Worker<DeliveryJobData, DeliveryJobResult>>;
  /** The /healthz, /readyz and /metrics server, when OPS_PORT is set. */
  ops: OpsServer | null;
  close(): Promise<void>;
}

export interface WorkerOptions {
  /** Default: from RELAY_CONFIG, or FORWARD_URL as `default`. */
  destinations?: readonly Destination[];
  /** Default: HANDLERS_MODULE's, or none. */
  handlers?: EventHandlers;
}

/**
 * A failure we described ourselves (an invalid body, a refused or failed delivery) is shown in the
 * dashboard by its message alone: its stack trace points into our own code and buries the reason.
 * Anything else (a bug in a handler) keeps its stack.
 */
function withReadableFailures<Data, Result>(processor: (job: Job<Data>, token?: string) => Promise<Result>) {
  return async (job: Job<Data>, token?: string) => {
    try {
      return await processor(job, token);
    } catch (error) {
      if (error instanceof UnrecoverableError || error instanceof RetryableDeliveryError) {
        error.stack = `${error.name}: ${error.message}`;
      }
      throw error;
    }
  };
}

/**
 * The worker process: one BullMQ worker for the callbacks queue (validate, de-duplicate, fan out)
 * and one per enabled destination (signed delivery), each destination with its own concurrency,
 * rate limit and backoff, so that one destination's trouble stays its own.
 */
export async function startWorker(
  config: WorkerConfig,
  logger: Logger,
  options: WorkerOptions = {},
): Promise<RunningWorker> {
  const destinations = options.destinations ?? loadDestinations(config);
  const handlers = options.handlers ?? (config.HANDLERS_MODULE ? await loadHandlersModule(config.HANDLERS_MODULE) : {});
  const enabled = destinations.filter((d) => d.enabled);
  logSigningKeys(enabled, logger);
  const registry = createMetricsRegistry("worker");
  const metrics = createWorkerMetrics(registry);
  const connection = createWorkerConnection(config.REDIS_URL, { cluster: config.REDIS_CLUSTER });
  connection.on("error", (error) => logger.warn({ err: error.message }, "redis connection error"));
  const claims = config.DEDUP_WINDOW > 0 ? new EventClaims(connection, config.QUEUE_PREFIX, config.DEDUP_WINDOW) : null;
  // Every queue alike: how fast a dead worker's jobs come back, and how many deaths a job survives
  // (config.ts says why); how long finished jobs stay visible.
  const common = {
    connection,
    prefix: config.QUEUE_PREFIX,
    concurrency: config.WORKER_CONCURRENCY,
    lockDuration: config.JOB_LOCK_DURATION,
    stalledInterval: config.STALLED_CHECK_INTERVAL,
    maxStalledCount: config.MAX_STALLED_COUNT,
    ...retentionOptions(config),
    metrics: COMPLETION_METRICS,
  };

  const callbackQueue = createCallbackQueue(connection, config.QUEUE_PREFIX);
  const deliveryQueues = new Map<string, Queue<DeliveryJobData>>();
  for (const d of enabled) deliveryQueues.set(d.name, createDeliveryQueue(connection, config.QUEUE_PREFIX, d.name));
  // Ordered destinations (ordering: per-conversation): each conversation's line, and the fan-out barrier.
  const orders = new Map<string, ConversationOrder>();
  for (const d of enabled.filter((dest) => dest.ordering)) {
    orders.set(
      d.name,
      new ConversationOrder(connection, deliveryQueues.get(d.name)!, config.QUEUE_PREFIX, d.name, callbackQueue),
    );
  }
  const watermark = orders.size > 0 ? new FanOutWatermark(connection, config.QUEUE_PREFIX) : null;
  const enqueue = createDeliveryEnqueuer(deliveryQueues, orders);
  // Destinations with `merge`: each chat's burst buffer, and the closer that hands bursts over.
  const burstBuffers = new Map<string, BurstBuffer>();
  for (const d of enabled) {
    if (d.merge) burstBuffers.set(d.name, new BurstBuffer(connection, config.QUEUE_PREFIX, d.name, d.merge));
  }
  const burstCloser = startBurstCloser({
    redis: connection,
    prefix: config.QUEUE_PREFIX,
    buffers: burstBuffers,
    destinations: enabled,
    enqueue,
    keepIndexMs: config.KEEP_COMPLETED_AGE,
    logger,
  });

  const callbacks = new Worker<CallbackJobData, CallbackJobResult>(
    CALLBACK_QUEUE,
    withReadableFailures(
      createCallbackProcessor({
        destinations,
        handlers,
        enqueue,
        addToBursts: burstBuffers.size > 0 ? createBurstAdder(burstBuffers, burstCloser.closeNow) : undefined,
        claims,
        logger,
      }),
    ),
    { ...common, settings: { backoffStrategy: callbackBackoff() } },
  );
  callbacks.on("completed", (job, result) => metrics.callbackFinished(job, result.outcome));
  callbacks.on("failed", (job, error) => {
    if (!job) return;
    metrics.callbackFailed(job, error);
    // So that `relay event <id>` finds a callback job that failed before any delivery existed.
    recordFailedCallback(connection, config.QUEUE_PREFIX, job, config.KEEP_FAILED_AGE).catch(() => {});
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

  const deliveryWorkers = new Map<string, Worker<DeliveryJobData, DeliveryJobResult>>();
  for (const destination of enabled) {
    const queue = deliveryQueues.get(destination.name)!;
    const deliver = createSignedDelivery({
      url: destination.url,
      secret: destination.secret,
      signing: destination.signing,
      previousSecrets: destination.previousSecrets,
      timeoutMs: destination.timeoutMs,
      maxSockets: config.WORKER_CONCURRENCY,
    });
    const processor = createDestinationProcessor({ destination, deliver, queue, metrics, logger });
    const order = orders.get(destination.name);
    const worker = new Worker<DeliveryJobData, DeliveryJobResult>(
      deliveryQueueName(destination.name),
      withReadableFailures(
        order && watermark ? inConversationOrder(processor, { destination, order, watermark, logger }) : processor,
      ),
      {
        ...common,
        // BullMQ's limiter holds across every worker of the queue. Without a rateLimit a limit far
        // above any real rate is still set: a 429's Retry-After (queue.rateLimit) is only honoured
        // by a worker that has a limiter.
        limiter: { max: destination.rateLimit ?? 100_000, duration: 1_000 },
        settings: { backoffStrategy: deliveryBackoff(destination) },
      },
    );
    worker.on("failed", (job, error) => {
      if (!job) return;
      const final = isFinalFailure(job, error);
      metrics.delivery(destination.name, final ? "failed" : "retrying");
      if (final && order) {
        endTurnOfFailed(destination, order, job, error).catch((err: Error) =>
          logger.warn(
            { destination: destination.name, jobId: job.id, err: err.message },
            "could not end a failed turn",
          ),
        );
      }
      logger[final ? "error" : "warn"](
        {
          destination: destination.name,
          jobId: job.id,
          // A job added by anything else than the fan-out may lack data: a listener must not throw.
          ...deliverySubject(job.data),
          attempt: job.attemptsMade,
          err: error.message,
        },
        final ? "delivery failed (kept for replay)" : "delivery failed, will retry",
      );
    });
    worker.on("error", (error) => logger.warn({ destination: destination.name, err: error.message }, "worker error"));
    deliveryWorkers.set(destination.name, worker);
  }

  // Rare (a worker died holding the job): worth a read for the job's ids.
  const lostWorker = "job lost its worker (lock lapsed): running it again";
  callbacks.on("stalled", (jobId) => {
    callbackQueue.getJob(jobId).then(
      (job) => logger.warn({ jobId, ...(job ? callbackSubject(job.data?.kind, job.data?.body) : {}) }, lostWorker),
      () => logger.warn({ jobId }, lostWorker),
    );
  });
  for (const [destination, worker] of deliveryWorkers) {
    const queue = deliveryQueues.get(destination)!;
    worker.on("stalled", (jobId) => {
      queue.getJob(jobId).then(
        (job) => logger.warn({ destination, jobId, ...deliverySubject(job?.data) }, lostWorker),
        () => logger.warn({ destination, jobId }, lostWorker),
      );
    });
  }
  registerQueueMetrics(registry, [
    { queue: callbackQueue, destination: "" },
    ...[...deliveryQueues].map(([destination, queue]) => ({ queue, destination })),
  ]);
  registerPausedGauge(registry, deliveryQueues);
  const workers = [callbacks, ...deliveryWorkers.values()];
  const readiness = createWorkerReadiness({
    callbacks,
    workers,
    queue: callbackQueue,
    connection,
    stallAfterMs: config.STALL_AFTER,
  });
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  const ops =
    config.OPS_PORT === undefined ? null : await startOpsServer(config.OPS_PORT, config.OPS_HOST, registry, readiness);
  logger.info(
    {
      concurrency: config.WORKER_CONCURRENCY,
      prefix: config.QUEUE_PREFIX,
      destinations: destinations.map((d) => ({
        name: d.name,
        to: new URL(d.url).origin,
        enabled: d.enabled,
        rateLimit: d.rateLimit,
        ordering: d.ordering ? `per-conversation, onFailure ${d.ordering.onFailure}` : "none",
        merge: d.merge ?? "none",
      })),
      handlers: Object.keys(handlers),
      deduplication: claims ? `${config.DEDUP_WINDOW}ms` : "off",
      lockDuration: config.JOB_LOCK_DURATION,
      maxStalledCount: config.MAX_STALLED_COUNT,
      ops: ops?.url ?? null,
    },
    "worker started",
  );

  return {
    worker: callbacks,
    deliveryWorkers,
    ops,
    async close() {
      // worker.close() waits for active jobs without a limit, and may never return while Redis is
      // unreachable: bound it, then force. Jobs cut short keep their lock until it expires and are
      // then picked up again by another worker (at-least-once; deliveries keep their webhook-id).
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), config.WORKER_CLOSE_TIMEOUT);
      });
      // The callbacks first (no new message joins a burst), then the closer (no burst is left
      // half handed over: what is taken is in the queue, or stays in Redis for another worker).
      const closed = callbacks
        .close()
        .then(() => burstCloser.stop())
        .then(() => Promise.all(workers.map((w) => w.close())))
        .then(() => "closed" as const);
      const outcome = await Promise.race([closed, timedOut]);
      clearTimeout(timer);
      if (outcome === "timeout") {
        burstCloser.stop().catch(() => {});
        logger.warn("active jobs did not finish within WORKER_CLOSE_TIMEOUT: leaving them to be picked up again");
        await Promise.race([Promise.all(workers.map((w) => w.close(true))), new Promise((r) => setTimeout(r, 2_000))]);
      }
      await ops?.close();
      await Promise.all([callbackQueue, ...deliveryQueues.values()].map((q) => q.close().catch(() => {})));
      await connection.quit().catch(() => connection.disconnect());
      logger.info("worker stopped");
    },
  };
}
