import { Job, type Queue } from "bullmq";
import type { RedisClient } from "./connections.ts";
import { ORDERED_DELIVERY } from "./job-catalog.ts";

/**
 * The order of one ordered destination's conversations, in Redis beside its BullMQ queue: for each
 * conversation a sorted set `<prefix>:ordering:<destination>:<conversation>` of the delivery job
 * ids still to deliver, each scored by the id of the callback job it came from. The callbacks
 * queue's job ids are Redis's own auto-increment, taken in the order the ingress stored the
 * callbacks: the score is the acceptance order.
 *
 * Only the head (lowest score) may be delivered. The others wait in BullMQ's delayed set, parked
 * far in the future, and the head's end promotes the next one. The jobs stay BullMQ jobs: visible,
 * retried, retained and replayed like any other; the set only says whose turn it is.
 *
 * Every key of one destination shares the queue prefix, so a hash-tagged prefix (`{yuju}`) keeps a
 * script's keys in one Redis Cluster slot.
 */

// KEYS[1] the conversation's set, KEYS[2] the delivery job's hash. ARGV[1] score, ARGV[2] job id,
// ARGV[3] the queue's job key prefix (to tell whether the head's job exists).
// A job that exists but is no longer in the set was delivered, skipped or is being replayed: a
// callback job run again (its worker died after the add) or a platform redelivery (with
// de-duplication off) must not put it back, or the conversation would wait for a turn nobody takes.
const RESERVE = `
local listed = redis.call("ZSCORE", KEYS[1], ARGV[2])
if not listed then
  if redis.call("EXISTS", KEYS[2]) == 1 then return 0 end
  redis.call("ZADD", KEYS[1], ARGV[1], ARGV[2])
end
local head = redis.call("ZRANGE", KEYS[1], 0, 0)[1]
if head == ARGV[2] then
  if listed then return 3 end
  return 1
end
if redis.call("EXISTS", ARGV[3] .. head) == 0 then return 4 end
return 2
`;

// KEYS[1] the conversation's set. ARGV[1] job id. 1 head, 2 behind another, 0 not in the set.
const POSITION = `
if not redis.call("ZSCORE", KEYS[1], ARGV[1]) then return 0 end
if redis.call("ZRANGE", KEYS[1], 0, 0)[1] == ARGV[1] then return 1 end
return 2
`;

// KEYS[1] the conversation's set. ARGV[1] job id, if it is still the head. Removes it; returns the
// head that is now due (false: it was not the head, nothing done).
const RELEASE_HEAD = `
if redis.call("ZRANGE", KEYS[1], 0, 0)[1] ~= ARGV[1] then return false end
redis.call("ZREM", KEYS[1], ARGV[1])
return redis.call("ZRANGE", KEYS[1], 0, 0)[1] or ""
`;

// KEYS[1] the conversation's set. ARGV[1] job id. Removes it; returns the head that is now due.
// A job that was not in line (a replay of a delivered event) ends no turn: false, nothing to
// promote; else the head would be promoted, cutting short a retrying head's backoff.
const RELEASE = `
if redis.call("ZREM", KEYS[1], ARGV[1]) == 0 then return false end
return redis.call("ZRANGE", KEYS[1], 0, 0)[1]
`;

interface OrderCommands {
  conversationReserve(set: string, jobKey: string, score: number, jobId: string, jobPrefix: string): Promise<number>;
  conversationReleaseHead(set: string, jobId: string): Promise<string | null>;
  conversationPosition(set: string, jobId: string): Promise<number>;
  conversationRelease(set: string, jobId: string): Promise<string | null>;
}

const defined = new WeakSet<RedisClient>();

function commands(redis: RedisClient): OrderCommands {
  if (!defined.has(redis)) {
    redis.defineCommand("conversationReserve", { numberOfKeys: 2, lua: RESERVE });
    redis.defineCommand("conversationPosition", { numberOfKeys: 1, lua: POSITION });
    redis.defineCommand("conversationRelease", { numberOfKeys: 1, lua: RELEASE });
    redis.defineCommand("conversationReleaseHead", { numberOfKeys: 1, lua: RELEASE_HEAD });
    defined.add(redis);
  }
  return redis as unknown as OrderCommands;
}

/**
 * What a fan-out learns when it reserves an event's turn:
 *   head     its turn now: add the job runnable
 *   behind   another event of the conversation goes first: add it parked
 *   rerun    its turn now, and it was reserved before (a fan-out run again): its job may exist, parked
 *   taken    its job exists and is no longer in line (delivered or skipped): add nothing new
 *   behind-missing   behind a head whose job does not exist: not added yet (its fan-out is under
 *            way or will be retried), or removed by hand (see clearDeadHead)
 */
