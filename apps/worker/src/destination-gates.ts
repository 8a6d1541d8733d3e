import type { Destination } from "@yuju-relay/config";
import {
  createTickBatcher,
  type DeliveryJobData,
  type QueueGates,
  type RedisClient,
  type WatchedQueue,
} from "@yuju-relay/queue";
import type { Queue } from "bullmq";
import type { WorkerMetrics } from "./worker-metrics.ts";

// Takes one slot of each destination's BullMQ limiter (the key its queue's workers count against),
// for inline attempts: KEYS the limiter keys, ARGV their maxima then the window. 1 = room (a slot
// taken), 0 = none. Same arithmetic as BullMQ's moveToActive, so inline and queued deliveries share
// one limit across every worker; a 429's queue.rateLimit (the key set to MAX_SAFE_INTEGER) is no room.
const TAKE_SLOTS = `
local window = tonumber(ARGV[#ARGV])
local room = {}
for i, key in ipairs(KEYS) do
  local used = tonumber(redis.call('GET', key) or 0)
  if used >= tonumber(ARGV[i]) and redis.call('PTTL', key) > 0 then
    room[i] = 0
  else
    if redis.call('INCR', key) == 1 then redis.call('PEXPIRE', key, window) end
    room[i] = 1
  end
end
return room`;
const TAKE_SLOTS_COMMAND = "yujuTakeLimiterSlots";
type SlotRedis = RedisClient & {
  [TAKE_SLOTS_COMMAND](numKeys: number, ...keysThenArgs: Array<string | number>): Promise<number[]>;
};

/** BullMQ's limiter window of every destination queue (worker.ts sets the same). */
export const RATE_WINDOW_MS = 1_000;
/** The limiter's maximum of a destination without a rateLimit: a 429's Retry-After needs a limiter. */
export const NO_RATE_LIMIT = 100_000;

/**
 * What this process knows of each destination's queue without a round trip of its own: paused or
 * not, and rate-limited until when. Read with every batch of event claims (the claim script reads
 * each queue's gate in the same call: `observe`), and set at once when this process pauses or
 * rate-limits a destination itself. A destination with a `rateLimit` also needs room in its limiter
 * for an inline attempt: asked of Redis for a turn's worth of events at once.
 */
export class DestinationGates {
  private readonly paused = new Set<string>();
  private readonly limitedUntil = new Map<string, number>();
  private readonly pausing = new Map<string, Promise<void>>();
  private readonly takeSlotInTurn = createTickBatcher((names: string[]) => this.takeSlots(names), { maxBatch: 256 });

  constructor(
    private readonly redis: RedisClient,
    private readonly queues: ReadonlyMap<string, Queue<DeliveryJobData>>,
    private readonly destinations: ReadonlyMap<string, Destination>,
    private readonly metrics: WorkerMetrics,
  ) {
    if (!(TAKE_SLOTS_COMMAND in redis)) redis.defineCommand(TAKE_SLOTS_COMMAND, { lua: TAKE_SLOTS });
  }

  /** The queues whose gates the event claims read (EventClaims' `watch`). */
  watched(): WatchedQueue[] {
    return [...this.queues].map(([name, queue]) => ({
      name,
      metaKey: queue.keys.meta!,
      limiterKey: queue.keys.limiter!,
      max: this.destinations.get(name)?.rateLimit ?? NO_RATE_LIMIT,
    }));
  }

  /** A batch of claims read the gates: 0 open, -1 paused, else ms the limiter stays full. */
  observe(gates: QueueGates): void {
    const now = Date.now();
    for (const [name, state] of gates) {
      if (state === -1) this.paused.add(name);
      else if (!this.pausing.has(name)) this.paused.delete(name);
      if (state > 0) this.limitedUntil.set(name, now + state);
    }
  }

  /** Why an inline attempt cannot go now (paused, rate-limited), as this process last knew; null when it can. */
  closedBecause(name: string): string | null {
    if (this.paused.has(name)) return "destination paused";
    if ((this.limitedUntil.get(name) ?? 0) > Date.now()) return "destination rate-limited";
    return null;
  }

  /** Room under the destination's rateLimit for one inline attempt now (no round trip without a rateLimit). */
  async hasRoom(name: string): Promise<boolean> {
    if ((this.destinations.get(name)?.rateLimit ?? null) === null) return true;
    return this.takeSlotInTurn(name);
  }

  /** 410 Gone: pause the destination's queue for every worker, once however many attempts got it. */
  pause(name: string): Promise<void> {
    this.paused.add(name);
    const queue = this.queues.get(name)!;
    let pausing = this.pausing.get(name);
    if (!pausing) {
      pausing = (async () => {
        try {
          if (await queue.isPaused()) return;
          await queue.pause();
          this.metrics.paused(name);
        } finally {
          this.pausing.delete(name);
        }
      })();
      this.pausing.set(name, pausing);
    }
    return pausing;
  }

  /** 429 with Retry-After: the whole destination waits (every worker: BullMQ's limiter). */
  async rateLimit(name: string, waitMs: number): Promise<void> {
    this.limitedUntil.set(name, Date.now() + waitMs);
    await this.queues.get(name)!.rateLimit(waitMs);
  }

  private async takeSlots(names: string[]): Promise<boolean[]> {
    const keys = names.map((name) => this.queues.get(name)!.keys.limiter!);
    const maxima = names.map((name) => this.destinations.get(name)?.rateLimit ?? NO_RATE_LIMIT);
    const room = await (this.redis as SlotRedis)[TAKE_SLOTS_COMMAND](keys.length, ...keys, ...maxima, RATE_WINDOW_MS);
    return room.map((r) => r === 1);
  }
}
