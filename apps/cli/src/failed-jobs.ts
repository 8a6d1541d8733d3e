import { callbackEventId, CALLBACK_QUEUE, type CallbackJobData, type DeliveryJobData } from "@yuju-relay/queue";
import type { Job, Queue } from "bullmq";
import { eventOfCallback, reasonExcerpt } from "@yuju-relay/inspector";
import { destinationQueue, type RelayQueues } from "./relay-queues.ts";

/** A job in a failed set, with where it failed. */
export interface FailedJob {
  queue: string;
  /** Null for the callbacks queue. */
  destination: string | null;
  job: Job<CallbackJobData> | Job<DeliveryJobData>;
  failedAt: number;
}

export interface FailedFilter {
  /** Only this destination's queue; unset: the callbacks queue and every destination's. */
  destination?: string;
  /** Only jobs that failed at or after this time (ms since epoch). */
  since?: number;
  /** At most this many, newest first; 0: all. */
  limit: number;
}

const PAGE = 500;

/**
 * The failed jobs of the chosen queues, newest first. A failed set is ordered by the time each job
 * failed, so `--since` reads only as far back as it needs.
 */
export async function listFailedJobs(
  relay: RelayQueues,
  filter: FailedFilter,
): Promise<{ jobs: FailedJob[]; more: boolean }> {
  const queues: Array<[string | null, Queue]> = relay.partitions.flatMap((partition) =>
    filter.destination
      ? [[filter.destination, destinationQueue(partition, filter.destination)] as [string | null, Queue]]
      : [[null, partition.callbacks] as [string | null, Queue], ...[...partition.deliveries]],
  );
  const all: FailedJob[] = [];
  let more = false;
  for (const [destination, queue] of queues) {
    const found = await failedOf(queue, filter.since ?? 0, filter.limit);
    more ||= found.more;
    for (const job of found.jobs) all.push({ queue: queue.name, destination, job, failedAt: job.finishedOn ?? 0 });
  }
  all.sort((a, b) => b.failedAt - a.failedAt);
  if (filter.limit > 0 && all.length > filter.limit) {
    all.length = filter.limit;
    more = true;
  }
  return { jobs: all, more };
}

async function failedOf(queue: Queue, since: number, limit: number): Promise<{ jobs: Job[]; more: boolean }> {
  const jobs: Job[] = [];
  for (let start = 0; ; start += PAGE) {
    const page = (await queue.getFailed(start, start + PAGE - 1)).filter(Boolean);
    for (const job of page) {
      if ((job.finishedOn ?? 0) < since) return { jobs, more: false };
      if (limit > 0 && jobs.length === limit) return { jobs, more: true };
      jobs.push(job);
    }
    if (page.length < PAGE) return { jobs, more: false };
  }
}

/** A failed job by id only: what a bulk replay walks, so that 50 000 failed jobs are not all loaded at once. */
export interface FailedJobRef {
  queue: Queue;
  id: string;
}

/**
 * The ids in the chosen queues' failed sets, newest first: one ZREVRANGEBYSCORE per queue (a
 * failed set is scored by the time each job failed).
 */
export async function failedJobRefs(
  relay: RelayQueues,
  filter: Pick<FailedFilter, "destination" | "since">,
): Promise<FailedJobRef[]> {
  const queues = relay.partitions.flatMap((partition) =>
    filter.destination
      ? [destinationQueue(partition, filter.destination) as Queue]
      : [partition.callbacks as Queue, ...partition.deliveries.values()],
  );
  const refs: FailedJobRef[] = [];
  for (const queue of queues) {
    const ids = await relay.redis.zrevrangebyscore(queue.keys.failed!, "+inf", filter.since ?? "-inf");
    for (const id of ids) refs.push({ queue, id });
  }
  return refs;
}

/** One row of `relay failed`, for a person or a script. */
export interface FailedRow {
  queue: string;
  destination: string | null;
  jobId: string;
  eventId: string | null;
  type: string;
  failedAt: string;
  attempts: number;
  maxAttempts: number;
  reason: string | null;
}

export function failedRow({ queue, destination, job, failedAt }: FailedJob): FailedRow {
  let eventId: string | null;
  let type: string;
  if (queue === CALLBACK_QUEUE) {
    const callbackJob = job as Job<CallbackJobData>;
    eventId = callbackEventId(callbackJob.data);
    type = eventOfCallback(callbackJob)?.type ?? `invalid ${callbackJob.data.kind} callback`;
  } else {
    const { event } = (job as Job<DeliveryJobData>).data;
    eventId = event.id;
    type = event.type;
  }
  return {
    queue,
    destination,
    jobId: job.id ?? "",
    eventId,
    type,
    failedAt: new Date(failedAt).toISOString(),
    attempts: job.attemptsMade,
    maxAttempts: job.opts.attempts ?? 1,
    reason: reasonExcerpt(job.failedReason),
  };
}
