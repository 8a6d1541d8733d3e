import { callbackJobOptions, type CallbackJobData } from "@yuju-relay/queue";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { EnqueueCallback } from "./ingest-callback.ts";

/**
 * Enqueues one callback with BullMQ and resolves only once Redis has accepted the job. While Redis
 * is away it fails at once (no offline queue), and a Redis that hangs gets `timeoutMs`: the
 * platform gets a 503 and retries, instead of a hung request.
 */
export function createQueueEnqueuer(
  queue: Queue<CallbackJobData>,
  connection: Redis,
  { attempts, timeoutMs }: { attempts: number; timeoutMs: number },
): EnqueueCallback {
  return async (job) => {
    if (connection.status !== "ready") throw new Error(`redis connection is ${connection.status}`);
    const added = queue.add(job.kind, job, callbackJobOptions(job.kind, attempts));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`enqueue took longer than ${timeoutMs}ms`)), timeoutMs);
    });
    // If the timeout wins, the add may still land later: the platform's retry then arrives as a
    // duplicate, which the worker's event claim absorbs.
    added.catch(() => {});
    try {
      const created = await Promise.race([added, timeout]);
      return created.id ?? "";
    } finally {
      clearTimeout(timer);
    }
  };
}