export type Reservation = "head" | "behind" | "behind-missing" | "rerun" | "taken";
const RESERVATIONS: Record<number, Reservation> = {
  0: "taken",
  1: "head",
  2: "behind",
  3: "rerun",
  4: "behind-missing",
};

/** Where a delivery stands in its conversation when a worker picks it up. */
export type Turn = "head" | "behind" | "absent";
const TURNS: Record<number, Turn> = { 0: "absent", 1: "head", 2: "behind" };

export class ConversationOrder {
  private readonly commands: OrderCommands;

  constructor(
    private readonly redisClient: RedisClient,
    private readonly queue: Queue,
    private readonly prefix: string,
    private readonly destination: string,
    /** The callbacks queue: whether the callback that reserved a turn may still add its job. */
    private readonly callbacks: Queue,
  ) {
    this.commands = commands(redisClient);
  }

  setKey(conversation: string): string {
    return `${this.prefix}:ordering:${this.destination}:${conversation}`;
  }

  /** Puts the delivery in its conversation's line, by acceptance order (`seq`: the callback job id). */
  async reserve(conversation: string, jobId: string, seq: number): Promise<Reservation> {
    const code = await this.commands.conversationReserve(
      this.setKey(conversation),
      this.queue.toKey(jobId),
      seq,
      jobId,
      this.queue.toKey(""),
    );
    const reservation = RESERVATIONS[code];
    // An unknown reply is a script and code out of step: adding nothing would lose the event.
    if (!reservation) throw new Error(`conversation order: unexpected reservation reply ${String(code)}`);
    return reservation;
  }

  async turn(conversation: string, jobId: string): Promise<Turn> {
    const code = await this.commands.conversationPosition(this.setKey(conversation), jobId);
    const turn = TURNS[code];
    if (!turn) throw new Error(`conversation order: unexpected position reply ${String(code)}`);
    return turn;
  }

  /**
   * Takes the delivery out of the line (delivered, or failed for good and skipped); returns who is
   * next, or null when the delivery was not in line (then no turn ended).
   */
  async release(conversation: string, jobId: string): Promise<string | null> {
    return (await this.commands.conversationRelease(this.setKey(conversation), jobId)) ?? null;
  }

  /**
   * Moves a parked job to wait. A job that is not parked (already promoted, running, or not added
   * yet: its fan-out promotes it after the add) is left as it is.
   */
  async promote(jobId: string): Promise<void> {
    try {
      await new Job(this.queue, "", {}, {}, jobId).promote();
    } catch (error) {
      if (/is not in the delayed state|Missing key for job/.test((error as Error).message)) return;
      throw error;
    }
  }

  /**
   * Promotes the conversation's head only if it is parked for its turn (a year ahead): a turn that
   * ended without promoting it (a worker killed between the release and the promote) would
   * otherwise hold the conversation for good. A head retrying after its backoff, running or waiting
   * is left as it is: a replayed event that comes by must not cut a backoff short.
   */
  async promoteStrandedHead(conversation: string): Promise<void> {
    const [head] = await this.redisClient.zrange(this.setKey(conversation), 0, 0);
    if (head === undefined) return;
    const score = await this.redisClient.zscore(this.queue.keys.delayed!, head);
    if (score === null) return;
    // BullMQ scores a delayed job by its due time in ms × 0x1000 (plus a counter).
    const dueAt = Math.floor(Number(score) / 0x1000);
    if (dueAt - Date.now() > ORDERED_DELIVERY.parkedForMs / 2) await this.promote(head);
  }

  /** Releases a delivery and promotes the one now due: the end of a turn. */
  async pass(conversation: string, jobId: string): Promise<void> {
    const next = await this.release(conversation, jobId);
    if (next !== null) await this.promote(next);
  }

  /**
   * A head whose job is gone and will not come (its callback is no longer pending: the job was
   * removed by hand, or by retention while failed under `block`) would hold its conversation for
   * good. The next event of the conversation clears it, and the line goes on.
   */
  async clearDeadHead(conversation: string): Promise<boolean> {
    const set = this.setKey(conversation);
    const [head, score] = await (this.redisClient.zrange(set, 0, 0, "WITHSCORES") as Promise<string[]>);
    if (head === undefined || score === undefined) return false;
    if ((await this.redisClient.exists(this.queue.toKey(head))) === 1) return false;
    const state = await this.callbacks.getJobState(score);
    if (state !== "completed" && state !== "failed" && state !== "unknown") return false;
    const next = await this.commands.conversationReleaseHead(set, head);
    if (next === null) return false;
    if (next !== "") await this.promote(next);
    return true;
  }
}
