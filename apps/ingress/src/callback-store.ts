import type { Logger } from "@yuju-relay/logging";
import type { CallbackJobData } from "@yuju-relay/queue";
import type { Spool } from "@yuju-relay/spool";
import {
  UnstorableCallbackError,
  type EnqueueCallback,
  type StoreCallback,
  type StoreOutcome,
} from "./store-outcome.ts";

const failed = (error: unknown): StoreOutcome => ({
  stored: false,
  reason: error instanceof UnstorableCallbackError ? "unstorable" : "unavailable",
  error: (error as Error).message,
});

/** Without a spool: Redis has it, or nothing does. */
export function queueOnlyStore(enqueue: EnqueueCallback): StoreCallback {
  return async (job) => {
    try {
      return { stored: "queue", jobId: await enqueue(job) };
    } catch (error) {
      return failed(error);
    }
  };
}

/**
 * Redis first; when Redis cannot take a callback (any failure but an unstorable body), the spool on
 * disk, drained into the queue once Redis is back. While the spool holds anything, every new
 * callback goes in behind it, never around it: the queue then sees callbacks in the order the
 * ingress acknowledged them, which is what keeps a conversation's messages in order. Callbacks in
 * flight at the same moment have no order between them anyway: the platform sent them concurrently.
 */
export function spoolingStore(enqueue: EnqueueCallback, spool: Spool, logger: Logger): StoreCallback {
  const toSpool = async (job: CallbackJobData): Promise<StoreOutcome> => {
    let record: string;
    try {
      // The job data as the queue would have stored it (BullMQ stores JSON.stringify of it too):
      // the drainer enqueues exactly this, so a drained job is the job the live path would have
      // made, with the same event id and the same de-duplication claim.
      record = JSON.stringify(job);
    } catch (error) {
      return failed(new UnstorableCallbackError(`the callback cannot be stored: ${(error as Error).message}`));
    }
    const appended = await spool.append(record);
    return appended.spooled ? { stored: "spool" } : { stored: false, reason: "unavailable", error: appended.error };
  };
  return async (job) => {
    if (spool.holdsRecords) return toSpool(job);
    try {
      return { stored: "queue", jobId: await enqueue(job) };
    } catch (error) {
      if (error instanceof UnstorableCallbackError) return failed(error);
      if (!spool.holdsRecords) {
        logger.warn({ err: (error as Error).message }, "redis cannot take callbacks: spooling them to disk");
      }
      return toSpool(job);
    }
  };
}
