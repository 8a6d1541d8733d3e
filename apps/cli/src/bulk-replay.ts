import { Job } from "bullmq";
import { SingleBar, Presets } from "cli-progress";
import type { FailedJobRef } from "./failed-jobs.ts";
import { replayJob, type ReplayRequest } from "./job-replay.ts";
import type { Output } from "./output.ts";

export interface BulkReplaySummary {
  replayed: number;
  skipped: number;
  errors: Array<{ queue: string; jobId: string; reason: string }>;
  /** Replayed jobs per queue. */
  byQueue: Map<string, number>;
}

// Replays in flight at once: each is two or three Redis round trips; more than this only queues
// them in the connection while Redis, shared with the workers, does the same work.
const IN_FLIGHT = 16;

/** Replays every job, a few at a time, with a progress bar on a terminal. Each job is read when its turn comes. */
export async function replayAll(jobs: FailedJobRef[], request: ReplayRequest, io: Output): Promise<BulkReplaySummary> {
  const summary: BulkReplaySummary = { replayed: 0, skipped: 0, errors: [], byQueue: new Map() };
  const terminal = io.progress as (NodeJS.WritableStream & { isTTY?: boolean }) | undefined;
  const bar = terminal?.isTTY
    ? new SingleBar(
        {
          stream: terminal,
          format: "replaying [{bar}] {value}/{total} {percentage}% | {eta_formatted} left",
          hideCursor: true,
        },
        Presets.shades_classic,
      )
    : null;
  bar?.start(jobs.length, 0);
  let next = 0;
  const lane = async () => {
    while (next < jobs.length) {
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
      bar?.increment();
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, jobs.length) }, lane));
  bar?.stop();
  return summary;
}
