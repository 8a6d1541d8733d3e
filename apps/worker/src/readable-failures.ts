import type { RedisClient } from "@yuju-relay/queue";
import { UnrecoverableError, type Job, type WorkerOptions } from "bullmq";
import { RetryableDeliveryError } from "./delivery-errors.ts";

/**
 * A failure we described ourselves (an invalid body, a refused or failed delivery) is shown in the
 * dashboard by its message alone: its stack trace points into our own code and buries the reason.
 * Anything else (a bug in a handler) keeps its stack.
 */
export function withReadableFailures<Data, Result>(processor: (job: Job<Data>, token?: string) => Promise<Result>) {
  return async (job: Job<Data>, token?: string) => {
    try {
      return await processor(job, token);
    } catch (error) {
      if (error instanceof UnrecoverableError || error instanceof RetryableDeliveryError) {
        error.stack = `${error.name}: ${error.message}`;
      }
      throw error;
    }
  };
}

/** What every queue's BullMQ worker shares: the connection, concurrency, locks, retention. */
export type CommonWorkerOptions = {
  connection: RedisClient;
  prefix: string;
  concurrency: number;
  lockDuration: number;
  stalledInterval: number;
  maxStalledCount: number;
  removeOnComplete?: WorkerOptions["removeOnComplete"];
  removeOnFail?: WorkerOptions["removeOnFail"];
  metrics: WorkerOptions["metrics"];
};

/** Logged when a job's lock lapsed (its worker died): rare, worth a read for the job's ids. */
export const LOST_WORKER = "job lost its worker (lock lapsed): running it again";
