import type { DeliveryJobData } from "@yuju-relay/queue";
import { Job, type Queue } from "bullmq";
import type { JobRef } from "./bulk-replay.ts";
import type { EventSources } from "./event-sources.ts";

/** Which failed deliveries a bulk replay takes: the search's filters that a failed job can answer. */
export interface FailedDeliveryFilter {
  destination?: string;
  /** A messageId, an event id, a chatId, a contactId, a roomId or a botWxid. */
  q?: string;
  /** An event type or a message kind. */
  type?: string;
  /** When the job failed, ms since epoch, inclusive. */
  since?: number;
  until?: number;
}

// Jobs read at once when a filter needs their data.
const READ_BATCH = 100;

function wanted(data: DeliveryJobData, filter: FailedDeliveryFilter): boolean {
  const event = data.event;
  if (filter.type) {
    const kind = event.type === "message.received" ? event.data.kind : null;
    if (event.type !== filter.type && kind !== filter.type) return false;
  }
  if (filter.q) {
    const d = event.data as unknown as Record<string, unknown> & {
      contact?: { id?: string };
      room?: { id?: string; chatId?: string } | null;
      bot?: { wxid?: string };
    };
    const values = [event.id, data.messageId, d.chatId, d.contact?.id, d.room?.id, d.room?.chatId, d.bot?.wxid];
    if (!values.includes(filter.q)) return false;
  }
  return true;
}

/**
 * The failed delivery jobs matching a filter, newest failure first: one ZREVRANGEBYSCORE per queue
 * (a failed set is scored by the time each job failed), then, only when the filter looks into the
 * event, each job's data, a batch at a time.
 */
export async function failedDeliveries(sources: EventSources, filter: FailedDeliveryFilter): Promise<JobRef[]> {
  const queues: Queue[] = filter.destination
    ? [sources.deliveries.get(filter.destination)].filter((q): q is Queue<DeliveryJobData> => q !== undefined)
    : [...sources.deliveries.values()];
  const refs: JobRef[] = [];
  for (const queue of queues) {
    const ids = await sources.redis.zrevrangebyscore(
      queue.keys.failed!,
      filter.until ?? "+inf",
      filter.since ?? "-inf",
    );
    if (!filter.q && !filter.type) {
      for (const id of ids) refs.push({ queue, id });
      continue;
    }
    for (let i = 0; i < ids.length; i += READ_BATCH) {
      const jobs = await Promise.all(ids.slice(i, i + READ_BATCH).map((id) => Job.fromId<DeliveryJobData>(queue, id)));
      for (const job of jobs) if (job?.id && wanted(job.data, filter)) refs.push({ queue, id: job.id });
    }
  }
  return refs;
}
