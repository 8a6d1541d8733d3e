import { setTimeout as sleep } from "node:timers/promises";
import type { RedisClient } from "./connections.ts";
import { defineScripts } from "./lua-commands.ts";
import { CALLBACK_QUEUE } from "./job-catalog.ts";

// KEYS: the callbacks queue's wait, paused, active lists and its id counter. ARGV[1]: how many of
// the oldest waiting jobs to look at.
//
// Waiting jobs are pushed on the left in id order and taken from the right, and a stalled job (its
// worker died) is pushed back on the right: the smallest waiting ids are the rightmost ones. Only a
// job retried after a failure or replayed by hand is pushed back on the left, behind newer ones
// (the README lists these as what breaks the order). With nothing pending, the next id to come
// bounds every callback accepted so far.
/**
 * Lua that sets `lowest` to the lowest callback job id that may still be fanning out, from the
 * callbacks queue's wait, paused and active lists and id counter (`KEYS[first]` … `KEYS[first + 3]`),
 * reading `window` (a Lua variable the caller sets) of the oldest waiting ones. Shared by the fan-out
 * barrier and the bursts' close poll, which bound their waits by the same lower bound.
 */
export function lowestPendingLua(first: number): string {
  const [wait, paused, active, id] = [first, first + 1, first + 2, first + 3];
  return `
local lowest = tonumber(redis.call("GET", KEYS[${id}]) or "0") + 1
local function scan(ids)
  for _, id in ipairs(ids) do
    local n = tonumber(id)
    if n and n < lowest then lowest = n end
  end
end
scan(redis.call("LRANGE", KEYS[${wait}], -window, -1))
scan(redis.call("LRANGE", KEYS[${paused}], -window, -1))
scan(redis.call("LRANGE", KEYS[${active}], 0, -1))
`;
}

const LOWEST_PENDING = `
local window = tonumber(ARGV[1])
${lowestPendingLua(1)}
return lowest
`;

interface WatermarkCommands {
  callbacksLowestPending(wait: string, paused: string, active: string, id: string, window: number): Promise<number>;
}

/**
 * The fan-out barrier of ordered destinations: the lowest callback job id that may still be fanning
 * out (waiting or active in the callbacks queue). Two callbacks of one conversation can be fanned
 * out by different workers at once, the later one first; a delivery may start only once every
 * callback accepted before it has reserved its turn, that is once no callback job with a lower id
 * than its own is pending (its own may be: it reserved the turn before adding the delivery).
 *
 * The pending set only shrinks while new callbacks get higher ids, so a value read earlier is a
 * lower bound of the current one: each process reads it at most once per `refreshMs`, shared by
 * every delivery waiting on it.
 */
export class FanOutWatermark {
  private value = 0;
  private readAt = 0;
  private reading: Promise<number> | null = null;
  private readonly keys: [string, string, string, string];
  private readonly redis: RedisClient & WatermarkCommands;

  constructor(
    redis: RedisClient,
    prefix: string,
    private readonly options: { refreshMs: number; scanWindow?: number; queueName?: string } = { refreshMs: 20 },
  ) {
    this.redis = defineScripts<WatermarkCommands>(redis, {
      callbacksLowestPending: { numberOfKeys: 4, lua: LOWEST_PENDING },
    });
    // `prefix` is BullMQ's (QUEUE_PREFIX); `queueName` one partition's callbacks queue: acceptance
    // order is per partition, and so is a conversation.
    const key = (type: string) => `${prefix}:${options.queueName ?? CALLBACK_QUEUE}:${type}`;
    this.keys = [key("wait"), key("paused"), key("active"), key("id")];
  }

  /** The lowest callback job id that may still be fanning out, at most `refreshMs` old. */
  async current(): Promise<number> {
    if (Date.now() - this.readAt < this.options.refreshMs) return this.value;
    this.reading ??= this.redis
      .callbacksLowestPending(...this.keys, this.options.scanWindow ?? 1_000)
      .then((lowest) => {
        this.value = Math.max(this.value, Number(lowest));
        this.readAt = Date.now();
        return this.value;
      })
      .finally(() => {
        this.reading = null;
      });
    return this.reading;
  }

  /** Whether every callback before `seq` has fanned out, waiting up to `waitMs` for it. */
  async passed(seq: number, waitMs: number): Promise<boolean> {
    if (this.value >= seq) return true;
    const until = Date.now() + waitMs;
    for (;;) {
      if ((await this.current()) >= seq) return true;
      if (Date.now() >= until) return false;
      await sleep(this.options.refreshMs);
    }
  }
}
