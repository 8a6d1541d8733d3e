import type { Logger } from "@yuju-relay/logging";
import {
  COMPLETION_METRICS,
  CallbackPartitions,
  createSendQueue,
  isFinalFailure,
  retentionOptions,
  SEND_QUEUE,
  sendBackoff,
  SendPacing,
  type RedisClient,
  type SendJobData,
} from "@yuju-relay/queue";
import { UnrecoverableError, Worker, type Queue } from "bullmq";
import type { Registry } from "prom-client";
import type { WorkerConfig } from "./config.ts";
import { createYujuPlatformClient, type PlatformClient } from "./platform-client.ts";
import { createSendMetrics } from "./send-metrics.ts";
import { createSendProcessor, RetryableSendError, type SendJobResult } from "./send-processor.ts";

export interface RunningSendWorker {
  worker: Worker<SendJobData, SendJobResult>;
  queue: Queue<SendJobData>;
  close(): Promise<void>;
}

/**
 * The `sends` queue's worker, started beside the callback and delivery workers when
 * PLATFORM_API_URL is set. Its jobs never carry the platform's key: it is read here, from the
 * environment, and stripped from anything the client reports.
 */
export async function startSendWorker(
  config: WorkerConfig,
  connection: RedisClient,
  registry: Registry,
  logger: Logger,
  client?: PlatformClient,
): Promise<RunningSendWorker | null> {
  if (!config.PLATFORM_API_URL || !config.PLATFORM_API_KEY) return null;
  const platform =
    client ??
    createYujuPlatformClient({
      baseUrl: config.PLATFORM_API_URL,
      apiKey: config.PLATFORM_API_KEY,
      timeoutMs: config.SEND_TIMEOUT,
    });
  // Under partition 0's tag when partitioned (one slot on a cluster).
  const prefix = new CallbackPartitions(config.CALLBACK_PARTITIONS).sendsPrefix(config.QUEUE_PREFIX);
  const queue = createSendQueue(connection, prefix);
  const pacing = new SendPacing(connection, prefix, SEND_QUEUE, {
    rateLimit: config.SEND_RATE_LIMIT,
    accountIntervalMs: config.SEND_ACCOUNT_INTERVAL,
    probeIntervalMs: config.SEND_PROBE_INTERVAL,
    callTimeoutMs: config.SEND_TIMEOUT,
  });
  const metrics = createSendMetrics(registry, connection, prefix);
  const processor = createSendProcessor({
    client: platform,
    pacing,
    queue,
    redis: connection,
    prefix,
    metrics,
    logger,
    probeIntervalMs: config.SEND_PROBE_INTERVAL,
  });
  const worker = new Worker<SendJobData, SendJobResult>(
    SEND_QUEUE,
    async (job, token) => {
      try {
        return await processor(job, token);
      } catch (error) {
        // Our own reasons read better without a stack into our code (as the other queues do).
        if (error instanceof UnrecoverableError || error instanceof RetryableSendError) {
          error.stack = `${error.name}: ${error.message}`;
        }
        throw error;
      }
    },
    {
      connection,
      prefix: config.QUEUE_PREFIX,
      concurrency: config.SEND_CONCURRENCY,
      lockDuration: config.JOB_LOCK_DURATION,
      stalledInterval: config.STALLED_CHECK_INTERVAL,
      maxStalledCount: config.MAX_STALLED_COUNT,
      ...retentionOptions(config),
      metrics: COMPLETION_METRICS,
      settings: { backoffStrategy: sendBackoff() },
    },
  );
  worker.on("failed", (job, error) => {
    if (!job || error.name === "DelayedError") return;
    const final = isFinalFailure(job, error);
    logger[final ? "error" : "warn"](
      { sendId: job.id, chatId: job.data?.chatId, attempt: job.attemptsMade, err: error.message },
      final ? "send failed (kept for replay)" : "send failed, will retry",
    );
  });
  worker.on("error", (error) => logger.warn({ queue: SEND_QUEUE, err: error.message }, "worker error"));
  worker.on("stalled", (jobId) =>
    logger.warn({ sendId: jobId }, "send lost its worker (lock lapsed): running it again"),
  );
  await worker.waitUntilReady();
  logger.info(
    {
      platform: new URL(config.PLATFORM_API_URL).origin,
      rateLimit: config.SEND_RATE_LIMIT ? `${config.SEND_RATE_LIMIT.max}/${config.SEND_RATE_LIMIT.windowMs}ms` : "off",
      accountInterval: config.SEND_ACCOUNT_INTERVAL,
      concurrency: config.SEND_CONCURRENCY,
    },
    "send worker started",
  );
  return {
    worker,
    queue,
    async close() {
      await worker.close();
      await queue.close().catch(() => {});
    },
  };
}
