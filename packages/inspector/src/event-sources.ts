import type { CallbackJobData, DeliveryJobData, DeliveryPolicy, RedisClient } from "@yuju-relay/queue";
import type { Queue } from "bullmq";

/**
 * Where an event's story is read from: the record (Redis, under `prefix`) and the jobs of the
 * callbacks queue and of every configured destination's queue. The CLI and the dashboard open
 * them their own way (the CLI gives up within seconds, the dashboard stays connected).
 */
export interface EventSources {
  redis: RedisClient;
  prefix: string;
  callbacks: Queue<CallbackJobData>;
  /** Every configured destination's queue (disabled ones too: they may still hold jobs), by name. */
  deliveries: ReadonlyMap<string, Queue<DeliveryJobData>>;
  /** Each destination's attempts and backoff: what a replay's new delivery job gets. */
  policies: ReadonlyMap<string, DeliveryPolicy>;
  retention: { completedMs: number; failedMs: number };
}
