import {
  callbackJobOptions,
  createTickBatcher,
  isConnected,
  type CallbackJobData,
  type RedisClient,
} from "@yuju-relay/queue";
import type { CallbackKind } from "@yuju-relay/protocol";
import type { JobsOptions, Queue } from "bullmq";
import type { EnqueueCallback } from "./ingest-callback.ts";

// One pipeline per turn of the event loop is the point. The cap hands a full batch to Redis at once,
// so that Redis stores it while the ingress parses the rest of the turn's requests, and no burst
// builds one giant reply that every caller in it waits for.
const MAX_BATCH = 16;

/**
 * Enqueues callbacks with BullMQ and resolves each one only once Redis has accepted its job. The
 * callbacks that arrive in the same turn of the event loop are stored with one `addBulk` (one
 * round trip): at full load that is most of what the ingress spends beyond HTTP. While Redis is
 * away it fails at once (no offline queue), and a Redis that hangs gets `timeoutMs`: the platform
 * gets a 503 and retries, instead of a hung request.
 */
export function createQueueEnqueuer(
  queue: Queue<CallbackJobData>,
  connection: RedisClient,
  { attempts, timeoutMs }: { attempts: number; timeoutMs: number },
): EnqueueCallback {
  // The same options object for every job of a kind: BullMQ copies it, it never changes it.
  const optionsOf: Record<CallbackKind, JobsOptions> = {
    message: callbackJobOptions("message", attempts),
    room_members: callbackJobOptions("room_members", attempts),
    unclassified: callbackJobOptions("unclassified", attempts),
  };
  const addBatch = createTickBatcher(
    async (jobs: CallbackJobData[]) => {
      const added = queue.addBulk(jobs.map((job) => ({ name: job.kind, data: job, opts: optionsOf[job.kind] })));
      // If the timeout wins, the jobs may still land later: the platform's retries then arrive as
      // duplicates, which the worker's event claims absorb. The same holds for a batch that fails
      // half-way (addBulk is a pipeline, not a transaction): all of its callbacks get 503.
      added.catch(() => {});
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`enqueue took longer than ${timeoutMs}ms`)), timeoutMs);
      });
      try {
        const created = await Promise.race([added, timeout]);
        return created.map((job) => job.id ?? "");
      } finally {
        clearTimeout(timer);
      }
    },
    { maxBatch: MAX_BATCH },
  );
  return async (job) => {
    if (!isConnected(connection)) throw new Error(`redis connection is ${connection.status}`);
    return addBatch(job);
  };
}
