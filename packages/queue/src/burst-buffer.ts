import type { RedisClient } from "./connections.ts";
import { defineScripts } from "./lua-commands.ts";
import { CALLBACK_QUEUE } from "./job-catalog.ts";
import { lowestPendingLua } from "./fan-out-watermark.ts";

/**
 * The bursts of a destination with `merge` (see ARCHITECTURE.md, "Bursts"): the messages of each
 * chat wait in Redis until their burst closes, then go to the destination as one delivery.
 *
 * Per destination and chat, one key family, `<prefix>:burst:<destination>:<chat>:*`:
 *   open     list of the open burst's messages (JSON entries, in the order they were added)
 *   state    hash: `n` the number of the next burst to close; `first` and `last`, the earliest and
 *            latest acceptance time (ms) of the open burst's messages; `why`, what closes it if
 *            nothing else comes (quiet, maxWait or maxMessages)
 *   seen     sorted set of the message event ids added in the last `seenForMs`, by time: a
 *            platform redelivery or a callback job run again adds nothing twice, to any burst
 *   closed   hash: burst number → the burst, taken from `open` and not yet handed to the
 *            destination's queue (a worker that dies in between leaves it here for another)
 * and per destination, across chats:
 *   due      sorted set: chat → when its open burst closes (ms, Redis's clock)
 *   closing  sorted set: chat → when a burst of it was taken (ms): chats with something in `closed`
 *
 * A burst's times are its messages' acceptance times (when the ingress answered 200), not when a
 * worker got to them: a worker running behind does not split a burst, and `quiet` means what the
 * customer did. Whether a burst is due is read against Redis's clock (TIME), one clock for every
 * worker; the ingress's clock is taken to agree with it (same host, or NTP). Every key a script touches is declared: with a hash-tagged prefix (`{yuju}`) they
 * share one Cluster slot; a later partition by conversation can tag `<destination>:<chat>` instead,
 * keeping the per-chat family together (the two per-destination sets would then go per partition).
 */

/** Everything kept for one message of a burst. */
export interface BurstEntry {
  /** The message's event id. */
  id: string;
  /** When the ingress accepted it (ISO 8601). */
  at: string;
  /** Its callback job. */
  cb: string;
  /** Its `message.received` data. */
  data: unknown;
}

/** A burst taken from its chat's buffer, to be handed to the destination's queue. */
export interface ClosedBurst {
  chat: string;
  /** Its number in the chat, from 1: with `first`, its place in line for an ordered destination. */
  n: number;
  /** Its earliest message's acceptance time (ms). */
  first: number;
  /** When it was taken (ms, Redis's clock): a chat's bursts are taken one after the other. */
  closedAt: number;
  why: "quiet" | "maxWait" | "maxMessages";
  entries: BurstEntry[];
}

export interface MergePolicy {
  quietMs: number;
  maxWaitMs: number;
  maxMessages: number;
}

/**
 * How long a message id is remembered per chat against being added twice. A platform retries
 * within minutes; the event claims (DEDUP_WINDOW) drop its redeliveries before they get here anyway.
 */
export const BURST_SEEN_FOR_MS = 3_600_000;

// The oldest waiting callbacks are the rightmost of the wait list; only retried or replayed ones go
// back to its left (the fan-out watermark says the same).
const PENDING_SCAN_WINDOW = 100;

/** The longest a due burst waits for older callbacks still on their way through a worker. */
export const BURST_MAX_HOLD_MS = 10_000;

// KEYS: open, state, seen, due. ARGV: event id, entry, quiet, maxWait, maxMessages, seen window, chat,
// the message's acceptance time (ms). Returns the open burst's size after the add, 0 when the
// message was already added.
const APPEND = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZSCORE', KEYS[3], ARGV[1]) then return 0 end
local window = tonumber(ARGV[6])
redis.call('ZADD', KEYS[3], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - window)
redis.call('PEXPIRE', KEYS[3], window)
local count = redis.call('RPUSH', KEYS[1], ARGV[2])
local at = tonumber(ARGV[8])
local first, last = at, at
if count > 1 then
  first = math.min(tonumber(redis.call('HGET', KEYS[2], 'first')) or at, at)
  last = math.max(tonumber(redis.call('HGET', KEYS[2], 'last')) or at, at)
