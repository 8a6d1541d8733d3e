import type { Logger } from "@yuju-relay/logging";
import type { Spool } from "./spool.ts";

export interface SpoolDrainerOptions {
  spool: Spool;
  /** Hands a batch to its destination; resolves once the destination has every record of it. */
  deliver: (payloads: Buffer[]) => Promise<void>;
  /** Whether trying makes sense now (the destination's connection is up). */
  canDeliver: () => boolean;
  /** At most this many records per second, averaged over each batch. */
  maxPerSecond: number;
  logger: Logger;
  /** Called with the size of every batch removed from the spool (a metric). */
  onDrained?: (records: number) => void;
  /** Pause after a failed delivery, or while `canDeliver` says no. */
  retryDelayMs?: number;
}

// A batch is the unit of one delivery (one Redis pipeline): large enough for a good rate, small
// enough that its pipeline does not hold up the live traffic's on the same connection.
const MAX_BATCH_RECORDS = 100;
const MAX_BATCH_BYTES = 1024 * 1024;

/**
 * Moves spooled records to their destination, oldest first, one batch at a time, at no more than
 * `maxPerSecond`: a spool of an hour's callbacks must not take the CPU and the Redis connection
 * from the callbacks arriving now. A batch is removed from the spool only after `deliver` resolves;
 * a crash between the two delivers it again (at least once, never lost).
 */
export class SpoolDrainer {
  private stopped = false;
  private running: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private readonly batchRecords: number;

  constructor(private readonly options: SpoolDrainerOptions) {
    // At low rates, smaller batches: the pause between two of them stays under 100 ms.
    this.batchRecords = Math.max(1, Math.min(MAX_BATCH_RECORDS, Math.floor(options.maxPerSecond / 10)));
  }

  start(): void {
    this.running ??= this.run();
  }

  /** Lets the batch in flight finish (it is removed only if delivered), then stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
  }

  private async run(): Promise<void> {
    const { spool, deliver, canDeliver, maxPerSecond, logger, onDrained } = this.options;
    const retryDelayMs = this.options.retryDelayMs ?? 250;
    let failing = false;
    while (!this.stopped) {
      if (spool.state.records === 0) {
        await Promise.race([spool.whenRecords(), this.stopSignal()]);
        continue;
      }
      if (!canDeliver()) {
        await this.pause(retryDelayMs);
        continue;
      }
      let batch;
      try {
        batch = await spool.peek(this.batchRecords, MAX_BATCH_BYTES);
      } catch (error) {
        logger.error({ err: error }, "spool drain: cannot read the spool");
        await this.pause(retryDelayMs * 4);
        continue;
      }
      if (!batch) {
        await this.pause(retryDelayMs);
        continue;
      }
      const started = performance.now();
      try {
        await deliver(batch.records.map((record) => record.payload));
      } catch (error) {
        // Once per failing spell: the same error every 250 ms would drown the log.
        if (!failing) logger.warn({ err: (error as Error).message }, "spool drain: delivery failed, retrying");
        failing = true;
        await this.pause(retryDelayMs);
        continue;
      }
      if (failing) logger.info("spool drain: delivering again");
      failing = false;
      // Delivered: from here on, a failure only means the batch may be delivered twice.
      await spool.remove(batch).catch((error: unknown) => {
        logger.error(
          { err: error },
          "spool drain: cannot remove a delivered batch from the spool (it may be delivered again)",
        );
      });
      onDrained?.(batch.records.length);
      const due = (batch.records.length / maxPerSecond) * 1000 - (performance.now() - started);
      if (due > 0) await this.pause(due);
    }
  }

  private stopSignal(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
