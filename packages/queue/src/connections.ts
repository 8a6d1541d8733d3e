import { Redis, type RedisOptions } from "ioredis";

// Reconnect quickly but never give up: a Redis restart must not need an app restart.
const retryStrategy = (attempt: number) => Math.min(50 * 2 ** attempt, 1_000);

/**
 * The ingress's connection. It fails fast instead of queueing commands while Redis is away:
 * a callback must get 503 at once (and be retried by the platform), never wait on a dead socket.
 * Auto-pipelining sends the commands of concurrent requests in one write.
 */
export function createProducerConnection(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    enableAutoPipelining: true,
    connectTimeout: 2_000,
    retryStrategy,
    ...extra,
  });
}

/**
 * Workers and the dashboard: BullMQ's blocking commands need `maxRetriesPerRequest: null`, and
 * queueing commands through a short outage is what lets a worker resume on its own afterwards.
 */
export function createWorkerConnection(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, retryStrategy, ...extra });
}
