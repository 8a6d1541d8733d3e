import { Cluster, Redis, type ClusterOptions, type RedisOptions } from "ioredis";

/** A single Redis, or a Redis Cluster (REDIS_CLUSTER=true). BullMQ takes either. */
export type RedisClient = Redis | Cluster;

export interface ConnectionChoice extends RedisOptions {
  /** REDIS_URL names Cluster nodes (one is enough; a comma-separated list is safer). */
  cluster?: boolean;
}

// Reconnect quickly but never give up: a Redis restart must not need an app restart.
const retryStrategy = (attempt: number) => Math.min(50 * 2 ** attempt, 1_000);

function connect(url: string, { cluster = false, ...options }: ConnectionChoice, clusterOptions: ClusterOptions = {}) {
  if (!cluster) return new Redis(url, options);
  const urls = url.split(",").map((u) => new URL(u.trim()));
  const first = urls[0]!;
  return new Cluster(
    urls.map((u) => ({ host: u.hostname, port: Number(u.port || 6379) })),
    {
      clusterRetryStrategy: retryStrategy,
      ...clusterOptions,
      // Credentials and TLS come from the first URL and apply to every node.
      redisOptions: {
        ...options,
        username: decodeURIComponent(first.username) || undefined,
        password: decodeURIComponent(first.password) || undefined,
        ...(first.protocol === "rediss:" ? { tls: {} } : {}),
      },
    },
  );
}

/** Connected and usable. ioredis Cluster may report `connect` where a single node says `ready`. */
export function isConnected(client: RedisClient): boolean {
  return client.status === "ready" || (client instanceof Cluster && client.status === "connect");
}

/**
 * The ingress's connection. It fails fast instead of queueing commands while Redis is away:
 * a callback must get 503 at once (and be retried by the platform), never wait on a dead socket.
 * Auto-pipelining sends the commands of concurrent requests in one write.
 */
export function createProducerConnection(url: string, choice: ConnectionChoice = {}): RedisClient {
  return connect(
    url,
    {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      enableAutoPipelining: true,
      connectTimeout: 2_000,
      retryStrategy,
      ...choice,
    },
    { enableOfflineQueue: false, enableAutoPipelining: true },
  );
}

/**
 * Workers and the dashboard: BullMQ's blocking commands need `maxRetriesPerRequest: null`, and
 * queueing commands through a short outage is what lets a worker resume on its own afterwards.
 */
export function createWorkerConnection(url: string, choice: ConnectionChoice = {}): RedisClient {
  return connect(url, { maxRetriesPerRequest: null, retryStrategy, ...choice });
}
