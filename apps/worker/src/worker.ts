import { withDeadline } from "@yuju-relay/app-lifecycle";
import { ConfigError, loadDestinations, type Destination } from "@yuju-relay/config";
import type { EventHandlers } from "@yuju-relay/handlers";
import type { Logger } from "@yuju-relay/logging";
import { createMetricsRegistry, registerQueueMetrics, startOpsServer, type OpsServer } from "@yuju-relay/metrics";
import {
  COMPLETION_METRICS,
  ConversationOrder,
  CallbackPartitions,
  claimPartitionCount,
  createWorkerConnection,
  deliveryBackoff,
  BurstBuffer,
  EventClaims,
  EventRecorder,
  FanOutWatermark,
  PartitionedCallbackQueues,
  SendEchoes,
  retentionOptions,
  type CallbackJobData,
  type CallbackJobResult,
  type DeliveryJobData,
  type DeliveryJobResult,
} from "@yuju-relay/queue";
import { Queue, type Worker } from "bullmq";
import { startCallbackWorker } from "./callback-worker.ts";
import type { WorkerConfig } from "./config.ts";
import { createDestinationProcessor } from "./deliver-to-destination.ts";
import { startDeliveryWorker } from "./delivery-worker.ts";
import { DestinationGates } from "./destination-gates.ts";
import { DestinationHealth, INLINE_BREAKER } from "./destination-health.ts";
import { createDeliveryEnqueuer } from "./enqueue-deliveries.ts";
import { createFanOut } from "./fan-out.ts";
import { startBurstCloser, type BurstCloser } from "./burst-close.ts";
import { createBurstAdder } from "./burst-merge.ts";
import { loadHandlersModule } from "./handlers-module.ts";
import { OrderedDestination } from "./ordered-delivery.ts";
import { createCallbackProcessor } from "./process-callback.ts";
import type { CommonWorkerOptions } from "./readable-failures.ts";
import { createSignedDelivery, type DeliverEvent } from "./signed-delivery.ts";
import { logSigningKeys } from "./webhook-signer.ts";
import { createWorkerMetrics, registerPausedGauge } from "./worker-metrics.ts";
import { createWorkerReadiness } from "./worker-readiness.ts";
import { startSendWorker, type RunningSendWorker } from "./send-worker.ts";

export interface RunningWorker {
  /** The callbacks queue's worker (partition 0's). */
  worker: Worker<CallbackJobData, CallbackJobResult>;
  /** One worker per enabled destination, by destination name (partition 0's). */
  deliveryWorkers: ReadonlyMap<string, Worker<DeliveryJobData, DeliveryJobResult>>;
  /** Every partition's workers (one partition: the two above). */
  partitions: ReadonlyArray<{
    callbacks: Worker<CallbackJobData, CallbackJobResult>;
    deliveryWorkers: ReadonlyMap<string, Worker<DeliveryJobData, DeliveryJobResult>>;
  }>;
  /** The sends queue's worker, when PLATFORM_API_URL is set. */
  sends: RunningSendWorker | null;
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
  // Every queue alike: how fast a dead worker's jobs come back, and how many deaths a job survives
  // (config.ts says why); how long finished jobs stay visible.
  const common: CommonWorkerOptions = {
    connection,
    prefix: config.QUEUE_PREFIX,
    // WORKER_CONCURRENCY is the process's: each partition's workers take their share of it.
    concurrency: Math.max(1, Math.ceil(config.WORKER_CONCURRENCY / config.CALLBACK_PARTITIONS)),
    lockDuration: config.JOB_LOCK_DURATION,
    stalledInterval: config.STALLED_CHECK_INTERVAL,
    maxStalledCount: config.MAX_STALLED_COUNT,
    ...retentionOptions(config),
    metrics: COMPLETION_METRICS,
  };