end
redis.call('HSET', KEYS[2], 'first', first, 'last', last)
local due, why
if count >= tonumber(ARGV[5]) then
  -- Full: due whatever else is still on its way (it goes to the next burst).
  due, why = 0, 'maxMessages'
else
  local quiet, cap = last + tonumber(ARGV[3]), first + tonumber(ARGV[4])
  if quiet < cap then due, why = quiet, 'quiet' else due, why = cap, 'maxWait' end
end
redis.call('HSET', KEYS[2], 'why', why)
redis.call('PEXPIRE', KEYS[2], window)
redis.call('ZADD', KEYS[4], due, ARGV[7])
return count
`;

// KEYS: due, closing, and the callbacks queue's wait, paused, active lists and id counter. ARGV: how
// many, how old a taken burst is when its taker is presumed dead, the callbacks queue's job key
// prefix, how many of the oldest waiting callbacks to look at, the longest a due burst is held.
// Returns the chats whose open burst is due, those with a burst taken long ago and still not handed
// over, and the cutoff the due ones were read against.
//
// Due means: its time has come, and every callback accepted before that time has been fanned out.
// A worker running behind still holds messages the customer sent within the quiet spell; closing
// without them would split the burst. The oldest callback still waiting or running (found as the
// fan-out watermark finds it) bounds the cutoff: nothing accepted from then on is closed over. Not
// for ever: a callback job that hangs, or a paused callbacks queue, holds bursts `maxHold` at most.
const POLL = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[4])
${lowestPendingLua(3)}
local cutoff = now
local oldest = tonumber(redis.call('HGET', ARGV[3] .. lowest, 'timestamp'))
if oldest and oldest - 1 < cutoff then cutoff = math.max(oldest - 1, now - tonumber(ARGV[5])) end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', cutoff, 'LIMIT', 0, tonumber(ARGV[1]))
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[2]), 'LIMIT', 0, tonumber(ARGV[1]))
return {due, stale, tostring(cutoff)}
`;

