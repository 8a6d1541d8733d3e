import { withDeadline } from "@yuju-relay/app-lifecycle";
import {
  callbackJobName,
  callbackJobOptions,
  createTickBatcher,
  isConnected,
  type CallbackJobData,
  type PartitionedCallbackQueues,
  type RedisClient,
} from "@yuju-relay/queue";
import type { CallbackKind } from "@yuju-relay/protocol";
import type { JobsOptions } from "bullmq";
import { UnstorableCallbackError, type EnqueueCallback } from "./store-outcome.ts";

// One pipeline per turn of the event loop is the point. The cap hands a full batch to Redis at once,
// so that Redis stores it while the ingress parses the rest of the turn's requests, and no burst
// builds one giant reply that every caller in it waits for.
const MAX_BATCH = 16;

/**
 * Errors JavaScript raises while BullMQ builds a job (JSON.stringify of its data overflowing the
 * stack, a value it cannot serialize), before anything reaches Redis. Redis and connection errors
 * are ioredis errors, never these.
 */
const isJobBuildError = (error: unknown) =>
  error instanceof RangeError || error instanceof TypeError || error instanceof SyntaxError;

/** Why a job's data cannot be stored, or null when it can. Only run on a batch that failed so. */
function serializationProblem(job: CallbackJobData): string | null {
  try {
    JSON.stringify(job);
    return null;
  } catch (error) {
    return `the callback cannot be stored: ${(error as Error).message}`;
  }
}

/**
 * Enqueues callbacks with BullMQ and resolves each one only once Redis has accepted its job. The
 * callbacks that arrive in the same turn of the event loop are stored with one `addBulk` (one
 * round trip): at full load that is most of what the ingress spends beyond HTTP. While Redis is
 * away it fails at once (no offline queue), and a Redis that hangs gets `timeoutMs`: the platform
 * gets a 503 and retries, instead of a hung request. A callback whose job cannot even be built
 * fails alone (UnstorableCallbackError): its batch neighbours are stored one by one instead.
 */
export function createQueueEnqueuer(
  queue: Pick<PartitionedCallbackQueues, "addBulk">,
  connection: RedisClient,
  { timeoutMs }: { timeoutMs: number },
): EnqueueCallback {
  // The job catalog's options, one object per kind: BullMQ copies it, it never changes it.
  const optionsOf: Record<CallbackKind, JobsOptions> = {
    message: callbackJobOptions("message"),
    room_members: callbackJobOptions("room_members"),
    friend_accepted: callbackJobOptions("friend_accepted"),
    unclassified: callbackJobOptions("unclassified"),
  };
  async function store(jobs: CallbackJobData[]): Promise<string[]> {
    const added = queue.addBulk(
      jobs.map((job) => ({ name: callbackJobName(job), data: job, opts: optionsOf[job.kind] })),
    );
    // If the timeout wins, the jobs may still land later: the platform's retries then arrive as
    // duplicates, which the worker's event claims absorb. The same holds for a batch that fails
    // half-way in Redis (addBulk is a pipeline, not a transaction): all of its callbacks get 503.
    added.catch(() => {});
    const created = await withDeadline(added, timeoutMs, () => {
      throw new Error(`enqueue took longer than ${timeoutMs}ms`);
    });
    return created.map((job) => job.id ?? "");
  }
  const addBatch = createTickBatcher(
    async (jobs: CallbackJobData[]): Promise<Array<string | Error>> => {
      try {
        return await store(jobs);
      } catch (error) {
        if (!isJobBuildError(error)) throw error;
        // Nothing of this batch reached Redis (BullMQ builds every job before it sends the pipeline).
        // Find the callbacks that cannot be stored; store the others, each alone.
        return Promise.all(
          jobs.map(async (job) => {
            const problem = serializationProblem(job);
            if (problem !== null) return new UnstorableCallbackError(problem);
            try {
              return (await store([job]))[0]!;
            } catch (alone) {
              return alone instanceof Error ? alone : new Error(String(alone));
            }
          }),
        );
      }
    },
    { maxBatch: MAX_BATCH },
  );
  return async (job) => {
    if (!isConnected(connection)) throw new Error(`redis connection is ${connection.status}`);
    const stored = await addBatch(job);
    if (stored instanceof Error) throw stored;
    return stored;
  };
}