  const partitions = new CallbackPartitions(config.CALLBACK_PARTITIONS);
  // Bursts keep each chat's buffer and the close poll beside partition 0's queues: not yet spread
  // over partitions, so refused rather than merging only the chats that happen to land in partition 0.
  const merging = enabled.filter((d) => d.merge);
  if (partitions.count > 1 && merging.length > 0) {
    throw new ConfigError([
      `RELAY_CONFIG: destination ${merging[0]!.name} has merge, which does not work with CALLBACK_PARTITIONS > 1 yet`,
    ]);
  }
  await claimPartitionCount(connection, config.QUEUE_PREFIX, partitions.count);
  const partitioned = { callbacks: new PartitionedCallbackQueues(connection, config.QUEUE_PREFIX, partitions) };
  // A destination's rate limit holds per queue: each partition's queue takes its share.
  const inPartition = enabled.map((d) =>
    d.rateLimit && partitions.count > 1
      ? { ...d, rateLimit: Math.max(1, Math.floor(d.rateLimit / partitions.count)) }
      : d,
  );
  const delivers = new Map<string, DeliverEvent>();
  const healths = new Map<string, DestinationHealth>();
  const backoffs = new Map<string, ReturnType<typeof deliveryBackoff>>();
  for (const d of enabled) {
    delivers.set(
      d.name,
      createSignedDelivery({
        url: d.url,
        secret: d.secret,
        signing: d.signing,
        previousSecrets: d.previousSecrets,
        timeoutMs: d.timeoutMs,
        maxSockets: config.WORKER_CONCURRENCY,
      }),
    );
    healths.set(
      d.name,
      new DestinationHealth(INLINE_BREAKER.failuresToOpen, INLINE_BREAKER.coolDownMs, {
        max: Math.max(1, Math.floor(config.WORKER_CONCURRENCY / 2)),
        afterMs: config.INLINE_TIMEOUT / 10,
      }),
    );
    backoffs.set(d.name, deliveryBackoff(d));
  }
  // Each partition: its callbacks queue and destinations' queues, its claims, records and
  // ordering lines (all under its hash tag), and a BullMQ worker for each of its queues. The
  // destinations' senders, circuit breakers and backoffs are the process's, shared.
  const startPartition = (p: number) => {
    const keyPrefix = partitions.keyPrefix(config.QUEUE_PREFIX, p);
    const callbackQueue = partitioned.callbacks.queues[p]!;
    const deliveryQueues = new Map<string, Queue<DeliveryJobData>>();
    for (const d of enabled)
      deliveryQueues.set(
        d.name,
        new Queue<DeliveryJobData>(partitions.deliveryQueueName(d.name, p), {
          connection,
          prefix: config.QUEUE_PREFIX,
        }),
      );
    // Ordered destinations (ordering: per-conversation): each conversation's turns, and the fan-out barrier.
    const ordered = new Map<string, OrderedDestination>();
    const orderedDestinations = enabled.filter((dest) => dest.ordering);
    if (orderedDestinations.length > 0) {
      const watermark = new FanOutWatermark(connection, config.QUEUE_PREFIX, {
        refreshMs: 20,
        queueName: callbackQueue.name,
      });
      for (const d of orderedDestinations) {
        const order = new ConversationOrder(connection, deliveryQueues.get(d.name)!, keyPrefix, d.name, callbackQueue);
        ordered.set(d.name, new OrderedDestination(d, order, watermark, logger));
      }
    }
    // The record of every event lives as long as the longest-kept of its jobs.
    const recorder = new EventRecorder(
      connection,
      keyPrefix,
      Math.max(config.KEEP_COMPLETED_AGE, config.KEEP_FAILED_AGE),
    );
    const gates = new DestinationGates(
      connection,
      deliveryQueues,
      new Map(inPartition.map((d) => [d.name, d])),
      metrics,
    );
    // Each batch of claims also reads every destination's pause and rate limit, for the inline fan-out.
    const claims =
      config.DEDUP_WINDOW > 0
        ? new EventClaims(connection, keyPrefix, config.DEDUP_WINDOW, {
            queues: gates.watched(),
            onGates: (states) => gates.observe(states),
          })
        : null;
    const enqueue = createDeliveryEnqueuer(deliveryQueues, ordered);
    // Destinations with `merge` (partition 0 only, see above): each chat's burst buffer, and the
    // closer that hands bursts over.
    const burstBuffers = new Map<string, BurstBuffer>();
    for (const d of p === 0 ? merging : []) {
      burstBuffers.set(d.name, new BurstBuffer(connection, config.QUEUE_PREFIX, d.name, d.merge!));
    }
    const burstCloser: BurstCloser | null =
      burstBuffers.size > 0
        ? startBurstCloser({
            redis: connection,
            prefix: config.QUEUE_PREFIX,
            buffers: burstBuffers,
            destinations: enabled,
            enqueue,
            keepIndexMs: config.KEEP_COMPLETED_AGE,
            logger,
          })
        : null;
    const fanOut = createFanOut({
      delivers,
      healths,
      gates,
      enqueue,
      recorder,
      metrics,
      logger,
      inlineTimeoutMs: config.INLINE_TIMEOUT,
      backoffs,
      // Without claims (DEDUP_WINDOW=0) two jobs of one redelivered event may run at once: only the
      // delivery job's id (BullMQ ignores a second add) then keeps the event from going out twice.
      inline: config.INLINE_TIMEOUT > 0 && claims !== null,
    });

    const callbacks = startCallbackWorker({
      processor: createCallbackProcessor({
        destinations,
        handlers,
        fanOut,
        claims,
        redis: connection,
        prefix: keyPrefix,
        logger,
        sendEchoes: new SendEchoes(connection, partitions.sendsPrefix(config.QUEUE_PREFIX)),
        addToBursts: burstCloser ? createBurstAdder(burstBuffers, burstCloser.closeNow) : undefined,
      }),
      queue: callbackQueue,
      common,
      keepFailedMs: config.KEEP_FAILED_AGE,
      keyPrefix,
      metrics,
      logger,
    });
    const deliveryWorkers = new Map<string, Worker<DeliveryJobData, DeliveryJobResult>>();
    for (const destination of inPartition) {
      const processor = createDestinationProcessor({
        destination,
        deliver: delivers.get(destination.name)!,
        gates,
        recorder,
        metrics,
        logger,
      });
      deliveryWorkers.set(
        destination.name,
        startDeliveryWorker({
          destination,
          processor,
          queue: deliveryQueues.get(destination.name)!,
          inLine: ordered.get(destination.name),
          common,
          metrics,
          logger,
        }),
      );
    }

    return { callbackQueue, deliveryQueues, callbacks, deliveryWorkers, burstCloser };
  };
  const started = partitions.indexes().map(startPartition);
  registerQueueMetrics(
    registry,
    started.flatMap(({ callbackQueue, deliveryQueues }) => [
      { queue: callbackQueue, destination: "" },
      ...[...deliveryQueues].map(([destination, queue]) => ({ queue, destination })),
    ]),
  );
  // Pausing a destination pauses its queue in every partition (the CLI, a 410): partition 0's says.
  registerPausedGauge(registry, started[0]!.deliveryQueues);
  const workers: Worker[] = started.flatMap(({ callbacks, deliveryWorkers }) => [
    callbacks,
    ...deliveryWorkers.values(),
  ]);
  const readiness = createWorkerReadiness({
    callbacks: started.map(({ callbacks }) => callbacks),
    workers,
    queues: started.map(({ callbackQueue }) => callbackQueue),
    connection,
    stallAfterMs: config.STALL_AFTER,
  });
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  const sends = await startSendWorker(config, connection, registry, logger);
  if (sends) workers.push(sends.worker);
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
      partitions: partitions.count,
      deduplication: config.DEDUP_WINDOW > 0 ? `${config.DEDUP_WINDOW}ms` : "off",
      inlineTimeout: config.INLINE_TIMEOUT || "off",
      lockDuration: config.JOB_LOCK_DURATION,
      maxStalledCount: config.MAX_STALLED_COUNT,
      ops: ops?.url ?? null,
    },
    "worker started",
  );

  return {
    worker: started[0]!.callbacks,
    deliveryWorkers: started[0]!.deliveryWorkers,
    partitions: started.map(({ callbacks, deliveryWorkers }) => ({ callbacks, deliveryWorkers })),
    sends,
    ops,
    async close() {
      // worker.close() waits for active jobs without a limit, and may never return while Redis is
      // unreachable: bound it, then force. Jobs cut short keep their lock until it expires and are
      // then picked up again by another worker (at-least-once; deliveries keep their webhook-id).
      // The callbacks first (no new message joins a burst), then the closer (no burst is left
      // half handed over: what is taken is in the queue, or stays in Redis for another worker).
      const burstClosers = started.flatMap(({ burstCloser }) => (burstCloser ? [burstCloser] : []));
      const closed = Promise.all(started.map(({ callbacks }) => callbacks.close()))
        .then(() => Promise.all(burstClosers.map((c) => c.stop())))
        .then(() => Promise.all(workers.map((w) => w.close())))
        .then(() => "closed" as const);
      const outcome = await withDeadline(closed, config.WORKER_CLOSE_TIMEOUT, () => "timeout" as const);
      if (outcome === "timeout") {
        for (const c of burstClosers) c.stop().catch(() => {});
        logger.warn("active jobs did not finish within WORKER_CLOSE_TIMEOUT: leaving them to be picked up again");
        await withDeadline(Promise.all(workers.map((w) => w.close(true))), 2_000, () => undefined);
      }
      await ops?.close();
      await Promise.all(
        started
          .flatMap(({ callbackQueue, deliveryQueues }) => [callbackQueue, ...deliveryQueues.values()])
          .map((q) => q.close().catch(() => {})),
      );
      await sends?.queue.close().catch(() => {});
      await connection.quit().catch(() => connection.disconnect());
      logger.info("worker stopped");
    },
  };
}
