import { ConfigError } from "@yuju-relay/config";
import { CALLBACK_QUEUE } from "./job-catalog.ts";
import type { RedisClient } from "./connections.ts";

/** `<prefix>:partitions`: the partition count the queues in this Redis are laid out in. */
export const partitionCountKey = (prefix: string) => `${prefix}:partitions`;

/** How to change the count, in the refusal: the queues must be empty, and every app must agree. */
export const PARTITION_MIGRATION =
  "To change it: stop the ingress (callbacks wait in the platform's retries or the spool), let the workers " +
  "drain every queue (`pnpm relay stats` shows nothing waiting, active or delayed), stop every app, " +
  "delete the key (`redis-cli DEL <prefix>:partitions`), then start every app with the new CALLBACK_PARTITIONS " +
  "(README: Redis Cluster, changing the partition count).";

/**
 * Records the partition count on first start and refuses a different one afterwards: an app
 * with another count would look for conversations in the wrong partitions, and a worker would
 * never see the jobs queued under the other layout. A Redis that has the unpartitioned callbacks
 * queue but no record was written by a release before partitions: it holds one partition.
 * Throws a ConfigError (the app exits 78).
 */
export async function claimPartitionCount(redis: RedisClient, prefix: string, count: number): Promise<void> {
  const key = partitionCountKey(prefix);
  let stored = await redis.get(key);
  if (stored === null) {
    const legacy = count !== 1 && (await redis.exists(`${prefix}:${CALLBACK_QUEUE}:meta`)) === 1;
    await redis.set(key, legacy ? "1" : String(count), "NX");
    stored = await redis.get(key);
  }
  if (stored !== null && Number(stored) !== count) {
    throw new ConfigError(
      [
        `CALLBACK_PARTITIONS: the queues under QUEUE_PREFIX are laid out in ${stored} partition(s), and this app was started with ${count}. Every app must use ${stored}. ${PARTITION_MIGRATION}`,
      ],
      "Partition count mismatch",
    );
  }
}
