import type { Queue } from "bullmq";
import type { RelayQueues } from "./relay-queues.ts";

export interface QueueStats {
  queue: string;
  /** Null for the callbacks and sends queues. */
  destination: string | null;
  paused: boolean;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  /** Age of the oldest waiting job, in ms; null when none waits. */
  oldestWaitingMs: number | null;
  /** Jobs completed in the last hour: for a destination, events delivered; for sends, messages sent. */
  completedLastHour: number;
}

/** Every partition's callbacks and destinations' queues, then the sends queue (not partitioned). */
export async function relayStats(relay: RelayQueues, now = Date.now()): Promise<QueueStats[]> {
  const queues: Array<[string | null, Queue]> = [
    ...relay.partitions.flatMap((p): Array<[string | null, Queue]> => [[null, p.callbacks], ...p.deliveries]),
    [null, relay.sends],
  ];
  return Promise.all(queues.map(([destination, queue]) => queueStats(queue, destination, now)));
}

async function queueStats(queue: Queue, destination: string | null, now: number): Promise<QueueStats> {
  const [counts, paused, oldest, completedLastHour] = await Promise.all([
    queue.getJobCounts("waiting", "paused", "prioritized", "active", "delayed", "failed"),
    queue.isPaused(),
    // getWaiting reads oldest first (as the backlog-age metric does).
    queue.getWaiting(0, 0),
    completedInLastHour(queue, now),
  ]);
  const first = oldest[0];
  return {
    queue: queue.name,
    destination,
    paused,
    waiting: (counts.waiting ?? 0) + (counts.paused ?? 0) + (counts.prioritized ?? 0),
    active: counts.active ?? 0,
    delayed: counts.delayed ?? 0,
    failed: counts.failed ?? 0,
    oldestWaitingMs: first ? Math.max(0, now - first.timestamp) : null,
    completedLastHour,
  };
}

const MINUTE = 60_000;

/**
 * From BullMQ's per-minute completion metrics (the workers record them: COMPLETION_METRICS). Its
 * list holds one count per finished minute, newest first, up to the minute before `prevTS`; the
 * jobs completed since `prevTS`'s minute began are `count - prevCount`. A point is written only when
 * a job completes in a later minute, so each is placed by `prevTS`, not by the time of reading.
 */
export async function completedInLastHour(queue: Queue, now: number): Promise<number> {
  const { meta, data } = await queue.getMetrics("completed", 0, 59);
  if (!meta.prevTS) return 0;
  const firstMinute = Math.floor(now / MINUTE) - 59;
  const lastMinute = Math.floor(meta.prevTS / MINUTE);
  let total = lastMinute >= firstMinute ? meta.count - meta.prevCount : 0;
  data.forEach((completed, i) => {
    if (lastMinute - 1 - i >= firstMinute) total += completed;
  });
  return total;
}
