import { withDeadline } from "@yuju-relay/app-lifecycle";
import type { Logger } from "@yuju-relay/logging";
import {
  callbackJobName,
  callbackJobOptions,
  isConnected,
  type CallbackJobData,
  type PartitionedCallbackQueues,
  type RedisClient,
} from "@yuju-relay/queue";
import { SpoolDrainer, type Spool } from "@yuju-relay/spool";

// A drain batch is 100 jobs in one pipeline, normally a few ms. A Redis that hangs gets this long;
// if the batch lands after all, the retry enqueues it twice and the worker's claims drop the copies.
const DRAIN_BATCH_TIMEOUT_MS = 5_000;

export interface CallbackDrainerDeps {
  spool: Spool;
  queue: Pick<PartitionedCallbackQueues, "addBulk">;
  connection: RedisClient;
  maxPerSecond: number;
  logger: Logger;
  onDrained: (callbacks: number) => void;
}

/**
 * Moves spooled callbacks into the callbacks queue, oldest first, with the job catalog's name and
 * options: a drained callback is the job the live path would have made.
 */
export function createCallbackDrainer({
  spool,
  queue,
  connection,
  maxPerSecond,
  logger,
  onDrained,
}: CallbackDrainerDeps): SpoolDrainer {
  return new SpoolDrainer({
    spool,
    maxPerSecond,
    logger,
    onDrained,
    canDeliver: () => isConnected(connection),
    async deliver(payloads) {
      const jobs = payloads.map((payload) => {
        const data = JSON.parse(payload.toString("utf8")) as CallbackJobData;
        return { name: callbackJobName(data), data, opts: callbackJobOptions(data.kind) };
      });
      const added = queue.addBulk(jobs);
      added.catch(() => {});
      await withDeadline(added, DRAIN_BATCH_TIMEOUT_MS, () => {
        throw new Error(`drain batch took over ${DRAIN_BATCH_TIMEOUT_MS}ms`);
      });
    },
  });
}