// KEYS: open, state, due, closed, closing. ARGV: chat, the cutoff its poll read. Takes the open
// burst if it is due, in one step: a message added after it goes to the next burst, never to both.
// Returns nothing when it was not due (another worker took it, or a message moved its time on).
const CLOSE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZSCORE', KEYS[3], ARGV[1])
if not due or tonumber(due) > math.min(now, tonumber(ARGV[2])) then return false end
redis.call('ZREM', KEYS[3], ARGV[1])
local entries = redis.call('LRANGE', KEYS[1], 0, -1)
if #entries == 0 then return false end
local n = tonumber(redis.call('HGET', KEYS[2], 'n') or '1')
local first = redis.call('HGET', KEYS[2], 'first') or '0'
local why = redis.call('HGET', KEYS[2], 'why') or 'quiet'
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[2], 'n', n + 1)
redis.call('HDEL', KEYS[2], 'first', 'last', 'why')
local burst = '{"n":' .. n .. ',"first":' .. first .. ',"closedAt":' .. now .. ',"why":"' .. why .. '","entries":[' .. table.concat(entries, ',') .. ']}'
redis.call('HSET', KEYS[4], n, burst)
redis.call('ZADD', KEYS[5], now, ARGV[1])
return burst
`;

// KEYS: closed, closing. ARGV: chat, burst number. The burst is in the destination's queue.
const HANDED_OVER = `
redis.call('HDEL', KEYS[1], ARGV[2])
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('ZREM', KEYS[2], ARGV[1]) end
return 1
`;

interface BurstCommands {
  burstAppend(...args: Array<string | number>): Promise<number>;
  burstPoll(...args: Array<string | number>): Promise<[string[], string[], string]>;
  burstClose(...args: Array<string | number>): Promise<string | null>;
  burstHandedOver(...args: Array<string | number>): Promise<number>;
}

const commands = (redis: RedisClient): BurstCommands =>
  defineScripts<BurstCommands>(redis, {
    burstAppend: { numberOfKeys: 4, lua: APPEND },
    burstPoll: { numberOfKeys: 6, lua: POLL },
    burstClose: { numberOfKeys: 5, lua: CLOSE },
    burstHandedOver: { numberOfKeys: 2, lua: HANDED_OVER },
  });

/** `<prefix>:burst-of:<message event id>`: hash destination → the burst that carried it (`relay event`). */
export const burstOfMessageKey = (prefix: string, messageEventId: string) => `${prefix}:burst-of:${messageEventId}`;

/** One destination's bursts. */
export class BurstBuffer {
  private readonly commands: BurstCommands;
  private readonly dueKey: string;
  private readonly closingKey: string;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    readonly destination: string,
    readonly policy: MergePolicy,
  ) {
    this.commands = commands(redis);
    this.dueKey = `${prefix}:burst-due:${destination}`;
    this.closingKey = `${prefix}:burst-closing:${destination}`;
  }

  /** The key family of one chat. */
  keysOf(chat: string) {
    const stem = `${this.prefix}:burst:${this.destination}:${chat}`;
    return { open: `${stem}:open`, state: `${stem}:state`, seen: `${stem}:seen`, closed: `${stem}:closed` };
  }

  /**
   * Adds a message to its chat's open burst: one script call, the hot path's only round trip.
   * Returns the open burst's size (0: the message was already added), so that a burst that
   * reached `maxMessages` can be closed at once.
   */
  async append(chat: string, entry: BurstEntry): Promise<number> {
    const keys = this.keysOf(chat);
    const { quietMs, maxWaitMs, maxMessages } = this.policy;
    return this.commands.burstAppend(
      keys.open,
      keys.state,
      keys.seen,
      this.dueKey,
      entry.id,
      JSON.stringify(entry),
      quietMs,
      maxWaitMs,
      maxMessages,
      BURST_SEEN_FOR_MS,
      chat,
      Date.parse(entry.at) || Date.now(),
    );
  }

  /**
   * Chats whose burst is due (against `cutoff`, see POLL), and chats whose taken bursts were left
   * behind `staleMs` ago.
   */
  async poll(limit: number, staleMs: number): Promise<{ due: string[]; stale: string[]; cutoff: number }> {
    const callbacks = (type: string) => `${this.prefix}:${CALLBACK_QUEUE}:${type}`;
    const [due, stale, cutoff] = await this.commands.burstPoll(
      this.dueKey,
      this.closingKey,
      callbacks("wait"),
      callbacks("paused"),
      callbacks("active"),
      callbacks("id"),
      limit,
      staleMs,
      callbacks(""),
      PENDING_SCAN_WINDOW,
      BURST_MAX_HOLD_MS,
    );
    return { due, stale, cutoff: Number(cutoff) };
  }

  /**
   * Takes the chat's open burst if it is due by `cutoff` (a poll's; 0 for a burst that is full);
   * null when it is not (or another worker took it).
   */
  async close(chat: string, cutoff: number): Promise<ClosedBurst | null> {
    const keys = this.keysOf(chat);
    const raw = await this.commands.burstClose(
      keys.open,
      keys.state,
      this.dueKey,
      keys.closed,
      this.closingKey,
      chat,
      cutoff,
    );
    return raw ? { chat, ...(JSON.parse(raw) as Omit<ClosedBurst, "chat">) } : null;
  }

  /** Every burst of the chat taken and not handed over yet, oldest first. */
  async closedBursts(chat: string): Promise<ClosedBurst[]> {
    const all = await this.redis.hvals(this.keysOf(chat).closed);
    return all.map((raw) => ({ chat, ...(JSON.parse(raw) as Omit<ClosedBurst, "chat">) })).sort((a, b) => a.n - b.n);
  }

  async handedOver(chat: string, n: number): Promise<void> {
    await this.commands.burstHandedOver(this.keysOf(chat).closed, this.closingKey, chat, n);
  }
}
