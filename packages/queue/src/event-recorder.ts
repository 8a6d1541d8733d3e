import type { RedisClient } from "./connections.ts";
import { recordEventsAndAttempts, type AttemptWrite, type EventRecordWrite } from "./event-record.ts";
import { createTickBatcher } from "./tick-batcher.ts";

/** What one job writes to the record: an event's summary and first statuses, its attempts, or both. */
export interface RecordWrite {
  events?: readonly EventRecordWrite[];
  attempts?: readonly AttemptWrite[];
}

/**
 * The record writes of one turn of the event loop, in one round trip: the callback jobs that ended
 * their inline attempts in the same turn share one pipeline of the two record scripts, like their
 * claims share one script call. A batch fails as a whole: each job's write rejects, and the job
 * retries (its re-run reads what the record holds).
 */
export class EventRecorder {
  private readonly writeInTurn = createTickBatcher(
    async (writes: RecordWrite[]) => {
      const events: EventRecordWrite[] = [];
      const attempts: AttemptWrite[] = [];
      for (const w of writes) {
        if (w.events) events.push(...w.events);
        if (w.attempts) attempts.push(...w.attempts);
      }
      await recordEventsAndAttempts(this.redis, this.prefix, this.ttlMs, events, attempts);
      return writes.map(() => undefined);
    },
    { maxBatch: 128 },
  );

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    /** max(KEEP_COMPLETED_AGE, KEEP_FAILED_AGE): the record lives as long as the longest-kept job. */
    private readonly ttlMs: number,
  ) {}

  write(write: RecordWrite): Promise<void> {
    if (!write.events?.length && !write.attempts?.length) return Promise.resolve();
    return this.writeInTurn(write);
  }
}
