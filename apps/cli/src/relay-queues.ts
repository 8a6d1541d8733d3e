import { ConfigError } from "@yuju-relay/config";
import {
  CallbackPartitions,
  createSendQueue,
  createWorkerConnection,
  isConnected,
  type CallbackJobData,
  type DeliveryJobData,
  type DeliveryPolicy,
  type RedisClient,
  type SendJobData,
} from "@yuju-relay/queue";
import { destinationPolicies, type EventSources } from "@yuju-relay/inspector";
import { Queue } from "bullmq";
import type { CliConfig } from "./cli-env.ts";
import { CliError, configErrorLine } from "./cli-error.ts";
import { EXIT } from "./exit-codes.ts";

/** The queues the worker uses, opened as the worker opens them: the same REDIS_URL, prefix and RELAY_CONFIG. */
export interface RelayQueues extends EventSources {
  /** The send API's queue. */
  sends: Queue<SendJobData>;
  /**
   * Each partition's view (CALLBACK_PARTITIONS): its callbacks and destinations' queues, and
   * `prefix` its keys' prefix. The fields above are partition 0's; with one partition, the only one.
   */
  partitions: readonly RelayQueues[];
  close(): Promise<void>;
}

/** The URL without its password: it goes into an error message. */
function safeRedisUrl(url: string): string {
  return url
    .split(",")
    .map((u) => u.trim().replace(/\/\/[^@/]*@/, "//"))
    .join(",");
}

const CONNECT_TIMEOUT_MS = 5_000;

/**
 * A connection that gives up: an operator's command must answer "Redis is away" within seconds,
 * not wait on a dead socket as a worker does.
 */
async function connect(config: CliConfig): Promise<RedisClient> {
  const redis = createWorkerConnection(config.REDIS_URL, {
    cluster: config.REDIS_CLUSTER,
    maxRetriesPerRequest: 1,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (attempt) => (attempt > 2 ? null : 200),
  });
  let lastError = "no answer";
  redis.on("error", (error: Error & { code?: string }) => (lastError = error.code ?? error.message));
  const ready = await new Promise<boolean>((resolve) => {
    if (isConnected(redis)) return resolve(true);
    const timer = setTimeout(() => resolve(false), CONNECT_TIMEOUT_MS);
    const settle = (ok: boolean) => () => {
      clearTimeout(timer);
      resolve(ok);
    };
    redis.once("ready", settle(true));
    redis.once("end", settle(false));
  });
  if (!ready) {
    redis.disconnect();
    throw new CliError(`Redis at ${safeRedisUrl(config.REDIS_URL)} did not answer (${lastError})`, EXIT.unavailable);
  }
  return redis;
}

export async function openRelayQueues(config: CliConfig): Promise<RelayQueues> {
  let policies: Map<string, DeliveryPolicy>;
  try {
    policies = destinationPolicies(config.RELAY_CONFIG, {
      baseDelayMs: config.RETRY_BASE_DELAY,
      maxDelayMs: config.RETRY_MAX_DELAY,
    });
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(configErrorLine(error), EXIT.config);
    throw error;
  }
  const redis = await connect(config);
  const layout = new CallbackPartitions(config.CALLBACK_PARTITIONS);
  const opened: Queue[] = [];
  const open = <T>(name: string) => {
    const queue = new Queue<T>(name, { connection: redis, prefix: config.QUEUE_PREFIX });
    queue.on("error", () => {});
    opened.push(queue as Queue);
    return queue;
  };
  const close = async () => {
    await Promise.all(opened.map((q) => q.close().catch(() => {})));
    await redis.quit().catch(() => redis.disconnect());
  };
  // The send API's queue is not partitioned: one queue, under partition 0's tag when partitioned.
  const sends = createSendQueue(redis, layout.sendsPrefix(config.QUEUE_PREFIX));
  sends.on("error", () => {});
  opened.push(sends as Queue);
  const partitions: RelayQueues[] = layout.indexes().map((p) => {
    const view: RelayQueues = {
      redis,
      prefix: layout.keyPrefix(config.QUEUE_PREFIX, p),
      callbacks: open<CallbackJobData>(layout.callbackQueueName(p)),
      deliveries: new Map(
        [...policies.keys()].map((name) => [name, open<DeliveryJobData>(layout.deliveryQueueName(name, p))] as const),
      ),
      policies,
      sends,
      retention: { completedMs: config.KEEP_COMPLETED_AGE, failedMs: config.KEEP_FAILED_AGE },
      partitions: [],
      close,
    };
    view.partitions = [view];
    return view;
  });
  return { ...partitions[0]!, partitions };
}

/** The queue of a destination the user named, or a one-line "not found" listing the known ones. */
export function destinationQueue(relay: RelayQueues, name: string): Queue<DeliveryJobData> {
  const queue = relay.deliveries.get(name);
  if (!queue) {
    throw new CliError(
      `no destination named "${name}" (known: ${[...relay.deliveries.keys()].join(", ") || "none"})`,
      EXIT.notFound,
    );
  }
  return queue;
}
