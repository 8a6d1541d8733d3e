import { Job, type Queue } from "bullmq";
import { replayJob, type ReplayRequest } from "./job-replay.ts";

/** A job by id only: what a bulk replay walks, so that 50 000 failed jobs are not all loaded at once. */
export interface JobRef {
  queue: Queue;
  id: string;
}

export interface BulkReplaySummary {
  replayed: number;
  skipped: number;
  errors: Array<{ queue: string; jobId: string; reason: string }>;
  /** Replayed jobs per queue. */
  byQueue: Map<string, number>;
  /** Stopped by its signal before the end: the jobs after the stop were left as they were. */
  cancelled: boolean;
}

// Replays in flight at once: each is two or three Redis round trips; more than this only queues
// them in the connection while Redis, shared with the workers, does the same work.
const IN_FLIGHT = 16;

/**
 * Replays every job, a few at a time; each job is read when its turn comes. `onProgress` is told
 * after each one; `signal` stops it between jobs (the dashboard's Cancel, a terminal's Ctrl-C).
 */
export async function replayJobs(
  jobs: readonly JobRef[],
  request: ReplayRequest,
  options: { onProgress?: (done: number) => void; signal?: AbortSignal } = {},
): Promise<BulkReplaySummary> {
  const summary: BulkReplaySummary = { replayed: 0, skipped: 0, errors: [], byQueue: new Map(), cancelled: false };
  let next = 0;
  let done = 0;
  const lane = async () => {
    while (next < jobs.length) {
      if (options.signal?.aborted) {
        summary.cancelled = true;
        return;
      }
      const { queue, id } = jobs[next++]!;
      const job = await Job.fromId(queue, id);
      // Gone since the listing (retention, or someone removed it): nothing to replay.
      const outcome = job ? await replayJob(job, request) : ({ status: "skipped", reason: "removed" } as const);
      if (outcome.status === "replayed") {
        summary.replayed += 1;
        summary.byQueue.set(queue.name, (summary.byQueue.get(queue.name) ?? 0) + 1);
      } else if (outcome.status === "skipped") {
        summary.skipped += 1;
      } else {
        summary.errors.push({ queue: queue.name, jobId: id, reason: outcome.reason });
      }
      options.onProgress?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, jobs.length) }, lane));
  return summary;
}
